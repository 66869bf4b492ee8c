package netserver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/switchboard-ipc/switchboard/endpoint"
)

// A Handler serves one connection. ServeConn owns c until it returns; the
// server then closes c. ctx is cancelled when Shutdown or Close starts and
// when c is closed: a handler holding a long-lived connection watches it,
// finishes what is in flight and returns.
type Handler interface {
	ServeConn(ctx context.Context, c *Conn)
}

// HandlerFunc adapts a function to the Handler interface.
type HandlerFunc func(ctx context.Context, c *Conn)

// ServeConn calls f(ctx, c).
func (f HandlerFunc) ServeConn(ctx context.Context, c *Conn) { f(ctx, c) }

var _ Handler = HandlerFunc(nil)

// Stats is a snapshot of a server's counters since it was created.
// Accepted = Rejected + connections given to the Handler.
type Stats struct {
	Accepted     uint64 // connections returned by a listener's Accept
	Rejected     uint64 // closed by MaxConnections, Authorize or a stopping server
	Active       int    // open connections, as Connections reports
	BytesRead    uint64 // read through every Conn, open or closed
	BytesWritten uint64 // written through every Conn, open or closed
}

// A Server accepts connections from one or more listeners and runs a Handler
// for each, with Node's net.Server semantics. The zero value is a valid
// configuration: no connection limit, no timeouts, no hooks, silent, and a
// nil Handler that closes every connection at once.
//
// The exported fields must be set before the first call to Serve and not be
// changed afterwards. A Server must not be copied after first use.
type Server struct {
	// Handler serves every accepted connection on its own goroutine. Nil
	// closes each connection as soon as it is accepted (after OnOpen).
	Handler Handler

	// MaxConnections limits the open connections; 0 means no limit. A
	// connection accepted while MaxConnections are open is closed at once,
	// counted in Stats().Rejected and reported to OnReject with
	// ErrTooManyConnections (Node's 'drop'); the Handler never sees it.
	// Negative values make Serve fail with ErrInvalidConfig.
	MaxConnections int

	// HandshakeTimeout, if positive, is a read deadline set when a
	// connection is accepted and kept until the handler calls
	// Conn.HandshakeDone: a peer that does not complete the handshake in
	// time has its reads fail with ErrHandshakeTimeout. A handler that uses
	// it must call HandshakeDone, or the connection's reads fail
	// HandshakeTimeout after it was accepted however busy it is.
	HandshakeTimeout time.Duration

	// IdleTimeout, if positive, fails a connection's reads with
	// ErrIdleTimeout when no read completed for that long (starting after
	// the handshake when HandshakeTimeout is set). The deadline is renewed
	// lazily, so a connection is closed after between IdleTimeout and
	// 9/8·IdleTimeout of silence.
	IdleTimeout time.Duration

	// Authorize, if set, is called on the connection's goroutine before
	// OnOpen and the Handler, with the handshake deadline already applied
	// (it may read from the connection or check Conn.Peer). A non-nil
	// error closes the connection, counts it in Stats().Rejected and
	// reports it to OnReject wrapped in ErrUnauthorized; the Handler,
	// OnOpen and OnClose never see it. While Authorize runs the connection
	// counts towards Connections and MaxConnections.
	Authorize func(*Conn) error

	// OnOpen, if set, is called on the connection's goroutine before the
	// Handler. OnClose, if set, is called on the same goroutine after the
	// Handler returned and the connection was closed, before it leaves
	// Connections; Shutdown waits for it.
	OnOpen, OnClose func(*Conn)

	// OnReject, if set, is called for every rejected connection, after it
	// was closed, with the reason (ErrTooManyConnections, ErrServerClosed,
	// or an ErrUnauthorized-wrapped error). For the first two it runs on
	// the accepting goroutine, which waits for it: it should return
	// quickly. c is the *Conn for Authorize rejections, the raw connection
	// otherwise.
	OnReject func(c net.Conn, err error)

	// Logger receives accept errors and recovered handler panics. Nil
	// means silent.
	Logger *slog.Logger

	// ListenConfig holds the listening options ListenAndServe uses (socket
	// file mode, Shared for SO_REUSEPORT, backlog, TCP keep-alive and
	// no-delay). Nil means endpoint's defaults. Serve ignores it: the
	// listener it is given is already configured.
	ListenConfig *endpoint.ListenConfig

	mu         sync.Mutex
	listeners  map[*trackedListener]struct{} // listeners being served; removed when their Serve returns
	activeConn map[*Conn]struct{}            // connections whose goroutine has not finished; owns one goroutine each
	drained    chan struct{}                 // closed when activeConn empties while shutting down; nil otherwise
	baseCtx    context.Context               // parent of every handler's ctx
	cancelBase context.CancelFunc            // called when Shutdown or Close starts
	done       chan struct{}                 // closed when Shutdown or Close starts; wakes accept backoff
	nextSeq    uint64                        // order of Serve calls, for Addr

	inShutdown atomic.Bool // set by Shutdown and Close; never cleared

	nextID       atomic.Uint64
	accepted     atomic.Uint64
	rejected     atomic.Uint64
	bytesRead    atomic.Uint64
	bytesWritten atomic.Uint64
}

