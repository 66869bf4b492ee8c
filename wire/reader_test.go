package wire

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

// endless yields the bytes of head, then zeros forever, counting what it
// handed out: a peer that would send gigabytes.
type endless struct {
	head []byte
	n    int64
}

func (e *endless) Read(p []byte) (int, error) {
	n := copy(p, e.head)
	e.head = e.head[n:]
	clear(p[n:])
	e.n += int64(len(p))
	return len(p), nil
}

func header(length uint32, typ Type, flags Flags, topicLen uint16) []byte {
	b := make([]byte, HeaderSize)
	binary.BigEndian.PutUint32(b, length)
	b[4], b[5] = byte(typ), byte(flags)
	binary.BigEndian.PutUint16(b[6:], topicLen)
	return b
}

func TestMaxFrameBoundary(t *testing.T) {
	const limit = 100 << 10 // larger than the default buffer
	ok := Frame{Type: TypeMsg, Topic: []byte("t"), Payload: make([]byte, limit-MinFrameLen-1)}
	if FrameSize(&ok)-4 != limit {
		t.Fatalf("test frame length %d", FrameSize(&ok)-4)
	}
	if err := ok.Validate(limit); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	stream := AppendFrame(nil, &ok)
	small := Frame{Type: TypePing, ID: 1}
	for range 2 * shrinkWindow {
		stream = AppendFrame(stream, &small)
	}
	r := NewReader(bytes.NewReader(stream), limit)
	var f Frame
	if err := r.ReadFrame(&f); err != nil {
		t.Fatalf("frame of exactly the limit: %v", err)
	}
	if len(f.Payload) != len(ok.Payload) {
		t.Fatalf("payload %d bytes", len(f.Payload))
	}
	if len(r.buf) > 4+limit {
		t.Fatalf("buffer grew to %d bytes, beyond the limit", len(r.buf))
	}
	for i := range 2 * shrinkWindow {
		if err := r.ReadFrame(&f); err != nil || f.Type != TypePing {
			t.Fatalf("frame %d after the big one: %v %v", i, f.Type, err)
		}
	}
	if len(r.buf) != DefaultBufferSize {
		t.Fatalf("buffer stayed at %d bytes after %d small frames", len(r.buf), 2*shrinkWindow)
	}

	over := ok
	over.Payload = append(over.Payload, 0)
	if err := over.Validate(limit); !errors.Is(err, ErrFrameTooLarge) {
		t.Fatalf("Validate over the limit: %v", err)
	}
	r = NewReader(bytes.NewReader(AppendFrame(nil, &over)), limit)
	err := r.ReadFrame(&f)
	var de *DecodeError
	if !errors.As(err, &de) || !errors.Is(err, ErrFrameTooLarge) || de.Protocol != Native {
		t.Fatalf("limit+1: %v", err)
	}
}

func TestHugeLengthRejectedBeforeReading(t *testing.T) {
	for _, length := range []uint32{DefaultMaxFrame + 1, 1 << 31, 1<<32 - 1} {
		src := &endless{head: header(length, TypeMsg, 0, 0)}
		r := NewReader(src, 0)
		var f Frame
		err := r.ReadFrame(&f)
		if !errors.Is(err, ErrFrameTooLarge) {
			t.Fatalf("length %d: %v", length, err)
		}
		if src.n > DefaultBufferSize || len(r.buf) > DefaultBufferSize {
			t.Fatalf("length %d: read %d bytes, buffer %d, before rejecting", length, src.n, len(r.buf))
		}
		// The error is sticky.
		if err2 := r.ReadFrame(&f); err2 != err {
			t.Fatalf("second call: %v", err2)
		}
	}
}

func TestErrorMessage(t *testing.T) {
	r := NewReader(bytes.NewReader(header(5000000, TypeMsg, 0, 0)), 0)
	var f Frame
	err := r.ReadFrame(&f)
	if got, want := err.Error(), "wire: frame too large: 5000000 bytes, limit 4194304 (native)"; got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
}

func TestMalformed(t *testing.T) {
	withTopic := func(h []byte, topic string) []byte { return append(h, topic...) }
	cases := []struct {
		name string
		in   []byte
		want error
	}{
		{"length below header", header(MinFrameLen-1, TypeMsg, 0, 0)[:4], ErrMalformed},
		{"length zero", []byte{0, 0, 0, 0}, ErrMalformed},
		{"topic past end", withTopic(header(MinFrameLen+2, TypeMsg, 0, 3), "abc"), ErrMalformed},
		{"origin past end", withTopic(header(MinFrameLen+2+15, TypeMsg, FlagOrigin, 2), "ab"+strings.Repeat("o", 15)), ErrMalformed},
		{"invalid UTF-8 topic", withTopic(header(MinFrameLen+2, TypeMsg, 0, 2), "\xc3\x28"), ErrInvalidUTF8},
		{"surrogate in topic", withTopic(header(MinFrameLen+3, TypeSub, 0, 3), "\xed\xa0\x80"), ErrInvalidUTF8},
		{"truncated payload", withTopic(header(MinFrameLen+10, TypeMsg, 0, 2), "ab"), ErrTruncated},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := NewReader(bytes.NewReader(c.in), 0)
			var f Frame
			err := r.ReadFrame(&f)
			var de *DecodeError
			if !errors.Is(err, c.want) || !errors.As(err, &de) {
				t.Fatalf("got %v, want %v", err, c.want)
			}
			if err2 := r.ReadFrame(&f); err2 != err {
				t.Fatalf("error not sticky: %v", err2)
			}
		})
	}
}

