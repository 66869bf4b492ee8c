package ipc

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchboard-ipc/switchboard/codec"
	"github.com/switchboard-ipc/switchboard/internal/testenv"
)

// Sending on the native wire does not allocate per message, in either
// direction and in a broadcast, whatever the topic's length (a topic
// converted to bytes would allocate beyond 32 bytes). Chunks are reused,
// so fewer than one allocation per message remains, which AllocsPerRun
// rounds down to 0.
func TestSendDoesNotAllocate(t *testing.T) {
	const topic = "orders.eu-west.customer-updates.v2.allocs" // > 32 bytes
	var got atomic.Int64
	ids := make(chan string, 1)
	s, addr := testServer(t, ServerConfig{Codec: codec.Raw, OnConnect: func(ci ClientInfo) { ids <- ci.ID }})
	s.Handle(topic, func(*Message) { got.Add(1) })
	var recv atomic.Int64
	c := dialT(t, addr, WithCodec(codec.Raw), WithFallback(func(*Message) { recv.Add(1) }))
	id := <-ids
	data := make([]byte, 64)
	ctx := testCtx(t)
	const runs = 2000
	for _, p := range []struct {
		name string
		send func() error
	}{
		{"Client.SendEncoded", func() error { return c.SendEncoded(ctx, topic, data) }},
		{"Server.SendEncoded", func() error { return s.SendEncoded(id, topic, data) }},
		{"Server.BroadcastEncoded", func() error { return s.BroadcastEncoded(topic, data) }},
	} {
		for range runs { // warm up: chunks, route caches
			if err := p.send(); err != nil {
				t.Fatal(err)
			}
		}
		var err error
		allocs := testing.AllocsPerRun(runs, func() {
			if e := p.send(); e != nil {
				err = e
			}
		})
		if err != nil {
			t.Fatal(err)
		}
		if allocs != 0 {
			t.Errorf("%s: %v allocations per message", p.name, allocs)
		}
	}
	// Everything arrived: the sends did their work. Each path sent its
	// warm-up, AllocsPerRun's own warm-up call and its runs.
	const per = 2*runs + 1
	testenv.Eventually(t, 10*time.Second, "every message delivered", func() bool { return got.Load() == per && recv.Load() == 2*per })
}
