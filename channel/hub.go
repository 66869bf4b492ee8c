package channel

import (
	"bufio"
	"encoding/json"
	"log/slog"
	"net"
	"slices"
	"sync"
	"time"
)

// membersTopic carries the member list from the host to every member.
const membersTopic = "$sys.members"

// Member describes one member of a channel as the host knows it.
type Member struct {
	ID       string   `json:"id"`
	Patterns []string `json:"patterns,omitempty"`
}

// hub is the host's side of the member protocol: it keeps one session per
// member id, routes each publication to every session whose patterns match
// (except the publisher's), and acknowledges a publication to its publisher
// only once every session it was routed to acknowledged it or expired.
type hub struct {
	ttl    time.Duration
	logger *slog.Logger

	mu         sync.Mutex
	sessions   map[string]*session
	lastRouted map[origin]uint64 // highest seq routed per origin
	pending    map[pubKey]*item  // routed, not yet delivered everywhere
	handlers   []hostHandler     // host-resident subscribers
	conns      map[*hubConn]bool // open connections
	closed     bool
	disp       *dispatcher // runs host handlers
	ln         net.Listener
	wg         sync.WaitGroup // accept loop and connection goroutines
}

// origin is one incarnation of a member: its id and the random number its
// Open drew.
type origin struct {
	id  string
	inc uint64
}

type pubKey struct {
	origin
	seq uint64
}

type hostHandler struct {
	pattern string
	fn      Handler
}

// item is one routed message, shared by the session queues it sits in.
type item struct {
	f       frame // typ frameMsg; dseq filled per session when written
	pending int   // sessions that have not acknowledged it yet
	onDone  func()
}

type delivery struct {
	dseq uint64
	it   *item
}

type session struct {
	id       string
	inc      uint64 // the incarnation of the member's current or last connection
	patterns []string
	queue    []delivery // unacknowledged, in dseq order
	nextDseq uint64
	conn     *hubConn // nil while disconnected
	sent     int      // queue[:sent] were written on conn
	gen      int      // bumped on every attach/detach; stale expiry timers check it
	expiry   *time.Timer
}

func newHub(ttl time.Duration, logger *slog.Logger, adopt []Member, handlers []hostHandler) *hub {
	h := &hub{
		ttl:        ttl,
		logger:     logger,
		sessions:   make(map[string]*session),
		lastRouted: make(map[origin]uint64),
		pending:    make(map[pubKey]*item),
		conns:      make(map[*hubConn]bool),
		handlers:   handlers,
		disp:       newDispatcher(),
	}
	// Adopt the sessions of every known member, so what is routed before a
	// member reconnects waits for it; those that never return expire.
	for _, m := range adopt {
		s := &session{id: m.ID, patterns: slices.Clone(m.Patterns)}
		h.sessions[m.ID] = s
		h.expireLocked(s)
	}
	return h
}

// serve accepts members on ln until close.
func (h *hub) serve(ln net.Listener) {
	h.ln = ln
	h.wg.Add(1)
	go func() {
		defer h.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			h.mu.Lock()
			if h.closed {
				h.mu.Unlock()
				c.Close()
				return
			}
			hc := &hubConn{h: h, c: c, wake: make(chan struct{}, 1)}
			h.conns[hc] = true
			h.wg.Add(2)
			h.mu.Unlock()
			go hc.readLoop()
			go hc.writeLoop()
		}
	}()
}

// close stops hosting: the listener closes and the socket file is removed,
// then every connection closes. In that order: members start a new election
// when their connection ends, and must not find the old socket file then.
func (h *hub) close() {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return
	}
	h.closed = true
	for _, s := range h.sessions {
		if s.expiry != nil {
			s.expiry.Stop()
		}
	}
	h.mu.Unlock()
	if h.ln != nil {
		h.ln.Close()
	}
	h.mu.Lock()
	for hc := range h.conns {
		hc.c.Close()
	}
	h.mu.Unlock()
	h.wg.Wait()
	h.disp.close(true)
}

// members returns the member list. h.mu must be held.
func (h *hub) membersLocked() []Member {
	ms := make([]Member, 0, len(h.sessions))
	for _, s := range h.sessions {
		ms = append(ms, Member{ID: s.id, Patterns: slices.Clone(s.patterns)})
	}
	slices.SortFunc(ms, func(a, b Member) int {
		switch {
		case a.ID < b.ID:
			return -1
		case a.ID > b.ID:
			return 1
		}
		return 0
	})
	return ms
}

