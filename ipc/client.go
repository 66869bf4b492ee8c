package ipc

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/switchboard-ipc/switchboard/codec"
	"github.com/switchboard-ipc/switchboard/endpoint"
	"github.com/switchboard-ipc/switchboard/wire"
)

// State is the connection state of a Client.
type State int

// Client states.
const (
	StateNew          State = iota // created, Connect not called
	StateConnecting                // connecting for the first time
	StateConnected                 // connected
	StateReconnecting              // lost its connection, reconnecting
	StateClosed                    // closed
)

// String returns the state's name in lower case, such as "connected".
func (s State) String() string {
	switch s {
	case StateNew:
		return "new"
	case StateConnecting:
		return "connecting"
	case StateConnected:
		return "connected"
	case StateReconnecting:
		return "reconnecting"
	case StateClosed:
		return "closed"
	}
	return "State(" + strconv.Itoa(int(s)) + ")"
}

// Client defaults.
const (
	DefaultRetryDelay     = time.Second
	DefaultReconnectDelay = 100 * time.Millisecond
	defaultOutBytes       = 8 << 20
)

type clientOptions struct {
	codec                codec.Codec
	wire                 Wire
	retryMin, retryMax   time.Duration
	reconMin, reconMax   time.Duration
	queueMsgs, queueByte int
	dialer               func(ctx context.Context) (net.Conn, error)
	id                   string
	dedupe               bool
	onConnect            func()
	onDisconnect         func(error)
	onError              func(error)
	logger               *slog.Logger
	fallback             HandlerFunc
	maxFrame             int
}

// An Option configures a Client.
type Option func(*clientOptions) error

// WithCodec sets the payload codec (default codec.JSON). The socket-ipc wire
// needs JSON.
func WithCodec(c codec.Codec) Option {
	return func(o *clientOptions) error {
		if c == nil {
			return errors.New("ipc: WithCodec: nil codec")
		}
		o.codec = c
		return nil
	}
}

// WithWire selects the protocol (default Native).
func WithWire(w Wire) Option {
	return func(o *clientOptions) error {
		if w != Native && w != SocketIPC {
			return errors.New("ipc: WithWire: unknown wire " + w.String())
		}
		o.wire = w
		return nil
	}
}

// WithRetryDelay sets the delay between failed connection attempts: fixed
// when min == max, else drawn at random from [min, max] for each attempt.
// Default DefaultRetryDelay (1 s). Zero is allowed.
func WithRetryDelay(min, max time.Duration) Option {
	return func(o *clientOptions) error {
		if min < 0 || max < min {
			return errors.New("ipc: WithRetryDelay: need 0 <= min <= max")
		}
		o.retryMin, o.retryMax = min, max
		return nil
	}
}

// WithReconnectDelay sets the delay before reconnecting after an unexpected
// disconnect: fixed when min == max, else random in [min, max]. Default
// DefaultReconnectDelay (100 ms). Zero is allowed.
func WithReconnectDelay(min, max time.Duration) Option {
	return func(o *clientOptions) error {
		if min < 0 || max < min {
			return errors.New("ipc: WithReconnectDelay: need 0 <= min <= max")
		}
		o.reconMin, o.reconMax = min, max
		return nil
	}
}

// WithQueue enables the queue of a native Client: up to maxMsgs messages
// (0: no limit on the count) and maxBytes bytes (0: 8 MiB) that are sent but
// not yet acknowledged, or queued while disconnected. Queued and
// unacknowledged messages are sent again after a reconnect; the server drops
// the duplicates. When the queue is full, Send waits for room until its ctx
// is done and then returns an error matching ErrQueueFull.
//
// Without a queue (the default, as in socket-ipc) Send while disconnected
// returns a *NoServerError and nothing is resent.
func WithQueue(maxMsgs, maxBytes int) Option {
	return func(o *clientOptions) error {
		if maxMsgs < 0 || maxBytes < 0 {
			return errors.New("ipc: WithQueue: negative size")
		}
		if maxBytes == 0 {
			maxBytes = defaultOutBytes
		}
		o.queueMsgs, o.queueByte = maxMsgs, maxBytes
		return nil
	}
}

