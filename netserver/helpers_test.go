package netserver

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-ipc/switchboard/internal/testenv"
)

// pipeListener is an in-memory net.Listener over net.Pipe, so tests can run
// inside a synctest bubble with virtual time. script lists what successive
// Accept calls return before blocking for a dialled connection: a non-nil
// error is returned as is, a nil entry waits for a dial.
type pipeListener struct {
	conns chan net.Conn
	done  chan struct{}
	once  sync.Once

	mu      sync.Mutex
	script  []error
	accepts []time.Time // start time of every Accept call
}

func newPipeListener(script ...error) *pipeListener {
	return &pipeListener{conns: make(chan net.Conn, 16), done: make(chan struct{}), script: script}
}

func (l *pipeListener) Accept() (net.Conn, error) {
	l.mu.Lock()
	l.accepts = append(l.accepts, time.Now())
	if len(l.script) > 0 {
		err := l.script[0]
		l.script = l.script[1:]
		if err != nil {
			l.mu.Unlock()
			return nil, err
		}
	}
	l.mu.Unlock()
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, &net.OpError{Op: "accept", Net: "pipe", Err: net.ErrClosed}
	}
}

func (l *pipeListener) acceptTimes() []time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]time.Time(nil), l.accepts...)
}

func (l *pipeListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return nil
}

func (l *pipeListener) Addr() net.Addr { return pipeAddr{} }

// Dial returns the client end of a new connection queued for Accept.
func (l *pipeListener) Dial() net.Conn {
	server, client := net.Pipe()
	l.conns <- server
	return client
}

type pipeAddr struct{}

func (pipeAddr) Network() string { return "pipe" }
func (pipeAddr) String() string  { return "pipe" }

var _ net.Listener = (*pipeListener)(nil)

// serve runs s.Serve(l) on a goroutine and returns a channel that receives
// its result. At the end of the test the server is closed and Serve must
// have returned ErrServerClosed.
func serve(t *testing.T, s *Server, l net.Listener) <-chan error {
	t.Helper()
	errCh := make(chan error, 1)
	go func() { errCh <- s.Serve(l) }()
	waitFor(t, "listener tracked", func() bool { return s.Addr() != nil })
	return errCh
}

// stopAndCheck closes s and checks Serve returned ErrServerClosed.
func stopAndCheck(t *testing.T, s *Server, errCh <-chan error) {
	t.Helper()
	s.Close()
	if err := recv(t, errCh); !errors.Is(err, ErrServerClosed) {
		t.Errorf("Serve returned %v, want ErrServerClosed", err)
	}
}

// waitFor polls cond until it holds, failing the test after 10s.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	testenv.Eventually(t, 10*time.Second, what, cond)
}

func listenTCP(t testing.TB) net.Listener {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func listenUnix(t testing.TB) net.Listener {
	t.Helper()
	l, err := net.Listen("unix", filepath.Join(testenv.ShortDir(t), "s.sock"))
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func dial(t testing.TB, a net.Addr) net.Conn {
	t.Helper()
	c, err := net.DialTimeout(a.Network(), a.String(), 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// echo copies everything a connection sends back to it, until the peer
// closes or the server stops.
var echo = HandlerFunc(func(ctx context.Context, c *Conn) {
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()
	io.Copy(c, c)
})

// roundTrip writes msg to c and reads it back.
func roundTrip(t testing.TB, c net.Conn, msg string) {
	t.Helper()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	werr := make(chan error, 1) // write while reading: a large echo must not fill both buffers
	go func() {
		_, err := io.WriteString(c, msg)
		werr <- err
	}()
	got := make([]byte, len(msg))
	_, rerr := io.ReadFull(c, got)
	if err := <-werr; err != nil {
		t.Fatal(err)
	}
	if rerr != nil {
		t.Fatal(rerr)
	}
	if string(got) != msg {
		t.Fatalf("echo = %q, want %q", got, msg)
	}
}

// expectEOF checks the server closed c: a read returns io.EOF (or a reset).
func expectEOF(t testing.TB, c net.Conn) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	n, err := c.Read(make([]byte, 1))
	if n != 0 || err == nil || isDeadline(err) {
		t.Fatalf("read after server close = %d, %v; want EOF", n, err)
	}
}

func isDeadline(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// syncBuffer is a bytes.Buffer safe for concurrent use, for slog output.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// recv receives from ch, failing the test after 10s so that a broken server
// fails the test instead of hanging it.
func recv[T any](t testing.TB, ch <-chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(10 * time.Second):
		t.Fatalf("timed out waiting on %T", ch)
		panic("unreachable")
	}
}
