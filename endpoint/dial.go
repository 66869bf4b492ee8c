package endpoint

import (
	"context"
	"net"
)

// Dial connects to addr (any form ParseAddr accepts except fd: and the
// activated forms, which name listeners handed to this process: Dial on them
// is an error matching ErrNotSupported). ctx bounds the whole dial.
func Dial(ctx context.Context, addr string) (net.Conn, error) {
	a, err := ParseAddr(addr)
	if err != nil {
		return nil, err
	}
	return DialAddr(ctx, a)
}

// DialAddr is Dial on a parsed address. An Addr built by hand is checked as
// ParseAddr would check its String.
func DialAddr(ctx context.Context, a Addr) (net.Conn, error) {
	a, err := recheck(a)
	if err != nil {
		return nil, err
	}
	switch a.Kind {
	case Unix:
		if !unixSupported {
			return nil, &OpError{Op: "dial", Addr: a.String(), Err: ErrNotSupported, Detail: "Unix sockets are not supported on this platform"}
		}
	case Abstract:
		if !abstractSupported {
			return nil, &OpError{Op: "dial", Addr: a.String(), Err: ErrNotSupported, Detail: "abstract sockets exist only on Linux"}
		}
	case TCP:
	case FD, Activated:
		return nil, &OpError{Op: "dial", Addr: a.String(), Err: ErrNotSupported,
			Detail: "fd: and activation addresses name listening sockets handed to this process; dial the address they are bound to"}
	}
	var d net.Dialer
	c, err := d.DialContext(ctx, a.Network(), a.dialString())
	if err != nil {
		if ne, ok := err.(*net.OpError); ok && ne.Err != nil {
			err = ne.Err // keep "connect: connection refused", drop the repeated address
		}
		return nil, &OpError{Op: "dial", Addr: a.String(), Err: err}
	}
	return c, nil
}
