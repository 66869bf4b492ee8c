package ipc

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/switchboard-ipc/switchboard/wire"
)

func (c *sconn) serveNative(ctx context.Context) error {
	s := c.srv
	rd, welcome, err := c.handshake()
	if err != nil {
		return err
	}
	ss := c.sess
	f := &c.f
	// The reader keeps the last sequence number processed in c.recv and
	// publishes it to the session when it acknowledges and when it ends
	// (before a connection resuming the session reads it): an atomic
	// store per message would be a full barrier per message.
	c.recv = ss.lastRecv.Load()
	defer func() { ss.lastRecv.Store(c.recv) }()
	c.nc.SetReadDeadline(time.Time{})
	c.ir.start()
	ss.q.mu.Lock()
	ss.q.onWrite = func(err error) { c.setErr(err) }
	ss.q.mu.Unlock()
	// The WELCOME goes first through the session's queue: from the moment
	// the client can know its id, everything sent to it is on this
	// connection's way.
	writer := ss.q.attach(c.nc, 0, welcome)
	defer func() { ss.q.detach(c.nc); <-writer }()
	if s.cfg.OnConnect != nil {
		s.cfg.OnConnect(c.info)
	}
	// Publications read are queued for their receivers before the frames
	// read after them are handled, before the reader waits for more and
	// before it ends: what it acknowledged is queued.
	defer c.flushRelay(ctx)
	for {
		if err := rd.ReadFrame(f); err != nil {
			return err
		}
		if s.stopped.Load() {
			return net.ErrClosed // closed: buffered input is not processed
		}
		if err := c.frame(ctx, f); err != nil {
			return err
		}
		if !rd.FrameBuffered() {
			c.flushRelay(ctx)
		}
		// About to read the connection: acknowledge once caught up, or
		// every ackEvery bytes of a stream that keeps coming.
		if c.needAck && !rd.FrameBuffered() && c.br.Buffered() == 0 && (rd.Buffered() == 0 || c.ackBytes >= ackEvery) {
			c.ack()
		}
	}
}

// ack acknowledges what the client sent, once its reader has caught up.
func (c *sconn) ack() {
	c.needAck, c.ackBytes = false, 0
	ss := c.sess
	ss.lastRecv.Store(c.recv)
	if c.srv.cfg.AckAfterDelivery && c.srv.cfg.Hub {
		ss.sendAck()
	} else {
		ss.q.appendFrameNow(&wire.Frame{Type: wire.TypeAck, Seq: ss.lastRecv.Load()})
	}
}

// handshake exchanges prefaces, reads the HELLO and opens the session it
// asks for (c.sess). It returns the connection's frame reader and the
// WELCOME frame. It is a function of its own so that its locals are not on
// the reader's stack for the rest of the connection's life.
func (c *sconn) handshake() (rd *wire.Reader, welcome []byte, err error) {
	s := c.srv
	if s.cfg.HandshakeTimeout > 0 {
		c.nc.SetReadDeadline(time.Now().Add(s.cfg.HandshakeTimeout))
	}
	if err := wire.ReadPreface(c.br); err != nil {
		if errors.Is(err, wire.ErrUnsupportedVersion) {
			var b []byte
			b = append(b, wire.Preface[:]...)
			b = wire.AppendFrame(b, &wire.Frame{Type: wire.TypeGoAway, ID: wire.GoAwayUnsupportedVersion, Payload: []byte(err.Error())})
			c.nc.Write(b)
		}
		return nil, nil, c.handshakeErr(err)
	}
	if _, err := c.nc.Write(wire.Preface[:]); err != nil {
		return nil, nil, err
	}
	rd = wire.NewReader(&c.src, s.cfg.MaxFrame)
	f := &c.f
	if err := rd.ReadFrame(f); err != nil {
		return nil, nil, c.handshakeErr(err)
	}
	if f.Type != wire.TypeHello {
		return nil, nil, c.handshakeErr(&wire.DecodeError{Protocol: wire.Native, Err: wire.ErrMalformed, Reason: "first frame " + f.Type.String() + ", want HELLO"})
	}
	var hello wire.Hello
	if err := unmarshalHello(f.Payload, &hello); err != nil {
		return nil, nil, c.handshakeErr(err)
	}
	ss, resumed, err := c.openSession(&hello)
	if err != nil {
		return nil, nil, err
	}
	s.mu.Lock()
	c.sess = ss
	c.info = ClientInfo{ID: ss.id, Wire: Native, Resumed: resumed, Conn: c.nc}
	s.mu.Unlock()
	payload, _ := wire.MarshalWelcome(&wire.Welcome{ID: ss.id, Resumed: resumed, Acked: ss.lastRecv.Load(), MaxFrame: s.cfg.MaxFrame, Idle: s.cfg.IdleTimeout.Milliseconds()})
	return rd, wire.AppendFrame(nil, &wire.Frame{Type: wire.TypeWelcome, Payload: payload}), nil
}

