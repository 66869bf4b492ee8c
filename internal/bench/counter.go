package bench

import (
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// sampleEvery is how often a Meter looks at its counters. The error it adds to
// a rate is at most two periods over the measured window.
const sampleEvery = 2 * time.Millisecond

// Counter counts messages received on one connection. Only its owner goroutine
// calls Add (AddShared is for counters without an owner); a Meter reads it concurrently. Add is a plain store on the
// common platforms: no contention, no lock.
type Counter struct {
	n     int64
	value atomic.Int64
	_     [48]byte // keep counters of different connections on different cache lines
}

// Add counts k messages.
func (c *Counter) Add(k int64) {
	c.n += k
	c.value.Store(c.n)
}

// AddShared counts k messages from any goroutine; for receivers whose
// messages arrive on several goroutines.
func (c *Counter) AddShared(k int64) { c.value.Add(k) }

// Meter turns counters into a rate over the window in which messages arrived.
type Meter struct {
	mu       sync.Mutex
	counters []*Counter

	done chan struct{}
	wg   sync.WaitGroup

	// Written by the sampling goroutine, read after Stop.
	firstN, lastN int64
	first, last   time.Time
}

// NewMeter returns a meter; call Start to begin sampling.
func NewMeter() *Meter { return &Meter{done: make(chan struct{})} }

// NewCounter adds a counter to m. Safe to call while m samples.
func (m *Meter) NewCounter() *Counter {
	c := new(Counter)
	m.mu.Lock()
	m.counters = append(m.counters, c)
	m.mu.Unlock()
	return c
}

func (m *Meter) total() int64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	var t int64
	for _, c := range m.counters {
		t += c.value.Load()
	}
	return t
}

// Start begins sampling.
func (m *Meter) Start() {
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		t := time.NewTicker(sampleEvery)
		defer t.Stop()
		var prev int64
		for {
			select {
			case <-m.done:
				return
			case now := <-t.C:
				n := m.total()
				if n > 0 && m.first.IsZero() {
					m.first, m.firstN = now, n
				}
				if n > prev {
					m.last, m.lastN = now, n
				}
				prev = n
			}
		}
	}()
}

// Stop ends sampling and returns the report of what was counted: the
// messages between the first and the last sample that saw any arrive.
func (m *Meter) Stop() Report {
	close(m.done)
	m.wg.Wait()
	if m.first.IsZero() || !m.last.After(m.first) {
		return Report{Count: 0}
	}
	return Report{Count: m.lastN - m.firstN, First: m.first.UnixNano(), Last: m.last.UnixNano()}
}

// Latencies collects round-trip times, bounded in count.
type Latencies struct {
	d []time.Duration
}

// maxSamples bounds the memory a latency measurer uses.
const maxSamples = 4 << 20

// Add records one round trip; beyond maxSamples it drops them.
func (l *Latencies) Add(d time.Duration) {
	if len(l.d) < maxSamples {
		l.d = append(l.d, d)
	}
}

// Report returns the p50 and p99 of the recorded round trips.
func (l *Latencies) Report() Report {
	if len(l.d) == 0 {
		return Report{}
	}
	s := append([]time.Duration(nil), l.d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return Report{
		P50:     int64(percentile(s, 50)),
		P99:     int64(percentile(s, 99)),
		Samples: int64(len(s)),
		Sent:    int64(len(s)),
	}
}

// percentile returns the p-th percentile (nearest rank) of sorted s.
func percentile(s []time.Duration, p float64) time.Duration {
	if len(s) == 0 {
		return 0
	}
	rank := int(p/100*float64(len(s))+0.5) - 1
	if rank < 0 {
		rank = 0
	}
	if rank >= len(s) {
		rank = len(s) - 1
	}
	return s[rank]
}

// median returns the median of v (the mean of the middle two for an even
// count), or 0 for none.
func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}
