package channel

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchboard-ipc/switchboard/internal/testenv"
)

// BenchmarkTakeover measures how long the channel is without a host after
// the host process is killed with SIGKILL: from the kill to the first
// message from a surviving member reaching another survivor through the
// new host (every member publishes a "ping" when it connects). Three member
// processes; after each kill a new process joins. Reported as p50-ms,
// p99-ms and max-ms over b.N kills:
//
//	go test -run '^$' -bench Takeover -benchtime 20x ./channel
func BenchmarkTakeover(b *testing.B) {
	dir := testenv.ShortDir(b)
	ev := newEvents(10 * time.Minute)
	alive := map[string]*child{}
	spawn := func() {
		k := startChild(b, ev, dir, "takeover", "SB_CHANNEL_TTL=200ms")
		k.send("connect")
		k.expect("joined")
		alive[k.id] = k
	}
	for range 3 {
		spawn()
	}
	var times []time.Duration
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		for _, k := range alive {
			k.send("members 3")
		}
		for _, k := range alive {
			k.expect("members")
		}
		ev.mu.Lock()
		host := ev.hosts[len(ev.hosts)-1]
		npings := len(ev.pings)
		ev.mu.Unlock()
		victim := alive[host]
		b.StartTimer()
		t0 := time.Now()
		victim.cmd.Process.Kill()
		var took time.Duration
		ev.waitFor(b, "a ping through the new host", 20*time.Second, func() bool {
			for _, p := range ev.pings[npings:] {
				if p.from != host && p.to != host {
					took = p.at.Sub(t0)
					return true
				}
			}
			return false
		})
		b.StopTimer()
		times = append(times, took)
		<-victim.dead
		delete(alive, host)
		spawn()
		b.StartTimer()
	}
	b.StopTimer()
	slices.Sort(times)
	pct := func(p float64) float64 {
		i := int(p * float64(len(times)-1))
		return float64(times[i]) / float64(time.Millisecond)
	}
	b.ReportMetric(pct(0.5), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
	b.ReportMetric(pct(1), "max-ms")
}

// BenchmarkPublish measures channel throughput between two members of one
// process, through the host's socket: b.N messages of 100 bytes, counted
// when the receiver's handler got the last one.
//
//	go test -run '^$' -bench Publish ./channel
func BenchmarkPublish(b *testing.B) {
	dir := testenv.ShortDir(b)
	pub, err := Open("bench", WithDir(dir))
	if err != nil {
		b.Fatal(err)
	}
	defer pub.Close()
	sub, err := Open("bench", WithDir(dir))
	if err != nil {
		b.Fatal(err)
	}
	defer sub.Close()
	var n atomic.Int64
	done := make(chan struct{})
	target := int64(b.N)
	sub.Subscribe("bench", func(*Message) {
		if n.Add(1) == target {
			close(done)
		}
	})
	ctx := context.Background()
	if err := pub.Connect(ctx); err != nil {
		b.Fatal(err)
	}
	if err := sub.Connect(ctx); err != nil {
		b.Fatal(err)
	}
	sub.Flush(ctx)
	payload := json.RawMessage(`"` + strings.Repeat("x", 98) + `"`)
	b.SetBytes(int64(len(payload)))
	b.ResetTimer()
	for range b.N {
		if err := pub.Publish(ctx, "bench", payload); err != nil {
			b.Fatal(err)
		}
	}
	<-done
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}
