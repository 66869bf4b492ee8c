package netserver

import (
	"sync"

	"github.com/switchboard-ipc/switchboard/endpoint"
)

// peerCache holds a connection's peer credentials once looked up.
type peerCache struct {
	once sync.Once
	peer endpoint.Peer
	err  error
}

// Peer returns the credentials (uid, gid, pid) of the process at the other end
// of a Unix socket connection, as endpoint.PeerOf reports them. They are
// looked up on the first call and cached; later calls return the same result.
// For a connection that is not a Unix socket the error matches
// endpoint.ErrNotSupported.
func (c *Conn) Peer() (endpoint.Peer, error) {
	c.peer.once.Do(func() { c.peer.peer, c.peer.err = endpoint.PeerOf(c.Conn) })
	return c.peer.peer, c.peer.err
}
