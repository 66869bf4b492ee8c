package netserver

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"
	"syscall"
	"testing"
	"testing/synctest"
	"time"
)

// The timeout and backoff tests run over net.Pipe inside a synctest bubble,
// so deadlines and delays use virtual time and are checked exactly.

func TestHandshakeTimeoutClosesSilentConnection(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const timeout = 3 * time.Second
		type result struct {
			err     error
			elapsed time.Duration
			msg     string
		}
		results := make(chan result, 2)
		s := &Server{
			HandshakeTimeout: timeout,
			Handler: HandlerFunc(func(_ context.Context, c *Conn) {
				start := time.Now()
				b := make([]byte, 5)
				if _, err := io.ReadFull(c, b); err != nil {
					results <- result{err: err, elapsed: time.Since(start)}
					return
				}
				c.HandshakeDone()
				// No IdleTimeout: after the handshake the peer may stay silent.
				_, err := io.ReadFull(c, b)
				results <- result{err: err, elapsed: time.Since(start), msg: string(b)}
			}),
		}
		l := newPipeListener()
		errCh := serve(t, s, l)

		silent := l.Dial()
		r := <-results
		if !errors.Is(r.err, ErrHandshakeTimeout) || r.elapsed != timeout {
			t.Errorf("silent peer: err %v after %v; want ErrHandshakeTimeout after %v", r.err, r.elapsed, timeout)
		}
		var te *TimeoutError
		var ne net.Error
		if !errors.As(r.err, &te) || !te.Handshake || te.Limit != timeout ||
			!errors.As(r.err, &ne) || !ne.Timeout() || errors.Is(r.err, ErrIdleTimeout) {
			t.Errorf("error %#v is not a handshake *TimeoutError that is a net.Error timeout", r.err)
		}
		expectEOF(t, silent)

		polite := l.Dial()
		go func() {
			io.WriteString(polite, "hello")
			time.Sleep(10 * timeout) // virtual: far beyond the handshake deadline
			io.WriteString(polite, "later")
		}()
		r = <-results
		if r.err != nil || r.msg != "later" || r.elapsed != 10*timeout {
			t.Errorf("after HandshakeDone: %q, %v after %v; want \"later\" after %v", r.msg, r.err, r.elapsed, 10*timeout)
		}
		polite.Close()
		stopAndCheck(t, s, errCh)
	})
}

func TestIdleTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const idle = 8 * time.Second
		errs := make(chan error, 1)
		s := &Server{
			IdleTimeout: idle,
			Handler: HandlerFunc(func(_ context.Context, c *Conn) {
				_, err := io.Copy(c, c)
				errs <- err
			}),
		}
		l := newPipeListener()
		errCh := serve(t, s, l)
		c := l.Dial()
		buf := make([]byte, 4)
		// A peer talking every 7/8 of the timeout for a long while stays.
		for range 20 {
			time.Sleep(idle * 7 / 8)
			if _, err := io.WriteString(c, "ping"); err != nil {
				t.Fatalf("write: %v", err)
			}
			if _, err := io.ReadFull(c, buf); err != nil {
				t.Fatalf("read: %v", err)
			}
		}
		last := time.Now()
		err := <-errs
		silence := time.Since(last)
		if !errors.Is(err, ErrIdleTimeout) || errors.Is(err, ErrHandshakeTimeout) {
			t.Errorf("handler got %v, want ErrIdleTimeout", err)
		}
		if silence < idle || silence > idle*9/8 {
			t.Errorf("closed after %v of silence, want between %v and %v", silence, idle, idle*9/8)
		}
		expectEOF(t, c)
		stopAndCheck(t, s, errCh)
	})
}

func TestHandshakeThenIdle(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const hs, idle = time.Second, 16 * time.Second
		errs := make(chan error, 1)
		s := &Server{
			HandshakeTimeout: hs,
			IdleTimeout:      idle,
			Handler: HandlerFunc(func(_ context.Context, c *Conn) {
				c.HandshakeDone()
				_, err := c.Read(make([]byte, 1))
				errs <- err
			}),
		}
		l := newPipeListener()
		errCh := serve(t, s, l)
		start := time.Now()
		c := l.Dial()
		err := <-errs
		if d := time.Since(start); !errors.Is(err, ErrIdleTimeout) || d < idle || d > idle*9/8 {
			t.Errorf("got %v after %v, want ErrIdleTimeout after %v..%v", err, d, idle, idle*9/8)
		}
		c.Close()
		stopAndCheck(t, s, errCh)
	})
}

