package wire

import (
	"bytes"
	"io"
	"slices"
	"testing"
)

// lazySource is a LazyReader that hands out its chunks one per ReadLazy and
// waits between them, as a socket that receives them one at a time: before
// each chunk but the first it calls release, then onWait.
type lazySource struct {
	chunks  [][]byte
	started bool
	onWait  func()
}

func (s *lazySource) Read(p []byte) (int, error) {
	b, err := s.ReadLazy(func() []byte { return p }, func() {})
	return len(b), err
}

func (s *lazySource) ReadLazy(get func() []byte, release func()) ([]byte, error) {
	if s.started {
		release()
		if s.onWait != nil {
			s.onWait()
		}
	}
	s.started = true
	if len(s.chunks) == 0 {
		return nil, io.EOF
	}
	b := get()
	n := copy(b, s.chunks[0])
	if s.chunks[0] = s.chunks[0][n:]; len(s.chunks[0]) == 0 {
		s.chunks = s.chunks[1:]
	} else {
		s.started = false // the rest of the chunk is there at once
	}
	return b[:n], nil
}

// A Reader on a LazyReader holds no buffer while it waits between frames,
// keeps it while it waits inside a frame, and reads what arrives after a
// wait correctly.
func TestLazyReaderGivesBufferBack(t *testing.T) {
	one := AppendFrame(nil, &Frame{Type: TypeMsg, Seq: 1, Topic: []byte("a"), Payload: []byte("first")})
	two := AppendFrame(nil, &Frame{Type: TypeMsg, Seq: 2, Topic: []byte("b"), Payload: bytes.Repeat([]byte("x"), 100)})
	three := AppendFrame(nil, &Frame{Type: TypeMsg, Seq: 3, Topic: []byte("c"), Payload: []byte("third")})
	src := &lazySource{chunks: [][]byte{one, two[:10], two[10:], three}}
	r := NewReader(src, 0)
	var held []bool // whether the reader held a buffer at each wait
	src.onWait = func() { held = append(held, r.buf != nil) }

	var f Frame
	for i, want := range []string{"first", string(bytes.Repeat([]byte("x"), 100)), "third"} {
		if err := r.ReadFrame(&f); err != nil {
			t.Fatalf("frame %d: %v", i+1, err)
		}
		if f.Seq != uint64(i+1) || string(f.Payload) != want {
			t.Fatalf("frame %d: seq %d payload %q", i+1, f.Seq, f.Payload)
		}
	}
	if err := r.ReadFrame(&f); err != io.EOF {
		t.Fatalf("after the last frame: %v", err)
	}
	// Waits: after frame 1 (nothing unread), inside frame 2, after frame
	// 2, after frame 3.
	if want := []bool{false, true, false, false}; !slices.Equal(held, want) {
		t.Fatalf("buffer held at the waits: %v, want %v", held, want)
	}
	if r.buf != nil {
		t.Fatalf("reader holds a %d-byte buffer at the end of the stream", len(r.buf))
	}
}

func TestLazyJSONReaderGivesBufferBack(t *testing.T) {
	one := AppendJSONFrame(nil, "a", []byte(`1`))
	two := AppendJSONFrame(nil, "b", []byte(`"two"`))
	src := &lazySource{chunks: [][]byte{one, two[:5], two[5:]}}
	r := NewJSONReader(src, 0)
	var held []bool
	src.onWait = func() { held = append(held, r.buf != nil) }
	for i, want := range []string{"1", `"two"`} {
		_, msg, err := r.ReadMessage()
		if err != nil || string(msg) != want {
			t.Fatalf("message %d: %q %v", i+1, msg, err)
		}
	}
	if _, _, err := r.ReadMessage(); err != io.EOF {
		t.Fatalf("after the last message: %v", err)
	}
	if want := []bool{false, true, false}; !slices.Equal(held, want) {
		t.Fatalf("buffer held at the waits: %v, want %v", held, want)
	}
}

// A busy reader's grown buffer goes back to the pool of its size and comes
// back at that size: a connection that pauses between bursts neither
// allocates per burst nor starts again from a small buffer.
func TestLazyReaderKeepsBufferSize(t *testing.T) {
	one := AppendFrame(nil, &Frame{Type: TypeMsg, Topic: []byte("t"), Payload: make([]byte, 64)})
	burst := bytes.Repeat(one, DefaultBufferSize/len(one)*4)
	src := &lazySource{}
	r := NewReader(src, 0)
	frames := len(burst) / len(one)
	src.chunks = [][]byte{burst}
	readFrames(t, r, frames)
	if len(r.buf) != DefaultBufferSize {
		t.Fatalf("busy reader's buffer is %d bytes", len(r.buf))
	}
	chunks := make([][]byte, 1)
	allocs := testing.AllocsPerRun(20, func() {
		chunks[0] = burst
		src.chunks = chunks
		readFrames(t, r, frames)
	})
	if allocs != 0 && !raceEnabled {
		t.Fatalf("%v allocations per burst", allocs)
	}
	if len(r.buf) != DefaultBufferSize {
		t.Fatalf("buffer is %d bytes after pauses", len(r.buf))
	}
}

// A LazyReader that returns bytes other than the buffer it was lent is an
// error, not memory corruption.
func TestLazyReaderBadBytes(t *testing.T) {
	r := NewReader(badLazy{}, 0)
	var f Frame
	if err := r.ReadFrame(&f); err != errBadRead {
		t.Fatalf("got %v, want errBadRead", err)
	}
}

type badLazy struct{}

func (badLazy) Read(p []byte) (int, error) { return 0, io.EOF }

func (badLazy) ReadLazy(get func() []byte, release func()) ([]byte, error) {
	get()
	return make([]byte, 8), nil
}