func TestUnknownTypeAndFlagsPassThrough(t *testing.T) {
	in := Frame{Type: 99, Flags: 0xf8, Seq: 1, Topic: []byte("x"), Payload: []byte("y")}
	r := NewReader(bytes.NewReader(AppendFrame(nil, &in)), 0)
	var f Frame
	if err := r.ReadFrame(&f); err != nil || !framesEqual(&f, &in) || f.Type.Known() {
		t.Fatalf("got %+v, %v", f, err)
	}
}

func TestReadErrorsPassThrough(t *testing.T) {
	boom := errors.New("boom")
	f := Frame{Type: TypeMsg, Payload: []byte("abc")}
	b := AppendFrame(nil, &f)
	r := NewReader(io.MultiReader(bytes.NewReader(b[:10]), iotest.ErrReader(boom)), 0)
	var got Frame
	err := r.ReadFrame(&got)
	var de *DecodeError
	if err != boom || errors.As(err, &de) {
		t.Fatalf("got %v, want the reader's error as it is", err)
	}
	// A read error at a frame boundary after a complete frame.
	r = NewReader(io.MultiReader(bytes.NewReader(b), iotest.ErrReader(boom)), 0)
	if err := r.ReadFrame(&got); err != nil {
		t.Fatal(err)
	}
	if err := r.ReadFrame(&got); err != boom {
		t.Fatalf("got %v", err)
	}
	// Data and EOF in the same Read call.
	r = NewReader(iotest.DataErrReader(bytes.NewReader(b)), 0)
	if err := r.ReadFrame(&got); err != nil || !framesEqual(&got, &f) {
		t.Fatalf("DataErrReader: %v", err)
	}
	if err := r.ReadFrame(&got); err != io.EOF {
		t.Fatalf("DataErrReader end: %v", err)
	}
	// A reader that never makes progress.
	r = NewReader(zeroReader{}, 0)
	if err := r.ReadFrame(&got); err != io.ErrNoProgress {
		t.Fatalf("no progress: %v", err)
	}
}

type zeroReader struct{}

func (zeroReader) Read([]byte) (int, error) { return 0, nil }

// countingReader counts Read calls.
type countingReader struct {
	r     io.Reader
	calls int
}

func (c *countingReader) Read(p []byte) (int, error) { c.calls++; return c.r.Read(p) }

func TestManySmallFramesFewReads(t *testing.T) {
	var stream []byte
	f := Frame{Type: TypeMsg, Topic: []byte("t"), Payload: make([]byte, 64)}
	const n = 500
	for i := 0; i < n; i++ {
		f.Seq = uint64(i + 1)
		stream = AppendFrame(stream, &f)
	}
	cr := &countingReader{r: bytes.NewReader(stream)}
	r := NewReader(cr, 0)
	var got Frame
	for i := 0; i < n; i++ {
		if err := r.ReadFrame(&got); err != nil || got.Seq != uint64(i+1) {
			t.Fatalf("frame %d: seq %d, %v", i, got.Seq, err)
		}
	}
	// The buffer starts at 4 KiB and doubles while reads fill it: 4, 8, 16
	// and 32 KiB take these 45 KB.
	if cr.calls > 5 {
		t.Fatalf("%d frames took %d reads", n, cr.calls)
	}
}

func TestSlicesDoNotAlias(t *testing.T) {
	a := Frame{Type: TypeMsg, Topic: []byte("aa"), Payload: []byte("11")}
	b := Frame{Type: TypeMsg, Topic: []byte("bb"), Payload: []byte("22")}
	r := NewReader(bytes.NewReader(AppendFrame(AppendFrame(nil, &a), &b)), 0)
	var f Frame
	if err := r.ReadFrame(&f); err != nil {
		t.Fatal(err)
	}
	if cap(f.Topic) != len(f.Topic) || cap(f.Payload) != len(f.Payload) {
		t.Fatalf("capacity beyond length: topic %d/%d payload %d/%d", len(f.Topic), cap(f.Topic), len(f.Payload), cap(f.Payload))
	}
	_ = append(f.Payload, 'X')
	if err := r.ReadFrame(&f); err != nil || string(f.Topic) != "bb" {
		t.Fatalf("second frame: %q %v", f.Topic, err)
	}
}

