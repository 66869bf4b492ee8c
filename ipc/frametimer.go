package ipc

import (
	"bytes"
	"encoding/binary"
	"net"
	"time"

	"github.com/switchboard-ipc/switchboard/wire"
)

// idleReader is what a server connection reads through. It follows the
// frame boundaries in the bytes it reads (native: the preface, then
// length-prefixed frames; socket-ipc: messages ended by the delimiter) and,
// once start was called, keeps the connection's read deadline lazily:
//
//   - IdleTimeout after the last read (none when unset);
//   - inside a frame, also FrameTimeout after the read that began it.
//
// A deadline is only renewed when it is too early or more than 1/8 of its
// timeout too late, so a busy connection sets it a few times per timeout,
// not per read. Before start (detection and handshake) the server's own
// deadlines apply and only the boundaries are followed.
type idleReader struct {
	c     net.Conn
	idle  time.Duration // IdleTimeout; <= 0 none
	frame time.Duration // FrameTimeout; <= 0 none
	on    bool          // deadlines are this reader's (after the handshake)
	dl    time.Time     // the read deadline last set; zero none

	// Frame boundaries.
	mode       byte // 0 unknown, 'n' native, 's' socket-ipc
	pre        int  // native: preface bytes still to come
	hn         int  // native: length bytes of the current frame read
	hdr        [4]byte
	remain     int  // native: bytes of the current frame still to come
	nuls       int  // socket-ipc: NUL bytes at the end of what was read
	mid        bool // what was read ends inside a frame
	frameStart time.Time
}

// start hands the connection's read deadlines to r.
func (r *idleReader) start() { r.on = r.idle > 0 || r.frame > 0 }

func (r *idleReader) Read(p []byte) (int, error) {
	for {
		if r.on {
			r.arm(time.Now())
		}
		n, err := r.c.Read(p)
		if retry, err := r.after(p[:max(n, 0)], err); !retry {
			return n, err
		}
	}
}

// ReadLazy reads like Read into the buffer get returns, waiting for bytes
// without a buffer when the connection can (wire.LazyReader).
func (r *idleReader) ReadLazy(get func() []byte, release func()) ([]byte, error) {
	lr, ok := r.c.(wire.LazyReader)
	if !ok {
		p := get()
		n, err := r.Read(p)
		return p[:n], err
	}
	for {
		if r.on {
			r.arm(time.Now())
		}
		p, err := lr.ReadLazy(get, release)
		if retry, err := r.after(p, err); !retry {
			return p, err
		}
	}
}

// after follows the frame boundaries through p, just read with err, and
// returns the error to report, or retry: read again.
func (r *idleReader) after(p []byte, err error) (retry bool, _ error) {
	if len(p) > 0 {
		r.scan(p, time.Now())
	}
	if err != nil && len(p) == 0 && r.on && isTimeout(err) {
		switch {
		case r.mid && r.frame > 0 && !time.Now().Before(r.frameStart.Add(r.frame)):
			return false, &FrameTimeoutError{Limit: r.frame}
		case !r.mid && r.idle <= 0:
			// A frame's deadline outlived the frame while the peer is
			// quiet between frames: not a timeout.
			r.dl = time.Time{}
			r.c.SetReadDeadline(r.dl)
			return true, nil
		}
	}
	return false, err
}

// arm sets the read deadline the state calls for, if the current one is
// off by too much.
func (r *idleReader) arm(now time.Time) {
	var want time.Time
	var slack time.Duration
	if r.idle > 0 {
		want, slack = now.Add(r.idle), r.idle/8
	}
	if r.mid && r.frame > 0 {
		if f := r.frameStart.Add(r.frame); want.IsZero() || f.Before(want) {
			want, slack = f, r.frame/8
		}
	}
	if want.IsZero() {
		return // none needed; a stale one is caught in Read
	}
	if r.dl.IsZero() || r.dl.Before(want) || r.dl.After(want.Add(slack)) {
		r.dl = want.Add(slack)
		r.c.SetReadDeadline(r.dl)
	}
}

// scan follows the frame boundaries through b, read at now.
func (r *idleReader) scan(b []byte, now time.Time) {
	if r.mode == 0 {
		if b[0] == 0x00 {
			r.mode, r.pre = 'n', len(wire.Preface)
		} else {
			r.mode = 's'
		}
	}
	if r.mode == 's' {
		if !r.mid || bytes.IndexByte(b, 0) >= 0 {
			r.frameStart = now // a message began in b (roughly: at a delimiter)
		}
		tz := len(b) - len(bytes.TrimRight(b, "\x00"))
		if tz == len(b) {
			r.nuls += tz
		} else {
			r.nuls = tz
		}
		r.mid = r.nuls < 2
		return
	}
	began := false // a frame (or the preface) began in b
	for len(b) > 0 {
		switch {
		case r.remain > 0:
			k := min(r.remain, len(b))
			r.remain -= k
			b = b[k:]
		case r.pre > 0:
			began = began || r.pre == len(wire.Preface)
			k := min(r.pre, len(b))
			r.pre -= k
			b = b[k:]
		case r.hn == 0 && len(b) >= len(r.hdr):
			// The common case: a whole length field, often the whole
			// frame, in b.
			began = true
			n := int(binary.BigEndian.Uint32(b))
			b = b[len(r.hdr):]
			if n <= len(b) {
				b = b[n:]
			} else {
				r.remain = n - len(b)
				b = nil
			}
		default:
			began = began || r.hn == 0
			k := copy(r.hdr[r.hn:], b)
			r.hn += k
			b = b[k:]
			if r.hn == len(r.hdr) {
				r.hn = 0
				r.remain = int(binary.BigEndian.Uint32(r.hdr[:]))
			}
		}
	}
	wasMid := r.mid
	r.mid = r.pre > 0 || r.remain > 0 || r.hn > 0
	if r.mid && (began || !wasMid) {
		r.frameStart = now
	}
}
