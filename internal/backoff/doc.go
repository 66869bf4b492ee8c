// Package backoff computes exponential retry delays with optional jitter.
//
// A Backoff is a plain value: Next(attempt) is a pure function of the attempt
// number and the random source, so callers keep their own attempt counters and
// tests inject a deterministic Rand. The delay for attempt n is Min·2ⁿ, capped
// at Max, then shortened by up to Jitter of itself:
//
//	b := backoff.Backoff{Min: 5 * time.Millisecond, Max: time.Second}
//	for attempt := 0; ; attempt++ {
//		if err := try(); err == nil {
//			break
//		}
//		time.Sleep(b.Next(attempt))
//	}
//
// Invariant: 0 <= Next(n) <= Max (when Max > 0) for every n, and without
// jitter Next is non-decreasing in n.
package backoff
