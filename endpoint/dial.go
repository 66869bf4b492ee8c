package endpoint

import (
	"context"
	"errors"
	"net"
	"syscall"
	"time"
)

// queueWait bounds how long Dial keeps retrying a Unix socket whose accept
// queue is full when ctx sets no earlier deadline.
const queueWait = 10 * time.Second

// testHookQueueFull, when set by a test, runs each time Dial finds a full
// accept queue and is about to retry.
var testHookQueueFull func()

// Dial connects to addr (any form ParseAddr accepts except fd: and the
// activated forms, which name listeners handed to this process: Dial on them
// is an error matching ErrNotSupported). ctx bounds the whole dial.
//
// A Unix socket whose accept queue is full refuses a connection at once
// (EAGAIN) where TCP would wait; Dial then retries with a growing pause (up
// to 50ms) until the server makes room, ctx is done, or 10 seconds have
// passed.
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
	case FD, Activated:
		return nil, &OpError{Op: "dial", Addr: a.String(), Err: ErrNotSupported,
			Detail: "fd: and activation addresses name listening sockets handed to this process; dial the address they are bound to"}
	}
	var d net.Dialer
	c, err := d.DialContext(ctx, a.Network(), a.dialString())
	if err != nil && a.Network() == "unix" && errors.Is(err, syscall.EAGAIN) {
		c, err = dialQueueFull(ctx, &d, a)
	}
	if err != nil {
		if ne, ok := err.(*net.OpError); ok && ne.Err != nil {
			err = ne.Err // keep "connect: connection refused", drop the repeated address
		}
		return nil, &OpError{Op: "dial", Addr: a.String(), Err: err}
	}
	return c, nil
}

// dialQueueFull retries a Unix dial that found the accept queue full.
func dialQueueFull(ctx context.Context, d *net.Dialer, a Addr) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(ctx, queueWait)
	defer cancel()
	pause := time.Millisecond
	t := time.NewTimer(pause)
	defer t.Stop()
	for {
		if testHookQueueFull != nil {
			testHookQueueFull()
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-t.C:
		}
		c, err := d.DialContext(ctx, a.Network(), a.dialString())
		if err == nil || !errors.Is(err, syscall.EAGAIN) {
			return c, err
		}
		pause = min(2*pause, 50*time.Millisecond)
		t.Reset(pause)
	}
}
