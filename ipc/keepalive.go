package ipc

import (
	"time"

	"github.com/switchboard-ipc/switchboard/wire"
)

// keepAliveDivisor: a native Client that has written nothing for
// idle/keepAliveDivisor sends a PING, so a server with an idle timeout
// (announced in WELCOME) hears from it at least every 2·idle/4.
const keepAliveDivisor = 4

// startKeepAlive starts pinging the server of the current connection when
// the server announced an idle timeout (idle > 0). The returned function
// stops it and waits for its goroutine.
func (c *Client) startKeepAlive(idle time.Duration) (stop func()) {
	every := idle / keepAliveDivisor
	if every <= 0 {
		return func() {}
	}
	quit := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		c.keepAlive(every, quit)
	}()
	return func() {
		close(quit)
		<-done
	}
}

// keepAlive queues a PING at each tick of every unless something was
// written since the previous tick, until quit is closed.
func (c *Client) keepAlive(every time.Duration, quit <-chan struct{}) {
	t := time.NewTicker(every)
	defer t.Stop()
	q := c.q
	q.mu.Lock()
	seen := q.writes
	q.mu.Unlock()
	for {
		select {
		case <-quit:
			return
		case <-t.C:
		}
		q.mu.Lock()
		writes, busy := q.writes, q.busyLocked()
		q.mu.Unlock()
		if writes == seen && !busy {
			q.appendFrame(&wire.Frame{Type: wire.TypePing})
		}
		seen = writes
	}
}
