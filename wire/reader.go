package wire

import (
	"encoding/binary"
	"io"
	"strconv"
	"sync"
	"unicode/utf8"
)

// DefaultBufferSize is the size up to which the read buffer of a Reader or
// JSONReader grows while reads keep filling it (a busy connection), so that
// a stream of small frames costs one read call per DefaultBufferSize bytes.
// A new reader starts at 4 KiB, and one that reads a LazyReader holds none
// while it waits between frames, so an idle connection holds little. A frame
// larger than the buffer grows it geometrically, to at least the frame's
// size and never beyond the limit; the grown buffer is kept while such
// frames keep coming and given back once a run of frames has needed much
// less (see shrinkSize).
const DefaultBufferSize = 64 << 10

const (
	// initialBufferSize is the size of a reader's first buffer, allocated
	// on its first read.
	initialBufferSize = 4 << 10

	// shrinkWindow is the number of frames after which a reader looks at
	// the largest of them to decide whether to shrink its buffer.
	shrinkWindow = 64
)

// sizer holds what a reader knows about the sizes of its frames and reads,
// to choose the size of its buffer.
type sizer struct {
	full bool // the last read filled at least half the buffer: more is probably waiting
	seen int  // frames decoded in this window
	peak int  // bytes the largest of them took in the buffer
}

// note records a frame that took n bytes of the buffer.
func (s *sizer) note(n int) {
	s.seen++
	s.peak = max(s.peak, n)
}

// growSize returns the new size of a buffer of size bytes that must hold n
// bytes (n <= limit), or size. While reads fill it, it doubles up to
// DefaultBufferSize. For a frame larger than the buffer it doubles too, or
// takes the frame's size if that is more, never beyond limit: a run of
// growing frames reallocates only a few times.
func (s *sizer) growSize(size, n, limit int) int {
	switch {
	case n > size:
		return max(n, min(2*size, limit))
	case s.full && size < DefaultBufferSize:
		return min(2*size, DefaultBufferSize, limit)
	}
	return size
}

// shrinkSize returns the size to shrink a buffer of size bytes to at the
// end of a window of frames, or size. A buffer grown beyond
// DefaultBufferSize goes back to it when no frame of the window needed
// more, and to twice the window's largest frame when it is more than four
// times that: frames that keep coming at the grown size never shrink it.
func (s *sizer) shrinkSize(size int) int {
	switch {
	case size <= DefaultBufferSize:
		return size
	case s.peak <= DefaultBufferSize:
		return DefaultBufferSize
	case size > 4*s.peak:
		return 2 * s.peak
	}
	return size
}

// moveTo returns a new buffer of size bytes that starts with buf[r:w], and
// the end of those bytes in it.
func moveTo(buf []byte, r, w, size int) ([]byte, int) {
	nb := make([]byte, size)
	return nb, copy(nb, buf[r:w])
}

// A LazyReader is a reader that can wait for bytes without holding the
// buffer it will read them into. A Reader or JSONReader whose source is a
// LazyReader gives its buffer back to a pool, shared by all readers, while
// it waits with nothing unread, so an idle connection holds no buffer; on
// any other io.Reader it keeps its buffer while blocked in Read.
type LazyReader interface {
	io.Reader

	// ReadLazy reads like Read into the buffer get returns, and returns
	// the bytes read: a prefix of the buffer the last call of get
	// returned. Before it waits for bytes it calls release; after that
	// it calls get again before it reads, and get may return another
	// buffer. A ReadLazy that returns a non-nil error may return without
	// calling get again.
	ReadLazy(get func() []byte, release func()) ([]byte, error)
}

// bufPools hold the buffers that readers gave back while waiting, one pool
// per size from initialBufferSize to DefaultBufferSize (4 KiB << i). Their
// elements are *[]byte, so that putting one back does not allocate.
var bufPools [5]sync.Pool

// poolOf returns the pool for buffers of size bytes, or nil: buffers of
// other sizes are not pooled.
func poolOf(size int) *sync.Pool {
	for i := range bufPools {
		if size == initialBufferSize<<i {
			return &bufPools[i]
		}
	}
	return nil
}

// inbuf is a reader's buffer and the source that fills it.
type inbuf struct {
	rd   io.Reader
	lazy LazyReader // rd, when it can wait without a buffer; else nil
	buf  []byte     // nil before the first read and while given back
	r, w int        // unread bytes are buf[r:w]
	err  error      // read error to report once buf[r:w] is consumed
	size int        // the size of the buffer to take when buf is nil

	// hold is the spare *[]byte for putting buf in a pool.
	hold *[]byte
	// get and release are b.lend and b.giveBack, bound once for lazy.
	get     func() []byte
	release func()

	sizer
}