// WithDialer replaces the dialing of the address (for tests and custom
// transports).
func WithDialer(d func(ctx context.Context) (net.Conn, error)) Option {
	return func(o *clientOptions) error { o.dialer = d; return nil }
}

// WithID makes a native Client ask for id (a UUID) instead of a new one.
func WithID(id string) Option {
	return func(o *clientOptions) error {
		if _, ok := parseUUID(id); !ok {
			return fmt.Errorf("ipc: WithID: %q is not a UUID", id)
		}
		o.id = id
		return nil
	}
}

// WithDedupe drops messages relayed by a hub whose (origin client,
// origin sequence number) was seen already — the duplicates a publisher
// creates when it resends to a new server after a failover.
func WithDedupe(on bool) Option {
	return func(o *clientOptions) error { o.dedupe = on; return nil }
}

// WithOnConnect sets a hook called after every successful connection.
func WithOnConnect(f func()) Option {
	return func(o *clientOptions) error { o.onConnect = f; return nil }
}

// WithOnDisconnect sets a hook called after an unexpected disconnect, before
// reconnecting, with the reason.
func WithOnDisconnect(f func(error)) Option {
	return func(o *clientOptions) error { o.onDisconnect = f; return nil }
}

// WithOnError sets a hook for errors nobody else can act on: each failed
// connection attempt (a *ConnectError), bad bytes from the server (a
// *DecodeError).
func WithOnError(f func(error)) Option {
	return func(o *clientOptions) error { o.onError = f; return nil }
}

// WithLogger sets a logger for debug output. Default: silent.
func WithLogger(l *slog.Logger) Option {
	return func(o *clientOptions) error { o.logger = l; return nil }
}

// WithFallback sets the handler of messages that match no handler, such as
// direct sends on topics nobody registered.
func WithFallback(h HandlerFunc) Option {
	return func(o *clientOptions) error { o.fallback = h; return nil }
}

// WithMaxFrame limits the frames the Client accepts (default 4 MiB).
func WithMaxFrame(n int) Option {
	return func(o *clientOptions) error {
		if n < 0 {
			return errors.New("ipc: WithMaxFrame: negative")
		}
		o.maxFrame = n
		return nil
	}
}

// A Client connects to a Server (or a socket-ipc server) and keeps
// reconnecting until Close. Handlers and hooks run on the Client's one
// connection goroutine, in order.
type Client struct {
	addr string
	o    clientOptions
	q    *outq
	mux  *mux

	lastTopic atomicString // a topic known to be valid

	// under q.mu
	seq uint64 // last sequence number given to a message (acknowledged: q.ackDone)

	mu            sync.Mutex
	id            string
	state         State
	connectCalled bool
	closed        bool
	conn          net.Conn
	turn          *readTurn     // the read turn of conn (native)
	lingerFor     time.Duration // directLinger unless a test sets it
	subs          map[uint64]*Subscription
	subSeq        uint64
	pending       map[uint64]*call
	reqSeq        uint64
	lastConnErr   *ConnectError // the last failed attempt, until a connection

	// owned by the connection goroutine
	lastDeliv uint64
	origins   map[[16]byte]uint64
	needAck   bool
	ackBytes  int // bytes of MSG frames read since the last acknowledgement
	routes    routeCache[*route]
	msg       Message
	topic     string
	from      [16]byte
	fromStr   string

	ctx       context.Context
	cancel    context.CancelFunc
	connected chan struct{} // closed on the first connection
	connOnce  sync.Once
	done      chan struct{} // closed when Close has finished
	runDone   chan struct{} // closed when run has returned
}

type call struct {
	topic string
	frame []byte
	ch    chan callResult
}

type callResult struct {
	m   *Message
	err error
}

