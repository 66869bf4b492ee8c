package ipc

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/switchboard-ipc/switchboard/endpoint"
	"github.com/switchboard-ipc/switchboard/netserver"
	"github.com/switchboard-ipc/switchboard/wire"
)

// A Server accepts clients of both wires on the same listeners, delivers
// messages to them (Send, Broadcast, Publish), calls its handlers for what
// they send, and in hub mode relays between them. Create it with NewServer.
type Server struct {
	cfg      ServerConfig
	handlers *mux
	subs     index[*session]
	store    *SessionStore
	ns       *netserver.Server

	mu        sync.Mutex
	sock      map[string]*session // socket-ipc clients
	sockIDs   sync.Map            // a copy of sock for lookups without mu
	conns     map[*sconn]struct{}
	listening bool
	closed    bool
	addrs     []net.Addr

	sockAll   atomic.Pointer[[]*session] // snapshot of sock for hub fan-out
	closedA   atomic.Bool                // closed, readable without mu
	stopped   atomic.Bool                // readers stop, even with input buffered: set with cancel
	lastTopic atomicString               // a topic known to be valid
	lastSess  atomic.Pointer[session]    // the native session lookup found last

	pendMu  sync.Mutex
	pending map[uint64]*pendingReq // requests forwarded by the hub
	reqSeq  atomic.Uint64
	rr      atomic.Uint64

	ctx       context.Context // cancelled on Close/Shutdown
	cancel    context.CancelFunc
	done      chan struct{}
	janitor   chan struct{} // closed when the janitor exits
	closeOnce sync.Once
	connWG    sync.WaitGroup // one per connection being served

	access accessCounters // refused connections, connections per uid, unhandled messages
}

type pendingReq struct {
	requester *session
	reqID     uint64
	at        time.Time
}

// REPLY error codes, in the Seq field of a REPLY with FlagError.
const (
	replyErrText      = 0 // the payload is an error text
	replyNoResponders = 1 // nobody handles the topic
	replyTooMany      = 2 // the requester has too many requests pending
)

const requestTTL = 5 * time.Minute

// NewServer returns a Server for cfg. It returns an error for an invalid
// configuration (negative limits, unknown policy).
func NewServer(cfg ServerConfig) (*Server, error) {
	if err := cfg.normalize(); err != nil {
		return nil, err
	}
	s := &Server{
		cfg:      cfg,
		handlers: newMux(),
		store:    cfg.Sessions,
		sock:     make(map[string]*session),
		conns:    make(map[*sconn]struct{}),
		pending:  make(map[uint64]*pendingReq),
		done:     make(chan struct{}),
		janitor:  make(chan struct{}),
	}
	if s.store == nil {
		s.store = NewSessionStore()
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.sockAll.Store(&[]*session{})
	// Sessions carried over from an earlier server: route to them again.
	s.store.mu.Lock()
	now := time.Now()
	for _, ss := range s.store.m {
		ss.mu.Lock()
		ss.conn = nil
		if ss.detachedAt.IsZero() {
			ss.detachedAt = now
		}
		for id, p := range ss.subs {
			s.subs.add(p, ss, id)
		}
		ss.mu.Unlock()
	}
	s.store.mu.Unlock()
	s.ns = &netserver.Server{
		Handler:        netserver.HandlerFunc(s.serveConn),
		MaxConnections: cfg.MaxConnections,
		Logger:         cfg.Logger,
		Authorize:      s.authorize,
		OnReject:       s.onReject,
		OnClose:        s.onClose,
	}
	go s.runJanitor()
	return s, nil
}

// Handle registers h for messages and requests sent to the server whose
// topic matches pattern (see ValidPattern; ">" matches every topic). Every
// matching handler is called, in registration order. It panics on an
// invalid pattern, like http.ServeMux.
//
// Register handlers before Serve or Listen. A message that matches no
// handler is acknowledged and dropped (on a server that is not a hub it is
// counted and reported, see ErrNoHandler), and clients that resume their
// sessions on a new server send again at once, before a handler
// registered later is in place.
func (s *Server) Handle(pattern string, h HandlerFunc) {
	if !ValidPattern(pattern) {
		panic("ipc: Handle: invalid pattern " + pattern)
	}
	s.handlers.add(pattern, h)
}

// Listen listens on each address (endpoint syntax; none means
// endpoint.DefaultAddr()) and serves them in the background. It returns once
// every address listens, or the first error (closing what it opened);
// OnListening has been called for each address by then. Listen may be
// called once per Server; a second call returns ErrAlreadyListening.
func (s *Server) Listen(ctx context.Context, addrs ...string) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ErrServerClosed
	}
	if s.listening {
		s.mu.Unlock()
		return ErrAlreadyListening
	}
	s.listening = true
	s.mu.Unlock()
	if len(addrs) == 0 {
		addrs = []string{endpoint.DefaultAddr()}
	}
	var ls []net.Listener
	for _, a := range addrs {
		l, err := endpoint.Listen(ctx, a)
		if err != nil {
			for _, l := range ls {
				l.Close()
			}
			return fmt.Errorf("ipc: listen %s: %w", a, err)
		}
		ls = append(ls, l)
	}
	for _, l := range ls {
		if s.cfg.OnListening != nil {
			s.cfg.OnListening(l.Addr())
		}
		go func() {
			if err := s.serve(l, false); err != nil && !errors.Is(err, ErrServerClosed) {
				s.reportErr(err)
			}
		}()
	}
	return nil
}

