package channel

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Handler handles a message delivered to a subscription. Handlers run one at
// a time, in delivery order, on the channel's dispatcher goroutine.
type Handler func(m *Message)

// Message is a message delivered by the channel.
type Message struct {
	Topic   string // the topic it was published on
	Data    []byte // the payload, JSON
	From    string // the id of the member that published it ("" for the host)
	Seq     uint64 // its publisher's sequence number
	ReplyTo string // the topic of a reply, set by Request

	reply func(topic string, data []byte) error
}

// Decode unmarshals the payload into v.
func (m *Message) Decode(v any) error { return json.Unmarshal(m.Data, v) }

// Reply answers a message sent with Request. It returns an error when the
// message asks for no reply.
func (m *Message) Reply(v any) error {
	if m.ReplyTo == "" || m.reply == nil {
		return fmt.Errorf("%w: message on %q asks for no reply", ErrBadTopic, m.Topic)
	}
	data, err := marshal(v)
	if err != nil {
		return err
	}
	return m.reply(m.ReplyTo, data)
}

// inboxPrefix starts the reply topics of requests: _INBOX.<member id>.<n>.
const inboxPrefix = "_INBOX."

// outMsg is one publication kept until the host acknowledged it.
type outMsg struct {
	f     frame
	acked bool
}

// Channel is one member's handle on a named channel. It is safe for
// concurrent use.
type Channel struct {
	name string
	path string
	id   string
	opts options

	disp *dispatcher // handlers and hooks, in order

	mu       sync.Mutex
	state    State
	started  bool
	changed  chan struct{} // closed and replaced on every change waiters care about
	out      []*outMsg     // unacknowledged publications, seqs contiguous from out[0]
	sendIdx  int           // out[:sendIdx] were written on the current connection
	nextSeq  uint64
	subs     map[*Subscription]bool
	patterns map[string]int // pattern -> local subscriptions using it
	subReqs  map[uint64]bool
	nextReq  uint64
	ctrl     []frame // control frames for the current connection
	conn     net.Conn
	connGen  int
	wake     chan struct{} // kicks the current writer
	mackDseq uint64        // highest dseq received and not yet acknowledged
	members  []Member
	hub      *hub
	inc      uint64            // this Open's incarnation
	lastSeen map[origin]uint64 // highest seq delivered per origin (de-duplication)
	requests map[string]chan *Message
	nextInbx atomic.Uint64

	closing chan struct{}   // closed by Close
	ctx     context.Context // cancelled by Close
	cancel  context.CancelFunc
	wg      sync.WaitGroup
}

// Open opens the channel name ("" means DefaultName()). It does not connect:
// Connect does, and Publish and Subscribe may be called before, their effect
// queued until the channel is connected.
func Open(name string, opts ...Option) (*Channel, error) {
	if name == "" {
		name = DefaultName()
	}
	o := defaultOptions()
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			return nil, err
		}
	}
	path, err := SocketPath(o.dir, name)
	if err != nil {
		return nil, err
	}
	if o.id == "" {
		o.id = newID()
	}
	if o.logger == nil {
		o.logger = slog.New(slog.DiscardHandler)
	}
	c := &Channel{
		name:     name,
		path:     path,
		id:       o.id,
		opts:     o,
		disp:     newDispatcher(),
		changed:  make(chan struct{}),
		subs:     make(map[*Subscription]bool),
		patterns: make(map[string]int),
		subReqs:  make(map[uint64]bool),
		lastSeen: make(map[origin]uint64),
		requests: make(map[string]chan *Message),
		closing:  make(chan struct{}),
	}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	var inc [8]byte
	rand.Read(inc[:])
	c.inc = binary.BigEndian.Uint64(inc[:])
	return c, nil
}

func newID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := fmt.Sprintf("%x", b[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// Name returns the channel's name, open-channel's channel.name.
func (c *Channel) Name() string { return c.name }

// ID returns this member's id, the From of what it publishes.
func (c *Channel) ID() string { return c.id }

// Path returns the channel's socket path.
func (c *Channel) Path() string { return c.path }

// State returns the current state, open-channel's channel.state.
func (c *Channel) State() State {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.state
}

// Connected reports whether the channel is connected to a host,
// open-channel's channel.connected.
func (c *Channel) Connected() bool { return c.State() == Connected }

// Hosting reports whether this process hosts the channel now.
func (c *Channel) Hosting() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.hub != nil
}

// Members returns the members the host last reported, this one included.
func (c *Channel) Members() []Member {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Member(nil), c.members...)
}

