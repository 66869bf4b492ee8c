package ipc

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/switchboard-ipc/switchboard/netserver"
	"github.com/switchboard-ipc/switchboard/wire"
)

// sconn is one accepted connection. Its goroutine (the one netserver runs
// the handler on) reads frames and calls handlers inline; its session's outq
// has the one writer goroutine.
type sconn struct {
	srv   *Server
	nc    *netserver.Conn
	ir    idleReader
	br    *bufio.Reader
	src   connSource // what the frame readers read: br, then ir
	sess  *session
	info  ClientInfo
	msg   Message
	topic string // last topic, reused to avoid an allocation per message

	relay  []byte // scratch for relayed frames; on a hub, the run waiting (relayAt)
	jrelay []byte // scratch for relayed socket-ipc frames
	f      wire.Frame
	rf     wire.Frame // the relayed frame, reused
	env    envelope   // its envelope, reused

	// A run of publications for the same receivers, waiting in relay to be
	// queued for each of them under one lock (flushRelay): where each frame
	// starts in relay, and the topic and receivers they share.
	relayAt    []int
	runTopic   string
	runTargets []*session

	handlerRC routeCache[*route]
	subsRC    routeCache[*session]

	needAck bool
	recv    uint64 // the session's lastRecv as its reader knows it (serveNative)

	unhandledTopic string        // topic of the last unhandled message reported (dispatch)
	ackBytes       int           // bytes of MSG frames read since the last acknowledgement
	done           chan struct{} // closed when the reader has finished

	errMu sync.Mutex
	err   error // the reason the connection ends, when known first
}

func (c *sconn) setErr(err error) {
	c.errMu.Lock()
	if c.err == nil {
		c.err = err
	}
	c.errMu.Unlock()
}

func (c *sconn) getErr() error {
	c.errMu.Lock()
	defer c.errMu.Unlock()
	return c.err
}

// serveConn serves one connection. The functions it calls keep what they
// need only while they need it: the frames of serveConn and serveNative
// stay under the reader's stack while it waits, and that stack is most of
// an idle connection's memory.
func (s *Server) serveConn(ctx context.Context, nc *netserver.Conn) {
	c := s.newSconn(nc)
	defer close(c.done)
	if !s.trackSconn(c) {
		nc.Close()
		return
	}
	defer s.connWG.Done()
	defer s.untrackSconn(c)

	// Until the connection says which wire it speaks, it may be a
	// socket-ipc client that only listens: what is published meanwhile
	// waits in a session of its own (bounded by QueueBytes) and is handed
	// over if it turns out to be one.
	var pend *session
	if !s.cfg.NativeOnly {
		pend = c.pendingSocket()
	}
	proto, timedOut, ok := c.detect(pend)
	if !ok {
		return
	}
	var err error
	if proto == wire.Native {
		c.dropSocket(pend)
		err = c.serveNative(ctx)
	} else {
		err = c.serveSocketIPC(ctx, pend, timedOut)
		if errors.Is(err, errLateNative) {
			c.lateNative(pend)
			err = c.serveNative(ctx)
		}
	}
	c.finish(err)
}

func (s *Server) newSconn(nc *netserver.Conn) *sconn {
	c := &sconn{srv: s, nc: nc, done: make(chan struct{})}
	c.ir = idleReader{c: nc, idle: s.cfg.IdleTimeout, frame: s.cfg.FrameTimeout}
	c.br = bufio.NewReaderSize(&c.ir, 16)
	c.src = connSource{br: c.br, ir: &c.ir}
	c.msg.codec = s.cfg.Codec
	return c
}

// trackSconn adds c to the server's connections, and reports whether the
// server is still up.
func (s *Server) trackSconn(c *sconn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.conns[c] = struct{}{}
	s.connWG.Add(1)
	return true
}

func (s *Server) untrackSconn(c *sconn) {
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
}

// detect reads the first bytes of the connection to tell which wire it
// speaks; timedOut says it was taken for a socket-ipc client because it
// stayed silent. When the connection cannot be served, detect reports
// why, closes it and returns ok false.
func (c *sconn) detect(pend *session) (proto wire.Protocol, timedOut, ok bool) {
	s, nc := c.srv, c.nc
	wait := s.cfg.DetectTimeout
	if s.cfg.NativeOnly {
		wait = s.cfg.HandshakeTimeout
	}
	if wait > 0 {
		nc.SetReadDeadline(time.Now().Add(wait))
	}
	proto, err := wire.Detect(c.br)
	if err != nil {
		switch {
		case isTimeout(err) && c.br.Buffered() > 0 && firstByte(c.br) == 0x00:
			// A native preface that has begun: no socket-ipc message
			// starts with NUL. The handshake timeout takes over.
			proto = wire.Native
		case isTimeout(err) && !s.cfg.NativeOnly:
			proto, timedOut = wire.SocketIPC, true // a silent socket-ipc client
		default:
			if isTimeout(err) {
				err = ErrHandshakeTimeout
			}
			c.dropSocket(pend)
			c.fail(err)
			nc.Close()
			return 0, false, false
		}
	}
	nc.SetReadDeadline(time.Time{})
	if proto == wire.SocketIPC && s.cfg.NativeOnly {
		c.fail(&wire.DecodeError{Protocol: wire.SocketIPC, Err: wire.ErrUnknownProtocol, Reason: "socket-ipc clients refused"})
		nc.Close()
		return 0, false, false
	}
	return proto, timedOut, true
}