// Serve accepts connections on l until Close or Shutdown; it always returns
// a non-nil error, ErrServerClosed after Close or Shutdown. Serve may be
// called for several listeners.
func (s *Server) Serve(l net.Listener) error { return s.serve(l, true) }

// serve is Serve; announce calls OnListening (Listen has done it).
func (s *Server) serve(l net.Listener, announce bool) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		if l != nil {
			l.Close()
		}
		return ErrServerClosed
	}
	if l == nil {
		s.mu.Unlock()
		return errors.New("ipc: Serve: nil listener")
	}
	s.listening = true
	s.addrs = append(s.addrs, l.Addr())
	s.mu.Unlock()
	if announce && s.cfg.OnListening != nil {
		s.cfg.OnListening(l.Addr())
	}
	err := s.ns.Serve(l)
	if errors.Is(err, netserver.ErrServerClosed) {
		return ErrServerClosed
	}
	return err
}

// Addrs returns the addresses the server listens on.
func (s *Server) Addrs() []net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]net.Addr(nil), s.addrs...)
}

// Clients returns the connected clients.
func (s *Server) Clients() []ClientInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]ClientInfo, 0, len(s.conns))
	for c := range s.conns {
		if c.sess != nil {
			out = append(out, c.info)
		}
	}
	return out
}

// Send sends msg on topic to one client. The client must be connected or
// hold a session (a native client between reconnects: the message waits in
// its session). It returns a *BadClientError for an unknown or gone client,
// an *EncodeError, a *SendAfterCloseError after Close, or an error matching
// ErrSlowConsumer when the client's queue is full and the policy is not
// Block.
func (s *Server) Send(clientID, topic string, msg any) error {
	topic = normTopic(topic)
	if s.isClosed() {
		return &SendAfterCloseError{Topic: topic, Message: msg}
	}
	ss := s.lookup(clientID)
	if ss == nil {
		return &BadClientError{ClientID: clientID, Topic: topic, Message: msg}
	}
	b, err := s.cfg.Codec.Marshal(msg)
	if err != nil {
		return &EncodeError{Topic: topic, Message: msg, Err: err}
	}
	return s.sendTo(ss, topic, msg, b, false)
}