// NewClient returns a Client for addr (endpoint syntax) that is not yet
// connected.
func NewClient(addr string, opts ...Option) (*Client, error) {
	o := clientOptions{
		codec:    codec.JSON,
		retryMin: DefaultRetryDelay, retryMax: DefaultRetryDelay,
		reconMin: DefaultReconnectDelay, reconMax: DefaultReconnectDelay,
	}
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			return nil, err
		}
	}
	if o.wire == SocketIPC && o.codec.Name() != "json" {
		return nil, errors.New("ipc: the socket-ipc wire needs the JSON codec")
	}
	if o.dialer == nil {
		if _, err := endpoint.ParseAddr(addr); err != nil {
			return nil, err
		}
	}
	retain := o.queueByte > 0 && o.wire == Native
	limit := defaultOutBytes
	if retain {
		limit = o.queueByte
	}
	c := &Client{
		addr:      addr,
		o:         o,
		q:         newOutq(retain, limit),
		mux:       newMux(),
		id:        o.id,
		subs:      make(map[uint64]*Subscription),
		pending:   make(map[uint64]*call),
		origins:   make(map[[16]byte]uint64),
		connected: make(chan struct{}),
		done:      make(chan struct{}),
		runDone:   make(chan struct{}),
	}
	c.q.maxMsgs = o.queueMsgs
	c.q.clocked = o.wire == Native // the server acknowledges every MSG
	c.ctx, c.cancel = context.WithCancel(context.Background())
	c.msg.codec = o.codec
	return c, nil
}

// Dial returns a connected Client: NewClient and Connect. On error the
// Client is closed.
func Dial(ctx context.Context, addr string, opts ...Option) (*Client, error) {
	c, err := NewClient(addr, opts...)
	if err != nil {
		return nil, err
	}
	if err := c.Connect(ctx); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// Connect starts connecting and waits until the Client is connected, ctx is
// done or the Client is closed. Failed attempts are retried (WithRetryDelay)
// and each is reported to the error hook as a *ConnectError; the attempts go
// on in the background after ctx is done, until Close. Connect may be
// called once; later calls return ErrConnectCalled.
//
// When ctx ends first, the error matches ctx's error and, if an attempt
// failed, is that attempt's *ConnectError too: errors.Is(err,
// syscall.ECONNREFUSED) tells "nobody listens" from a slow server.
func (c *Client) Connect(ctx context.Context) error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return ErrClientClosed
	}
	if c.connectCalled {
		c.mu.Unlock()
		return ErrConnectCalled
	}
	c.connectCalled = true
	c.state = StateConnecting
	c.mu.Unlock()
	go c.run()
	select {
	case <-c.connected:
		return nil
	case <-ctx.Done():
		c.mu.Lock()
		last := c.lastConnErr
		c.mu.Unlock()
		if last != nil {
			return errors.Join(ctx.Err(), last)
		}
		return ctx.Err()
	case <-c.ctx.Done():
		return ErrClientClosed
	}
}

// ID returns the client id the server gave (native) or "" (socket-ipc, or
// before the first connection).
func (c *Client) ID() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.id
}

// State returns the connection state.
func (c *Client) State() State {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.state
}

// Done returns a channel closed once Close has finished.
func (c *Client) Done() <-chan struct{} { return c.done }

// Close stops connecting, writes what is queued (waiting at most a second),
// closes the connection and waits for the connection goroutine to finish.
// Pending requests fail with ErrClientClosed. It is safe to call twice.
func (c *Client) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		<-c.done
		return nil
	}
	c.closed = true
	c.state = StateClosed
	started := c.connectCalled
	conn := c.conn
	c.mu.Unlock()
	if conn != nil {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		c.waitWritten(ctx)
		cancel()
	}
	c.cancel()
	c.q.close()
	if conn != nil {
		conn.Close()
	}
	if started {
		<-c.runDone
	}
	c.mu.Lock()
	calls := c.pending
	c.pending = map[uint64]*call{}
	c.mu.Unlock()
	for _, cl := range calls {
		cl.ch <- callResult{err: ErrClientClosed}
	}
	close(c.done)
	return nil
}

func (c *Client) waitWritten(ctx context.Context) {
	q := c.q
	q.mu.Lock()
	defer q.mu.Unlock()
	for q.conn != nil && q.busyLocked() {
		if q.space == nil {
			q.space = make(chan struct{})
		}
		ch := q.space
		q.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			q.mu.Lock()
			return
		}
		q.mu.Lock()
	}
}

func (c *Client) hookErr(err error) {
	if c.o.onError != nil {
		c.o.onError(err)
	}
	if c.o.logger != nil {
		c.o.logger.Debug("ipc client", "err", err)
	}
}

func delay(min, max time.Duration) time.Duration {
	if max <= min {
		return min
	}
	return min + rand.N(max-min+1)
}