// unmarshalHello is wire.UnmarshalHello on a goroutine of its own.
// encoding/json takes about 3 KiB of stack on top of the handshake's: on
// the connection's reader it would double the reader's stack, to 8 KiB,
// for the rest of the connection's life (a parked reader uses too much of
// it for the runtime to shrink it back). A short-lived goroutine's stack
// is freed when it ends.
func unmarshalHello(payload []byte, h *wire.Hello) error {
	done := make(chan error, 1)
	go func() { done <- wire.UnmarshalHello(payload, h) }()
	return <-done
}

func (c *sconn) handshakeErr(err error) error {
	if isTimeout(err) {
		return &DecodeError{Err: ErrHandshakeTimeout}
	}
	return err
}

// openSession finds or creates the session a HELLO asks for, and makes c its
// connection (taking it over from an older connection of the same client).
func (c *sconn) openSession(h *wire.Hello) (*session, bool, error) {
	s := c.srv
	st := s.store
	peer, perr := c.nc.Peer()
	hasPeer := perr == nil
	st.mu.Lock()
	var ss *session
	resumed := false
	if h.ID != "" {
		if old := st.m[h.ID]; old != nil {
			old.mu.Lock()
			alive := !old.dead
			foreign := old.owned && hasPeer && old.owner != peer.UID
			old.mu.Unlock()
			if alive && h.Resume && foreign {
				s.reportErr(&SessionOwnerError{ClientID: h.ID, UID: peer.UID})
			} else if alive && h.Resume {
				// An adopted session never met this client: its
				// delivery numbers start afresh.
				old.mu.Lock()
				ss, resumed = old, !old.adopted
				old.adopted = false
				old.mu.Unlock()
			}
		} else if _, ok := parseUUID(h.ID); ok {
			ss = newSession(h.ID, Native, s.cfg.QueueBytes)
			st.putLocked(ss)
		}
	}
	if ss == nil {
		id := newUUID()
		for st.m[id] != nil {
			id = newUUID()
		}
		ss = newSession(id, Native, s.cfg.QueueBytes)
		st.putLocked(ss)
	}
	st.mu.Unlock()
	ss.mu.Lock()
	if !ss.owned && hasPeer {
		ss.owner, ss.owned = peer.UID, true
	}
	old := ss.conn
	ss.conn = c
	ss.detachedAt = time.Time{}
	ss.mu.Unlock()
	if old != nil {
		// The client reconnected before its old connection was seen to
		// end: end it, and wait for its reader so that the session's
		// sequence numbers have one reader at a time.
		old.setErr(fmt.Errorf("ipc: client %s reconnected", ss.id))
		old.nc.Close()
		<-old.done
		ss.mu.Lock()
		ss.conn = c
		ss.detachedAt = time.Time{}
		ss.mu.Unlock()
	}
	// Only this connection's reader uses the codec name from here on.
	ss.codecName = h.Codec
	return ss, resumed, nil
}