// SendEncoded is Send for a payload already encoded with the server's codec.
// It does not keep data after it returns.
func (s *Server) SendEncoded(clientID, topic string, data []byte) error {
	topic = normTopic(topic)
	if s.isClosed() {
		return &SendAfterCloseError{Topic: topic, Message: data}
	}
	ss := s.lookup(clientID)
	if ss == nil {
		return &BadClientError{ClientID: clientID, Topic: topic, Message: data}
	}
	return s.sendTo(ss, topic, nil, data, true)
}

// sendTo queues a message for one client. When encoded, msg is nil and
// errors carry b as their Message.
func (s *Server) sendTo(ss *session, topic string, msg any, b []byte, encoded bool) error {
	orig := func() any {
		if encoded {
			return b
		}
		return msg
	}
	var f wire.Frame
	setMsgFrame(&f, wire.TypeMsg, topic, b)
	if s.lastTopic.Load() != topic || len(b) > 4096 {
		if err := f.Validate(0); err != nil {
			return &EncodeError{Topic: topic, Message: orig(), Err: err}
		}
		s.lastTopic.Store(topic)
	}
	if ss.wire == SocketIPC && s.cfg.Codec.Name() != "json" && !json.Valid(b) {
		return &EncodeError{Topic: topic, Message: orig(), Err: errNotJSON}
	}
	if !s.deliverDirect(s.ctx, ss, &f) {
		return fmt.Errorf("%w: client %s", ErrSlowConsumer, ss.id)
	}
	return nil
}

var errNotJSON = errors.New("ipc: payload for a socket-ipc client is not JSON")

// deliverDirect queues a message for one client, encoding it straight into
// the client's queue.
func (s *Server) deliverDirect(ctx context.Context, ss *session, f *wire.Frame) bool {
	q := ss.q
	n := wire.FrameSize(f)
	if !s.lockRoom(ctx, ss, n, f.Topic, highWater(n)) {
		return false
	}
	q.reserveLocked(n)
	if ss.wire == SocketIPC {
		q.buf = wire.AppendJSONFrame(q.buf, string(f.Topic), f.Payload)
	} else {
		ss.deliverSeq++
		f.Seq = ss.deliverSeq
		q.buf = wire.AppendFrame(q.buf, f)
		q.appendedMsgLocked(f.Seq)
	}
	q.flushLocked()
	q.mu.Unlock()
	return true
}

// lockRoom locks ss's queue for n more bytes on topic: it waits while the
// queue runs more than high bytes ahead of its writes (Block) and applies
// the slow-consumer policy when n bytes do not fit. It reports true with
// the queue's lock held, or false with it released (the queue is closed or
// the bytes are not to be queued).
func (s *Server) lockRoom(ctx context.Context, ss *session, n int, topic []byte, high int) bool {
	q := ss.q
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return false
	}
	if s.cfg.SlowConsumer == Block {
		q.paceLocked(ctx, high)
	}
	if !q.roomLocked(n, false) && !s.fullLocked(ctx, ss, n, string(topic)) {
		return false // q.mu released
	}
	return true
}

// fullLocked applies the slow-consumer policy to a full queue. It reports
// true, with q.mu still held, when there is room now (Block); otherwise it
// has released q.mu. ss.q.mu must be held.
func (s *Server) fullLocked(ctx context.Context, ss *session, n int, topic string) bool {
	q := ss.q
	policy := s.cfg.SlowConsumer
	if q.conn == nil {
		policy = Drop
	}
	switch policy {
	case Block:
		if err := q.waitRoomLocked(ctx, n, false); err != nil {
			q.mu.Unlock()
			return false
		}
		return true
	case Drop:
		q.mu.Unlock()
		s.reportErr(fmt.Errorf("%w: message on %q dropped for client %s", ErrSlowConsumer, topic, ss.id))
		return false
	default:
		c := q.conn
		q.mu.Unlock()
		s.slowConsumer(ss, c)
		return false
	}
}