// sleep waits d or until Close; it reports false on Close.
func (c *Client) sleep(d time.Duration) bool {
	if d <= 0 {
		return c.ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-c.ctx.Done():
		return false
	}
}

// run is the connection goroutine: it connects, serves the connection,
// reconnects, until Close.
func (c *Client) run() {
	defer close(c.runDone)
	attempt := 0
	for {
		conn, w, err := c.dial()
		if err != nil {
			if c.ctx.Err() != nil {
				return
			}
			attempt++
			cerr := &ConnectError{Addr: c.addr, Attempt: attempt, Err: err}
			c.mu.Lock()
			c.lastConnErr = cerr
			c.mu.Unlock()
			c.hookErr(cerr)
			if !c.sleep(delay(c.o.retryMin, c.o.retryMax)) {
				return
			}
			continue
		}
		attempt = 0
		c.mu.Lock()
		c.lastConnErr = nil
		c.mu.Unlock()
		err = c.serve(conn, w)
		if c.ctx.Err() != nil {
			return
		}
		if err != nil && isDecode(err) {
			err = &DecodeError{Err: err}
			c.hookErr(err)
		}
		if c.o.onDisconnect != nil {
			c.o.onDisconnect(err)
		}
		if !c.sleep(delay(c.o.reconMin, c.o.reconMax)) {
			return
		}
	}
}

const clientHandshakeTimeout = 10 * time.Second

// dial connects and, on the native wire, performs the handshake.
func (c *Client) dial() (net.Conn, *wire.Welcome, error) {
	var conn net.Conn
	var err error
	if c.o.dialer != nil {
		conn, err = c.o.dialer(c.ctx)
	} else {
		conn, err = endpoint.Dial(c.ctx, c.addr)
	}
	if err != nil {
		return nil, nil, err
	}
	if c.o.wire == SocketIPC {
		return conn, nil, nil
	}
	c.mu.Lock()
	id := c.id
	c.mu.Unlock()
	hello, _ := wire.MarshalHello(&wire.Hello{ID: id, Codec: c.o.codec.Name(), Resume: id != ""})
	b := append([]byte(nil), wire.Preface[:]...)
	b = wire.AppendFrame(b, &wire.Frame{Type: wire.TypeHello, Payload: hello})
	conn.SetDeadline(time.Now().Add(clientHandshakeTimeout))
	stop := context.AfterFunc(c.ctx, func() { conn.Close() })
	defer stop()
	fail := func(err error) (net.Conn, *wire.Welcome, error) {
		conn.Close()
		return nil, nil, err
	}
	if _, err := conn.Write(b); err != nil {
		return fail(err)
	}
	if err := wire.ReadPreface(conn); err != nil {
		return fail(err)
	}
	var f wire.Frame
	// The WELCOME is read without a buffer so that nothing after it is
	// consumed here.
	var hdr [wire.HeaderSize]byte
	if _, err := io.ReadFull(conn, hdr[:]); err != nil {
		return fail(err)
	}
	size, _, _ := frameAt(hdr[:])
	if size > wire.HeaderSize+1<<16 {
		return fail(&wire.DecodeError{Protocol: wire.Native, Err: wire.ErrFrameTooLarge, Reason: "handshake frame"})
	}
	full := make([]byte, size)
	copy(full, hdr[:])
	if _, err := io.ReadFull(conn, full[wire.HeaderSize:]); err != nil {
		return fail(err)
	}
	if err := wire.NewReader(bytes.NewReader(full), 0).ReadFrame(&f); err != nil {
		return fail(err)
	}
	switch f.Type {
	case wire.TypeWelcome:
	case wire.TypeGoAway:
		return fail(fmt.Errorf("ipc: server refused: %s", f.Payload))
	default:
		return fail(&wire.DecodeError{Protocol: wire.Native, Err: wire.ErrMalformed, Reason: "got " + f.Type.String() + ", want WELCOME"})
	}
	var w wire.Welcome
	if err := wire.UnmarshalWelcome(f.Payload, &w); err != nil {
		return fail(err)
	}
	conn.SetDeadline(time.Time{})
	return conn, &w, nil
}

