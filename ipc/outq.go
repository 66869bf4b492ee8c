package ipc

import (
	"context"
	"encoding/binary"
	"net"
	"sync"

	"github.com/switchboard-ipc/switchboard/wire"
)

// outq is the outbound side of one connection, or of one session across its
// connections: a byte buffer that producers append whole frames to under mu,
// and that one writer goroutine per connection drains with one Write per
// batch. Nothing is handed over per message: the writer takes everything
// appended since its last write, so writes batch naturally under load and
// the buffer is flushed as soon as it is empty.
//
// With retain set (native sessions and queueing clients), MSG frames that
// carry a sequence number stay in the buffer after they are written, until
// the peer acknowledges them (ack); on the next connection they are written
// again (attach). The layout is
//
//	buf[:head]      dead bytes, reclaimed by compaction
//	buf[head:sent]  written, kept until acknowledged (retain) — else empty
//	buf[sent:]      appended, not yet written
//
// Without retain, nothing stays once written, so the writer swaps buffers
// instead: it takes buf whole, leaves producers the spare one, and its
// bytes count as inflight until written. Bytes appended during a write are
// then never moved to the front of the buffer.
type outq struct {
	mu       sync.Mutex
	wake     sync.Cond // the writer waits on it for bytes or a new connection
	buf      []byte
	head     int
	sent     int
	spare    []byte   // without retain: the buffer swapped in at the next write
	inflight int      // without retain: bytes taken by the writer, not yet written
	writing  bool     // the writer holds buf[sent:...] (or the swapped buffer) outside mu
	conn     net.Conn // nil while detached
	closed   bool
	retain   bool
	limit    int // bound on len(buf)-head (or len(buf)-sent); <= 0: unbounded
	// unsentLimit applies limit to the bytes not yet written, and
	// retainFactor*limit to all bytes held (server sessions: a consumer is
	// slow when it does not read, not when its acknowledgements lag).
	unsentLimit bool
	maxMsgs     int // bound on nmsg when > 0
	nmsg        int // retained MSG frames with a sequence number
	space       chan struct{}
	writes      uint64          // writes done, for trimIdle
	seenWrites  uint64          // writes at the previous trimIdle
	onWrite     func(err error) // called once by the writer of a connection that failed
}

// retainFactor bounds the written but unacknowledged bytes of a server
// session, as a multiple of its limit.
const retainFactor = 4

func newOutq(retain bool, limit int) *outq {
	q := &outq{retain: retain, limit: limit}
	q.wake.L = &q.mu
	return q
}

// Offsets of fields in an encoded native frame.
const (
	offType = 4
	offSeq  = 8
)

func frameAt(b []byte) (size int, typ wire.Type, seq uint64) {
	size = 4 + int(binary.BigEndian.Uint32(b))
	return size, wire.Type(b[offType]), binary.BigEndian.Uint64(b[offSeq:])
}

// roomLocked reports whether n more bytes (and one more message if msg) fit.
// q.mu must be held.
func (q *outq) roomLocked(n int, msg bool) bool {
	if held := len(q.buf) - q.head + q.inflight; q.limit > 0 && held > 0 {
		if q.unsentLimit {
			if len(q.buf)-q.sent+q.inflight+n > q.limit || held+n > retainFactor*q.limit {
				return false
			}
		} else if held+n > q.limit {
			return false
		}
	}
	if msg && q.maxMsgs > 0 && q.nmsg >= q.maxMsgs {
		return false
	}
	return true
}

// waitRoomLocked waits until n bytes fit, ctx is done or q is closed. It
// returns with q.mu held. q.mu must be held.
func (q *outq) waitRoomLocked(ctx context.Context, n int, msg bool) error {
	for !q.roomLocked(n, msg) {
		if q.closed {
			return net.ErrClosed
		}
		if q.space == nil {
			q.space = make(chan struct{})
		}
		ch := q.space
		q.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			q.mu.Lock()
			return ctx.Err()
		}
		q.mu.Lock()
	}
	return nil
}

// freedLocked wakes producers waiting for room. q.mu must be held.
func (q *outq) freedLocked() {
	if q.space != nil {
		close(q.space)
		q.space = nil
	}
}

// kickLocked tells the writer there are bytes. q.mu must be held.
func (q *outq) kickLocked() {
	if !q.writing && q.conn != nil {
		q.wake.Signal()
	}
}

// appendFrame appends f and wakes the writer.
func (q *outq) appendFrame(f *wire.Frame) {
	q.mu.Lock()
	q.buf = wire.AppendFrame(q.buf, f)
	if f.Type == wire.TypeMsg && f.Seq != 0 && q.retain {
		q.nmsg++
	}
	q.kickLocked()
	q.mu.Unlock()
}

// ackLocked drops retained frames up to and including sequence number seq.
// q.mu must be held.
func (q *outq) ackLocked(seq uint64) {
	freed := false
	for q.head < q.sent {
		size, typ, s := frameAt(q.buf[q.head:])
		if typ == wire.TypeMsg && s > seq {
			break
		}
		if typ == wire.TypeMsg && s != 0 {
			q.nmsg--
		}
		q.head += size
		freed = true
	}
	if freed {
		if !q.writing {
			q.compactLocked()
		}
		q.freedLocked()
	}
}

