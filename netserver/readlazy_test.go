package netserver

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"slices"
	"testing"
	"time"
)

// lazyCalls records what ReadLazy asked of its caller: "get" and
// "release", in order, and tells the test when it released the buffer.
type lazyCalls struct {
	buf      []byte
	calls    []string
	released chan struct{}
}

func (l *lazyCalls) get() []byte {
	l.calls = append(l.calls, "get")
	return l.buf
}

func (l *lazyCalls) release() {
	l.calls = append(l.calls, "release")
	select {
	case l.released <- struct{}{}:
	default:
	}
}

type lazyResult struct {
	data  string
	calls []string
	err   error
	read  uint64
}

// TestReadLazyWaitsWithoutBuffer: on a socket, ReadLazy gives the buffer
// back before it waits and asks for one again once bytes arrive; it counts
// what it read, reports deadlines like Read, and io.EOF at the end.
func TestReadLazyWaitsWithoutBuffer(t *testing.T) {
	for _, tc := range []struct {
		name   string
		listen func(testing.TB) net.Listener
	}{{"unix", listenUnix}, {"tcp", listenTCP}} {
		t.Run(tc.name, func(t *testing.T) {
			lc := &lazyCalls{buf: make([]byte, 64), released: make(chan struct{}, 1)}
			results := make(chan lazyResult, 3)
			s := &Server{Handler: HandlerFunc(func(_ context.Context, c *Conn) {
				read := func() lazyResult {
					lc.calls = nil
					p, err := c.ReadLazy(lc.get, lc.release)
					return lazyResult{data: string(p), calls: lc.calls, err: err, read: c.BytesRead()}
				}
				results <- read()
				c.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
				results <- read()
				c.SetReadDeadline(time.Time{})
				results <- read()
			})}
			l := tc.listen(t)
			errCh := serve(t, s, l)
			defer stopAndCheck(t, s, errCh)
			client := dial(t, l.Addr())

			// The server waits for bytes with its buffer given back.
			recv(t, lc.released)
			if _, err := client.Write([]byte("hello")); err != nil {
				t.Fatal(err)
			}
			r := recv(t, results)
			if r.err != nil || r.data != "hello" || r.read != 5 {
				t.Fatalf("ReadLazy = %q, %v; BytesRead %d", r.data, r.err, r.read)
			}
			if want := []string{"get", "release", "get"}; !slices.Equal(r.calls, want) {
				t.Errorf("calls %v, want %v", r.calls, want)
			}

			r = recv(t, results)
			var ne net.Error
			var oe *net.OpError
			if !errors.Is(r.err, os.ErrDeadlineExceeded) || !errors.As(r.err, &ne) || !ne.Timeout() ||
				!errors.As(r.err, &oe) || oe.Op != "read" {
				t.Errorf("ReadLazy past a deadline = %v, want a read timeout", r.err)
			}
			if r.data != "" {
				t.Errorf("ReadLazy past a deadline read %q", r.data)
			}

			client.Close()
			if r = recv(t, results); r.err != io.EOF || r.data != "" {
				t.Errorf("ReadLazy after the peer closed = %q, %v; want io.EOF", r.data, r.err)
			}
		})
	}
}

// On a connection without a file descriptor ReadLazy is Read into get().
func TestReadLazyWithoutDescriptor(t *testing.T) {
	lc := &lazyCalls{buf: make([]byte, 64), released: make(chan struct{}, 1)}
	results := make(chan lazyResult, 1)
	s := &Server{Handler: HandlerFunc(func(_ context.Context, c *Conn) {
		p, err := c.ReadLazy(lc.get, lc.release)
		results <- lazyResult{data: string(p), calls: lc.calls, err: err, read: c.BytesRead()}
	})}
	l := newPipeListener()
	errCh := serve(t, s, l)
	defer stopAndCheck(t, s, errCh)
	client := l.Dial()
	defer client.Close()
	if _, err := client.Write([]byte("hi")); err != nil {
		t.Fatal(err)
	}
	r := recv(t, results)
	if r.err != nil || r.data != "hi" || r.read != 2 || !slices.Equal(r.calls, []string{"get"}) {
		t.Fatalf("ReadLazy = %q, %v, BytesRead %d, calls %v", r.data, r.err, r.read, r.calls)
	}
}

// The server's idle timeout applies to ReadLazy as to Read.
func TestReadLazyIdleTimeout(t *testing.T) {
	errs := make(chan error, 1)
	s := &Server{
		IdleTimeout: 50 * time.Millisecond,
		Handler: HandlerFunc(func(_ context.Context, c *Conn) {
			_, err := c.ReadLazy(func() []byte { return make([]byte, 8) }, func() {})
			errs <- err
		}),
	}
	l := listenUnix(t)
	errCh := serve(t, s, l)
	defer stopAndCheck(t, s, errCh)
	dial(t, l.Addr())
	var te *TimeoutError
	if err := recv(t, errs); !errors.As(err, &te) || te.Handshake || te.Limit != 50*time.Millisecond {
		t.Fatalf("idle ReadLazy = %v, want an idle *TimeoutError", err)
	}
}