// notifyLocked wakes everything waiting for a change. c.mu must be held.
func (c *Channel) notifyLocked() {
	close(c.changed)
	c.changed = make(chan struct{})
}

// setStateLocked moves to s and queues the hook. c.mu must be held.
func (c *Channel) setStateLocked(s State) {
	if c.state == s || c.state == Closed {
		return
	}
	c.state = s
	c.notifyLocked()
	if fn := c.opts.onState; fn != nil {
		c.disp.do(func() { fn(s) })
	}
}

// wait blocks until cond (called with c.mu held) is true, the channel
// closes (ErrClosed) or ctx ends.
func (c *Channel) wait(ctx context.Context, cond func() bool) error {
	for {
		c.mu.Lock()
		if cond() {
			c.mu.Unlock()
			return nil
		}
		if c.state == Closed {
			c.mu.Unlock()
			return ErrClosed
		}
		ch := c.changed
		c.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// startLocked starts connecting, once. c.mu must be held.
func (c *Channel) startLocked() {
	if c.started || c.state == Closed {
		return
	}
	c.started = true
	c.setStateLocked(Connecting)
	c.wg.Add(1)
	go c.run()
}

// Connect starts connecting, open-channel's channel.connect(timeout), and
// waits until the channel is connected, the context ends or, when the
// context has no deadline, the connect timeout (default 5 s) passes; then it
// returns ErrConnectTimeout, and the channel keeps trying until Close.
// Publications made before Connect, or while connecting, are queued and sent
// in order once connected.
func (c *Channel) Connect(ctx context.Context) error {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.opts.connectTimeout)
		defer cancel()
	}
	c.mu.Lock()
	c.startLocked()
	c.mu.Unlock()
	err := c.wait(ctx, func() bool { return c.state == Connected })
	if errors.Is(err, context.DeadlineExceeded) {
		return ErrConnectTimeout
	}
	return err
}

func marshal(v any) ([]byte, error) {
	switch v := v.(type) {
	case json.RawMessage:
		if !json.Valid(v) {
			return nil, fmt.Errorf("channel: payload is not valid JSON")
		}
		return v, nil
	}
	return json.Marshal(v)
}

// Publish sends v, encoded as JSON (a json.RawMessage as it is), on topic
// to every other member subscribed to it. It returns once the publication
// is queued; Flush waits until the host acknowledged it. It blocks while
// the queue (WithQueue) is full, until ctx ends. A member does not receive
// its own publications.
func (c *Channel) Publish(ctx context.Context, topic string, v any) error {
	if err := validTopic(topic); err != nil && !strings.HasPrefix(topic, inboxPrefix) {
		return err
	}
	data, err := marshal(v)
	if err != nil {
		return err
	}
	return c.publish(ctx, topic, "", data)
}

func (c *Channel) publish(ctx context.Context, topic, reply string, data []byte) error {
	if err := c.wait(ctx, func() bool { return len(c.out) < c.opts.queue }); err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("%w: %w", ErrQueueFull, err)
		}
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.state == Closed {
		return ErrClosed
	}
	c.nextSeq++
	c.out = append(c.out, &outMsg{f: frame{typ: framePub, id: c.id, seq: c.nextSeq, topic: topic, reply: reply, data: data}})
	c.kickLocked()
	return nil
}

// kickLocked wakes the writer of the current connection. c.mu must be held.
func (c *Channel) kickLocked() {
	if c.wake != nil {
		select {
		case c.wake <- struct{}{}:
		default:
		}
	}
}

// Flush waits until the host acknowledged every publication made so far
// (each was delivered to every member it was routed to) and every
// subscription, or ctx ends.
func (c *Channel) Flush(ctx context.Context) error {
	c.mu.Lock()
	last := c.nextSeq
	c.mu.Unlock()
	return c.wait(ctx, func() bool {
		return (len(c.out) == 0 || c.out[0].f.seq > last) && len(c.subReqs) == 0
	})
}

// Subscription is one Subscribe call.
type Subscription struct {
	c       *Channel
	pattern string
	fn      Handler
}