func newInbuf(rd io.Reader, size int) inbuf {
	lazy, _ := rd.(LazyReader)
	return inbuf{rd: rd, lazy: lazy, size: size}
}

// take gives b a buffer of b.size bytes, from the pool when there is one.
func (b *inbuf) take() {
	if p := poolOf(b.size); p != nil {
		if h, _ := p.Get().(*[]byte); h != nil {
			b.buf, *h = *h, nil
			b.hold = h
			return
		}
	}
	b.buf = make([]byte, b.size)
}

// needBuf makes sure b has a buffer before it makes room for n bytes. A
// lazy reader without one waits to take one until bytes arrive (b.lend),
// unless the buffer it would take is too small for n.
func (b *inbuf) needBuf(n int) {
	if b.buf == nil && (b.lazy == nil || n > b.size) {
		b.take()
	}
}

// lend returns the free end of the buffer for a LazyReader to read into,
// taking a buffer if b gave its own back.
func (b *inbuf) lend() []byte {
	if b.buf == nil {
		b.take()
	}
	return b.buf[b.w:]
}

// giveBack puts the buffer in its pool while the LazyReader waits, if none
// of its bytes is unread. A buffer of a size that is not pooled (grown for
// a large frame, or small for a small limit) is kept.
func (b *inbuf) giveBack() {
	if b.buf == nil || b.r != b.w {
		return
	}
	p := poolOf(len(b.buf))
	if p == nil {
		return
	}
	h := b.hold
	if h == nil {
		h = new([]byte)
	}
	*h = b.buf
	b.hold = nil
	p.Put(h)
	b.size = len(b.buf)
	b.buf, b.r, b.w = nil, 0, 0
}

// read reads once into the free end of the buffer, which has room (or is
// nil, for a LazyReader), adds what it got to buf[r:w], records the error
// in b.err, and counts reads that got nothing in *empty.
func (b *inbuf) read(empty *int) {
	var m, free int
	var err error
	if b.lazy != nil {
		if b.get == nil {
			b.get, b.release = b.lend, b.giveBack
		}
		var p []byte
		p, err = b.lazy.ReadLazy(b.get, b.release)
		free = len(b.buf) - b.w
		m = len(p)
		if m > free || (m > 0 && &p[0] != &b.buf[b.w]) {
			m, err = 0, errBadRead
		}
	} else {
		free = len(b.buf) - b.w
		m, err = b.rd.Read(b.buf[b.w:])
		if m < 0 || m > free {
			m, err = 0, errBadRead
		}
	}
	b.w += m
	b.err = err
	b.full = m == free && 2*free >= len(b.buf)
	if m == 0 && err == nil {
		if *empty++; *empty >= 100 {
			b.err = io.ErrNoProgress
		}
	}
}

// Reader reads native frames from an io.Reader. It reads as much as the
// underlying reader offers into its own buffer, so many small frames cost one
// read call, and decodes frames in place without allocating.
//
// A Reader is not safe for concurrent use. After ReadFrame returns an error
// other than io.EOF the Reader is unusable: every later call returns the
// same error.
type Reader struct {
	inbuf
	max   int
	fatal error // sticky decode error
}

// NewReader returns a Reader of native frames from r whose length field may
// be at most maxFrame (<= 0 means DefaultMaxFrame; a positive value below
// MinFrameLen is raised to it). The preface is not read: see ReadPreface.
// After Detect, pass the same bufio.Reader, which holds the peeked bytes.
func NewReader(r io.Reader, maxFrame int) *Reader {
	m := max(normMax(maxFrame), MinFrameLen)
	return &Reader{inbuf: newInbuf(r, min(initialBufferSize, 4+m)), max: m}
}

// MaxFrame returns the reader's limit on a frame's length field.
func (r *Reader) MaxFrame() int { return r.max }

// Buffered returns the number of bytes read from the underlying reader but
// not yet decoded.
func (r *Reader) Buffered() int { return r.w - r.r }

// FrameBuffered reports whether a whole frame is buffered, so that the
// next ReadFrame returns without reading from the underlying reader (or
// fails on what is buffered).
func (r *Reader) FrameBuffered() bool {
	n := r.w - r.r
	return n >= 4 && uint64(n) >= 4+uint64(binary.BigEndian.Uint32(r.buf[r.r:]))
}