// serve runs one connection until it ends.
func (c *Client) serve(conn net.Conn, w *wire.Welcome) error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		conn.Close()
		return nil
	}
	var prefix []byte
	if w != nil {
		c.id = w.ID
		if !w.Resumed {
			c.lastDeliv = 0
		}
		ids := make([]uint64, 0, len(c.subs))
		for id := range c.subs {
			ids = append(ids, id)
		}
		slices.Sort(ids)
		for _, id := range ids {
			prefix = wire.AppendFrame(prefix, &wire.Frame{Type: wire.TypeSub, ID: id, Topic: []byte(c.subs[id].pattern)})
		}
		ids = ids[:0]
		for id := range c.pending {
			ids = append(ids, id)
		}
		slices.Sort(ids)
		for _, id := range ids {
			prefix = append(prefix, c.pending[id].frame...)
		}
	}
	c.conn = conn
	var turn *readTurn
	if w != nil {
		turn = newReadTurn(conn, c.o.maxFrame)
		c.turn = turn
	}
	c.state = StateConnected
	acked := uint64(0)
	if w != nil {
		acked = w.Acked
		c.q.mu.Lock()
		c.q.ackDone = max(c.q.ackDone, acked)
		if acked > c.seq {
			// The session has seen more of this id than this Client sent
			// (a new process resuming with WithID): number above it, or
			// the server would drop the new messages as duplicates.
			c.seq = acked
		}
		c.q.mu.Unlock()
	}
	// Attach under c.mu: a subscription or request made concurrently is
	// either in prefix or appended after the attach, never lost.
	writerDone := c.q.attach(conn, acked, prefix)
	c.mu.Unlock()
	c.connOnce.Do(func() { close(c.connected) })
	if c.o.onConnect != nil {
		c.o.onConnect()
	}
	var err error
	if w != nil {
		stop := c.startKeepAlive(time.Duration(w.Idle) * time.Millisecond)
		err = c.readNative(turn)
		stop()
	} else {
		err = c.readSocketIPC(conn)
	}
	c.q.detach(conn)
	conn.Close()
	<-writerDone
	c.mu.Lock()
	c.conn, c.turn = nil, nil
	if !c.closed {
		c.state = StateReconnecting
	}
	c.mu.Unlock()
	return err
}

func (c *Client) internTopic(b []byte) string {
	if len(b) == 0 {
		return "none"
	}
	if string(b) != c.topic {
		c.topic = string(b)
	}
	return c.topic
}

func (c *Client) dispatch(m *Message) {
	if !c.mux.dispatch(m, &c.routes) && c.o.fallback != nil {
		c.o.fallback(m)
	}
}

func (c *Client) readSocketIPC(conn net.Conn) error {
	jr := wire.NewJSONReader(conn, c.o.maxFrame)
	m := &c.msg
	for {
		topic, message, err := jr.ReadMessage()
		if err != nil {
			return err
		}
		m.set(normTopic(topic), "", 0, message, c.o.codec)
		c.dispatch(m)
	}
}

func (c *Client) readNative(t *readTurn) error {
	var f wire.Frame
	var timer *time.Timer
	replied := false
	for {
		if err := t.next(&f); err != nil {
			return err
		}
		r, err := c.handleFrame(&f)
		if err != nil {
			return err
		}
		replied = replied || r
		if t.rd.FrameBuffered() {
			continue
		}
		// About to read the connection: acknowledge once caught up, or
		// every ackEvery bytes of a stream that keeps coming.
		if c.needAck && (t.rd.Buffered() == 0 || c.ackBytes >= ackEvery) {
			c.needAck, c.ackBytes = false, 0
			c.q.appendFrameNow(&wire.Frame{Type: wire.TypeAck, Seq: c.lastDeliv})
		}
		if replied && t.rd.Buffered() == 0 {
			// A requester waited: more may follow, and read directly.
			replied = false
			if err := c.linger(t, &timer); err != nil {
				return err
			}
		}
	}
}

