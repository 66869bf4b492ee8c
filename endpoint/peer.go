package endpoint

import (
	"net"
	"syscall"
)

// Peer is the identity of the process at the other end of a Unix socket
// connection, as the kernel recorded it when the connection was made.
type Peer struct {
	UID uint32 // effective user id
	GID uint32 // effective (primary) group id
	PID int    // process id; 0 when the platform cannot tell
}

// PeerOf returns the credentials of the peer of a Unix socket connection:
// SO_PEERCRED on Linux, LOCAL_PEERCRED and LOCAL_PEERPID on darwin,
// LOCAL_PEERCRED on FreeBSD (PID 0 before FreeBSD 13). c may be a
// *net.UnixConn, anything with a SyscallConn method, or a wrapper with a
// NetConn method (as *tls.Conn has) around one of them. A TCP connection, or a
// platform without peer credentials, gives an error matching ErrNotSupported.
func PeerOf(c net.Conn) (Peer, error) {
	for range 16 {
		u, ok := c.(interface{ NetConn() net.Conn })
		if !ok {
			break
		}
		c = u.NetConn()
	}
	if c == nil {
		return Peer{}, &OpError{Op: "peer credentials", Addr: "<nil>", Err: ErrNotSupported, Detail: "no connection"}
	}
	name := "<unknown>"
	if la := c.LocalAddr(); la != nil {
		name = la.String()
		if n := la.Network(); n != "unix" && n != "unixpacket" {
			return Peer{}, &OpError{Op: "peer credentials", Addr: name, Err: ErrNotSupported, Detail: "a " + n + " connection has no peer credentials; only Unix sockets do"}
		}
	}
	sc, ok := c.(syscall.Conn)
	if !ok {
		return Peer{}, &OpError{Op: "peer credentials", Addr: name, Err: ErrNotSupported, Detail: "the connection does not expose its descriptor (no SyscallConn method)"}
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return Peer{}, &OpError{Op: "peer credentials", Addr: name, Err: err}
	}
	var p Peer
	var perr error
	if err := rc.Control(func(fd uintptr) { p, perr = peerCred(int(fd)) }); err != nil {
		return Peer{}, &OpError{Op: "peer credentials", Addr: name, Err: err}
	}
	if perr != nil {
		return Peer{}, &OpError{Op: "peer credentials", Addr: name, Err: perr}
	}
	return p, nil
}