// lateNative ends the socket-ipc session of a connection taken for a
// silent socket-ipc client that sent a native preface before anything was
// queued for it: it was a native client all along.
func (c *sconn) lateNative(pend *session) {
	s := c.srv
	c.dropSocket(pend)
	if s.cfg.OnDisconnect != nil {
		s.cfg.OnDisconnect(pend.id, nil)
	}
	s.mu.Lock()
	c.sess = nil
	c.info = ClientInfo{}
	s.mu.Unlock()
}

// connSource is what a connection's frame reader reads: first the bytes
// that detection and the handshake left in br, then the connection through
// ir, without br, so that an idle reader can wait for bytes without a
// buffer (it is a wire.LazyReader).
type connSource struct {
	br *bufio.Reader
	ir *idleReader
}

func (s *connSource) Read(p []byte) (int, error) {
	if s.br.Buffered() > 0 {
		return s.br.Read(p)
	}
	return s.ir.Read(p)
}

func (s *connSource) ReadLazy(get func() []byte, release func()) ([]byte, error) {
	if s.br.Buffered() > 0 {
		p := get()
		n, err := s.br.Read(p)
		return p[:n], err
	}
	return s.ir.ReadLazy(get, release)
}

// errLateNative ends the socket-ipc service of a connection whose first
// byte, after DetectTimeout, was a native preface's NUL.
var errLateNative = errors.New("ipc: late native preface")

// firstByte returns the first buffered byte of br, which must have one.
func firstByte(br *bufio.Reader) byte {
	b, _ := br.Peek(1)
	return b[0]
}

// pendingSocket registers a socket-ipc session for a connection whose wire
// is not known yet: deliveries for socket-ipc clients are queued in it, not
// written, until serveSocketIPC hands it over to the connection.
func (c *sconn) pendingSocket() *session {
	s := c.srv
	ss := newSession(newUUID(), SocketIPC, s.cfg.QueueBytes)
	ss.conn = c
	ss.q.onWrite = func(err error) { c.setErr(err) }
	s.mu.Lock()
	s.sock[ss.id] = ss
	s.refreshSockAllLocked()
	s.mu.Unlock()
	return ss
}

// dropSocket ends a socket-ipc session (nil: none) and forgets it.
func (c *sconn) dropSocket(ss *session) {
	if ss == nil {
		return
	}
	s := c.srv
	s.mu.Lock()
	delete(s.sock, ss.id)
	s.sockIDs.Delete(ss.id)
	s.refreshSockAllLocked()
	s.mu.Unlock()
	ss.q.close()
}

// attachPending makes c the connection of a socket-ipc queue, keeping what
// was queued before, and starts its writer. It returns a channel closed when
// the writer has exited.
func (q *outq) attachPending(c net.Conn) <-chan struct{} { return q.attachKeep(c) }

// closeIfUnused closes q, and reports true, if nothing was ever queued on
// it; from then on nothing can be.
func (q *outq) closeIfUnused() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed || q.busyLocked() || q.writes != 0 || len(q.buf) != 0 {
		return false
	}
	q.closed = true
	q.conn, q.tw = nil, nil
	q.doneLocked()
	q.freedLocked()
	return true
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, os.ErrDeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout())
}

// peerLeft reports whether err only says that the peer closed its end
// while the server wrote to it or read from it: that is a disconnect
// (OnDisconnect gets it), not an error to report.
func peerLeft(err error) bool {
	return errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.ECONNRESET)
}

// fail reports an error of a connection before it has a session.
func (c *sconn) fail(err error) {
	if err == nil || errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) || peerLeft(err) {
		return
	}
	if isDecode(err) || errors.Is(err, ErrHandshakeTimeout) {
		err = decodeErr("", err)
	}
	c.srv.reportErr(err)
}

