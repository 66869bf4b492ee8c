package peerauth

import (
	"errors"
	"fmt"
	"net"
	"os"
	"slices"

	"github.com/switchboard-ipc/switchboard/endpoint"
)

// ErrDenied matches (errors.Is) every refusal of a Policy. The concrete
// error is a *DeniedError.
var ErrDenied = errors.New("peerauth: peer denied")

// DeniedError reports a peer a Policy refused.
type DeniedError struct {
	Peer   endpoint.Peer // the credentials checked; zero when there were none
	Reason string        // why, for logs: "uid 65534 not allowed", ...
	Err    error         // the error of Policy.Allow or of endpoint.PeerOf, or nil
}

// Error returns "peerauth: peer denied: uid U gid G pid P: REASON".
func (e *DeniedError) Error() string {
	s := fmt.Sprintf("%v: uid %d gid %d pid %d: %s", ErrDenied, e.Peer.UID, e.Peer.GID, e.Peer.PID, e.Reason)
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Is reports whether target is ErrDenied.
func (e *DeniedError) Is(target error) bool { return target == ErrDenied }

// Unwrap returns the error of Policy.Allow or of endpoint.PeerOf, or nil.
func (e *DeniedError) Unwrap() error { return e.Err }

// A Policy says which peers are admitted. Every condition it states must
// hold; a Policy stating none admits nobody. A Policy is a value: copy it
// freely, but do not change its slices while it is in use.
type Policy struct {
	// UIDs and GIDs admit a peer whose effective uid is in UIDs or whose
	// primary gid is in GIDs. When both are empty they state no condition.
	UIDs, GIDs []uint32

	// Allow, if set, must return nil for the peer to be admitted; its
	// error is carried in the *DeniedError. It is called only for peers
	// the lists admitted, on the connection's goroutine, before the
	// handshake: it should be quick.
	Allow func(endpoint.Peer) error
}

// SameUser returns the default policy: only processes running as this
// process's effective uid.
func SameUser() Policy {
	return Policy{UIDs: []uint32{uint32(os.Geteuid())}}
}

// Check returns nil when the policy admits p, else a *DeniedError.
// Its signature is that of ipc.ServerConfig.Authorize.
func (pol Policy) Check(p endpoint.Peer) error {
	lists := len(pol.UIDs) > 0 || len(pol.GIDs) > 0
	switch {
	case !lists && pol.Allow == nil:
		return &DeniedError{Peer: p, Reason: "the policy admits nobody"}
	case lists && !slices.Contains(pol.UIDs, p.UID) && !slices.Contains(pol.GIDs, p.GID):
		return &DeniedError{Peer: p, Reason: fmt.Sprintf("uid %d and gid %d not allowed", p.UID, p.GID)}
	}
	if pol.Allow != nil {
		if err := pol.Allow(p); err != nil {
			return &DeniedError{Peer: p, Reason: "refused by Allow", Err: err}
		}
	}
	return nil
}

// CheckConn checks the peer of a Unix socket connection: c may be a
// *net.UnixConn or a wrapper of one with a NetConn method, such as
// *netserver.Conn, so that
//
//	netserver.Server{Authorize: func(c *netserver.Conn) error { return pol.CheckConn(c) }}
//
// authorises every connection. A connection without peer credentials (TCP)
// is refused with a *DeniedError wrapping the endpoint.PeerOf error.
func (pol Policy) CheckConn(c net.Conn) error {
	p, err := endpoint.PeerOf(c)
	if err != nil {
		return &DeniedError{Reason: "no peer credentials", Err: err}
	}
	return pol.Check(p)
}