func TestZeroAllocs(t *testing.T) {
	f := Frame{Type: TypeMsg, Flags: FlagOrigin, Seq: 1, Topic: []byte("orders.new"), Payload: make([]byte, 64)}
	one := AppendFrame(nil, &f)
	stream := bytes.Repeat(one, 2000)
	src := bytes.NewReader(stream)
	r := NewReader(src, 0)
	var got Frame
	for range 1000 { // the buffer grows to its full size
		if err := r.ReadFrame(&got); err != nil {
			t.Fatal(err)
		}
	}
	allocs := testing.AllocsPerRun(500, func() {
		if err := r.ReadFrame(&got); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("ReadFrame: %v allocs per frame", allocs)
	}
	dst := make([]byte, 0, 4096)
	allocs = testing.AllocsPerRun(100, func() { dst = AppendFrame(dst[:0], &f) })
	if allocs != 0 {
		t.Errorf("AppendFrame: %v allocs", allocs)
	}
}

func TestValidateAndTopicLimit(t *testing.T) {
	long := Frame{Type: TypeMsg, Topic: bytes.Repeat([]byte("a"), MaxTopicLen+1)}
	if err := long.Validate(0); !errors.Is(err, ErrTopicTooLong) {
		t.Fatalf("Validate: %v", err)
	}
	bad := Frame{Type: TypeMsg, Topic: []byte{0xff}}
	if err := bad.Validate(0); !errors.Is(err, ErrInvalidUTF8) {
		t.Fatalf("Validate: %v", err)
	}
	max := Frame{Type: TypeSub, Topic: bytes.Repeat([]byte("é"), MaxTopicLen/2)}
	if err := max.Validate(0); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	r := NewReader(bytes.NewReader(AppendFrame(nil, &max)), 0)
	var f Frame
	if err := r.ReadFrame(&f); err != nil || !bytes.Equal(f.Topic, max.Topic) {
		t.Fatalf("long topic: %v", err)
	}
	defer func() {
		if recover() == nil {
			t.Fatal("AppendFrame of a topic over MaxTopicLen did not panic")
		}
	}()
	AppendFrame(nil, &long)
}

func TestNames(t *testing.T) {
	for _, c := range []struct{ got, want string }{
		{TypeMsg.String(), "MSG"},
		{TypeGoAway.String(), "GOAWAY"},
		{Type(0).String(), "Type(0)"},
		{Type(13).String(), "Type(13)"},
		{(FlagOrigin | FlagNoAck).String(), "ORIGIN|NOACK"},
		{Flags(0).String(), "0"},
		{(FlagError | 0x80).String(), "ERROR|0x80"},
		{Native.String(), "native"},
		{SocketIPC.String(), "socket-ipc"},
		{Protocol(0).String(), "Protocol(0)"},
	} {
		if c.got != c.want {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
	}
}

func TestSmallLimit(t *testing.T) {
	r := NewReader(bytes.NewReader(AppendFrame(nil, &Frame{Type: TypePing, ID: 1})), 1)
	if r.MaxFrame() != MinFrameLen {
		t.Fatalf("MaxFrame %d", r.MaxFrame())
	}
	var f Frame
	if err := r.ReadFrame(&f); err != nil || f.ID != 1 {
		t.Fatalf("header-only frame with the smallest limit: %v", err)
	}
	r = NewReader(bytes.NewReader(AppendFrame(nil, &Frame{Type: TypePing, Topic: []byte("x")})), 1)
	if err := r.ReadFrame(&f); !errors.Is(err, ErrFrameTooLarge) {
		t.Fatalf("one byte over: %v", err)
	}
}

// FrameBuffered tells whether the next ReadFrame needs the underlying
// reader: a split frame is not buffered until its last byte arrived.
func TestFrameBuffered(t *testing.T) {
	f := Frame{Type: TypeMsg, Topic: []byte("t"), Payload: make([]byte, 100)}
	one := AppendFrame(nil, &f)
	stream := append(append([]byte(nil), one...), one...)
	// Hand the stream over in pieces: the first frame and 10 bytes of the
	// second, then the rest.
	pr, pw := io.Pipe()
	go func() {
		pw.Write(stream[:len(one)+10])
		pw.Write(stream[len(one)+10:])
		pw.Close()
	}()
	r := NewReader(pr, 0)
	if r.FrameBuffered() {
		t.Fatal("a whole frame buffered before any read")
	}
	var got Frame
	if err := r.ReadFrame(&got); err != nil {
		t.Fatal(err)
	}
	if r.Buffered() != 10 || r.FrameBuffered() {
		t.Fatalf("after the first frame: %d bytes buffered, whole frame %v; want 10, false", r.Buffered(), r.FrameBuffered())
	}
	if err := r.ReadFrame(&got); err != nil {
		t.Fatal(err)
	}
	if r.Buffered() != 0 || r.FrameBuffered() {
		t.Fatalf("after the second frame: %d bytes buffered, whole frame %v", r.Buffered(), r.FrameBuffered())
	}
	// Both frames in one read: the second is buffered whole after the
	// first is read.
	r = NewReader(bytes.NewReader(stream), 0)
	if err := r.ReadFrame(&got); err != nil {
		t.Fatal(err)
	}
	if !r.FrameBuffered() {
		t.Fatal("the second frame of one read is not reported buffered")
	}
}
