package ipc

import (
	"path/filepath"
	"sync"
	"testing"

	"github.com/switchboard-ipc/switchboard/internal/testenv"
)

// With AckAfterDelivery, a publisher is acknowledged only once its
// subscribers have the message. When the hub dies and a new one (with a new,
// empty session store, as in another process) takes over, the publisher
// resends what was not acknowledged, the subscriber drops what it has seen
// (WithDedupe) and the adopted session keeps what arrives before the
// subscriber is back: every message arrives exactly once, in order.
func TestFailoverAckAfterDelivery(t *testing.T) {
	const total, failovers = 20_000, 3
	addr := filepath.Join(testenv.ShortDir(t), "f.sock")
	cfg := ServerConfig{Hub: true, AckAfterDelivery: true}
	srv := testServerAt(t, cfg, addr)

	var mu sync.Mutex
	var got []uint64
	sub := dialT(t, addr, WithDedupe(true))
	if _, err := sub.Subscribe(testCtx(t), "t", func(m *Message) {
		var n uint64
		m.Decode(&n)
		mu.Lock()
		got = append(got, n)
		mu.Unlock()
	}); err != nil {
		t.Fatal(err)
	}
	pub := dialT(t, addr, WithQueue(0, 4<<20))
	// The publisher asks for a failover at fixed points of its stream, with
	// messages in flight, and goes on sending meanwhile.
	failNow := make(chan struct{})
	sent := make(chan error, 1)
	go func() {
		for i := uint64(1); i <= total; i++ {
			if err := pub.Send(testCtx(t), "t", i); err != nil {
				sent <- err
				return
			}
			if i%(total/(failovers+1)) == 0 && i < total {
				failNow <- struct{}{}
			}
		}
		sent <- pub.Flush(testCtx(t))
	}()
	for range failovers {
		<-failNow
		srv.Close()
		// The subscriber's session is adopted before the new hub serves:
		// the publisher reconnects at once.
		srv = testServerSetup(t, cfg, addr, func(s *Server) {
			if err := s.AdoptSession(sub.ID(), []string{"t"}); err != nil {
				t.Fatal(err)
			}
		})
	}
	if err := <-sent; err != nil {
		t.Fatal(err)
	}
	// Flush returned: every message was acknowledged, so after
	// AckAfterDelivery the subscriber has it.
	mu.Lock()
	defer mu.Unlock()
	if len(got) != total {
		t.Fatalf("subscriber got %d of %d", len(got), total)
	}
	for i, n := range got {
		if n != uint64(i+1) {
			t.Fatalf("message %d is %d", i+1, n)
		}
	}
}
