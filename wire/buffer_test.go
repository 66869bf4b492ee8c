package wire

import (
	"bytes"
	"strings"
	"testing"
)

// chunkReader hands out data at most size bytes per Read: a peer that
// sends one frame at a time and waits.
type chunkReader struct {
	data []byte
	size int
}

func (c *chunkReader) Read(p []byte) (int, error) {
	if len(c.data) == 0 {
		return 0, nil
	}
	n := copy(p[:min(len(p), c.size)], c.data)
	c.data = c.data[n:]
	return n, nil
}

func TestIdleReaderBufferIsSmall(t *testing.T) {
	hello := AppendFrame(nil, &Frame{Type: TypeHello, Seq: 1, Topic: []byte("client.hello")})
	r := NewReader(bytes.NewReader(hello), 0)
	if cap(r.buf) != 0 {
		t.Fatalf("new Reader holds a %d-byte buffer before any read", cap(r.buf))
	}
	var f Frame
	if err := r.ReadFrame(&f); err != nil {
		t.Fatal(err)
	}
	if cap(r.buf) > initialBufferSize {
		t.Fatalf("Reader holds %d bytes after one small frame", cap(r.buf))
	}

	jr := NewJSONReader(strings.NewReader(`{"topic":"hello"}`+Delimiter), 0)
	if cap(jr.buf) != 0 {
		t.Fatalf("new JSONReader holds a %d-byte buffer before any read", cap(jr.buf))
	}
	if _, _, err := jr.ReadMessage(); err != nil {
		t.Fatal(err)
	}
	if cap(jr.buf) > initialBufferSize {
		t.Fatalf("JSONReader holds %d bytes after one small message", cap(jr.buf))
	}
}

// A connection that gets one small frame per read never fills its buffer,
// so the buffer does not grow.
func TestTrickleDoesNotGrow(t *testing.T) {
	one := AppendFrame(nil, &Frame{Type: TypeMsg, Topic: []byte("t"), Payload: make([]byte, 100)})
	r := NewReader(&chunkReader{data: bytes.Repeat(one, 1000), size: len(one)}, 0)
	var f Frame
	for i := range 1000 {
		if err := r.ReadFrame(&f); err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
	}
	if len(r.buf) != initialBufferSize {
		t.Fatalf("buffer grew to %d bytes", len(r.buf))
	}
}

// Once warm, a stream of small frames costs one read per DefaultBufferSize
// bytes.
func TestSmallFramesSteadyReads(t *testing.T) {
	one := AppendFrame(nil, &Frame{Type: TypeMsg, Topic: []byte("t"), Payload: make([]byte, 64)})
	const n = 20000
	stream := bytes.Repeat(one, n)
	cr := &countingReader{r: bytes.NewReader(stream)}
	r := NewReader(cr, 0)
	var f Frame
	for i := range n {
		if err := r.ReadFrame(&f); err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
	}
	if want := len(stream)/DefaultBufferSize + 6; cr.calls > want {
		t.Fatalf("%d frames in %d bytes took %d reads, want at most %d", n, len(stream), cr.calls, want)
	}
	if len(r.buf) != DefaultBufferSize {
		t.Fatalf("busy reader's buffer is %d bytes", len(r.buf))
	}

	js := bytes.Repeat(AppendJSONFrame(nil, "t", []byte(`{"i":1}`)), n)
	cr = &countingReader{r: bytes.NewReader(js)}
	jr := NewJSONReader(cr, 0)
	for i := range n {
		if _, _, err := jr.ReadMessage(); err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
	}
	if want := len(js)/DefaultBufferSize + 6; cr.calls > want {
		t.Fatalf("%d messages in %d bytes took %d reads, want at most %d", n, len(js), cr.calls, want)
	}
}

// readFrames reads n frames from r, failing the test on an error.
func readFrames(t *testing.T, r *Reader, n int) {
	t.Helper()
	var f Frame
	for i := range n {
		if err := r.ReadFrame(&f); err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
	}
}

func TestLargeFramesKeepBuffer(t *testing.T) {
	big := AppendFrame(nil, &Frame{Type: TypeMsg, Topic: []byte("t"), Payload: make([]byte, 256<<10)})
	small := AppendFrame(nil, &Frame{Type: TypeMsg, Topic: []byte("t"), Payload: make([]byte, 100)})
	streams := map[string][]byte{
		"256KiB":      big,
		"alternating": append(append([]byte(nil), big...), small...),
		"64KiB":       AppendFrame(nil, &Frame{Type: TypeMsg, Topic: []byte("t"), Payload: make([]byte, 64<<10)}),
	}
	for name, data := range streams {
		t.Run(name, func(t *testing.T) {
			// The Reader, its source, its first buffer and a few steps of
			// growth; not one buffer per frame.
			allocs := testing.AllocsPerRun(1, func() {
				readFrames(t, NewReader(&loopReader{data: data}, 0), 100)
			})
			if allocs > 8 {
				t.Fatalf("100 frames: %v allocations", allocs)
			}
		})
	}

	msg := AppendJSONFrame(nil, "t", []byte(`"`+strings.Repeat("x", 256<<10)+`"`))
	allocs := testing.AllocsPerRun(1, func() {
		r := NewJSONReader(&loopReader{data: msg}, 0)
		for i := range 100 {
			if _, _, err := r.ReadMessage(); err != nil {
				t.Fatalf("message %d: %v", i, err)
			}
		}
	})
	if allocs > 12 {
		t.Fatalf("100 JSON messages of 256 KiB: %v allocations", allocs)
	}
}

func TestGrownBufferShrinks(t *testing.T) {
	frame := func(size int) []byte {
		return AppendFrame(nil, &Frame{Type: TypeMsg, Topic: []byte("t"), Payload: make([]byte, size)})
	}
	var stream []byte
	stream = append(stream, frame(1<<20)...)
	for range 2 * shrinkWindow {
		stream = append(stream, frame(100<<10)...)
	}
	for range 2 * shrinkWindow {
		stream = append(stream, frame(100)...)
	}
	r := NewReader(bytes.NewReader(stream), 0)
	readFrames(t, r, 1)
	if len(r.buf) < 1<<20 {
		t.Fatalf("buffer of %d bytes after a 1 MiB frame", len(r.buf))
	}
	// Frames of 100 KiB for two windows: the 1 MiB buffer is over four
	// times what they need.
	readFrames(t, r, 2*shrinkWindow)
	if len(r.buf) < 100<<10 || len(r.buf) > 256<<10 {
		t.Fatalf("buffer of %d bytes after frames of 100 KiB", len(r.buf))
	}
	readFrames(t, r, 2*shrinkWindow)
	if len(r.buf) != DefaultBufferSize {
		t.Fatalf("buffer of %d bytes after small frames", len(r.buf))
	}
}

func TestGrowthNeverBeyondLimit(t *testing.T) {
	const limit = 100 << 10
	f := Frame{Type: TypeMsg, Topic: []byte("t"), Payload: make([]byte, limit-MinFrameLen-1)}
	r := NewReader(&loopReader{data: AppendFrame(nil, &f)}, limit)
	readFrames(t, r, 10)
	if len(r.buf) != 4+limit {
		t.Fatalf("buffer of %d bytes, limit %d", len(r.buf), limit)
	}
	// Halfway to the limit: doubled to 128 KiB would pass it.
	f.Payload = f.Payload[:60<<10]
	r = NewReader(&loopReader{data: AppendFrame(nil, &f)}, limit)
	readFrames(t, r, 10)
	if len(r.buf) > 4+limit {
		t.Fatalf("buffer of %d bytes, limit %d", len(r.buf), limit)
	}
}
