package ipc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/switchboard-ipc/switchboard/wire"
)

// Send sends msg on topic to the server: to the server's handlers, and on a
// hub to the subscribers of topic. An empty topic is sent as "none". It
// returns once the message is queued for writing; Flush waits for the
// server's acknowledgement.
//
// Errors: *EncodeError; *SendAfterCloseError after Close; *NoServerError
// while disconnected without a queue (WithQueue); an error matching
// ErrQueueFull (and ctx's error) when the queue stayed full until ctx was
// done.
func (c *Client) Send(ctx context.Context, topic string, msg any) error {
	topic = normTopic(topic)
	b, err := c.o.codec.Marshal(msg)
	if err != nil {
		return &EncodeError{Topic: topic, Message: msg, Err: err}
	}
	return c.send(ctx, topic, msg, b, false)
}

// SendEncoded is Send for a payload already encoded with the Client's codec
// (for JSON: one JSON value). It does not copy or keep data after it
// returns, and on the native hot path it does not allocate.
func (c *Client) SendEncoded(ctx context.Context, topic string, data []byte) error {
	topic = normTopic(topic)
	if c.o.wire == SocketIPC && !json.Valid(data) {
		return &EncodeError{Topic: topic, Message: data, Err: errNotJSON}
	}
	return c.send(ctx, topic, nil, data, true)
}

// send queues a MSG. When encoded, msg is nil and errors carry payload as
// their Message (converted only then: the hot path does not allocate).
func (c *Client) send(ctx context.Context, topic string, msg any, payload []byte, encoded bool) error {
	orig := func() any {
		if encoded {
			return payload
		}
		return msg
	}
	var f wire.Frame
	setMsgFrame(&f, wire.TypeMsg, topic, payload)
	if c.lastTopic.Load() != topic || len(payload) > 4096 {
		if err := f.Validate(c.o.maxFrame); err != nil {
			return &EncodeError{Topic: topic, Message: msg, Err: err}
		}
		c.lastTopic.Store(topic)
	}
	size := wire.FrameSize(&f)
	native := c.o.wire == Native
	q := c.q
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return &SendAfterCloseError{Topic: topic, Message: orig()}
	}
	if q.conn == nil && !q.retain {
		q.mu.Unlock()
		return &NoServerError{Topic: topic, Message: orig()}
	}
	q.paceLocked(ctx, highWater(size))
	if err := q.waitRoomLocked(ctx, size, native && q.retain); err != nil {
		closed := q.closed
		q.mu.Unlock()
		if closed {
			return &SendAfterCloseError{Topic: topic, Message: orig()}
		}
		return fmt.Errorf("%w: %w", ErrQueueFull, err)
	}
	q.reserveLocked(size)
	if native {
		c.seq++
		f.Seq = c.seq
		q.buf = wire.AppendFrame(q.buf, &f)
		q.appendedMsgLocked(c.seq)
	} else {
		q.buf = wire.AppendJSONFrame(q.buf, topic, payload)
	}
	q.flushLocked()
	q.mu.Unlock()
	return nil
}

// Flush waits until every message sent so far was acknowledged by the
// server (native) or written to the connection (socket-ipc), ctx is done, or
// the Client is closed (ErrClientClosed).
func (c *Client) Flush(ctx context.Context) error {
	q := c.q
	q.mu.Lock()
	defer q.mu.Unlock()
	target := c.seq
	for {
		if q.closed {
			return ErrClientClosed
		}
		if c.o.wire == Native {
			if q.ackDone >= target {
				return nil
			}
		} else if q.conn != nil && !q.busyLocked() {
			return nil
		}
		if q.space == nil {
			q.space = make(chan struct{})
		}
		ch := q.space
		q.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			q.mu.Lock()
			return ctx.Err()
		}
		q.mu.Lock()
	}
}