// Broadcast sends msg on topic to every client, connected or holding a
// session. With no clients it does nothing and returns nil.
func (s *Server) Broadcast(topic string, msg any) error {
	return s.fanOut(topic, msg, nil, false, s.broadcast)
}

// BroadcastEncoded is Broadcast for a payload already encoded with the
// server's codec.
func (s *Server) BroadcastEncoded(topic string, data []byte) error {
	return s.fanOut(topic, nil, data, true, s.broadcast)
}

// fanOut encodes a message once (msg, or data already encoded) and hands
// it to deliverAll.
func (s *Server) fanOut(topic string, msg any, data []byte, encoded bool, deliverAll func(*envelope)) error {
	topic = normTopic(topic)
	if s.isClosed() {
		if encoded {
			return &SendAfterCloseError{Topic: topic, Message: data}
		}
		return &SendAfterCloseError{Topic: topic, Message: msg}
	}
	var e *envelope
	var err error
	if encoded {
		e, err = s.envelopeOf(topic, nil, data, true)
	} else {
		e, err = s.envelope(topic, msg)
	}
	if err != nil {
		return err
	}
	deliverAll(e)
	e.release()
	return nil
}

func (s *Server) broadcast(e *envelope) {
	for _, ss := range *s.sockAll.Load() {
		s.deliver(s.ctx, ss, e)
	}
	for _, ss := range s.store.snapshot() {
		s.deliver(s.ctx, ss, e)
	}
}