// handleFrame handles a frame read by the connection goroutine. It
// reports whether it handed a reply to a waiting requester.
func (c *Client) handleFrame(f *wire.Frame) (replied bool, err error) {
	m := &c.msg
	switch f.Type {
	case wire.TypeMsg, wire.TypeReq:
		if f.Type == wire.TypeMsg && f.Seq != 0 {
			c.needAck = true
			c.ackBytes += wire.FrameSize(f)
			if f.Seq <= c.lastDeliv {
				break // resent after a reconnect: seen already
			}
			c.lastDeliv = f.Seq
		}
		m.set(c.internTopic(f.Topic), "", 0, f.Payload, c.o.codec)
		if f.Flags&wire.FlagOrigin != 0 {
			if f.Origin != c.from || c.fromStr == "" {
				c.from, c.fromStr = f.Origin, formatUUID(f.Origin)
			}
			m.From = c.fromStr
			if f.Type == wire.TypeMsg {
				m.Seq = f.ID
				if c.o.dedupe && f.ID != 0 {
					if f.ID <= c.origins[f.Origin] {
						break
					}
					c.origins[f.Origin] = f.ID
				}
			}
		}
		if f.Type == wire.TypeReq {
			m.resp, m.reqID = c, f.ID
			if !c.mux.dispatch(m, &c.routes) {
				c.q.appendFrame(&wire.Frame{Type: wire.TypeReply, Flags: wire.FlagError, Seq: replyNoResponders, ID: f.ID})
			}
			break
		}
		c.dispatch(m)
	case wire.TypeReply:
		if cl, r := c.complete(f); cl != nil {
			cl.ch <- r
			return true, nil
		}
	case wire.TypeSubAck:
		c.mu.Lock()
		sub := c.subs[f.ID]
		c.mu.Unlock()
		if sub != nil {
			var err error
			switch {
			case f.Flags&wire.FlagError != 0 && f.Seq == subAckTooMany:
				err = fmt.Errorf("%w: %s", ErrTooManySubscriptions, sub.pattern)
			case f.Flags&wire.FlagError != 0:
				err = fmt.Errorf("%w: %s", ErrBadPattern, sub.pattern)
			}
			sub.confirm(err)
		}
	case wire.TypeAck:
		c.acknowledged(f.Seq)
	case wire.TypePing:
		c.q.appendFrame(&wire.Frame{Type: wire.TypePong, ID: f.ID})
	case wire.TypeGoAway:
		return false, fmt.Errorf("ipc: server went away (code %d): %s", f.ID, f.Payload)
	}
	return false, nil
}

// complete takes the pending call a REPLY answers, with its result, or
// returns nil if no call waits for it (its requester gave up).
func (c *Client) complete(f *wire.Frame) (*call, callResult) {
	c.mu.Lock()
	cl := c.pending[f.ID]
	delete(c.pending, f.ID)
	c.mu.Unlock()
	if cl == nil {
		return nil, callResult{}
	}
	var r callResult
	switch {
	case f.Flags&wire.FlagError != 0 && f.Seq == replyNoResponders:
		r.err = fmt.Errorf("%w: %s", ErrNoResponders, cl.topic)
	case f.Flags&wire.FlagError != 0 && f.Seq == replyTooMany:
		r.err = fmt.Errorf("%w: %s", ErrTooManyRequests, cl.topic)
	case f.Flags&wire.FlagError != 0:
		r.err = &RemoteError{Topic: cl.topic, Text: string(f.Payload)}
	default:
		r.m = &Message{Topic: cl.topic, Data: slices.Clone(f.Payload), codec: c.o.codec}
	}
	return cl, r
}

// acknowledged handles the server's acknowledgement of the messages up to
// seq.
func (c *Client) acknowledged(seq uint64) { c.q.postAck(seq) }

// reply implements responder for requests a hub forwarded to this client.
func (c *Client) reply(id uint64, payload []byte, errText string) error {
	f := wire.Frame{Type: wire.TypeReply, ID: id, Payload: payload}
	if errText != "" {
		f.Flags = wire.FlagError
		f.Payload = []byte(errText)
	}
	c.q.mu.Lock()
	if c.q.closed {
		c.q.mu.Unlock()
		return ErrClientClosed
	}
	c.q.mu.Unlock()
	c.q.appendFrameNow(&f)
	return nil
}

// atomicString holds a string that is read and written concurrently.
type atomicString struct{ p atomic.Pointer[string] }

func (a *atomicString) Load() string {
	if p := a.p.Load(); p != nil {
		return *p
	}
	return ""
}

func (a *atomicString) Store(s string) { a.p.Store(&s) }