// Subscribe delivers every message published by another member on a topic
// matching pattern to fn. Patterns are dot-separated tokens; "*" matches one
// token and a final ">" one or more ("orders.*", "orders.>"). The host
// learns the subscription once connected; Flush waits for it.
func (c *Channel) Subscribe(pattern string, fn Handler) (*Subscription, error) {
	if err := validPattern(pattern); err != nil {
		return nil, err
	}
	if fn == nil {
		return nil, fmt.Errorf("%w: nil handler", ErrBadOption)
	}
	s := &Subscription{c: c, pattern: pattern, fn: fn}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.state == Closed {
		return nil, ErrClosed
	}
	c.subs[s] = true
	c.patterns[pattern]++
	if c.patterns[pattern] == 1 {
		c.subCtrlLocked(frameSub, pattern)
	}
	return s, nil
}

// subCtrlLocked tells the host about a pattern change when connected; the
// hello of the next connection carries the patterns otherwise. c.mu must be
// held.
func (c *Channel) subCtrlLocked(typ byte, pattern string) {
	if c.state != Connected {
		return
	}
	c.nextReq++
	c.subReqs[c.nextReq] = true
	c.ctrl = append(c.ctrl, frame{typ: typ, seq: c.nextReq, topic: pattern})
	c.kickLocked()
}

// Unsubscribe stops the subscription. Messages already queued for it may
// still be delivered.
func (s *Subscription) Unsubscribe() {
	c := s.c
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.subs[s] {
		return
	}
	delete(c.subs, s)
	c.patterns[s.pattern]--
	if c.patterns[s.pattern] == 0 {
		delete(c.patterns, s.pattern)
		c.subCtrlLocked(frameUnsub, s.pattern)
	}
}

// Request publishes v on topic with a reply topic and waits for the first
// reply, until ctx ends. It returns ErrNoResponders when the host found
// nobody subscribed to topic.
func (c *Channel) Request(ctx context.Context, topic string, v any) (*Message, error) {
	if err := validTopic(topic); err != nil {
		return nil, err
	}
	data, err := marshal(v)
	if err != nil {
		return nil, err
	}
	inbox := c.inbox() + strconv.FormatUint(c.nextInbx.Add(1), 10)
	ch := make(chan *Message, 1)
	c.mu.Lock()
	c.requests[inbox] = ch
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		delete(c.requests, inbox)
		c.mu.Unlock()
	}()
	if err := c.publish(ctx, topic, inbox, data); err != nil {
		return nil, err
	}
	select {
	case m := <-ch:
		if m == nil {
			return nil, ErrNoResponders
		}
		return m, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-c.closing:
		return nil, ErrClosed
	}
}

func (c *Channel) inbox() string { return inboxPrefix + c.id + "." }

// helloPatterns returns every pattern the host must route to this member.
// c.mu must be held.
func (c *Channel) helloPatternsLocked() []string {
	ps := []string{c.inbox() + ">"}
	for p := range c.patterns {
		ps = append(ps, p)
	}
	slices.Sort(ps[1:])
	return ps
}

// Close leaves the channel now, open-channel's destroy: publications not yet
// acknowledged are dropped (call Flush first to avoid that), and if this
// process hosts, the host stops and the other members elect a new one.
// Messages already handed to the dispatcher are still handled, then the
// OnStateChange hook sees Closed, and nothing runs after that; Close does not
// wait for them, so a handler may call it. Close is safe to call twice.
func (c *Channel) Close() error {
	c.mu.Lock()
	if c.state == Closed {
		c.mu.Unlock()
		return nil
	}
	c.state = Closed
	c.notifyLocked()
	close(c.closing)
	c.cancel()
	conn := c.conn
	if conn != nil && c.wake != nil {
		// Say goodbye so the host drops our session at once.
		c.ctrl = append(c.ctrl, frame{typ: frameBye})
	}
	hb := c.hub
	c.hub = nil
	c.mu.Unlock()
	if conn != nil {
		// The writer sends what is queued (the bye last) before it sees the
		// close; a short deadline bounds that.
		conn.SetWriteDeadline(time.Now().Add(100 * time.Millisecond))
		c.mu.Lock()
		c.kickLocked()
		c.mu.Unlock()
	}
	c.wg.Wait()
	if hb != nil {
		hb.close()
	}
	if fn := c.opts.onState; fn != nil {
		c.disp.do(func() { fn(Closed) })
	}
	c.disp.do(func() { c.disp.close(false) })
	return nil
}

// Shutdown leaves the channel gracefully: it waits until everything
// published was acknowledged (Flush) or ctx ends, then closes.
func (c *Channel) Shutdown(ctx context.Context) error {
	err := c.Flush(ctx)
	if cerr := c.Close(); err == nil {
		err = cerr
	}
	return err
}