// broadcastMembersLocked sends the member list to every session; done runs
// (with h.mu held) once all of them received it. h.mu must be held.
func (h *hub) broadcastMembersLocked(done func()) {
	data, _ := json.Marshal(h.membersLocked())
	it := &item{f: frame{typ: frameMsg, topic: membersTopic, data: data}, onDone: done}
	for _, s := range h.sessions {
		h.enqueueLocked(s, it)
	}
	if it.pending == 0 && done != nil {
		done()
	}
}

// enqueueLocked appends it to s's queue. h.mu must be held.
func (h *hub) enqueueLocked(s *session, it *item) {
	s.nextDseq++
	s.queue = append(s.queue, delivery{dseq: s.nextDseq, it: it})
	it.pending++
	if s.conn != nil {
		s.conn.kick()
	}
}

// releaseLocked records that one session is done with it. h.mu must be held.
func (h *hub) releaseLocked(it *item) {
	it.pending--
	if it.pending == 0 && it.onDone != nil {
		it.onDone()
	}
}

// removeLocked drops session s: what it had not acknowledged counts as
// delivered, and the others learn the new member list. h.mu must be held.
func (h *hub) removeLocked(s *session) {
	if h.sessions[s.id] != s {
		return
	}
	delete(h.sessions, s.id)
	s.gen++
	if s.expiry != nil {
		s.expiry.Stop()
	}
	q := s.queue
	s.queue = nil
	for _, d := range q {
		h.releaseLocked(d.it)
	}
	if !h.closed {
		h.broadcastMembersLocked(nil)
	}
}

// expireLocked arms the timer that removes the disconnected session s after
// the TTL. h.mu must be held.
func (h *hub) expireLocked(s *session) {
	gen := s.gen
	s.expiry = time.AfterFunc(h.ttl, func() {
		h.mu.Lock()
		defer h.mu.Unlock()
		if s.gen == gen && s.conn == nil && !h.closed {
			h.removeLocked(s)
		}
	})
}

// ctrlLocked queues a control frame for s's connection, if any. h.mu must be held.
func (h *hub) ctrlLocked(s *session, f frame) {
	if s.conn != nil {
		s.conn.ctrl = append(s.conn.ctrl, f)
		s.conn.kick()
	}
}

// publishLocked routes a publication of session s. h.mu must be held.
func (h *hub) publishLocked(s *session, f *frame) {
	o := origin{s.id, s.inc}
	key := pubKey{o, f.seq}
	if f.seq <= h.lastRouted[o] {
		// A resend after a reconnect: routed already. Acknowledge it now if it
		// was delivered everywhere, else when it is.
		if h.pending[key] == nil {
			h.ctrlLocked(s, frame{typ: frameAck, seq: f.seq})
		}
		return
	}
	h.lastRouted[o] = f.seq
	it := &item{f: frame{typ: frameMsg, id: s.id, inc: s.inc, seq: f.seq, topic: f.topic, reply: f.reply, data: f.data}}
	for _, o := range h.sessions {
		if o != s && o.matches(f.topic) {
			h.enqueueLocked(o, it)
		}
	}
	handled := false
	for _, hh := range h.handlers {
		if match(hh.pattern, f.topic) {
			handled = true
			m := &Message{Topic: f.topic, Data: f.data, From: s.id, Seq: f.seq, ReplyTo: f.reply, reply: h.hostReply}
			fn := hh.fn
			h.disp.do(func() { fn(m) })
		}
	}
	if it.pending == 0 {
		if f.reply != "" && !handled {
			h.enqueueLocked(s, &item{f: frame{typ: frameMsg, flags: flagNoResponders, topic: f.reply}})
		}
		h.ctrlLocked(s, frame{typ: frameAck, seq: f.seq})
		return
	}
	h.pending[key] = it
	it.onDone = func() {
		delete(h.pending, key)
		if ps := h.sessions[key.id]; ps != nil && ps.inc == key.inc {
			h.ctrlLocked(ps, frame{typ: frameAck, seq: key.seq})
		}
	}
}

// hostReply publishes a reply of a host handler.
func (h *hub) hostReply(topic string, data []byte) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return ErrClosed
	}
	it := &item{f: frame{typ: frameMsg, topic: topic, data: data}}
	for _, o := range h.sessions {
		if o.matches(topic) {
			h.enqueueLocked(o, it)
		}
	}
	return nil
}

func (s *session) matches(topic string) bool {
	for _, p := range s.patterns {
		if match(p, topic) {
			return true
		}
	}
	return false
}

// hubConn is one member connection on the host.
type hubConn struct {
	h    *hub
	c    net.Conn
	s    *session // nil until hello
	ctrl []frame  // control frames to write; guarded by h.mu
	wake chan struct{}
}