// frame handles one frame after the handshake.
func (c *sconn) frame(ctx context.Context, f *wire.Frame) error {
	s := c.srv
	ss := c.sess
	if f.Type != wire.TypeMsg {
		c.flushRelay(ctx) // in order with what the client published before
	}
	switch f.Type {
	case wire.TypeMsg:
		if f.Seq != 0 {
			c.needAck = true
			c.ackBytes += wire.FrameSize(f)
			if f.Seq <= c.recv {
				return nil // a resent duplicate
			}
		}
		topic := c.internTopic(f.Topic)
		hub := s.cfg.Hub
		if hub {
			c.publish(ctx, topic, f)
		}
		m := &c.msg
		m.set(topic, ss.id, f.Seq, f.Payload, s.cfg.Codec)
		c.dispatch(m)
		if f.Seq != 0 {
			c.recv = f.Seq
		}
	case wire.TypeReq:
		c.request(ctx, f)
	case wire.TypeReply:
		s.pendMu.Lock()
		p := s.pending[f.ID]
		delete(s.pending, f.ID)
		s.pendMu.Unlock()
		if p != nil {
			p.requester.reqs.Add(-1)
			p.requester.q.appendFrameNow(&wire.Frame{Type: wire.TypeReply, Flags: f.Flags & wire.FlagError, Seq: f.Seq, ID: p.reqID, Payload: f.Payload})
		}
	case wire.TypeSub:
		p := string(f.Topic)
		if !ValidPattern(p) {
			ss.q.appendFrame(&wire.Frame{Type: wire.TypeSubAck, Flags: wire.FlagError, ID: f.ID, Payload: []byte(ErrBadPattern.Error())})
			return nil
		}
		ss.mu.Lock()
		old, had := ss.subs[f.ID]
		if !had && s.cfg.MaxSubscriptions > 0 && len(ss.subs) >= s.cfg.MaxSubscriptions {
			ss.mu.Unlock()
			ss.q.appendFrame(&wire.Frame{Type: wire.TypeSubAck, Flags: wire.FlagError, ID: f.ID, Seq: subAckTooMany, Payload: []byte(ErrTooManySubscriptions.Error())})
			return nil
		}
		ss.subs[f.ID] = p
		ss.mu.Unlock()
		if had {
			s.subs.remove(old, ss, f.ID)
		}
		s.subs.add(p, ss, f.ID)
		ss.q.appendFrame(&wire.Frame{Type: wire.TypeSubAck, ID: f.ID})
	case wire.TypeUnsub:
		ss.mu.Lock()
		p, had := ss.subs[f.ID]
		delete(ss.subs, f.ID)
		ss.mu.Unlock()
		if had {
			s.subs.remove(p, ss, f.ID)
		}
	case wire.TypeAck:
		ss.q.postAck(f.Seq)
		if s.cfg.AckAfterDelivery {
			ss.track.acked(f.Seq)
		}
	case wire.TypePing:
		ss.q.appendFrame(&wire.Frame{Type: wire.TypePong, ID: f.ID})
	case wire.TypeGoAway:
		return errGoAway
	case wire.TypeHello:
		return &wire.DecodeError{Protocol: wire.Native, Err: wire.ErrMalformed, Reason: "second HELLO"}
	}
	// Unknown types and stray PONG/WELCOME/SUBACK are ignored.
	return nil
}

// errGoAway ends a connection the client said goodbye on.
var errGoAway = fmt.Errorf("ipc: client went away: %w", errClean)

var errClean = errors.New("clean close")

func (c *sconn) internTopic(b []byte) string {
	if len(b) == 0 {
		return "none"
	}
	if string(b) != c.topic {
		c.topic = string(b)
	}
	return c.topic
}

// publish relays a native client's message on a hub: one frame, encoded
// once, copied to every receiver with its own delivery sequence number.
func (c *sconn) publish(ctx context.Context, topic string, f *wire.Frame) {
	s := c.srv
	ss := c.sess
	targets := s.subs.matchCached(&c.subsRC, topic)
	socks := *s.sockAll.Load()
	track := s.cfg.AckAfterDelivery && f.Seq != 0
	// Consecutive publications to the same receivers (the route cached for
	// the topic is the same slice until subscriptions change) are queued
	// for each receiver together; socket-ipc receivers and delivery
	// tracking take them one by one.
	run := !track && len(socks) == 0 && len(targets) > 0
	if len(c.relayAt) > 0 && (!run || topic != c.runTopic || !sameSessions(targets, c.runTargets) || len(c.relay) >= relayRunMax) {
		c.flushRelay(ctx)
	}
	if track {
		ss.track.begin(f.Seq)
		defer ss.track.done(f.Seq)
	}
	if len(targets) == 0 && len(socks) == 0 {
		return
	}
	// The relayed frame and its envelope live in c and are reused: only
	// the fields that change are set.
	rf := &c.rf
	rf.Type, rf.Flags, rf.ID, rf.Topic, rf.Payload = wire.TypeMsg, wire.FlagOrigin, f.Seq, f.Topic, f.Payload
	rf.Origin = ss.uuid
	if len(rf.Topic) == 0 {
		rf.Topic = none
	}
	if run {
		if len(c.relayAt) == 0 {
			c.relay = c.relay[:0] // what is left is a frame relayed alone, done with
		}
		c.relayAt = append(c.relayAt, len(c.relay))
		c.relay = wire.AppendFrame(c.relay, rf)
		c.runTopic, c.runTargets = topic, targets
		return
	}
	c.relay = wire.AppendFrame(c.relay[:0], rf)
	e := &c.env
	e.topic, e.native, e.payload, e.json, e.scratch = topic, c.relay, f.Payload, nil, &c.jrelay
	e.jsonOK = 0
	if ss.codecName != "json" && ss.codecName != "" {
		e.jsonOK = -1
	}
	e.pub, e.pseq = nil, 0
	if track {
		e.pub, e.pseq = ss, f.Seq
	}
	for _, t := range targets {
		if t != ss {
			s.deliver(ctx, t, e)
		}
	}
	if len(socks) > 0 {
		e.pub = nil
		for _, t := range socks {
			s.deliver(ctx, t, e)
		}
	}
}

