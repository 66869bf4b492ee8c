package backoff

import (
	"math"
	"testing"
	"time"
)

func TestNext(t *testing.T) {
	ms := time.Millisecond
	tests := []struct {
		name    string
		b       Backoff
		attempt int
		want    time.Duration
	}{
		{"zero value", Backoff{}, 3, 0},
		{"first", Backoff{Min: 5 * ms, Max: time.Second}, 0, 5 * ms},
		{"doubles", Backoff{Min: 5 * ms, Max: time.Second}, 3, 40 * ms},
		{"capped", Backoff{Min: 5 * ms, Max: time.Second}, 8, time.Second},
		{"huge attempt", Backoff{Min: 5 * ms, Max: time.Second}, math.MaxInt, time.Second},
		{"negative attempt", Backoff{Min: 5 * ms, Max: time.Second}, -4, 5 * ms},
		{"no cap", Backoff{Min: time.Second}, 10, 1024 * time.Second},
		{"no cap overflow", Backoff{Min: time.Second}, 200, maxDuration},
		{"min above max", Backoff{Min: 2 * time.Second, Max: time.Second}, 0, time.Second},
		{"full jitter low", Backoff{Min: 100 * ms, Jitter: 1, Rand: func() float64 { return 0.5 }}, 0, 50 * ms},
		{"half jitter", Backoff{Min: 100 * ms, Jitter: 0.5, Rand: func() float64 { return 0.5 }}, 1, 150 * ms},
		{"jitter clamped", Backoff{Min: 100 * ms, Jitter: 7, Rand: func() float64 { return 0.25 }}, 0, 75 * ms},
		{"broken rand", Backoff{Min: 100 * ms, Jitter: 1, Rand: func() float64 { return 3 }}, 0, 100 * ms},
		{"NaN rand", Backoff{Min: 100 * ms, Jitter: 1, Rand: func() float64 { return math.NaN() }}, 0, 100 * ms},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.b.Next(tt.attempt); got != tt.want {
				t.Errorf("Next(%d) = %v, want %v", tt.attempt, got, tt.want)
			}
		})
	}
}

func TestNextDefaultRandInRange(t *testing.T) {
	b := Backoff{Min: 10 * time.Millisecond, Max: 80 * time.Millisecond, Jitter: 0.5}
	for attempt := range 10 {
		full := Backoff{Min: b.Min, Max: b.Max}.Next(attempt)
		for range 100 {
			d := b.Next(attempt)
			if d < full/2 || d > full {
				t.Fatalf("Next(%d) = %v, want in [%v, %v]", attempt, d, full/2, full)
			}
		}
	}
}

func TestNextMonotonicWithoutJitter(t *testing.T) {
	b := Backoff{Min: 3 * time.Millisecond, Max: 700 * time.Millisecond}
	prev := time.Duration(0)
	for attempt := range 64 {
		d := b.Next(attempt)
		if d < prev || d > b.Max {
			t.Fatalf("Next(%d) = %v after %v (max %v)", attempt, d, prev, b.Max)
		}
		prev = d
	}
}

func BenchmarkNext(b *testing.B) {
	bo := Backoff{Min: time.Millisecond, Max: time.Second, Jitter: 0.2}
	for i := 0; b.Loop(); i++ {
		_ = bo.Next(i & 15)
	}
}