// finish ends a connection that had a session.
func (c *sconn) finish(err error) {
	s := c.srv
	if e := c.getErr(); e != nil {
		err = e
	}
	if err != nil && (errors.Is(err, io.EOF) || errors.Is(err, errClean) || (errors.Is(err, net.ErrClosed) && !errors.Is(err, ErrSlowConsumer))) {
		err = nil
	}
	if err != nil && isDecode(err) {
		err = decodeErr(c.info.ID, err)
	}
	ss := c.sess
	if ss == nil {
		c.nc.Close()
		c.fail(err)
		return
	}
	ss.q.detach(c.nc)
	c.nc.Close()
	if ss.wire == SocketIPC {
		c.dropSocket(ss)
	} else {
		ss.mu.Lock()
		mine := ss.conn == c
		if mine {
			ss.conn = nil
			ss.detachedAt = time.Now()
		}
		ss.mu.Unlock()
		if mine && s.cfg.SessionTTL < 0 {
			s.endSession(ss)
		}
	}
	if err != nil && !peerLeft(err) {
		s.reportErr(err)
	}
	if s.cfg.OnDisconnect != nil {
		s.cfg.OnDisconnect(ss.id, err)
	}
}

// goAway asks the client to leave: it queues a GOAWAY (native), waits until
// the queue is written or ctx is done, and closes the connection.
func (c *sconn) goAway(ctx context.Context, ss *session, code uint64, text string) {
	if ss != nil {
		q := ss.q
		if ss.wire == Native {
			q.appendFrame(&wire.Frame{Type: wire.TypeGoAway, ID: code, Payload: []byte(text)})
		}
		q.mu.Lock()
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
				goto out
			}
			q.mu.Lock()
		}
	out:
		q.mu.Unlock()
	}
	c.nc.Close()
}

// serveSocketIPC serves a socket-ipc client with the session pendingSocket
// made for it. late says it was taken for one because it stayed silent: if
// its first byte is then a native preface's NUL and nothing was queued for
// it yet, it returns errLateNative.
func (c *sconn) serveSocketIPC(ctx context.Context, ss *session, late bool) error {
	s := c.srv
	s.mu.Lock()
	c.sess = ss
	c.info = ClientInfo{ID: ss.id, Wire: SocketIPC, Conn: c.nc}
	s.sockIDs.Store(ss.id, ss)
	s.mu.Unlock()
	writer := ss.q.attachPending(c.nc)
	defer func() { ss.q.detach(c.nc); <-writer }()
	if s.cfg.OnConnect != nil {
		s.cfg.OnConnect(c.info)
	}
	c.ir.start()
	if late {
		b, err := c.br.Peek(1)
		if err != nil {
			return err
		}
		if b[0] == 0x00 && ss.q.closeIfUnused() {
			return errLateNative
		}
	}
	jr := wire.NewJSONReader(&c.src, s.cfg.MaxFrame)
	m := &c.msg
	for {
		topic, message, err := jr.ReadMessage()
		if err != nil {
			return err
		}
		if s.stopped.Load() {
			return net.ErrClosed // closed: buffered input is not processed
		}
		topic = normTopic(topic)
		if s.cfg.Hub {
			c.publishSocket(ctx, topic, message)
		}
		m.set(topic, ss.id, 0, message, s.cfg.Codec)
		c.dispatch(m)
	}
}

// dispatch calls the server's handlers for a message of the connection's
// client. One that no handler takes is counted and reported, unless the
// server is a hub (its subscribers may take it) or the connection's
// previous message was unhandled too, with the same topic: a client
// sending a stream to a topic nobody handles gets one report for the run,
// not one per message.
func (c *sconn) dispatch(m *Message) {
	s := c.srv
	if s.handlers.dispatch(m, &c.handlerRC) {
		if c.unhandledTopic != "" {
			c.unhandledTopic = ""
		}
		return
	}
	if s.cfg.Hub {
		return
	}
	s.access.unhandled.Add(1)
	if c.unhandledTopic != m.Topic {
		c.unhandledTopic = m.Topic
		s.reportErr(&NoHandlerError{ClientID: m.From, Topic: m.Topic})
	}
}

// publishSocket relays a socket-ipc client's message on a hub.
func (c *sconn) publishSocket(ctx context.Context, topic string, message []byte) {
	s := c.srv
	targets := s.subs.matchCached(&c.subsRC, topic)
	socks := *s.sockAll.Load()
	if len(targets) == 0 && len(socks) <= 1 {
		return
	}
	f := &c.f
	*f = wire.Frame{Type: wire.TypeMsg, Flags: wire.FlagOrigin, Topic: topicBytes(topic), Origin: c.sess.uuid, Payload: message}
	if f.Validate(s.cfg.MaxFrame) != nil {
		return
	}
	c.relay = wire.AppendFrame(c.relay[:0], f)
	e := envelope{topic: topic, native: c.relay, payload: message, jsonOK: 1, scratch: &c.jrelay}
	for _, t := range targets {
		s.deliver(ctx, t, &e)
	}
	for _, t := range socks {
		if t != c.sess {
			s.deliver(ctx, t, &e)
		}
	}
}