// compactLocked reclaims dead bytes. The writer must not hold a slice of buf:
// q.mu must be held and q.writing false.
func (q *outq) compactLocked() {
	switch {
	case q.head == len(q.buf):
		q.buf, q.head, q.sent = q.buf[:0], 0, 0
	case q.head > 0 && (q.head >= len(q.buf)/2 || q.head >= 1<<20):
		n := copy(q.buf, q.buf[q.head:])
		q.buf = q.buf[:n]
		q.sent -= q.head
		q.head = 0
	}
}

// attach makes c the connection of q: the retained MSG frames with a
// sequence number above acked (all of them with acked 0) are kept to be
// written again after prefix; everything else not yet acknowledged is
// dropped (it belonged to the previous connection). It starts the writer and
// returns a channel closed when the writer has exited.
func (q *outq) attach(c net.Conn, acked uint64, prefix []byte) <-chan struct{} {
	q.mu.Lock()
	nb := make([]byte, 0, len(prefix)+len(q.buf)-q.head+512)
	nb = append(nb, prefix...)
	nmsg := 0
	for i := q.head; i < len(q.buf); {
		size, typ, s := frameAt(q.buf[i:])
		if typ == wire.TypeMsg && s != 0 && s > acked && q.retain {
			nb = append(nb, q.buf[i:i+size]...)
			nmsg++
		}
		i += size
	}
	q.buf, q.head, q.sent, q.nmsg = nb, 0, 0, nmsg
	q.conn = c
	q.writing = false
	q.freedLocked()
	q.wake.Broadcast()
	q.mu.Unlock()
	done := make(chan struct{})
	go q.writeLoop(c, done)
	return done
}

// detach stops the writer of c (if c is still the connection).
func (q *outq) detach(c net.Conn) {
	q.mu.Lock()
	if q.conn == c {
		q.conn = nil
		q.wake.Broadcast()
	}
	q.mu.Unlock()
}

// close stops the writer and fails waiting producers.
func (q *outq) close() {
	q.mu.Lock()
	q.closed = true
	q.conn = nil
	q.wake.Broadcast()
	q.freedLocked()
	q.mu.Unlock()
}

func (q *outq) writeLoop(c net.Conn, done chan<- struct{}) {
	defer close(done)
	q.mu.Lock()
	for {
		for q.conn == c && (q.sent == len(q.buf) || q.writing) {
			q.wake.Wait()
		}
		if q.conn != c {
			q.mu.Unlock()
			return
		}
		if !q.writeLocked(c) {
			return
		}
	}
}

// writeLocked writes everything pending to c, outside the lock. q.mu must be
// held, q.writing false and c the connection. It returns true with q.mu
// held, or false with q.mu released when c is no longer the connection or
// the write failed (then c is closed and onWrite called).
func (q *outq) writeLocked(c net.Conn) bool {
	if !q.retain {
		return q.swapWriteLocked(c)
	}
	chunk := q.buf[q.sent:]
	q.writing = true
	q.mu.Unlock()
	n, err := c.Write(chunk)
	q.mu.Lock()
	q.writing = false
	if q.conn != c {
		q.wake.Broadcast()
		q.mu.Unlock()
		return false
	}
	q.sent += n
	if !q.retain {
		q.head = q.sent
	} else {
		// Frames other than sequenced MSGs are done once written.
		for q.head < q.sent {
			size, typ, s := frameAt(q.buf[q.head:])
			if typ == wire.TypeMsg && s != 0 {
				break
			}
			q.head += size
		}
	}
	q.writes++
	q.compactLocked()
	q.freedLocked()
	if err != nil {
		q.conn = nil
		f := q.onWrite
		q.wake.Broadcast()
		q.mu.Unlock()
		c.Close()
		if f != nil {
			f(err)
		}
		return false
	}
	return true
}

// swapWriteLocked is writeLocked without retain: the pending bytes are
// written from their own buffer while producers append to the spare one.
func (q *outq) swapWriteLocked(c net.Conn) bool {
	w := q.buf
	chunk := w[q.sent:]
	q.buf, q.spare = q.spare[:0], nil
	q.head, q.sent = 0, 0
	q.inflight = len(chunk)
	q.writing = true
	q.mu.Unlock()
	_, err := c.Write(chunk)
	q.mu.Lock()
	q.writing = false
	q.inflight = 0
	if q.spare == nil {
		q.spare = w[:0]
	}
	if q.conn != c {
		q.wake.Broadcast()
		q.freedLocked()
		q.mu.Unlock()
		return false
	}
	q.writes++
	q.freedLocked()
	if err != nil {
		q.conn = nil
		f := q.onWrite
		q.wake.Broadcast()
		q.mu.Unlock()
		c.Close()
		if f != nil {
			f(err)
		}
		return false
	}
	return true
}

// maxIdleBuf is the largest buffer an idle queue keeps.
const maxIdleBuf = 256 << 10

// trimIdle gives back the buffer of a queue that is empty and has not
// written since the previous call, when a burst left it larger than
// maxIdleBuf. The server's janitor calls it periodically, so a busy stream
// never reallocates while idle connections do not hold their peak memory.
func (q *outq) trimIdle() {
	q.mu.Lock()
	if q.writes == q.seenWrites && !q.writing && q.head == len(q.buf) {
		if cap(q.buf) > maxIdleBuf {
			q.buf, q.head, q.sent = nil, 0, 0
		}
		if cap(q.spare) > maxIdleBuf {
			q.spare = nil
		}
	}
	q.seenWrites = q.writes
	q.mu.Unlock()
}
