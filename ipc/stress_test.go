package ipc

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"
)

// Clients come and go, subscribe and unsubscribe, request and get cut off
// while a publisher floods a hub: nothing deadlocks or races, the server
// closes, and a client that stays to the end gets every message it
// subscribed to.
func TestStressChurn(t *testing.T) {
	s, addr := testServer(t, ServerConfig{Hub: true, QueueBytes: 1 << 20, SessionTTL: 50 * time.Millisecond})
	s.Handle("svc", func(m *Message) { m.Respond(m.Data) })
	steady := newCollector()
	sc := dialT(t, addr)
	if _, err := sc.Subscribe(testCtx(t), "flood.>", steady.handle); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(testCtx(t), 1500*time.Millisecond)
	defer cancel()
	var wg sync.WaitGroup
	const flood = 20_000
	wg.Go(func() {
		pub := dialT(t, addr, WithQueue(0, 1<<20))
		for i := range flood {
			pub.Send(testCtx(t), fmt.Sprintf("flood.%d", i%7), i)
		}
		pub.Flush(testCtx(t))
	})
	for w := range 8 {
		wg.Go(func() {
			for i := 0; ctx.Err() == nil; i++ {
				c, err := Dial(ctx, addr, WithReconnectDelay(0, time.Millisecond), WithRetryDelay(time.Millisecond, time.Millisecond))
				if err != nil {
					return
				}
				sub, _ := c.Subscribe(ctx, fmt.Sprintf("flood.%d", (w+i)%7), func(*Message) {})
				c.Request(ctx, "svc", i)
				if i%3 == 0 {
					for _, ci := range s.Clients() {
						if ci.ID == c.ID() {
							ci.Conn.Close() // cut it: it reconnects
						}
					}
				}
				if sub != nil {
					sub.Unsubscribe()
				}
				if w%2 == 0 {
					s.Send(c.ID(), "direct", i)
				}
				c.Close()
			}
		})
	}
	wg.Wait()
	got := steady.wait(t, flood)
	seen := make(map[int]bool, flood)
	for _, m := range got {
		var n int
		m.Decode(&n)
		if seen[n] {
			t.Fatalf("message %d twice", n)
		}
		seen[n] = true
	}
	done := make(chan error, 1)
	go func() { done <- s.Close() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Close hangs")
	}
}
