package ipc

import (
	"context"
	"net"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-ipc/switchboard/internal/testenv"
)

// testServer starts a server on a fresh Unix socket and returns it with its
// address. It is closed at the end of the test.
func testServer(t testing.TB, cfg ServerConfig) (*Server, string) {
	t.Helper()
	addr := filepath.Join(testenv.ShortDir(t), "s.sock")
	return testServerAt(t, cfg, addr), addr
}

func testServerAt(t testing.TB, cfg ServerConfig, addr string) *Server {
	t.Helper()
	return testServerSetup(t, cfg, addr, nil)
}

// testServerSetup is testServerAt with setup (handlers, adopted sessions)
// run before the server serves. A server that takes over from another has
// clients reconnecting at once: a handler registered after Serve could miss
// their first messages.
func testServerSetup(t testing.TB, cfg ServerConfig, addr string, setup func(*Server)) *Server {
	t.Helper()
	s, err := NewServer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if setup != nil {
		setup(s)
	}
	l, err := net.Listen("unix", addr)
	if err != nil {
		t.Fatal(err)
	}
	go s.Serve(l)
	t.Cleanup(func() { s.Close() })
	return s
}

func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func dialT(t testing.TB, addr string, opts ...Option) *Client {
	t.Helper()
	opts = append([]Option{WithRetryDelay(5*time.Millisecond, 5*time.Millisecond), WithReconnectDelay(0, 0)}, opts...)
	c, err := Dial(testCtx(t), addr, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// collector gathers messages from handlers running on other goroutines.
type collector struct {
	mu   sync.Mutex
	msgs []*Message
	ch   chan struct{}
}

func newCollector() *collector { return &collector{ch: make(chan struct{}, 1)} }

func (c *collector) handle(m *Message) {
	c.mu.Lock()
	c.msgs = append(c.msgs, m.Clone())
	c.mu.Unlock()
	select {
	case c.ch <- struct{}{}:
	default:
	}
}

// wait waits until n messages arrived and returns them.
func (c *collector) wait(t testing.TB, n int) []*Message {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		c.mu.Lock()
		if len(c.msgs) >= n {
			out := append([]*Message(nil), c.msgs...)
			c.mu.Unlock()
			return out
		}
		c.mu.Unlock()
		select {
		case <-c.ch:
		case <-deadline:
			c.mu.Lock()
			got := len(c.msgs)
			c.mu.Unlock()
			t.Fatalf("got %d messages, want %d", got, n)
		}
	}
}

func (c *collector) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.msgs)
}

// eventually polls cond until it holds or 10 s pass.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	testenv.Eventually(t, 10*time.Second, what, cond)
}

type netConn = net.Conn

func dialUnix(ctx context.Context, addr string) (net.Conn, error) {
	var d net.Dialer
	return d.DialContext(ctx, "unix", addr)
}

func shortSock(t testing.TB) string {
	return filepath.Join(testenv.ShortDir(t), "x.sock")
}

// snapshot returns the messages collected so far.
func (c *collector) snapshot() []*Message {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]*Message(nil), c.msgs...)
}
