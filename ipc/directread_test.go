package ipc

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchboard-ipc/switchboard/internal/testenv"
)

// directReads returns how many direct reads the client's connection has
// begun.
func directReads(c *Client) uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.turn == nil {
		return 0
	}
	return c.turn.uses.Load()
}

// Back-to-back requests read their replies directly, while messages the
// server sends before and after each reply still reach the handler, every
// one, in order, on the connection goroutine.
func TestDirectRepliesWithPushes(t *testing.T) {
	s, addr := testServer(t, ServerConfig{})
	got := newCollector()
	c := dialT(t, addr, WithFallback(got.handle))
	id := c.ID()
	n := 0
	s.Handle("sync", func(m *Message) {
		// One message before the reply and one after it.
		n++
		s.Send(id, "push", n)
		m.Respond(n)
		n++
		s.Send(id, "push", n)
	})
	const requests = 300
	for i := 1; i <= requests; i++ {
		r, err := c.Request(testCtx(t), "sync", nil)
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		var v int
		if err := r.Decode(&v); err != nil || v != 2*i-1 {
			t.Fatalf("request %d: reply %d (%v), want %d", i, v, err, 2*i-1)
		}
	}
	msgs := got.wait(t, 2*requests)
	for i, m := range msgs {
		var v int
		if err := m.Decode(&v); err != nil || v != i+1 {
			t.Fatalf("push %d: got %d (%v)", i+1, v, err)
		}
	}
	if len(msgs) != 2*requests {
		t.Fatalf("got %d pushes, want %d", len(msgs), 2*requests)
	}
	if directReads(c) == 0 {
		t.Fatal("no request read its reply directly")
	}
}

// startDirect issues a request to a handler that does not answer it, and
// returns once that request reads the connection directly, with its result
// channel and cancel function. From then on the connection goroutine
// leaves the turn free for good once it gave it up (c.lingerFor).
func startDirect(t *testing.T, c *Client, ctx context.Context) (<-chan error, context.CancelFunc) {
	t.Helper()
	c.lingerFor = time.Hour
	// A request answered leaves the turn free: the connection goroutine
	// gives it up after handing the reply over, or the request gives it
	// back.
	if _, err := c.Request(testCtx(t), "sync", nil); err != nil {
		t.Fatal(err)
	}
	c.mu.Lock()
	turn := c.turn
	c.mu.Unlock()
	testenv.Eventually(t, 10*time.Second, "the turn given up", func() bool { return len(turn.tok) == 1 })
	before := directReads(c)
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		_, err := c.Request(rctx, "hold", nil)
		done <- err
	}()
	testenv.Eventually(t, 10*time.Second, "a direct read", func() bool { return directReads(c) > before })
	return done, cancel
}

// A request reading directly returns at once when its context is done,
// and leaves the connection as it found it.
func TestDirectReadCancel(t *testing.T) {
	for _, deadline := range []bool{false, true} {
		t.Run(fmt.Sprintf("deadline=%v", deadline), func(t *testing.T) {
			s, addr := testServer(t, ServerConfig{})
			release := make(chan struct{})
			defer close(release)
			s.Handle("sync", func(m *Message) { m.Respond(nil) })
			s.Handle("hold", func(m *Message) {
				go func() {
					<-release
					m.Respond(nil)
				}()
			})
			got := newCollector()
			var disconnects atomic.Int32
			c := dialT(t, addr, WithFallback(got.handle), WithOnDisconnect(func(error) { disconnects.Add(1) }))
			ctx := testCtx(t)
			if deadline {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, 20*time.Second)
				defer cancel()
			}
			done, cancel := startDirect(t, c, ctx)
			cancel()
			select {
			case err := <-done:
				if !errors.Is(err, context.Canceled) {
					t.Fatalf("Request: %v, want context.Canceled", err)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("Request did not return after its context was canceled")
			}
			// No read deadline is left behind: the connection still
			// serves messages and requests. The message comes first, so
			// the request reading directly hands it to the connection
			// goroutine.
			s.Send(c.ID(), "push", 1)
			if _, err := c.Request(testCtx(t), "sync", nil); err != nil {
				t.Fatal(err)
			}
			got.wait(t, 1)
			if n := disconnects.Load(); n != 0 {
				t.Fatalf("%d disconnects after a canceled direct read", n)
			}
		})
	}
}

// directWhile starts a request that reads its reply directly from a server
// that does not answer it, then runs event, and returns what the request
// returned.
func directWhile(t *testing.T, event func(s *Server, addr string, c *Client)) error {
	t.Helper()
	s, addr := testServer(t, ServerConfig{})
	s.Handle("sync", func(m *Message) { m.Respond(nil) })
	s.Handle("hold", func(m *Message) {})
	c := dialT(t, addr)
	done, cancel := startDirect(t, c, testCtx(t))
	defer cancel()
	event(s, addr, c)
	select {
	case err := <-done:
		return err
	case <-time.After(10 * time.Second):
		t.Fatal("Request did not return")
		return nil
	}
}

// Close ends a request reading directly with ErrClientClosed.
func TestDirectReadClose(t *testing.T) {
	err := directWhile(t, func(_ *Server, _ string, c *Client) { c.Close() })
	if !errors.Is(err, ErrClientClosed) {
		t.Fatalf("Request: %v, want ErrClientClosed", err)
	}
}

// A request reading directly when the server goes away is sent again on
// the next connection and answered there.
func TestDirectReadReconnect(t *testing.T) {
	err := directWhile(t, func(s *Server, addr string, _ *Client) {
		s.Close()
		testServerSetup(t, ServerConfig{}, addr, func(s2 *Server) {
			s2.Handle("hold", func(m *Message) { m.Respond(nil) })
		})
	})
	if err != nil {
		t.Fatalf("Request across a reconnect: %v", err)
	}
}

// A reply the connection goroutine read and handed over before it gave
// the turn up is not waited for again by a request that then takes the
// turn.
func TestDirectReadReplyHandedOver(t *testing.T) {
	s, addr := testServer(t, ServerConfig{})
	s.Handle("sync", func(m *Message) { m.Respond(nil) })
	c := dialT(t, addr)
	c.lingerFor = time.Hour // the turn stays free once given up
	testHookRequestWritten = func(cl *call) {
		// Wait until the reply was handed over and the turn given up.
		testenv.Eventually(t, 10*time.Second, "reply handed over", func() bool { return len(cl.ch) == 1 })
		c.mu.Lock()
		turn := c.turn
		c.mu.Unlock()
		testenv.Eventually(t, 10*time.Second, "turn given up", func() bool { return len(turn.tok) == 1 })
	}
	defer func() { testHookRequestWritten = nil }()
	ctx, cancel := context.WithTimeout(testCtx(t), 10*time.Second)
	defer cancel()
	if _, err := c.Request(ctx, "sync", nil); err != nil {
		t.Fatalf("Request: %v", err)
	}
}
