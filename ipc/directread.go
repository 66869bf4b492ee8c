package ipc

import (
	"context"
	"errors"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/switchboard-ipc/switchboard/wire"
)

// Direct replies. A Request normally waits for the connection goroutine to
// read its REPLY and hand it over. The hand-over wakes a goroutine, and
// waking one while a processor is idle makes the runtime wake a second
// thread to look for work, which on a small machine costs more than the
// whole round trip of a raw socket. So a requester reads its reply itself
// when it can: the connection is read by whoever holds its read turn. The
// connection goroutine holds it while it reads; after it handed a reply
// over, and nothing more was buffered, it gives the turn up for a while
// (directLinger), expecting more requests. A requester that finds the
// turn free reads the connection until its REPLY arrives, then gives the
// turn back. It handles on the way only what runs no handler (other
// replies, acknowledgements); any other frame it leaves to the connection
// goroutine, which it wakes, and waits as before. Handlers therefore still
// run on the connection goroutine, in order.
//
// While the turn is free, frames that are not replies wait in the socket
// until the next requester reads them or the linger ends: at most about
// two lingers after the last request.
const directLinger = time.Millisecond

// readTurn is the read turn of one native connection.
type readTurn struct {
	tok  chan struct{} // holds the turn while it is free
	kick chan struct{} // asks the connection goroutine to take the turn back
	uses atomic.Uint64 // direct reads begun, so that a linger goes on while they happen

	// Owned by the holder of the turn.
	conn  net.Conn
	rd    *wire.Reader
	held  bool       // heldF was read by a requester, for the connection goroutine
	heldF wire.Frame // valid until rd is read again
	err   error      // a read error a requester met, for the connection goroutine
}

func newReadTurn(conn net.Conn, maxFrame int) *readTurn {
	return &readTurn{
		tok:  make(chan struct{}, 1),
		kick: make(chan struct{}, 1),
		conn: conn,
		rd:   wire.NewReader(conn, maxFrame),
	}
}

// next reads the next frame for the connection goroutine: a frame a
// requester left, or the next one on the connection.
func (t *readTurn) next(f *wire.Frame) error {
	if t.held {
		*f, t.held = t.heldF, false
		return nil
	}
	return t.rd.ReadFrame(f)
}

// wake asks the connection goroutine to take the turn back.
func (t *readTurn) wake() {
	select {
	case t.kick <- struct{}{}:
	default:
	}
}

// linger gives the turn up for directLinger, or as long as requesters go
// on reading directly, then takes it back. It returns the read error a
// requester met meanwhile. Called by the connection goroutine, holding the
// turn, with no whole frame buffered.
func (c *Client) linger(t *readTurn, timer **time.Timer) error {
	seen := t.uses.Load()
	d := c.lingerFor
	if d == 0 {
		d = directLinger
	}
	t.tok <- struct{}{}
	if *timer == nil {
		*timer = time.NewTimer(d)
	} else {
		(*timer).Reset(d)
	}
wait:
	for {
		select {
		case <-t.kick:
			break wait
		case <-c.ctx.Done():
			break wait
		case <-(*timer).C:
			if u := t.uses.Load(); u != seen {
				seen = u
				(*timer).Reset(d)
				continue
			}
			break wait
		}
	}
	(*timer).Stop()
	<-t.tok
	select {
	case <-t.kick: // a wake sent as the turn was taken back
	default:
	}
	if err := t.err; err != nil {
		t.err = nil
		return err
	}
	return nil
}

// readDirect reads the connection until the REPLY of cl arrives, ctx is
// done or a frame needs the connection goroutine. It reports whether it
// got the reply, and its result. The caller holds the turn; readDirect
// gives it back.
func (c *Client) readDirect(ctx context.Context, t *readTurn, cl *call, id uint64) (callResult, bool) {
	select {
	case r := <-cl.ch:
		// The connection goroutine read the reply before it gave the
		// turn up.
		t.tok <- struct{}{}
		return r, true
	default:
	}
	t.uses.Add(1)
	var ended sync.Mutex
	over := false
	stop := func() bool { return true }
	if ctx.Done() != nil {
		stop = context.AfterFunc(ctx, func() {
			ended.Lock()
			if !over {
				t.conn.SetReadDeadline(aLongTimeAgo)
			}
			ended.Unlock()
		})
	}
	r, ok := c.readReply(ctx, t, cl)
	if !stop() {
		// The deadline was set, or is being set: wait for it, then clear it.
		ended.Lock()
		over = true
		ended.Unlock()
		t.conn.SetReadDeadline(time.Time{})
	}
	// Frames for the connection goroutine, or its read error: wake it
	// (decided before the turn is given back, and with it the reader).
	wake := t.held || t.err != nil || t.rd.FrameBuffered()
	t.tok <- struct{}{}
	if wake {
		t.wake()
	}
	if !ok && ctx.Err() != nil {
		c.mu.Lock()
		delete(c.pending, id)
		c.mu.Unlock()
		return callResult{err: ctx.Err()}, true
	}
	return r, ok
}

var aLongTimeAgo = time.Unix(1, 0)

func (c *Client) readReply(ctx context.Context, t *readTurn, cl *call) (callResult, bool) {
	var f wire.Frame
	for {
		if err := t.rd.ReadFrame(&f); err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) && ctx.Err() != nil {
				return callResult{}, false
			}
			t.err = err
			return callResult{}, false
		}
		switch f.Type {
		case wire.TypeReply:
			got, r := c.complete(&f)
			if got == cl {
				return r, true
			}
			if got != nil {
				got.ch <- r
			}
		case wire.TypeAck:
			c.acknowledged(f.Seq)
		default:
			t.heldF, t.held = f, true
			return callResult{}, false
		}
	}
}