func (hc *hubConn) kick() {
	select {
	case hc.wake <- struct{}{}:
	default:
	}
}

func (hc *hubConn) readLoop() {
	h := hc.h
	defer h.wg.Done()
	defer hc.detach()
	r := bufio.NewReaderSize(hc.c, 64<<10)
	var f frame
	hc.c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if err := readFrame(r, &f); err != nil || f.typ != frameHello || f.id == "" {
		return
	}
	hc.c.SetReadDeadline(time.Time{})
	var patterns []string
	if json.Unmarshal(f.data, &patterns) != nil {
		return
	}
	if !hc.attach(f.id, f.inc, patterns) {
		return
	}
	for {
		if err := readFrame(r, &f); err != nil {
			return
		}
		h.mu.Lock()
		s := hc.s
		if s.conn != hc {
			h.mu.Unlock()
			return // replaced by a newer connection of the same member
		}
		switch f.typ {
		case framePub:
			h.publishLocked(s, &f)
		case frameMack:
			for len(s.queue) > 0 && s.queue[0].dseq <= f.dseq {
				it := s.queue[0].it
				s.queue = s.queue[1:]
				if s.sent > 0 {
					s.sent--
				}
				h.releaseLocked(it)
			}
		case frameSub, frameUnsub:
			if f.typ == frameSub {
				if !slices.Contains(s.patterns, f.topic) {
					s.patterns = append(s.patterns, f.topic)
				}
			} else if i := slices.Index(s.patterns, f.topic); i >= 0 {
				s.patterns = slices.Delete(s.patterns, i, i+1)
			}
			id := f.seq
			h.broadcastMembersLocked(func() {
				if o := h.sessions[s.id]; o == s {
					h.ctrlLocked(s, frame{typ: frameSubOK, seq: id})
				}
			})
		case frameBye:
			// This incarnation leaves for good and never resends: nothing
			// of it needs de-duplicating any more.
			delete(h.lastRouted, origin{s.id, s.inc})
			h.removeLocked(s)
			h.mu.Unlock()
			return
		}
		h.mu.Unlock()
	}
}

// attach binds the connection to the member's session, resuming it when the
// host knows the member: everything it has not acknowledged is sent again.
func (hc *hubConn) attach(id string, inc uint64, patterns []string) bool {
	h := hc.h
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return false
	}
	s := h.sessions[id]
	changed := true
	if s == nil {
		s = &session{id: id}
		h.sessions[id] = s
	} else {
		if s.conn != nil {
			s.conn.c.Close()
		}
		changed = !slices.Equal(s.patterns, patterns)
	}
	s.gen++
	if s.expiry != nil {
		s.expiry.Stop()
	}
	s.patterns = patterns
	s.inc = inc
	s.conn = hc
	s.sent = 0
	hc.s = s
	data, _ := json.Marshal(h.membersLocked())
	hc.ctrl = append(hc.ctrl, frame{typ: frameWelcome, data: data})
	// Subscription request 0 stands for the hello's patterns: acknowledged
	// once every member has the member list that carries them.
	helloOK := func() {
		if h.sessions[id] == s {
			h.ctrlLocked(s, frame{typ: frameSubOK, seq: 0})
		}
	}
	if changed {
		h.broadcastMembersLocked(helloOK)
	} else {
		helloOK()
	}
	hc.kick()
	return true
}

func (hc *hubConn) detach() {
	h := hc.h
	hc.c.Close()
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.conns, hc)
	hc.kick()
	if s := hc.s; s != nil && s.conn == hc {
		s.conn = nil
		s.gen++
		if !h.closed {
			h.expireLocked(s)
		}
	}
}

func (hc *hubConn) writeLoop() {
	h := hc.h
	defer h.wg.Done()
	var buf []byte
	for range hc.wake {
		h.mu.Lock()
		if !h.conns[hc] {
			h.mu.Unlock()
			return
		}
		buf = buf[:0]
		for i := range hc.ctrl {
			buf = appendFrame(buf, &hc.ctrl[i])
		}
		hc.ctrl = hc.ctrl[:0]
		if s := hc.s; s != nil && s.conn == hc {
			for _, d := range s.queue[s.sent:] {
				f := d.it.f
				f.dseq = d.dseq
				buf = appendFrame(buf, &f)
			}
			s.sent = len(s.queue)
		}
		h.mu.Unlock()
		if len(buf) > 0 {
			if _, err := hc.c.Write(buf); err != nil {
				hc.c.Close()
				// readLoop notices, detaches and kicks us out of the loop.
			}
		}
		if cap(buf) > 1<<20 {
			buf = nil
		}
	}
}