// trackedListener closes its listener once, so Serve's deferred Close and
// Shutdown/Close do not race on it.
type trackedListener struct {
	net.Listener
	seq      uint64
	once     sync.Once
	closeErr error
}

func (l *trackedListener) Close() error {
	l.once.Do(func() { l.closeErr = l.Listener.Close() })
	return l.closeErr
}

var _ net.Listener = (*trackedListener)(nil)

// initLocked sets up the server's maps and base context on first use.
// s.mu must be held.
func (s *Server) initLocked() {
	if s.done != nil {
		return
	}
	s.listeners = make(map[*trackedListener]struct{})
	s.activeConn = make(map[*Conn]struct{})
	s.baseCtx, s.cancelBase = context.WithCancel(context.Background())
	s.done = make(chan struct{})
}

func (s *Server) shuttingDown() bool { return s.inShutdown.Load() }

func (s *Server) validate() error {
	switch {
	case s.MaxConnections < 0:
		return fmt.Errorf("%w: MaxConnections is %d, want 0 (no limit) or more", ErrInvalidConfig, s.MaxConnections)
	case s.HandshakeTimeout < 0:
		return fmt.Errorf("%w: HandshakeTimeout is %v, want 0 (none) or more", ErrInvalidConfig, s.HandshakeTimeout)
	case s.IdleTimeout < 0:
		return fmt.Errorf("%w: IdleTimeout is %v, want 0 (none) or more", ErrInvalidConfig, s.IdleTimeout)
	}
	return nil
}

// Serve accepts connections on l and serves each on a new goroutine until l
// fails or the server stops. Several listeners may be served at once, each by
// its own call. Serve closes l before it returns.
//
// Temporary accept errors (EMFILE, ENFILE, ECONNABORTED, timeouts) are logged
// and retried after a delay growing from 5ms to 1s; any other error ends
// Serve and is returned. Serve always returns a non-nil error: after Shutdown
// or Close it is ErrServerClosed.
func (s *Server) Serve(l net.Listener) error {
	if l == nil {
		return fmt.Errorf("%w: nil listener", ErrInvalidConfig)
	}
	if err := s.validate(); err != nil {
		l.Close()
		return err
	}
	tl := &trackedListener{Listener: l}
	defer tl.Close()
	if !s.trackListener(tl, track) {
		return ErrServerClosed
	}
	defer s.trackListener(tl, untrack)

	attempt := 0
	for {
		rw, err := tl.Accept()
		if err != nil {
			if s.shuttingDown() {
				return ErrServerClosed
			}
			if !isTemporary(err) {
				return err
			}
			delay := acceptBackoff.Next(attempt)
			attempt++
			s.log().Warn("netserver: accept failed; retrying",
				"addr", tl.Addr().String(), "err", err, "delay", delay)
			t := time.NewTimer(delay)
			select {
			case <-t.C:
			case <-s.done:
				t.Stop()
				return ErrServerClosed
			}
			continue
		}
		attempt = 0
		s.accepted.Add(1)
		c := s.newConn(rw)
		if err := s.trackConn(c, track); err != nil {
			rw.Close()
			s.reject(rw, err)
			continue
		}
		go s.serveConn(c)
	}
}

// Arguments of trackListener and trackConn.
const (
	track   = true
	untrack = false
)

// trackListener adds or removes l from the served listeners. Adding reports
// whether the server is still up; once Shutdown or Close started it adds
// nothing, so Serve cannot race them.
func (s *Server) trackListener(l *trackedListener, add bool) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.initLocked()
	if !add {
		delete(s.listeners, l)
		return true
	}
	if s.shuttingDown() {
		return false
	}
	s.nextSeq++
	l.seq = s.nextSeq
	s.listeners[l] = struct{}{}
	return true
}