// ReadFrame reads the next frame into f. f's Topic and Payload point into
// the Reader's buffer and are valid only until the next call to ReadFrame;
// copy them to keep them. Their capacity is capped at their length, so
// appending to them never overwrites the buffer.
//
// At the end of the stream between frames ReadFrame returns io.EOF. Bytes
// that do not decode give a *DecodeError: ErrTruncated (also matching
// io.ErrUnexpectedEOF) when the stream ends inside a frame,
// ErrFrameTooLarge when the length field exceeds the limit (detected before
// anything is allocated for the frame), ErrMalformed when the fields do not
// fit the length, ErrInvalidUTF8 for a topic that is not UTF-8. Errors of
// the underlying reader are returned as they are.
func (r *Reader) ReadFrame(f *Frame) error {
	if r.fatal != nil {
		return r.fatal
	}
	if r.seen >= shrinkWindow {
		// The slices of the previous frame are no longer valid: the buffer
		// may move.
		if size := r.shrinkSize(len(r.buf)); size < len(r.buf) && r.w-r.r <= size {
			r.buf, r.w = moveTo(r.buf, r.r, r.w, size)
			r.r = 0
		}
		r.seen, r.peak = 0, 0
	}
	if err := r.fill(4); err != nil {
		return r.fail(err)
	}
	length := binary.BigEndian.Uint32(r.buf[r.r:])
	if length < MinFrameLen {
		return r.fail(decodeErr(Native, ErrMalformed,
			"length "+strconv.FormatUint(uint64(length), 10)+" below "+strconv.Itoa(MinFrameLen)))
	}
	if uint64(length) > uint64(r.max) {
		return r.fail(tooLarge(Native, uint64(length), uint64(r.max)))
	}
	n := 4 + int(length)
	if err := r.fill(n); err != nil {
		return r.fail(err)
	}
	b := r.buf[r.r : r.r+n : r.r+n]
	tl := int(binary.BigEndian.Uint16(b[6:8]))
	flags := Flags(b[5])
	end := HeaderSize + tl
	if end > n {
		return r.fail(decodeErr(Native, ErrMalformed,
			"topic length "+strconv.Itoa(tl)+" past frame end"))
	}
	topic := b[HeaderSize:end:end]
	if !utf8.Valid(topic) {
		return r.fail(decodeErr(Native, ErrInvalidUTF8, "in topic"))
	}
	f.Type = Type(b[4])
	f.Flags = flags
	f.Seq = binary.BigEndian.Uint64(b[8:16])
	f.ID = binary.BigEndian.Uint64(b[16:24])
	if tl == 0 {
		f.Topic = nil
	} else {
		f.Topic = topic
	}
	if flags&FlagOrigin != 0 {
		if end+OriginSize > n {
			return r.fail(decodeErr(Native, ErrMalformed, "origin past frame end"))
		}
		copy(f.Origin[:], b[end:end+OriginSize])
		end += OriginSize
	} else {
		f.Origin = [16]byte{}
	}
	if end == n {
		f.Payload = nil
	} else {
		f.Payload = b[end:n:n]
	}
	r.r += n
	r.note(n)
	return nil
}

// fail records a decode error as sticky and returns err.
func (r *Reader) fail(err error) error {
	if _, ok := err.(*DecodeError); ok {
		r.fatal = err
	}
	return err
}

// fill makes buf[r:w] hold at least n bytes; n <= 4+max. It returns io.EOF
// when the stream ends cleanly before any byte of the frame, a truncation
// DecodeError when it ends inside it, or the reader's error.
func (r *Reader) fill(n int) error {
	if r.w-r.r >= n {
		return nil
	}
	r.needBuf(n)
	if r.buf == nil {
		// Nothing is buffered: the LazyReader lends a buffer of r.size
		// bytes, room enough for n, once bytes arrive.
	} else if size := r.growSize(len(r.buf), n, 4+r.max); size != len(r.buf) {
		r.buf, r.w = moveTo(r.buf, r.r, r.w, size)
		r.r = 0
	} else if len(r.buf)-r.r < n {
		r.w = copy(r.buf, r.buf[r.r:r.w])
		r.r = 0
	}
	for empty := 0; r.w-r.r < n; {
		if r.err != nil {
			err := r.err
			if err == io.EOF {
				if r.w == r.r {
					return io.EOF
				}
				return decodeErr(Native, errTruncatedEOF,
					"got "+strconv.Itoa(r.w-r.r)+" of "+strconv.Itoa(n)+" bytes")
			}
			r.err = nil
			return err
		}
		r.read(&empty)
	}
	return nil
}
