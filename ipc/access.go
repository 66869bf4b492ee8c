package ipc

import (
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"

	"github.com/switchboard-ipc/switchboard/endpoint"
	"github.com/switchboard-ipc/switchboard/netserver"
	"github.com/switchboard-ipc/switchboard/peerauth"
)

// Stats is a snapshot of a Server's connection counters since it was
// created.
type Stats struct {
	Accepted      uint64 // connections returned by a listener's Accept
	Rejected      uint64 // closed before being served: limits, access control, a stopping server
	Unauthorized  uint64 // of Rejected: refused by Authorize or the default same-uid check
	TooManyForUID uint64 // of Rejected: beyond MaxConnectionsPerUID
	Active        int    // open connections
	Unhandled     uint64 // messages that matched no handler of a server that is not a hub (ErrNoHandler)
}

// Stats returns a snapshot of the server's connection counters.
func (s *Server) Stats() Stats {
	ns := s.ns.Stats()
	return Stats{
		Accepted:      ns.Accepted,
		Rejected:      ns.Rejected,
		Unauthorized:  s.access.unauthorized.Load(),
		TooManyForUID: s.access.tooManyForUID.Load(),
		Active:        ns.Active,
		Unhandled:     s.access.unhandled.Load(),
	}
}

// accessCounters are the Server's counters of refused connections and
// unhandled messages, and its connections per uid.
type accessCounters struct {
	unauthorized  atomic.Uint64
	tooManyForUID atomic.Uint64
	unhandled     atomic.Uint64

	mu     sync.Mutex
	perUID map[uint32]int // open connections per uid, with MaxConnectionsPerUID
}

// subAckTooMany is the code (in Seq) of a SUBACK with FlagError refusing a
// subscription beyond MaxSubscriptions; 0 is an invalid pattern.
const subAckTooMany = 1

// sameUser is the default policy of a Server without Authorize.
var sameUser = peerauth.SameUser()

// authorize is the netserver's Authorize: the configured Authorize, or by
// default the same-uid check for Unix sockets, then the per-uid limit.
func (s *Server) authorize(c *netserver.Conn) error {
	p, err := c.Peer()
	switch {
	case err != nil && s.cfg.Authorize == nil:
		// No credentials (TCP): the default lets it in; a TCP listener
		// is the operator's explicit choice (see docs/security.md).
		return nil
	case err != nil:
		return &peerauth.DeniedError{Reason: "no peer credentials", Err: err}
	case s.cfg.Authorize == nil:
		err = sameUser.Check(p)
	default:
		err = s.cfg.Authorize(p)
	}
	if err != nil {
		return err
	}
	if max := s.cfg.MaxConnectionsPerUID; max > 0 {
		a := &s.access
		a.mu.Lock()
		defer a.mu.Unlock()
		if a.perUID[p.UID] >= max {
			return fmt.Errorf("%w: uid %d has %d", ErrTooManyForUID, p.UID, max)
		}
		if a.perUID == nil {
			a.perUID = make(map[uint32]int)
		}
		a.perUID[p.UID]++
	}
	return nil
}

// onClose forgets a connection that authorize counted.
func (s *Server) onClose(c *netserver.Conn) {
	if s.cfg.MaxConnectionsPerUID <= 0 {
		return
	}
	p, err := c.Peer()
	if err != nil {
		return
	}
	a := &s.access
	a.mu.Lock()
	if a.perUID[p.UID]--; a.perUID[p.UID] <= 0 {
		delete(a.perUID, p.UID)
	}
	a.mu.Unlock()
}

// onReject reports a connection closed before it was served.
func (s *Server) onReject(_ net.Conn, err error) {
	switch {
	case errors.Is(err, ErrTooManyForUID):
		s.access.tooManyForUID.Add(1)
		s.reportErr(err)
	case errors.Is(err, netserver.ErrUnauthorized):
		s.access.unauthorized.Add(1)
		s.reportErr(fmt.Errorf("%w: %w", ErrUnauthorized, err))
	}
}

// AllowAnyUser admits every peer that has credentials (every Unix socket
// connection). Set as ServerConfig.Authorize it turns off the default
// same-uid check; TCP connections are then refused, as with every explicit
// Authorize.
func AllowAnyUser(endpoint.Peer) error { return nil }