// snapshot returns the sessions of the store, in a slice shared until the
// store changes: callers must not modify it. Rebuilt on the first call after
// a change, so a stream of Broadcasts does not walk the map.
func (st *SessionStore) snapshot() []*session {
	if p := st.all.Load(); p != nil {
		return *p
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	if p := st.all.Load(); p != nil {
		return *p
	}
	all := make([]*session, 0, len(st.m))
	for _, ss := range st.m {
		all = append(all, ss)
	}
	st.all.Store(&all)
	return all
}

// Publish sends msg on topic to the native clients subscribed to a matching
// pattern and to every socket-ipc client (which cannot subscribe). With no
// receivers it does nothing and returns nil.
func (s *Server) Publish(topic string, msg any) error {
	return s.fanOut(topic, msg, nil, false, s.publish)
}

// PublishEncoded is Publish for a payload already encoded with the server's
// codec.
func (s *Server) PublishEncoded(topic string, data []byte) error {
	return s.fanOut(topic, nil, data, true, s.publish)
}

func (s *Server) publish(e *envelope) {
	for _, ss := range s.subs.match(e.topic) {
		s.deliver(s.ctx, ss, e)
	}
	for _, ss := range *s.sockAll.Load() {
		s.deliver(s.ctx, ss, e)
	}
}

// AdoptSession creates a native session for client id (a UUID) with
// subscriptions to patterns, before that client connects: messages routed to
// it wait in the session (for SessionTTL) until the client connects with
// that id. An existing session of id gets the patterns added.
func (s *Server) AdoptSession(id string, patterns []string) error {
	if _, ok := parseUUID(id); !ok {
		return fmt.Errorf("ipc: AdoptSession: %q is not a UUID", id)
	}
	for _, p := range patterns {
		if !ValidPattern(p) {
			return fmt.Errorf("%w: %q", ErrBadPattern, p)
		}
	}
	if s.isClosed() {
		return ErrServerClosed
	}
	s.store.mu.Lock()
	ss := s.store.m[id]
	if ss == nil {
		ss = newSession(id, Native, s.cfg.QueueBytes)
		ss.detachedAt = time.Now()
		ss.adopted = true
		s.store.putLocked(ss)
	}
	s.store.mu.Unlock()
	ss.mu.Lock()
	for i, p := range patterns {
		sid := adoptedSubBase + uint64(i)
		if old, ok := ss.subs[sid]; ok {
			s.subs.remove(old, ss, sid)
		}
		ss.subs[sid] = p
		s.subs.add(p, ss, sid)
	}
	ss.mu.Unlock()
	return nil
}

// adoptedSubBase numbers the subscriptions made by AdoptSession, apart from
// those of the client.
const adoptedSubBase = 1 << 62

// Close closes the listeners and every connection now, waits for handlers
// that are running to return, and stops the server. Native sessions stay in a SessionStore given in the config. Close
// is safe to call more than once; later sends return SendAfterCloseError.
func (s *Server) Close() error {
	s.begin()
	s.stop()
	err := s.ns.Close()
	s.connWG.Wait()
	if errors.Is(err, netserver.ErrServerClosed) {
		err = nil
	}
	s.finish()
	return err
}

// Shutdown stops accepting, tells every native client to go away (GOAWAY,
// after what is queued for it), ends every connection once its queue is
// written, and waits for the connections to end or ctx to be done; then it
// closes what is left and returns ctx's error.
func (s *Server) Shutdown(ctx context.Context) error {
	s.begin()
	s.mu.Lock()
	conns := make([]*sconn, 0, len(s.conns))
	sessions := make([]*session, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
		sessions = append(sessions, c.sess)
	}
	s.mu.Unlock()
	var wg sync.WaitGroup
	for i, c := range conns {
		wg.Go(func() { c.goAway(ctx, sessions[i], wire.GoAwayServerShutdown, "server shutting down") })
	}
	wg.Wait()
	err := s.ns.Shutdown(ctx)
	if err != nil {
		s.stop()
		s.ns.Close()
	}
	s.connWG.Wait()
	if errors.Is(err, netserver.ErrServerClosed) {
		err = nil
	}
	s.finish()
	return err
}

func (s *Server) begin() {
	s.mu.Lock()
	s.closed = true
	s.closedA.Store(true)
	s.mu.Unlock()
}

func (s *Server) finish() {
	s.closeOnce.Do(func() {
		s.stop()
		close(s.done)
		<-s.janitor
		s.mu.Lock()
		socks := make([]*session, 0, len(s.sock))
		for _, ss := range s.sock {
			socks = append(socks, ss)
		}
		s.mu.Unlock()
		for _, ss := range socks {
			ss.q.close()
		}
		if s.cfg.OnClose != nil {
			s.cfg.OnClose()
		}
	})
}

func (s *Server) isClosed() bool { return s.closedA.Load() }

func (s *Server) reportErr(err error) {
	if s.cfg.OnError != nil {
		s.cfg.OnError(err)
	}
	if s.cfg.Logger != nil {
		s.cfg.Logger.Debug("ipc server", "err", err)
	}
}

// lookup returns the live session of client id, or nil. The native session
// found last is remembered, so a stream of Sends to one client skips the map
// lookup: a native session stays the one of its id until it is dead (the
// store replaces an id's session only after endSession), and deadA says when.
func (s *Server) lookup(id string) *session {
	if ss := s.lastSess.Load(); ss != nil && ss.id == id && !ss.deadA.Load() {
		return ss
	}
	v, ok := s.store.ids.Load(id)
	if !ok {
		v, ok = s.sockIDs.Load(id)
	}
	if !ok {
		return nil
	}
	ss := v.(*session)
	if ss.deadA.Load() {
		return nil
	}
	if ss.wire == Native {
		s.lastSess.Store(ss)
	}
	return ss
}

func normTopic(t string) string {
	if t == "" {
		return "none"
	}
	return t
}

// envelope is one message encoded once for every receiver: a native MSG
// frame whose sequence number is patched per receiver, and the socket-ipc
// frame, built when the first socket-ipc receiver needs it.
type envelope struct {
	topic   string
	native  []byte
	payload []byte
	json    []byte
	jsonOK  int8 // 0 unknown, 1 payload is JSON, -1 not
	scratch *[]byte
	jbuf    []byte   // the scratch of a pooled envelope
	pub     *session // AckAfterDelivery: the publisher to acknowledge
	pseq    uint64   // and its sequence number
}

func (s *Server) envelope(topic string, msg any) (*envelope, error) {
	b, err := s.cfg.Codec.Marshal(msg)
	if err != nil {
		return nil, &EncodeError{Topic: topic, Message: msg, Err: err}
	}
	return s.envelopeOf(topic, msg, b, false)
}

// envelopeOf returns an envelope for payload b from the pool; release gives
// it back once every receiver has copied it. When encoded, msg is nil and an
// error carries b as its Message (converted only then).
func (s *Server) envelopeOf(topic string, msg any, b []byte, encoded bool) (*envelope, error) {
	var f wire.Frame
	setMsgFrame(&f, wire.TypeMsg, topic, b)
	if s.lastTopic.Load() != topic || len(b) > 4096 {
		if err := f.Validate(0); err != nil {
			if encoded {
				msg = b
			}
			return nil, &EncodeError{Topic: topic, Message: msg, Err: err}
		}
		s.lastTopic.Store(topic)
	}
	e := envelopePool.Get().(*envelope)
	e.topic, e.payload, e.native = topic, b, wire.AppendFrame(e.native[:0], &f)
	e.json, e.jsonOK, e.scratch, e.pub, e.pseq = nil, 0, &e.jbuf, nil, 0
	if s.cfg.Codec.Name() != "json" {
		e.jsonOK = -1
	}
	return e, nil
}

var envelopePool = sync.Pool{New: func() any { return new(envelope) }}

// maxPooledEnvelope bounds the buffers an envelope keeps in the pool.
const maxPooledEnvelope = 64 << 10

// release gives an envelope from envelopeOf back to the pool. The receivers'
// queues hold copies: nothing refers to its buffers any more.
func (e *envelope) release() {
	if cap(e.native) > maxPooledEnvelope {
		e.native = nil
	}
	if cap(e.jbuf) > maxPooledEnvelope {
		e.jbuf = nil
	}
	e.topic, e.payload, e.json, e.scratch, e.pub = "", nil, nil, nil, nil
	envelopePool.Put(e)
}

func (e *envelope) socketFrame() []byte {
	if e.jsonOK == 0 {
		e.jsonOK = -1
		if json.Valid(e.payload) {
			e.jsonOK = 1
		}
	}
	if e.jsonOK < 0 {
		return nil
	}
	if e.json == nil {
		if e.scratch != nil {
			*e.scratch = wire.AppendJSONFrame((*e.scratch)[:0], e.topic, e.payload)
			e.json = *e.scratch
		} else {
			e.json = wire.AppendJSONFrame(nil, e.topic, e.payload)
		}
	}
	return e.json
}

// deliver queues e for ss under the slow-consumer policy and reports whether
// it was queued. ctx bounds a Block wait.
func (s *Server) deliver(ctx context.Context, ss *session, e *envelope) bool {
	b := e.native
	if ss.wire == SocketIPC {
		if b = e.socketFrame(); b == nil {
			return true // not representable for socket-ipc: not for it
		}
	}
	q := ss.q
	if !s.lockRoom(ctx, ss, len(b), topicBytes(e.topic), fanoutHighWater) {
		return false
	}
	q.reserveLocked(len(b))
	start := len(q.buf)
	q.buf = append(q.buf, b...)
	if ss.wire == Native {
		ss.deliverSeq++
		binary.BigEndian.PutUint64(q.buf[start+offSeq:], ss.deliverSeq)
		q.appendedMsgLocked(ss.deliverSeq)
		if e.pub != nil {
			ss.track.delivered(ss.deliverSeq, e.pub, e.pseq)
		}
	}
	// One goroutine fans out to many queues: writing from it would be a
	// write per receiver per message; each receiver's writer batches.
	q.kickLocked()
	q.mu.Unlock()
	return true
}

// deliverRun queues for the native session ss the MSG frames in frames,
// encoded one after another and starting at the offsets at, all on topic:
// what deliver does for each, under one lock. Each frame gets ss's next
// delivery number. It reports whether they were queued.
func (s *Server) deliverRun(ctx context.Context, ss *session, frames []byte, at []int, topic string) bool {
	q := ss.q
	if !s.lockRoom(ctx, ss, len(frames), topicBytes(topic), fanoutHighWater) {
		return false
	}
	q.reserveLocked(len(frames))
	start := len(q.buf)
	q.buf = append(q.buf, frames...)
	for _, off := range at {
		ss.deliverSeq++
		binary.BigEndian.PutUint64(q.buf[start+off+offSeq:], ss.deliverSeq)
	}
	q.appendedMsgLocked(ss.deliverSeq)
	q.kickLocked()
	q.mu.Unlock()
	return true
}

// slowConsumer ends the session of a client whose queue overflowed.
func (s *Server) slowConsumer(ss *session, c net.Conn) {
	err := fmt.Errorf("%w: client %s", ErrSlowConsumer, ss.id)
	ss.mu.Lock()
	sc := ss.conn
	ss.mu.Unlock()
	if sc != nil {
		sc.setErr(err)
	}
	s.endSession(ss)
	if c != nil {
		c.Close() // its reader reports err to OnError and OnDisconnect
	} else {
		s.reportErr(err)
	}
}

// endSession removes a session for good.
func (s *Server) endSession(ss *session) {
	ss.mu.Lock()
	if ss.dead {
		ss.mu.Unlock()
		return
	}
	ss.dead = true
	ss.deadA.Store(true)
	s.lastSess.CompareAndSwap(ss, nil)
	subs := ss.subs
	ss.subs = map[uint64]string{}
	ss.mu.Unlock()
	for id, p := range subs {
		s.subs.remove(p, ss, id)
	}
	if ss.wire == Native {
		s.store.mu.Lock()
		s.store.deleteLocked(ss)
		s.store.mu.Unlock()
		ss.track.ended(s)
	}
	ss.q.close()
}

func (s *Server) runJanitor() {
	defer close(s.janitor)
	tick := min(max(s.cfg.SessionTTL/4, 10*time.Millisecond), time.Second)
	t := time.NewTicker(tick)
	defer t.Stop()
	for {
		select {
		case <-s.done:
			return
		case now := <-t.C:
			s.sweep(now)
		}
	}
}

// sweep ends expired sessions and forgets stale hub requests.
func (s *Server) sweep(now time.Time) {
	var expired []*session
	s.store.mu.Lock()
	for _, ss := range s.store.m {
		ss.mu.Lock()
		if ss.conn == nil && !ss.detachedAt.IsZero() && now.Sub(ss.detachedAt) >= s.cfg.SessionTTL {
			expired = append(expired, ss)
		}
		ss.mu.Unlock()
	}
	s.store.mu.Unlock()
	for _, ss := range expired {
		s.endSession(ss)
	}
	for _, ss := range s.allSessions() {
		ss.q.trimIdle()
	}
	s.pendMu.Lock()
	for id, p := range s.pending {
		if now.Sub(p.at) > requestTTL {
			delete(s.pending, id)
			p.requester.reqs.Add(-1)
		}
	}
	s.pendMu.Unlock()
}

// refreshSockAllLocked rebuilds the snapshot of socket-ipc clients.
// s.mu must be held.
func (s *Server) refreshSockAllLocked() {
	all := make([]*session, 0, len(s.sock))
	for _, ss := range s.sock {
		all = append(all, ss)
	}
	s.sockAll.Store(&all)
}

// allSessions returns every session: native ones (in the store) and
// socket-ipc ones.
func (s *Server) allSessions() []*session {
	native := s.store.snapshot()
	return append(native[:len(native):len(native)], *s.sockAll.Load()...)
}

// stop makes every reader stop processing input, even input it has
// buffered, and cancels the server's context.
func (s *Server) stop() {
	s.stopped.Store(true)
	s.cancel()
}
