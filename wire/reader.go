package wire

import (
	"encoding/binary"
	"io"
	"strconv"
	"unicode/utf8"
)

// DefaultBufferSize is the size up to which the read buffer of a Reader or
// JSONReader grows while reads keep filling it (a busy connection), so that
// a stream of small frames costs one read call per DefaultBufferSize bytes.
// A new reader starts at 4 KiB, so an idle connection holds little. A frame
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

// Reader reads native frames from an io.Reader. It reads as much as the
// underlying reader offers into its own buffer, so many small frames cost one
// read call, and decodes frames in place without allocating.
//
// A Reader is not safe for concurrent use. After ReadFrame returns an error
// other than io.EOF the Reader is unusable: every later call returns the
// same error.
type Reader struct {
	rd    io.Reader
	buf   []byte
	r, w  int // unread bytes are buf[r:w]
	max   int
	err   error // read error to report once buf[r:w] is consumed
	fatal error // sticky decode error
	sizer
}

// NewReader returns a Reader of native frames from r whose length field may
// be at most maxFrame (<= 0 means DefaultMaxFrame; a positive value below
// MinFrameLen is raised to it). The preface is not read: see ReadPreface.
// After Detect, pass the same bufio.Reader, which holds the peeked bytes.
func NewReader(r io.Reader, maxFrame int) *Reader {
	return &Reader{rd: r, max: max(normMax(maxFrame), MinFrameLen)}
}

// MaxFrame returns the reader's limit on a frame's length field.
func (r *Reader) MaxFrame() int { return r.max }

// Buffered returns the number of bytes read from the underlying reader but
// not yet decoded.
func (r *Reader) Buffered() int { return r.w - r.r }

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
	if r.buf == nil {
		r.buf = make([]byte, min(initialBufferSize, 4+r.max))
	} else if r.seen >= shrinkWindow {
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
	if size := r.growSize(len(r.buf), n, 4+r.max); size != len(r.buf) {
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
		free := len(r.buf) - r.w
		m, err := r.rd.Read(r.buf[r.w:])
		if m < 0 || m > len(r.buf)-r.w {
			r.err = errBadRead
			continue
		}
		r.w += m
		r.err = err
		r.full = m == free && 2*free >= len(r.buf)
		if m == 0 && err == nil {
			if empty++; empty >= 100 {
				r.err = io.ErrNoProgress
			}
		}
	}
	return nil
}