// trackConn adds or removes c from the open connections. Adding fails with
// ErrServerClosed once the server is stopping and with ErrTooManyConnections
// at the limit.
func (s *Server) trackConn(c *Conn, add bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !add {
		delete(s.activeConn, c)
		if len(s.activeConn) == 0 && s.drained != nil {
			close(s.drained)
			s.drained = nil
		}
		return nil
	}
	if s.shuttingDown() {
		return ErrServerClosed
	}
	if s.MaxConnections > 0 && len(s.activeConn) >= s.MaxConnections {
		return ErrTooManyConnections
	}
	s.activeConn[c] = struct{}{}
	c.ctx, c.cancel = context.WithCancel(s.baseCtx)
	return nil
}

func (s *Server) reject(c net.Conn, err error) {
	s.rejected.Add(1)
	if s.OnReject != nil {
		s.OnReject(c, err)
	}
}

// serveConn runs on the goroutine owned by c's entry in s.activeConn; it
// removes that entry as its very last act.
func (s *Server) serveConn(c *Conn) {
	defer s.trackConn(c, untrack)
	defer s.recoverPanic(c, "OnClose")
	opened := false
	defer func() {
		c.Close()
		if opened && s.OnClose != nil {
			s.OnClose(c)
		}
	}()
	defer s.recoverPanic(c, "handler")

	c.startDeadlines()
	if s.Authorize != nil {
		if err := s.Authorize(c); err != nil {
			c.Close()
			s.reject(c, fmt.Errorf("%w: %w", ErrUnauthorized, err))
			return
		}
	}
	opened = true
	if s.OnOpen != nil {
		s.OnOpen(c)
	}
	if s.Handler != nil {
		s.Handler.ServeConn(c.ctx, c)
	}
}

// recoverPanic keeps a panicking handler or hook from taking the process
// down, as net/http does: the panic is logged and the connection closed.
func (s *Server) recoverPanic(c *Conn, where string) {
	if v := recover(); v != nil {
		const size = 64 << 10
		buf := make([]byte, size)
		buf = buf[:runtime.Stack(buf, false)]
		s.log().Error("netserver: panic serving connection",
			"id", c.ID(), "remote", c.RemoteAddr().String(), "in", where,
			"panic", fmt.Sprint(v), "stack", string(buf))
		c.Close()
	}
}

func (s *Server) log() *slog.Logger {
	if s.Logger != nil {
		return s.Logger
	}
	return discardLogger
}

var discardLogger = slog.New(slog.DiscardHandler)

// Addr returns the address of the earliest-started listener still being
// served, or nil when none is.
func (s *Server) Addr() net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	var first *trackedListener
	for l := range s.listeners {
		if first == nil || l.seq < first.seq {
			first = l
		}
	}
	if first == nil {
		return nil
	}
	return first.Addr()
}

// Connections returns the exact number of open connections: accepted, not
// rejected, and whose handler (and OnClose) has not finished.
func (s *Server) Connections() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.activeConn)
}

// Stats returns a snapshot of the server's counters.
func (s *Server) Stats() Stats {
	return Stats{
		Accepted:     s.accepted.Load(),
		Rejected:     s.rejected.Load(),
		Active:       s.Connections(),
		BytesRead:    s.bytesRead.Load(),
		BytesWritten: s.bytesWritten.Load(),
	}
}

// Shutdown stops the server gracefully: it closes every listener (so Serve
// returns ErrServerClosed), cancels the ctx given to every handler, and waits
// until every handler has returned and its connection is closed.
//
// If ctx ends first, Shutdown returns ctx.Err() and leaves the remaining
// connections running; a later Close ends them, and a later Shutdown waits
// again. Otherwise it returns the first error from closing a listener, or
// nil. Shutdown and Close are safe to call several times and concurrently.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.initLocked()
	err := s.stopLocked()
	if len(s.activeConn) == 0 {
		s.mu.Unlock()
		return err
	}
	if s.drained == nil {
		s.drained = make(chan struct{})
	}
	drained := s.drained
	s.mu.Unlock()

	select {
	case <-drained:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Close stops the server now: it closes every listener and every open
// connection and cancels every handler's ctx. It does not wait for handlers
// to return; call Shutdown after Close to wait for them. It returns the first
// error from closing a listener. Close is safe to call several times and
// concurrently with Shutdown.
func (s *Server) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.initLocked()
	err := s.stopLocked()
	for c := range s.activeConn {
		c.Close()
	}
	return err
}

// stopLocked marks the server as stopping, closes its listeners and cancels
// every handler's ctx. It returns the first listener close error other than
// net.ErrClosed. s.mu must be held.
func (s *Server) stopLocked() error {
	if !s.inShutdown.Swap(true) {
		close(s.done)
	}
	s.cancelBase()
	var first error
	for l := range s.listeners {
		if err := l.Close(); err != nil && first == nil && !errors.Is(err, net.ErrClosed) {
			first = err
		}
	}
	return first
}
