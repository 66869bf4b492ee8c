package fault

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/switchboard-ipc/switchboard/internal/testenv"
	"github.com/switchboard-ipc/switchboard/ipc"
)

func init() {
	// subscriber subscribes to "flood" with an ipc.Client and counts.
	children["subscriber"] = func(addr string) error {
		ctx := context.Background()
		c, err := ipc.Dial(ctx, addr, ipc.WithRetryDelay(time.Hour, time.Hour), ipc.WithReconnectDelay(time.Hour, time.Hour))
		if err != nil {
			return err
		}
		if _, err := c.Subscribe(ctx, "flood", func(*ipc.Message) {}); err != nil {
			return err
		}
		say("ready %s", c.ID())
		select {}
	}
}

// TestPeerStopsReading freezes a subscriber process (SIGSTOP: it reads
// nothing more) while a publisher floods its topic, under each
// slow-consumer policy that must not stall the others. The frozen client's
// queue is bounded by QueueBytes; a subscriber that keeps reading gets every
// message, in order.
func TestPeerStopsReading(t *testing.T) {
	for _, p := range []ipc.Policy{ipc.Disconnect, ipc.Drop} {
		t.Run(p.String(), func(t *testing.T) { testPeerStopsReading(t, p) })
	}
}

func testPeerStopsReading(t *testing.T, policy ipc.Policy) {
	ctx := testCtx(t)
	addr := filepath.Join(testenv.ShortDir(t), "s.sock")
	var slowErrs atomic.Int32
	disconnected := make(chan string, 4)
	srv, err := ipc.NewServer(ipc.ServerConfig{Hub: true, QueueBytes: 256 << 10, SlowConsumer: policy,
		OnError: func(err error) {
			if errors.Is(err, ipc.ErrSlowConsumer) {
				slowErrs.Add(1)
			}
		},
		OnDisconnect: func(id string, err error) {
			if errors.Is(err, ipc.ErrSlowConsumer) {
				select {
				case disconnected <- id:
				default:
				}
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Listen(ctx, addr); err != nil {
		t.Fatal(err)
	}
	defer srv.Close()

	frozen := startChild(t, "subscriber", addr)
	frozenID := strings.TrimPrefix(frozen.expect("ready "), "ready ")
	if err := frozen.Cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}

	// 3 MB of 1 KB messages, far beyond socket buffers and the 256 KiB
	// queue, published in windows of 64 that the reading subscriber must
	// receive before the next: its lag stays far below its queue, so only
	// the frozen one can overflow.
	const n, window = 3000, 64
	got := make(chan int, n)
	good, err := ipc.Dial(ctx, addr)
	if err != nil {
		t.Fatal(err)
	}
	defer good.Close()
	if _, err := good.Subscribe(ctx, "flood", func(m *ipc.Message) {
		var v struct{ I int }
		m.Decode(&v)
		got <- v.I
	}); err != nil {
		t.Fatal(err)
	}
	pub, err := ipc.Dial(ctx, addr, ipc.WithQueue(0, 1<<20))
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Close()
	pad := strings.Repeat("x", 1000)
	next := 0
	for i := range n {
		if err := pub.Send(ctx, "flood", struct {
			I   int
			Pad string
		}{i, pad}); err != nil {
			t.Fatalf("Send %d: %v", i, err)
		}
		if (i+1)%window != 0 && i != n-1 {
			continue
		}
		for ; next <= i; next++ {
			select {
			case v := <-got:
				if v != next {
					t.Fatalf("good subscriber got %d, want %d", v, next)
				}
			case <-time.After(10 * time.Second):
				t.Fatalf("good subscriber stalled at %d of %d", next, n)
			}
		}
	}
	switch policy {
	case ipc.Disconnect:
		select {
		case id := <-disconnected:
			if id != frozenID {
				t.Errorf("disconnected %s as slow, want the frozen %s", id, frozenID)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("frozen subscriber not disconnected")
		}
		eventually(t, 10*time.Second, "frozen client gone", func() bool { return len(srv.Clients()) == 2 })
	case ipc.Drop:
		if len(srv.Clients()) != 3 {
			t.Errorf("%d clients, want the frozen one still connected under Drop", len(srv.Clients()))
		}
	}
	if slowErrs.Load() == 0 {
		t.Error("no ErrSlowConsumer reported to OnError")
	}
	t.Logf("policy %v: %d messages all delivered to the reading subscriber; %d slow-consumer errors for the frozen one", policy, n, slowErrs.Load())
}
