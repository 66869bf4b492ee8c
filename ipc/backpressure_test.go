package ipc

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-ipc/switchboard/wire"
)

// rawNative opens a native connection by hand, subscribes to pattern and
// then never reads: a stalled consumer.
func rawNative(t *testing.T, addr, pattern string) net.Conn {
	t.Helper()
	c, err := net.Dial("unix", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	hello, _ := wire.MarshalHello(&wire.Hello{Codec: "json"})
	b := append([]byte(nil), wire.Preface[:]...)
	b = wire.AppendFrame(b, &wire.Frame{Type: wire.TypeHello, Payload: hello})
	b = wire.AppendFrame(b, &wire.Frame{Type: wire.TypeSub, ID: 1, Topic: []byte(pattern)})
	if _, err := c.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := wire.ReadPreface(c); err != nil {
		t.Fatal(err)
	}
	rd := wire.NewReader(c, 0)
	var f wire.Frame
	for f.Type != wire.TypeSubAck { // WELCOME, then SUBACK
		if err := rd.ReadFrame(&f); err != nil {
			t.Fatal(err)
		}
	}
	return c
}

// slowConsumerSetup starts a hub with a small queue, one stalled subscriber
// and one healthy one, and returns the server, the healthy collector and a
// publishing client.
func slowConsumerSetup(t *testing.T, p Policy, errs chan error, disc chan error) (*Server, *collector, *Client, net.Conn) {
	s, addr := testServer(t, ServerConfig{Hub: true, QueueBytes: 256 << 10, SlowConsumer: p,
		OnError: func(err error) {
			select {
			case errs <- err:
			default:
			}
		},
		OnDisconnect: func(id string, err error) {
			if err != nil {
				select {
				case disc <- err:
				default:
				}
			}
		},
	})
	stalled := rawNative(t, addr, "flood")
	good := newCollector()
	gc := dialT(t, addr)
	if _, err := gc.Subscribe(testCtx(t), "flood", good.handle); err != nil {
		t.Fatal(err)
	}
	pub := dialT(t, addr, WithQueue(0, 1<<20))
	return s, good, pub, stalled
}

var payload1K = strings.Repeat("x", 1000)

func flood(t *testing.T, pub *Client, n int) error {
	for range n {
		if err := pub.Send(testCtx(t), "flood", payload1K); err != nil {
			return err
		}
	}
	return nil
}

// paced publishes n messages in batches, each once the healthy subscriber
// has the previous one: only the stalled subscriber falls behind.
func paced(t *testing.T, pub *Client, good *collector, n int) {
	t.Helper()
	const batch = 100
	for i := 0; i < n; i += batch {
		if err := flood(t, pub, batch); err != nil {
			t.Fatal(err)
		}
		good.wait(t, i+batch)
	}
}

func TestSlowConsumerDisconnect(t *testing.T) {
	errs, disc := make(chan error, 1), make(chan error, 4)
	s, good, pub, _ := slowConsumerSetup(t, Disconnect, errs, disc)
	const n = 4000 // 4 MiB: far beyond the stalled socket's buffers and the 256 KiB queue
	paced(t, pub, good, n)
	if err := <-disc; !errors.Is(err, ErrSlowConsumer) {
		t.Fatalf("OnDisconnect: %v", err)
	}
	if err := <-errs; !errors.Is(err, ErrSlowConsumer) {
		t.Fatalf("OnError: %v", err)
	}
	good.wait(t, n)
	eventually(t, "stalled client gone", func() bool { return len(s.Clients()) == 2 })
}

func TestSlowConsumerDrop(t *testing.T) {
	errs, disc := make(chan error, 1), make(chan error, 4)
	s, good, pub, _ := slowConsumerSetup(t, Drop, errs, disc)
	const n = 4000
	paced(t, pub, good, n)
	if err := <-errs; !errors.Is(err, ErrSlowConsumer) {
		t.Fatalf("OnError: %v", err)
	}
	good.wait(t, n)
	if len(s.Clients()) != 3 {
		t.Fatal("Drop disconnected a client")
	}
	// Memory stays bounded: the stalled client's queue never exceeds its limit.
	for _, ss := range s.store.m {
		ss.q.mu.Lock()
		pending := ss.q.heldLocked()
		ss.q.mu.Unlock()
		if pending > retainFactor*256<<10 {
			t.Fatalf("queue of %s holds %d bytes", ss.id, pending)
		}
	}
}

func TestSlowConsumerBlock(t *testing.T) {
	errs, disc := make(chan error, 1), make(chan error, 4)
	_, good, pub, stalled := slowConsumerSetup(t, Block, errs, disc)
	const n = 4000
	flooded := make(chan error, 1)
	go func() { flooded <- flood(t, pub, n) }()
	// The publisher is held back: the healthy subscriber stops short of n
	// while the stalled one does not read.
	eventually(t, "some deliveries", func() bool { return good.len() > 0 })
	eventually(t, "the publisher blocked", func() bool {
		ctx, cancel := context.WithTimeout(testCtx(t), 50*time.Millisecond)
		defer cancel()
		return errors.Is(pub.Flush(ctx), context.DeadlineExceeded)
	})
	if good.len() == n {
		t.Fatal("delivery did not block")
	}
	select {
	case err := <-errs:
		if errors.Is(err, ErrSlowConsumer) {
			t.Fatalf("Block reported %v", err)
		}
	default:
	}
	stalled.Close() // the stalled consumer leaves: everything flows again
	if err := <-flooded; err != nil {
		t.Fatal(err)
	}
	good.wait(t, n)
}

// A queue that grew during a burst gives its memory back once idle, and
// only then.
func TestQueueTrimIdle(t *testing.T) {
	q := newOutq(false, 0)
	q.buf = make([]byte, 0, 2*chunkSize)
	q.writes = 1
	q.trimIdle() // it wrote since the last look: kept
	if cap(q.buf) != 2*chunkSize {
		t.Fatal("trimmed a queue that was busy")
	}
	q.trimIdle() // idle since: trimmed
	if cap(q.buf) != 0 {
		t.Fatalf("idle queue keeps %d bytes", cap(q.buf))
	}
	q.buf = append(make([]byte, 0, 2*chunkSize), 1)
	q.trimIdle()
	if len(q.buf) != 1 {
		t.Fatal("trimmed a queue with pending bytes")
	}
}