func TestUserDeadlineOverridesIdle(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		errs := make(chan error, 1)
		s := &Server{
			IdleTimeout: time.Second,
			Handler: HandlerFunc(func(_ context.Context, c *Conn) {
				c.SetReadDeadline(time.Now().Add(time.Minute))
				_, err := c.Read(make([]byte, 1))
				errs <- err
			}),
		}
		l := newPipeListener()
		errCh := serve(t, s, l)
		start := time.Now()
		c := l.Dial()
		err := <-errs
		var te *TimeoutError
		if d := time.Since(start); !errors.Is(err, os.ErrDeadlineExceeded) || errors.As(err, &te) || d != time.Minute {
			t.Errorf("got %v after %v, want the handler's own deadline error after 1m", err, d)
		}
		c.Close()
		stopAndCheck(t, s, errCh)
	})
}

func TestAcceptErrorBackoff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var logs syncBuffer
		emfile := &net.OpError{Op: "accept", Net: "tcp", Err: syscall.EMFILE}
		aborted := &net.OpError{Op: "accept", Net: "tcp", Err: syscall.ECONNABORTED}
		l := newPipeListener(emfile, emfile, emfile, nil, aborted)
		s := &Server{Handler: echo, Logger: slog.New(slog.NewTextHandler(&logs, nil))}
		start := time.Now()
		errCh := make(chan error, 1)
		go func() { errCh <- s.Serve(l) }()

		c := l.Dial() // answered by the fourth Accept, after 5+10+20ms of backoff
		roundTrip(t, c, "recovered")
		synctest.Wait() // the fifth Accept failed; the sixth waits out 5ms
		time.Sleep(5 * time.Millisecond)
		synctest.Wait()

		var offsets []time.Duration
		for _, at := range l.acceptTimes() {
			offsets = append(offsets, at.Sub(start))
		}
		ms := time.Millisecond
		want := []time.Duration{0, 5 * ms, 15 * ms, 35 * ms, 35 * ms, 40 * ms}
		if len(offsets) != len(want) {
			t.Fatalf("Accept called at %v, want %v", offsets, want)
		}
		for i := range want {
			if offsets[i] != want[i] {
				t.Fatalf("Accept called at %v, want %v (backoff resets after a success)", offsets, want)
			}
		}
		if n := strings.Count(logs.String(), "accept failed"); n != 4 {
			t.Errorf("logged %d accept failures, want 4:\n%s", n, logs.String())
		}
		c.Close()
		stopAndCheck(t, s, errCh)
	})
}

func TestCloseInterruptsAcceptBackoff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		emfile := &net.OpError{Op: "accept", Net: "tcp", Err: syscall.EMFILE}
		script := make([]error, 20)
		for i := range script {
			script[i] = emfile
		}
		l := newPipeListener(script...)
		s := &Server{}
		errCh := make(chan error, 1)
		go func() { errCh <- s.Serve(l) }()
		time.Sleep(2 * time.Second) // the delay has reached its 1s cap
		synctest.Wait()
		start := time.Now()
		s.Close()
		if err := <-errCh; !errors.Is(err, ErrServerClosed) || time.Since(start) != 0 {
			t.Errorf("Serve = %v after %v, want ErrServerClosed at once", err, time.Since(start))
		}
	})
}

func TestIsTemporary(t *testing.T) {
	tests := []struct {
		err  error
		want bool
	}{
		{&net.OpError{Op: "accept", Err: syscall.EMFILE}, true},
		{&net.OpError{Op: "accept", Err: syscall.ENFILE}, true},
		{&net.OpError{Op: "accept", Err: syscall.ECONNABORTED}, true},
		{&TimeoutError{Err: os.ErrDeadlineExceeded}, true},
		{&net.OpError{Op: "accept", Err: net.ErrClosed}, false},
		{errors.New("other"), false},
		{&net.OpError{Op: "accept", Err: syscall.EBADF}, false},
	}
	for _, tt := range tests {
		if got := isTemporary(tt.err); got != tt.want {
			t.Errorf("isTemporary(%v) = %v, want %v", tt.err, got, tt.want)
		}
	}
}