// Request sends a request on topic and waits for the reply: from the
// server's handler for topic, or on a hub from one subscriber of topic
// (round robin). It returns an error matching ErrNoResponders when nobody
// handles topic, a *RemoteError when the responder answered with an error,
// ctx's error when ctx is done first. A request in flight when the
// connection drops is sent again after reconnecting. Not available on the
// socket-ipc wire (ErrUnsupported).
//
// Back-to-back requests read their replies themselves rather than wait for
// the connection goroutine to hand them over: for about 1 ms after a
// request, messages that are not replies are read when the next request
// reads or when that time is up (docs/messaging.md, "Performance design").
func (c *Client) Request(ctx context.Context, topic string, msg any) (*Message, error) {
	if c.o.wire != Native {
		return nil, ErrUnsupported
	}
	topic = normTopic(topic)
	b, err := c.o.codec.Marshal(msg)
	if err != nil {
		return nil, &EncodeError{Topic: topic, Message: msg, Err: err}
	}
	var f wire.Frame
	setMsgFrame(&f, wire.TypeReq, topic, b)
	if err := f.Validate(c.o.maxFrame); err != nil {
		return nil, &EncodeError{Topic: topic, Message: msg, Err: err}
	}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil, &SendAfterCloseError{Topic: topic, Message: msg}
	}
	if c.conn == nil && !c.q.retain {
		c.mu.Unlock()
		return nil, &NoServerError{Topic: topic, Message: msg}
	}
	c.reqSeq++
	f.ID = c.reqSeq
	cl := &call{topic: topic, frame: wire.AppendFrame(nil, &f), ch: make(chan callResult, 1)}
	c.pending[f.ID] = cl
	connected, turn := c.conn != nil, c.turn
	c.mu.Unlock()
	if connected {
		c.q.mu.Lock()
		c.q.reserveLocked(len(cl.frame))
		c.q.buf = append(c.q.buf, cl.frame...)
		c.q.writeNowLocked()
		c.q.mu.Unlock()
	}
	if testHookRequestWritten != nil {
		testHookRequestWritten(cl)
	}
	if turn != nil {
		select {
		case <-turn.tok:
			// Holding the turn, a reply already read was handed over
			// before (readDirect looks for it first).
			if r, ok := c.readDirect(ctx, turn, cl, f.ID); ok {
				return r.m, r.err
			}
		default:
		}
	}
	select {
	case r := <-cl.ch:
		return r.m, r.err
	case <-ctx.Done():
		c.mu.Lock()
		delete(c.pending, f.ID)
		c.mu.Unlock()
		return nil, ctx.Err()
	}
}

// A Subscription is a handler registered on a Client for a pattern.
type Subscription struct {
	c       *Client
	id      uint64
	pattern string
	r       *route

	once sync.Once
	ok   chan struct{}
	err  error
}

// Pattern returns the subscription's pattern.
func (s *Subscription) Pattern() string { return s.pattern }

func (s *Subscription) confirm(err error) {
	s.once.Do(func() {
		s.err = err
		close(s.ok)
	})
}

// Unsubscribe removes the handler and, on the native wire, the
// subscription on the server. It is safe to call twice.
func (s *Subscription) Unsubscribe() error {
	c := s.c
	c.mu.Lock()
	_, had := c.subs[s.id]
	delete(c.subs, s.id)
	c.mu.Unlock()
	if !had {
		return nil
	}
	c.mux.remove(s.r)
	if c.o.wire == Native {
		c.q.mu.Lock()
		live := c.q.conn != nil
		c.q.mu.Unlock()
		if live {
			c.q.appendFrame(&wire.Frame{Type: wire.TypeUnsub, ID: s.id})
		}
	}
	return nil
}

// Subscribe registers h for messages whose topic matches pattern (see
// ValidPattern) and, on the native wire, subscribes to pattern on the
// server; it returns once the server confirmed, or when ctx is done (the
// subscription then stays registered and is confirmed later). Subscriptions
// are renewed after every reconnect. On the socket-ipc wire, which cannot
// subscribe, the server sends everything and h only filters.
func (c *Client) Subscribe(ctx context.Context, pattern string, h HandlerFunc) (*Subscription, error) {
	s, err := c.subscribe(pattern, h)
	if err != nil {
		return nil, err
	}
	if c.o.wire != Native {
		return s, nil
	}
	select {
	case <-s.ok:
		if s.err != nil {
			s.Unsubscribe()
			return nil, s.err
		}
		return s, nil
	case <-ctx.Done():
		return s, ctx.Err()
	case <-c.ctx.Done():
		return nil, ErrClientClosed
	}
}

// Handle is Subscribe without waiting for the server's confirmation.
func (c *Client) Handle(pattern string, h HandlerFunc) error {
	_, err := c.subscribe(pattern, h)
	return err
}

func (c *Client) subscribe(pattern string, h HandlerFunc) (*Subscription, error) {
	if !ValidPattern(pattern) {
		return nil, fmt.Errorf("%w: %q", ErrBadPattern, pattern)
	}
	if h == nil {
		return nil, errors.New("ipc: nil handler")
	}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil, ErrClientClosed
	}
	c.subSeq++
	s := &Subscription{c: c, id: c.subSeq, pattern: pattern, ok: make(chan struct{})}
	c.subs[s.id] = s
	s.r = c.mux.add(pattern, h)
	live := c.conn != nil
	c.mu.Unlock()
	if c.o.wire == Native && live {
		c.q.appendFrame(&wire.Frame{Type: wire.TypeSub, ID: s.id, Topic: []byte(pattern)})
	}
	return s, nil
}

// Subscriptions returns the patterns of the Client's subscriptions, sorted.
func (c *Client) Subscriptions() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]string, 0, len(c.subs))
	for _, s := range c.subs {
		out = append(out, s.pattern)
	}
	slices.Sort(out)
	return out
}

// testHookRequestWritten, when set by a test, runs in Request after the
// request was written.
var testHookRequestWritten func(cl *call)
