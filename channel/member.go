package channel

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"net"
	"slices"
	"strings"
	"time"

	"github.com/switchboard-ipc/switchboard/internal/backoff"
)

// testHookHosting, when set, runs once this process's hub serves, before
// the process connects to it as a member.
var testHookHosting func(*hub)

// retry spaces elections that failed for another reason than a lost race.
var retry = backoff.Backoff{Min: 2 * time.Millisecond, Max: 250 * time.Millisecond, Jitter: 0.5}

// run is the member's connection loop: elect, join, serve the connection
// until it is lost, and again, until Close.
func (c *Channel) run() {
	defer c.wg.Done()
	for attempt := 0; ; attempt++ {
		select {
		case <-c.closing:
			return
		default:
		}
		conn, err := c.join()
		if err == nil {
			attempt = -1
			c.serve(conn)
			continue
		}
		c.opts.logger.Debug("channel: join failed", "channel", c.name, "err", err)
		t := time.NewTimer(retry.Next(attempt))
		select {
		case <-c.closing:
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// join connects to the host, electing one when there is none: if nobody
// listens on the socket, bind it under the lock and host; the loser of a
// race to bind finds the winner alive and connects to it.
func (c *Channel) join() (net.Conn, error) {
	ctx, cancel := context.WithTimeout(c.ctx, 2*time.Second)
	defer cancel()
	conn, err := dialHost(ctx, c.path)
	if err == nil || !noHost(err) {
		return conn, err
	}
	ln, err := bindHost(ctx, c.path)
	if errors.Is(err, errHostAlive) {
		return dialHost(ctx, c.path)
	}
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if c.state == Closed {
		c.mu.Unlock()
		ln.Close()
		return nil, ErrClosed
	}
	if old := c.hub; old != nil {
		// Our previous host lost its socket; replace it.
		c.mu.Unlock()
		old.close()
		c.mu.Lock()
	}
	members := c.members
	// The host adopts its own member too, with the patterns its hello will
	// carry: what others publish before this process's own connection
	// attaches waits for it instead of being acknowledged to nobody.
	self := Member{ID: c.id, Patterns: c.helloPatternsLocked()}
	adopt := append(slices.DeleteFunc(slices.Clone(members), func(m Member) bool { return m.ID == c.id }), self)
	c.mu.Unlock()
	// The host's logic runs outside the lock: it may call the channel.
	var handlers []hostHandler
	if fn := c.opts.host; fn != nil {
		h := &Host{members: members}
		fn(h)
		handlers = h.handlers
	}
	hb := newHub(c.opts.sessionTTL, c.opts.logger, adopt, handlers)
	c.mu.Lock()
	if c.state == Closed {
		c.mu.Unlock()
		hb.close()
		ln.Close()
		return nil, ErrClosed
	}
	c.hub = hb
	c.mu.Unlock()
	hb.serve(ln)
	if testHookHosting != nil {
		testHookHosting(hb)
	}
	c.opts.logger.Info("channel: hosting", "channel", c.name, "path", c.path)
	if fn := c.opts.onHost; fn != nil {
		c.disp.do(fn)
	}
	return dialHost(ctx, c.path)
}

// serve runs the member protocol on conn until the connection is lost or
// the channel closes.
func (c *Channel) serve(conn net.Conn) {
	c.mu.Lock()
	if c.state == Closed {
		c.mu.Unlock()
		conn.Close()
		return
	}
	patterns := c.helloPatternsLocked()
	c.mu.Unlock()
	data, _ := json.Marshal(patterns)
	hello := appendFrame(nil, &frame{typ: frameHello, id: c.id, inc: c.inc, data: data})
	conn.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := conn.Write(hello); err != nil {
		conn.Close()
		return
	}
	r := bufio.NewReaderSize(conn, 64<<10)
	var f frame
	if err := readFrame(r, &f); err != nil || f.typ != frameWelcome {
		conn.Close()
		return
	}
	conn.SetDeadline(time.Time{})
	var members []Member
	json.Unmarshal(f.data, &members)

	c.mu.Lock()
	if c.state == Closed {
		c.mu.Unlock()
		conn.Close()
		return
	}
	c.conn = conn
	c.connGen++
	gen := c.connGen
	wake := make(chan struct{}, 1)
	c.wake = wake
	c.sendIdx = 0 // resend everything not acknowledged, in order
	c.ctrl = c.ctrl[:0]
	clear(c.subReqs) // the hello carried every pattern; request 0 stands for it
	c.subReqs[0] = true
	c.mackDseq = 0
	c.members = members
	hosting := c.hub != nil
	c.setStateLocked(Connected)
	c.kickLocked()
	c.mu.Unlock()
	if fn := c.opts.onConnect; fn != nil {
		c.disp.do(func() { fn(hosting) })
	}

	writerDone := make(chan struct{})
	go c.writeLoop(conn, gen, wake, writerDone)
	c.readLoop(r)

	conn.Close()
	c.mu.Lock()
	c.conn = nil
	c.wake = nil
	c.connGen++
	close(wake)
	c.setStateLocked(Connecting)
	c.mu.Unlock()
	<-writerDone
}

// readLoop handles frames from the host until the connection fails.
func (c *Channel) readLoop(r *bufio.Reader) {
	var f frame
	mackDue, mackBytes := false, 0
	for {
		if err := readFrame(r, &f); err != nil {
			return
		}
		switch f.typ {
		case frameAck:
			c.mu.Lock()
			if len(c.out) > 0 && f.seq >= c.out[0].f.seq {
				if i := int(f.seq - c.out[0].f.seq); i < len(c.out) {
					c.out[i].acked = true
				}
				n := 0
				for n < len(c.out) && c.out[n].acked {
					n++
				}
				if n > 0 {
					c.out = c.out[n:]
					c.sendIdx = max(c.sendIdx-n, 0)
					c.notifyLocked()
				}
			}
			c.mu.Unlock()
		case frameSubOK:
			c.mu.Lock()
			if c.subReqs[f.seq] {
				delete(c.subReqs, f.seq)
				c.notifyLocked()
			}
			c.mu.Unlock()
		case frameMsg:
			c.deliver(&f)
			c.mu.Lock()
			c.mackDseq = f.dseq
			c.mu.Unlock()
			mackDue = true
			mackBytes += frameSize(&f)
		}
		// Acknowledge receipt once per batch: when about to read the
		// connection, and either nothing more is buffered or mackEvery
		// bytes came since the last acknowledgement (a stream whose frames
		// straddle every read never empties the buffer).
		if mackDue && !frameBuffered(r) && (r.Buffered() == 0 || mackBytes >= mackEvery) {
			mackDue, mackBytes = false, 0
			c.mu.Lock()
			c.kickLocked()
			c.mu.Unlock()
		}
	}
}

// deliver hands a message to its handlers, dropping duplicates: a message
// is a duplicate when its origin's sequence number is not above the highest
// already delivered from that origin (origins publish in order and the host
// keeps their order).
func (c *Channel) deliver(f *frame) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if f.topic == membersTopic {
		var ms []Member
		if json.Unmarshal(f.data, &ms) == nil {
			c.members = ms
			c.notifyLocked()
		}
		return
	}
	if f.id != "" {
		o := origin{f.id, f.inc}
		if f.seq <= c.lastSeen[o] {
			return
		}
		c.lastSeen[o] = f.seq
	}
	if strings.HasPrefix(f.topic, c.inbox()) {
		if ch := c.requests[f.topic]; ch != nil {
			var m *Message
			if f.flags&flagNoResponders == 0 {
				m = c.newMessage(f)
			}
			select {
			case ch <- m:
			default:
			}
		}
		return
	}
	var fns []Handler
	for s := range c.subs {
		if match(s.pattern, f.topic) {
			fns = append(fns, s.fn)
		}
	}
	if len(fns) == 0 {
		return
	}
	m := c.newMessage(f)
	c.disp.do(func() {
		for _, fn := range fns {
			fn(m)
		}
	})
}

func (c *Channel) newMessage(f *frame) *Message {
	return &Message{Topic: f.topic, Data: f.data, From: f.id, Seq: f.seq, ReplyTo: f.reply, reply: c.replyFn}
}

func (c *Channel) replyFn(topic string, data []byte) error {
	return c.publish(context.Background(), topic, "", data)
}

// writeLoop writes control frames, acknowledgements and publications on
// conn until the connection is replaced or the channel closes.
func (c *Channel) writeLoop(conn net.Conn, gen int, wake chan struct{}, done chan struct{}) {
	defer close(done)
	var buf []byte
	var macked uint64
	for range wake {
		c.mu.Lock()
		if c.connGen != gen {
			c.mu.Unlock()
			return
		}
		closing := c.state == Closed
		buf = buf[:0]
		for i := range c.ctrl {
			if c.ctrl[i].typ == frameBye {
				continue // last, after the publications
			}
			buf = appendFrame(buf, &c.ctrl[i])
		}
		if c.mackDseq != macked {
			macked = c.mackDseq
			buf = appendFrame(buf, &frame{typ: frameMack, dseq: macked})
		}
		if !closing {
			for _, m := range c.out[c.sendIdx:] {
				buf = appendFrame(buf, &m.f)
			}
			c.sendIdx = len(c.out)
		} else if slices.ContainsFunc(c.ctrl, func(f frame) bool { return f.typ == frameBye }) {
			buf = appendFrame(buf, &frame{typ: frameBye})
		}
		c.ctrl = c.ctrl[:0]
		c.mu.Unlock()
		if len(buf) > 0 {
			if _, err := conn.Write(buf); err != nil {
				conn.Close()
				return
			}
		}
		if closing {
			conn.Close()
			return
		}
		if cap(buf) > 1<<20 {
			buf = nil
		}
	}
}
