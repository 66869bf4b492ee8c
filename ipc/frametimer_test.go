package ipc

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/switchboard-ipc/switchboard/wire"
)

// TestFrameBoundaries feeds a native stream (preface, frames of assorted
// sizes, including empty payloads) and a socket-ipc stream to the reader's
// boundary tracking in random pieces: it must be inside a frame exactly
// when the bytes so far end inside one, and a frame's start time must be
// that of the piece that began it.
func TestFrameBoundaries(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var stream []byte
	ends := map[int]bool{}
	starts := map[int]bool{0: true}
	stream = append(stream, wire.Preface[:]...)
	ends[len(stream)] = true
	for i := range 200 {
		starts[len(stream)] = true
		stream = wire.AppendFrame(stream, &wire.Frame{Type: wire.TypeMsg, Topic: []byte("t"), Payload: make([]byte, rng.IntN(300)*(i%3))})
		ends[len(stream)] = true
	}
	var json []byte
	jends := map[int]bool{}
	jstarts := map[int]bool{0: true}
	for range 200 {
		json = wire.AppendJSONFrame(json, "t", []byte(`{"a":1}`))
		jends[len(json)] = true
		jstarts[len(json)] = true
	}
	for _, tc := range []struct {
		name         string
		b            []byte
		ends, starts map[int]bool
	}{{"native", stream, ends, starts}, {"socket-ipc", json, jends, jstarts}} {
		for round := range 50 {
			var r idleReader
			t0 := time.Unix(0, 0)
			began := 0 // offset where the frame in progress began
			for off := 0; off < len(tc.b); {
				n := 1 + rng.IntN(150)
				if round%2 == 0 {
					n = 1 + rng.IntN(4)
				}
				n = min(n, len(tc.b)-off)
				now := t0.Add(time.Duration(off))
				// The last frame start within (off, off+n] or at off.
				for i := off; i < off+n; i++ {
					if tc.starts[i] {
						began = i
					}
				}
				r.scan(tc.b[off:off+n], now)
				off += n
				if mid := !tc.ends[off]; r.mid != mid {
					t.Fatalf("%s round %d: at %d mid=%v, want %v", tc.name, round, off, r.mid, mid)
				}
				if r.mid && tc.name == "native" {
					// The piece that began the frame in progress.
					if r.frameStart.After(now) || r.frameStart.Before(t0.Add(time.Duration(began-150))) {
						t.Fatalf("%s round %d: at %d frameStart %v, frame began at %d", tc.name, round, off, r.frameStart.Sub(t0), began)
					}
				}
			}
		}
	}
}