var none = []byte("none")

// relayRunMax bounds the bytes of a run of publications waiting in
// sconn.relay.
const relayRunMax = 16 << 10

// flushRelay queues the run of publications waiting in c.relay for each of
// their receivers (but the publisher).
func (c *sconn) flushRelay(ctx context.Context) {
	if len(c.relayAt) == 0 {
		return
	}
	for _, t := range c.runTargets {
		if t != c.sess {
			c.srv.deliverRun(ctx, t, c.relay, c.relayAt, c.runTopic)
		}
	}
	c.relay, c.relayAt, c.runTopic, c.runTargets = c.relay[:0], c.relayAt[:0], "", nil
	if cap(c.relay) > 4*relayRunMax {
		c.relay = nil // one large frame's buffer is not kept
	}
}

// sameSessions reports whether a and b are the same slice (routes are
// shared slices, replaced when subscriptions change).
func sameSessions(a, b []*session) bool {
	return len(a) == len(b) && (len(a) == 0 || &a[0] == &b[0])
}

// request answers or forwards a native client's request.
func (c *sconn) request(ctx context.Context, f *wire.Frame) {
	s := c.srv
	ss := c.sess
	topic := c.internTopic(f.Topic)
	if s.handlers.has(topic) {
		m := &c.msg
		m.set(topic, ss.id, f.Seq, f.Payload, s.cfg.Codec)
		m.resp, m.reqID = ss, f.ID
		s.handlers.dispatch(m, &c.handlerRC)
		return
	}
	if s.cfg.Hub {
		var live []*session
		for _, t := range s.subs.match(topic) {
			t.mu.Lock()
			ok := t != ss && t.conn != nil && t.wire == Native
			t.mu.Unlock()
			if ok {
				live = append(live, t)
			}
		}
		if len(live) > 0 && s.cfg.MaxRequests > 0 && ss.reqs.Load() >= int64(s.cfg.MaxRequests) {
			ss.q.appendFrame(&wire.Frame{Type: wire.TypeReply, Flags: wire.FlagError, Seq: replyTooMany, ID: f.ID})
			return
		}
		if len(live) > 0 {
			ss.reqs.Add(1)
			t := live[int(s.rr.Add(1)%uint64(len(live)))]
			id := s.reqSeq.Add(1)
			s.pendMu.Lock()
			s.pending[id] = &pendingReq{requester: ss, reqID: f.ID, at: time.Now()}
			s.pendMu.Unlock()
			t.q.appendFrameNow(&wire.Frame{Type: wire.TypeReq, Flags: wire.FlagOrigin, ID: id, Topic: f.Topic, Origin: ss.uuid, Payload: f.Payload})
			return
		}
	}
	ss.q.appendFrame(&wire.Frame{Type: wire.TypeReply, Flags: wire.FlagError, Seq: replyNoResponders, ID: f.ID})
}

// reply implements responder for requests a session's client sent to the
// server's handlers.
func (ss *session) reply(id uint64, payload []byte, errText string) error {
	f := wire.Frame{Type: wire.TypeReply, ID: id, Payload: payload}
	if errText != "" {
		f.Flags = wire.FlagError
		f.Payload = []byte(errText)
	}
	ss.q.mu.Lock()
	closed := ss.q.closed
	ss.q.mu.Unlock()
	if closed {
		return nil
	}
	ss.q.appendFrameNow(&f)
	return nil
}
