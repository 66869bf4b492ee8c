package backoff

import (
	"math/rand/v2"
	"time"
)

// Backoff describes an exponential backoff. The zero value returns a zero
// delay for every attempt.
type Backoff struct {
	// Min is the delay of attempt 0. Zero or negative means no delay at all.
	Min time.Duration
	// Max caps every delay. Zero or negative means no cap (delays then stop
	// growing at the largest time.Duration).
	Max time.Duration
	// Jitter, between 0 and 1, is the largest fraction by which a delay is
	// shortened at random: the delay is drawn uniformly from
	// [d·(1-Jitter), d]. Values outside [0, 1] are clamped. Spreading retries
	// keeps many clients from retrying at the same instant.
	Jitter float64
	// Rand returns a number in [0, 1). Nil means math/rand/v2.Float64. Tests
	// inject a deterministic source.
	Rand func() float64
}

const maxDuration = time.Duration(1<<63 - 1)

// Next returns the delay to wait before retry number attempt (0 for the first
// retry). A negative attempt is treated as 0.
func (b Backoff) Next(attempt int) time.Duration {
	if b.Min <= 0 {
		return 0
	}
	if attempt < 0 {
		attempt = 0
	}
	limit := b.Max
	if limit <= 0 {
		limit = maxDuration
	}
	d := b.Min
	for i := 0; i < attempt && d < limit; i++ {
		if d > maxDuration/2 {
			d = maxDuration
			break
		}
		d *= 2
	}
	if d > limit {
		d = limit
	}
	j := b.Jitter
	if j <= 0 {
		return d
	}
	if j > 1 {
		j = 1
	}
	r := rand.Float64
	if b.Rand != nil {
		r = b.Rand
	}
	x := r()
	if x < 0 || x >= 1 || x != x { // a broken source must not push d out of range
		x = 0
	}
	return d - time.Duration(float64(d)*j*x)
}
