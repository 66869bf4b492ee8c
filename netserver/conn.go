package netserver

import (
	"context"
	"errors"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// Read-deadline modes of a Conn.
const (
	modeNone      int32 = iota // no deadline managed by the server
	modeHandshake              // HandshakeTimeout deadline until HandshakeDone
	modeIdle                   // IdleTimeout deadline, renewed by reads
	modeUser                   // the handler set its own read deadline
)

// A Conn is a connection accepted by a Server. It counts the bytes read and
// written through it (exactly, also in the server's totals), applies the
// server's handshake and idle timeouts to reads, and carries the ctx given to
// the handler. It is safe for concurrent use as a net.Conn is.
//
// Calling SetDeadline or SetReadDeadline hands read deadlines over to the
// caller: the server's handshake and idle timeouts no longer apply to the
// connection.
type Conn struct {
	net.Conn

	srv    *Server
	id     uint64
	ctx    context.Context    // set by trackConn
	cancel context.CancelFunc // set by trackConn; called by Close

	read    atomic.Uint64
	written atomic.Uint64

	mode       atomic.Int32               // modeNone, modeHandshake, modeIdle or modeUser
	idle       time.Duration              // IdleTimeout
	slack      time.Duration              // idle/8: the deadline is set this much beyond idle, and renewed after half of it
	renewDue   atomic.Bool                // set by renewTimer: the next read renews the idle deadline
	renewTimer atomic.Pointer[time.Timer] // fires slack/2 after each renewal; stopped by Close

	closeOnce sync.Once
	closeErr  error

	peer peerCache

	// raw reads the socket for ReadLazy, made by its first call; only
	// the reading goroutine uses it. rawTried: it was made (raw is nil
	// for a connection without a file descriptor).
	raw      *rawReader
	rawTried bool
}

var _ net.Conn = (*Conn)(nil)

func (s *Server) newConn(rw net.Conn) *Conn {
	return &Conn{
		Conn:  rw,
		srv:   s,
		id:    s.nextID.Add(1),
		idle:  s.IdleTimeout,
		slack: s.IdleTimeout / 8,
	}
}

// ID returns the connection's number, unique within its server and starting
// at 1 in accept order.
func (c *Conn) ID() uint64 { return c.id }

// Context returns the ctx given to the handler: it is cancelled when the
// server's Shutdown or Close starts and when the connection is closed.
func (c *Conn) Context() context.Context { return c.ctx }

// NetConn returns the wrapped connection, as accepted from the listener.
// Reading or writing it directly bypasses the counters and timeouts.
func (c *Conn) NetConn() net.Conn { return c.Conn }

// BytesRead returns the number of bytes read through c so far.
func (c *Conn) BytesRead() uint64 { return c.read.Load() }

// BytesWritten returns the number of bytes written through c so far.
func (c *Conn) BytesWritten() uint64 { return c.written.Load() }

// Read reads from the connection, counting the bytes. With IdleTimeout set it
// first renews the read deadline if more than 1/16 of the timeout passed
// since the last renewal. A read that fails because the server's deadline
// passed returns a *TimeoutError.
func (c *Conn) Read(p []byte) (int, error) {
	c.beforeRead()
	n, err := c.Conn.Read(p)
	return n, c.afterRead(n, err)
}

// ReadLazy reads like Read into the buffer get returns, and returns the
// bytes read: a prefix of the buffer the last call of get returned. On a
// Unix or TCP connection it waits for bytes without holding a buffer: it
// reads the socket directly and, when there is nothing to read, calls
// release before it waits and get again once bytes are there, so that the
// reader of an idle connection can give its buffer back meanwhile. On
// other connections it reads get() with Read. Like Read, it must not run
// concurrently with another read.
func (c *Conn) ReadLazy(get func() []byte, release func()) ([]byte, error) {
	if !c.rawTried {
		c.raw, c.rawTried = newRawReader(c.Conn), true
	}
	c.beforeRead()
	if c.raw == nil {
		p := get()
		n, err := c.Conn.Read(p)
		return p[:max(n, 0)], c.afterRead(n, err)
	}
	p, err := c.raw.readLazy(get, release)
	return p, c.afterRead(len(p), err)
}

// beforeRead renews the idle deadline if it is due.
func (c *Conn) beforeRead() {
	if c.mode.Load() == modeIdle && c.renewDue.Load() {
		c.renewIdle()
	}
}

// afterRead counts n bytes read and returns the read's error, a
// *TimeoutError when the server's deadline passed.
func (c *Conn) afterRead(n int, err error) error {
	if n > 0 {
		c.read.Add(uint64(n))
		c.srv.bytesRead.Add(uint64(n))
	}
	if err != nil && errors.Is(err, os.ErrDeadlineExceeded) {
		switch c.mode.Load() {
		case modeHandshake:
			err = &TimeoutError{Handshake: true, Limit: c.srv.HandshakeTimeout, Err: err}
		case modeIdle:
			err = &TimeoutError{Limit: c.idle, Err: err}
		}
	}
	return err
}

// Write writes to the connection, counting the bytes.
func (c *Conn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	if n > 0 {
		c.written.Add(uint64(n))
		c.srv.bytesWritten.Add(uint64(n))
	}
	return n, err
}

// Close closes the connection and cancels its ctx. Later calls return the
// first call's error.
func (c *Conn) Close() error {
	c.closeOnce.Do(func() {
		if t := c.renewTimer.Load(); t != nil {
			t.Stop()
		}
		if c.cancel != nil {
			c.cancel()
		}
		c.closeErr = c.Conn.Close()
	})
	return c.closeErr
}

// SetDeadline sets the read and write deadlines of the wrapped connection
// and hands read deadlines over to the caller (see Conn).
func (c *Conn) SetDeadline(t time.Time) error {
	c.mode.Store(modeUser)
	return c.Conn.SetDeadline(t)
}

// SetReadDeadline sets the read deadline of the wrapped connection and hands
// read deadlines over to the caller (see Conn).
func (c *Conn) SetReadDeadline(t time.Time) error {
	c.mode.Store(modeUser)
	return c.Conn.SetReadDeadline(t)
}

// HandshakeDone ends the handshake phase: it clears the HandshakeTimeout
// deadline and starts the IdleTimeout, if any. Calls after the first, and
// calls after the handler set its own read deadline, do nothing.
func (c *Conn) HandshakeDone() {
	if !c.mode.CompareAndSwap(modeHandshake, modeNone) {
		return
	}
	if c.idle > 0 {
		c.enterIdle()
		return
	}
	c.Conn.SetReadDeadline(time.Time{})
}

// startDeadlines applies the server's first read deadline; it runs on the
// connection's goroutine before Authorize.
func (c *Conn) startDeadlines() {
	switch {
	case c.srv.HandshakeTimeout > 0:
		c.mode.Store(modeHandshake)
		c.Conn.SetReadDeadline(time.Now().Add(c.srv.HandshakeTimeout))
	case c.idle > 0:
		c.enterIdle()
	}
}

// enterIdle sets the first idle deadline and starts the renewal timer.
func (c *Conn) enterIdle() {
	c.setIdleDeadline()
	c.mode.CompareAndSwap(modeNone, modeIdle)
}

// setIdleDeadline moves the read deadline to now+idle+slack and arms the
// timer that marks it due for renewal slack/2 later. A read that finds it not
// yet due therefore leaves more than idle (idle+slack/2, less the timer's
// latency) before the deadline, and silence after the last read is cut off
// between idle and idle+slack. A read pays one atomic load (no clock reading),
// and SetReadDeadline runs at most once per slack/2.
func (c *Conn) setIdleDeadline() {
	c.Conn.SetReadDeadline(time.Now().Add(c.idle + c.slack))
	if t := c.renewTimer.Load(); t != nil {
		t.Reset(c.slack / 2)
		return
	}
	c.renewTimer.Store(time.AfterFunc(c.slack/2, func() { c.renewDue.Store(true) }))
}

// renewIdle renews the idle deadline if its timer marked it due.
func (c *Conn) renewIdle() {
	if c.renewDue.Load() && c.renewDue.CompareAndSwap(true, false) {
		c.setIdleDeadline()
	}
}
