package ipc

import (
	"context"
	"encoding/binary"
	"math/bits"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/switchboard-ipc/switchboard/wire"
)

// outq is the outbound side of one connection, or of one session across its
// connections: a byte buffer that producers append whole frames to under mu,
// drained by one write at a time. Nothing is handed over per message: a
// write takes everything appended since the previous one, so writes batch
// naturally under load.
//
// On a native connection (its peer acknowledges what it reads) the
// goroutine that appends also writes, without waiting for the socket
// (flushLocked, writeNowLocked), holding a stream back into large batches
// while the peer has yet to acknowledge; requests, replies and
// acknowledgements are written at once. Only what the kernel does not take
// then, and everything on a socket-ipc connection or fanned out by a
// broadcast or a hub, is left to the connection's writer goroutine. It runs
// only while the connection is busy: kickLocked starts it when bytes wait
// and no write is under way, and it exits when nothing more came for
// writerLinger. An idle connection costs no goroutine on the way out.
//
// Producers append to a chunk (buf) of at most chunkSize bytes (or one
// larger frame); a full chunk is set aside (full) and a new one begun. A
// write takes what is unwritten in the oldest chunk, where it is, while
// producers append after it: bytes never move, no write is larger than a
// chunk, and the bytes written are still in the cache, as with a buffered
// writer. A chunk is done with once it is full and written whole. With
// retain set (native sessions and queueing clients), a written chunk that
// holds MSG frames with a sequence number is kept (kept) until the peer
// has acknowledged them all (ack); on the next connection those frames are
// written again (attach). Acknowledged chunks are reused, not copied or
// compacted.
type outq struct {
	mu        queueMutex
	buf       []byte   // the chunk producers append to
	full      []chunk  // chunks before buf, not yet written whole, oldest first
	fullBytes int      // their bytes
	sent      int      // bytes of the oldest unwritten chunk (full[0], else buf) already written
	spare     [][]byte // chunks for reuse
	iov       [][]byte // scratch of writeNowLocked

	// claimed is how far into buf (claimedOf) producers cleared ahead of
	// their appends (claimLocked).
	claimed   int
	claimedOf *byte

	writing bool // a write is under way outside mu
	writer  bool // the writer goroutine of conn is running
	waiting bool // it waits for bytes on wake
	wake    chan struct{}

	// retain: written buffers holding sequenced MSG frames not yet
	// acknowledged, oldest first, and their bytes.
	kept      []chunk
	keptBytes int
	acked     uint64 // the highest sequence number acknowledged on this connection

	// Posted work (ackpost.go): ackIn is the highest acknowledgement
	// posted, ackDone the highest applied, across connections (a client's
	// Flush waits for it); holdDue is set when a hold's time is up.
	ackIn   atomic.Uint64
	ackDone uint64
	holdDue atomic.Bool

	conn   net.Conn // nil while detached
	tw     tryWriter
	done   chan struct{} // closed when conn is detached and no write of it is under way
	closed bool
	retain bool
	limit  int // bound on the bytes held (or, with unsentLimit, not yet written); <= 0: unbounded
	// unsentLimit applies limit to the bytes not yet written, and
	// retainFactor*limit to all bytes held (server sessions: a consumer is
	// slow when it does not read, not when its acknowledgements lag).
	unsentLimit bool
	maxMsgs     int // bound on nmsgLocked() when > 0
	space       chan struct{}
	batch       int             // bytes of the last write
	writes      uint64          // writes done, for trimIdle and keep-alives
	seenWrites  uint64          // writes at the previous trimIdle
	onWrite     func(err error) // called once when a write to the connection failed

	// Writes from the producer (flushLocked), for queues whose peer
	// acknowledges the sequenced MSG frames it reads (clocked). lastSeq is
	// the sequence number of the last sequenced MSG frame appended and
	// wroteSeq the highest one known written; unacked counts the bytes
	// written since the peer last caught up; streaming is set once it
	// reaches holdMin and cleared when the peer catches up with nothing
	// left to write. holdArmed is set while holdTimer bounds a hold (of
	// holdFor: holdMax unless a test sets it).
	clocked   bool
	lastSeq   uint64
	wroteSeq  uint64
	unacked   int
	streaming bool
	holdArmed bool
	holdTimer *time.Timer
	holdFor   time.Duration
}

// chunk is a chunk set aside: full and not yet written whole, or written
// and kept until acknowledged. last is an upper bound of the sequence
// numbers of its MSG frames (the queue's lastSeq when it was set aside):
// a chunk is acknowledged whole once last is, without reading it, so its
// bytes are only ever touched by the goroutines that append and write.
type chunk struct {
	b    []byte
	last uint64
}

// retainFactor bounds the written but unacknowledged bytes of a server
// session, as a multiple of its limit.
const retainFactor = 4

// maxSpare is the number of chunks a queue keeps for its own reuse (the
// most recently written, still in the cache). Beyond it, chunks go to
// chunkPool, shared by every queue of the process: a retaining queue gets
// its chunks back only when they are acknowledged, in bursts as large as
// the acknowledgements are late (a reader kept off the CPU for a few
// milliseconds leaves megabytes unacknowledged), and a chunk given back in
// one burst is taken again in the next, by this queue or another, instead
// of being allocated and zeroed anew.
const maxSpare = 4

// chunkPool holds chunks of chunkSize bytes for any queue to reuse.
var chunkPool sync.Pool // of *[]byte

// A frame larger than a chunk gets a buffer of its own, of the next power
// of two from 2*chunkSize to 1<<maxBigShift bytes, which goes back to
// bigPools for the next large frame: a stream of large messages would
// otherwise allocate and fault in fresh memory for every one of them.
const (
	bigShift    = 17 // 2*chunkSize
	maxBigShift = 24 // 16 MiB
)

var bigPools [maxBigShift - bigShift + 1]sync.Pool // of *[]byte

// takeBig returns an empty buffer for a frame of n > chunkSize bytes.
func takeBig(n int) []byte {
	k := max(bits.Len(uint(n-1)), bigShift) // 1<<k >= n
	if k > maxBigShift {
		return make([]byte, 0, n)
	}
	if p, _ := bigPools[k-bigShift].Get().(*[]byte); p != nil {
		return (*p)[:0]
	}
	return make([]byte, 0, 1<<k)
}

// putBig keeps b, a buffer from takeBig, for reuse; it reports whether it
// is of a pooled size.
func putBig(b []byte) bool {
	c := cap(b)
	k := bits.Len(uint(c - 1))
	if c&(c-1) != 0 || k < bigShift || k > maxBigShift {
		return false
	}
	b = b[:0]
	bigPools[k-bigShift].Put(&b)
	return true
}

func newOutq(retain bool, limit int) *outq {
	q := &outq{retain: retain, limit: limit, wake: make(chan struct{}, 1)}
	q.mu.q = q
	return q
}

// writerLinger is how long a writer goroutine waits for more bytes before
// it exits.
const writerLinger = 250 * time.Millisecond

// Offsets of fields in an encoded native frame.
const (
	offType = 4
	offSeq  = 8
)

func frameAt(b []byte) (size int, typ wire.Type, seq uint64) {
	size = 4 + int(binary.BigEndian.Uint32(b))
	return size, wire.Type(b[offType]), binary.BigEndian.Uint64(b[offSeq:])
}

// ackEvery bounds the bytes of sequenced MSG frames a native reader takes
// in before it acknowledges them, when it keeps finding more to read: it
// acknowledges when it is about to read the connection and either has
// nothing left buffered (it caught up) or read ackEvery bytes since its last
// acknowledgement. The sender keeps what it wrote until then; without the
// bound a stream that never lets the reader catch up, a frame split
// across every read, would be kept up to the queue's limit.
const ackEvery = 16 * chunkSize

// chunkSize is the size of the chunks a queue appends to and writes, and
// minChunk the smallest one it reuses.
const (
	chunkSize = 64 << 10
	minChunk  = 4 << 10
)

// unsentLocked returns the bytes not yet written. q.mu must be held.
func (q *outq) unsentLocked() int { return q.fullBytes + len(q.buf) - q.sent }

// heldLocked returns every byte the queue holds. q.mu must be held.
func (q *outq) heldLocked() int { return q.keptBytes + q.fullBytes + len(q.buf) }

// nmsgLocked returns the number of sequenced MSG frames held (kept or not
// yet written) by a retaining queue. Their sequence numbers are
// consecutive, one per MSG appended, and every one above acked is held.
// q.mu must be held.
func (q *outq) nmsgLocked() int {
	if !q.retain || q.acked >= q.lastSeq {
		return 0
	}
	return int(q.lastSeq - q.acked)
}

// A producer writes what it appended itself (flushLocked), from its own
// goroutine and without waiting for the socket, as a buffered writer
// would: the bytes are written from the core that just wrote them, and no
// other goroutine is woken. To write a stream in large batches rather than
// in a write per message, it holds back while the peer has yet to
// acknowledge what it was sent (an acknowledgement is sure to come, as the
// peer acknowledges once it has read everything) and fewer than batchMin
// bytes wait: the acknowledgement writes them (ackLocked), or the producer
// that brings them to batchMin (a chunk's worth: with the part of the chunk
// set aside before them, writeNowLocked writes them in one writev, as a
// buffered writer writes its full buffer). Only a stream is held: the first
// holdMin bytes after the peer caught up are written at once, so a lone
// message or a short burst goes out without delay. A hold lasts at most holdMax (a
// peer's reader busy in a slow handler acknowledges late). What the kernel
// does not take at once is left to the writer goroutine.
const (
	holdMin  = 4 << 10
	batchMin = 64 << 10
	holdMax  = time.Millisecond
)

// outstandingLocked reports whether a sequenced MSG frame was written and
// not yet acknowledged. q.mu must be held.
func (q *outq) outstandingLocked() bool { return q.wroteSeq > q.acked }

// holdLocked reports whether a producer holds back its write (see
// holdMin). q.mu must be held.
func (q *outq) holdLocked() bool {
	return q.streaming && q.unsentLocked() < batchMin && q.outstandingLocked()
}

// flushLocked is what a producer does once it appended: on a clocked
// queue it writes at once unless it holds back (holdLocked); otherwise it
// leaves the write to the writer goroutine. q.mu must be held.
func (q *outq) flushLocked() {
	switch {
	case !q.clocked:
		q.kickLocked()
	case q.holdLocked():
		q.armHoldLocked()
	default:
		q.writeNowLocked()
	}
}

// armHoldLocked makes sure a hold ends within holdMax. q.mu must be held.
func (q *outq) armHoldLocked() {
	if q.holdArmed {
		return
	}
	q.holdArmed = true
	d := q.holdFor
	if d == 0 {
		d = holdMax
	}
	if q.holdTimer == nil {
		q.holdTimer = time.AfterFunc(d, q.holdExpired)
	} else {
		q.holdTimer.Reset(d)
	}
}

// pendingLocked reports whether bytes wait to be written. q.mu must be held.
func (q *outq) pendingLocked() bool { return len(q.full) > 0 || q.sent < len(q.buf) }

// busyLocked reports whether bytes wait to be written or are being
// written. q.mu must be held.
func (q *outq) busyLocked() bool { return q.pendingLocked() || q.writing }

// reserveLocked makes buf ready to take n more bytes: a chunk that would
// grow beyond chunkSize is set aside for the writer and a new one begun. A
// busy queue (one that set a chunk aside or wrote more than minChunk at
// once) gets whole chunks, an idle connection small buffers. q.mu must be
// held.
func (q *outq) reserveLocked(n int) {
	busy := q.batch >= minChunk || q.streaming
	if len(q.buf) > 0 && len(q.buf)+n > chunkSize {
		if len(q.full) == 0 && q.sent == len(q.buf) && !q.writing {
			q.retireBufLocked() // written whole already (writeNowLocked)
		} else {
			q.full = append(q.full, chunk{q.buf, q.lastSeq})
			q.fullBytes += len(q.buf)
		}
		q.buf = q.takeSpareLocked()
		busy = true
	}
	if len(q.buf) == 0 && cap(q.buf) < n {
		// A spare chunk first: a queue has spares only while it was busy
		// lately (trimIdle lets them go), and a stream that paused for an
		// acknowledgement must not go on in small buffers.
		if b := q.takeSpareLocked(); cap(b) >= n {
			q.buf = b
			q.claimLocked(n)
			return
		} else if b != nil {
			q.spare = append(q.spare, b)
		}
		switch {
		case n > chunkSize:
			q.buf = takeBig(n)
		case busy:
			q.buf = make([]byte, 0, chunkSize)
		default:
			q.buf = make([]byte, 0, max(n, 512))
		}
		// Zeroed here, or a large frame's buffer: its copy is one long
		// run of stores, which takes the lines over at full speed.
		q.claimed, q.claimedOf = cap(q.buf), &q.buf[:1][0]
		return
	}
	q.claimLocked(n)
}

// claimAhead is how many bytes claimLocked clears beyond an append.
const claimAhead = 16 << 10

// claimLocked clears the bytes of buf the next n-byte append and up to
// claimAhead more will take, unless already done. A reused chunk's cache
// lines were last read by a write, often on another core, and its cache
// keeps them: a store into each line would then wait for it to be taken
// over, one line at a time, since every append ends with the queue's
// unlock, a full barrier. Clearing a few kilobytes at once takes the lines
// over together, as a buffered writer's steady stream of stores does.
// q.mu must be held.
func (q *outq) claimLocked(n int) {
	end := len(q.buf) + n
	if len(q.buf) == 0 || q.claimedOf != &q.buf[:1][0] {
		q.claimed, q.claimedOf = 0, &q.buf[:1][0]
	}
	if end <= q.claimed {
		return
	}
	from := max(q.claimed, len(q.buf))
	to := min(cap(q.buf), end+claimAhead)
	clear(q.buf[from:to])
	q.claimed = to
}

// roomLocked reports whether n more bytes (and one more message if msg) fit.
// q.mu must be held.
func (q *outq) roomLocked(n int, msg bool) bool {
	if held := q.heldLocked(); q.limit > 0 && held > 0 {
		if q.unsentLimit {
			if q.unsentLocked()+n > q.limit || held+n > retainFactor*q.limit {
				return false
			}
		} else if held+n > q.limit {
			return false
		}
	}
	if msg && q.maxMsgs > 0 && q.nmsgLocked() >= q.maxMsgs {
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

// highWater returns how far a producer of n-byte frames that may wait
// runs ahead of the writes to a connection (paceLocked): a chunk, enough
// to batch the writes while the socket's buffer holds what was written
// before, and not so far that the bytes leave the cache before they are
// written (a process with a thousand busy connections runs through its
// chunks in turn); for frames over 16 KiB four of them, up to four chunks,
// so that a stream of large messages keeps a few in flight.
func highWater(n int) int { return min(max(chunkSize, 4*n), 4*chunkSize) }

// fanoutHighWater is how far a producer that writes to many queues
// (broadcast, a hub relaying a publication): pacing it by each queue would
// hold every receiver to the slowest one's pace, so it runs further ahead.
const fanoutHighWater = 16 * chunkSize

// paceLocked waits while more than highWater bytes wait to be written to
// the connection, until ctx is done or the queue is detached or closed. It
// is not a limit: the queue takes what fits once it returns. It returns
// with q.mu held. q.mu must be held.
func (q *outq) paceLocked(ctx context.Context, high int) {
	for q.conn != nil && q.unsentLocked() > high {
		if q.space == nil {
			q.space = make(chan struct{})
		}
		ch := q.space
		q.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			q.mu.Lock()
			return
		}
		q.mu.Lock()
	}
}

// freedLocked wakes producers waiting for room. q.mu must be held.
func (q *outq) freedLocked() {
	if q.space != nil {
		close(q.space)
		q.space = nil
	}
}

// kickLocked starts the writer goroutine when bytes wait and no write is
// under way. q.mu must be held.
func (q *outq) kickLocked() {
	switch {
	case !q.pendingLocked():
	case q.waiting:
		q.wakeLocked()
	case q.conn != nil && !q.writer && !q.writing:
		q.writer = true
		go q.writeLoop(q.conn)
	}
}

// wakeLocked wakes the writer goroutine waiting for bytes. q.mu must be
// held.
func (q *outq) wakeLocked() {
	if q.waiting {
		q.waiting = false
		q.wake <- struct{}{} // never blocks: one wake per wait
	}
}

// appendFrame appends f and starts the writer.
func (q *outq) appendFrame(f *wire.Frame) {
	q.mu.Lock()
	q.appendLocked(f)
	q.kickLocked()
	q.mu.Unlock()
}

// appendFrameNow appends f and writes it at once if it can (writeNowLocked):
// for frames someone is waiting for.
func (q *outq) appendFrameNow(f *wire.Frame) {
	q.mu.Lock()
	q.appendLocked(f)
	q.writeNowLocked()
	q.mu.Unlock()
}

func (q *outq) appendLocked(f *wire.Frame) {
	q.reserveLocked(wire.FrameSize(f))
	q.buf = wire.AppendFrame(q.buf, f)
	if f.Type == wire.TypeMsg && f.Seq != 0 {
		q.appendedMsgLocked(f.Seq)
	}
}

// appendedMsgLocked records that the MSG frame just appended carries
// sequence number seq. q.mu must be held.
func (q *outq) appendedMsgLocked(seq uint64) {
	q.lastSeq = seq
}

// retireBufLocked disposes of buf, written whole (kept until acknowledged,
// or reused), and leaves no buffer to append to. q.mu must be held.
func (q *outq) retireBufLocked() {
	w := q.buf
	q.buf, q.sent = nil, 0
	q.wroteLocked(chunk{w, q.lastSeq})
}

// writeNowLocked writes what waits from the calling goroutine, when no
// write is under way, without waiting for the socket: every chunk that
// waits, oldest first, in one write (writev) as large as the kernel takes,
// so a batch that spans two chunks is not split in two writes. The writer
// goroutine is started for whatever the kernel did not take (or if the
// connection cannot be written without waiting). The write does not wait,
// so q.mu stays held. q.mu must be held.
func (q *outq) writeNowLocked() {
	wrote := false
	for q.tw != nil && (!q.writer || q.waiting) && !q.writing && q.pendingLocked() {
		var n, want int
		var err error
		if len(q.full) == 0 {
			want = len(q.buf) - q.sent
			n, err = q.tw.TryWrite(q.buf[q.sent:])
		} else {
			iov := append(q.iov[:0], q.full[0].b[q.sent:])
			for _, c := range q.full[1:] {
				if len(iov) == maxIov {
					break
				}
				iov = append(iov, c.b)
			}
			if len(iov) <= len(q.full) && len(iov) < maxIov && len(q.buf) > 0 {
				iov = append(iov, q.buf)
			}
			for _, b := range iov {
				want += len(b)
			}
			n, err = q.tw.TryWriteBuffers(iov)
			clear(iov) // the chunks are not kept alive from here
			q.iov = iov[:0]
		}
		if n > 0 {
			wrote = true
			q.writes++
			q.noteWrittenLocked(n)
			q.consumeLocked(n)
		}
		if err != nil {
			// The writer goroutine's write meets the error too, and
			// handles it.
			q.tw = nil
		}
		if n < want || err != nil {
			break
		}
	}
	if wrote {
		q.holdArmed = false
		q.freedLocked()
	}
	q.kickLocked()
}

// maxIov bounds the chunks one write of writeNowLocked takes.
const maxIov = 8

// consumeLocked counts n bytes written from the oldest unwritten chunk on.
// A chunk set aside and written whole is done with (kept for the
// acknowledgements, or reused); when everything is written, buf takes the
// next frames after what was written (until it is full, and then it is
// kept for the acknowledgements, see reserveLocked), or from its start
// when nothing needs keeping: appends go on in the same cache lines, as in
// a buffered writer. The small buffer of an idle connection is let go.
// q.mu must be held.
func (q *outq) consumeLocked(n int) {
	for n > 0 && len(q.full) > 0 {
		w := q.full[0].b
		k := min(n, len(w)-q.sent)
		q.sent += k
		n -= k
		if q.sent < len(w) {
			return
		}
		q.batch = len(w)
		q.wroteLocked(q.popFullLocked())
	}
	if n == 0 {
		return
	}
	q.sent += n
	if q.sent == len(q.buf) {
		q.batch = len(q.buf)
		q.wroteSeq = max(q.wroteSeq, q.lastSeq)
		if cap(q.buf) < minChunk {
			q.retireBufLocked()
		} else {
			q.rewindLocked()
		}
	}
}

// noteWrittenLocked counts n bytes written for the holds of flushLocked.
// q.mu must be held.
func (q *outq) noteWrittenLocked(n int) {
	q.unacked += n
	if q.unacked >= holdMin {
		q.streaming = true
	}
}

// takeSpareLocked returns a chunk for reuse, or nil (reserveLocked
// allocates one when needed). q.mu must be held.
func (q *outq) takeSpareLocked() []byte {
	if n := len(q.spare); n > 0 {
		b := q.spare[n-1]
		q.spare[n-1] = nil
		q.spare = q.spare[:n-1]
		return b
	}
	if p, _ := chunkPool.Get().(*[]byte); p != nil {
		return *p
	}
	return nil
}

// recycleLocked keeps a written chunk for reuse (a large frame's buffer in
// bigPools), but not the small buffer of an idle connection. q.mu must be
// held.
func (q *outq) recycleLocked(b []byte) {
	switch {
	case cap(b) > chunkSize:
		putBig(b)
	case cap(b) < minChunk:
	case len(q.spare) < maxSpare:
		q.spare = append(q.spare, b[:0])
	case cap(b) == chunkSize:
		b = b[:0]
		chunkPool.Put(&b)
	}
}

// wroteLocked disposes of a buffer written whole: kept when it holds
// sequenced MSG frames not yet acknowledged, else reused. q.mu must be held.
func (q *outq) wroteLocked(c chunk) {
	if !q.retain {
		q.recycleLocked(c.b)
		return
	}
	q.kept = append(q.kept, c)
	q.keptBytes += len(c.b)
	q.trimLocked()
}

// popFullLocked removes and returns the oldest full chunk, written whole.
// q.mu must be held.
func (q *outq) popFullLocked() chunk {
	c := q.full[0]
	n := copy(q.full, q.full[1:])
	q.full[n] = chunk{}
	q.full = q.full[:n]
	q.fullBytes -= len(c.b)
	q.sent = 0
	return c
}

// rewindLocked lets producers append from the start of buf again, once
// everything in it is written and needs no acknowledgement (or has it):
// the next frames go to the same cache lines, as in a buffered writer.
// q.mu must be held.
func (q *outq) rewindLocked() {
	if len(q.full) == 0 && !q.writing && q.sent == len(q.buf) && (!q.retain || q.acked >= q.lastSeq) {
		q.buf, q.sent = q.buf[:0], 0
	}
}

// ackLocked drops retained frames up to and including sequence number seq.
// q.mu must be held.
func (q *outq) ackLocked(seq uint64) {
	if seq > q.acked {
		q.acked = seq
	}
	if q.trimLocked() {
		q.freedLocked()
	}
	if q.clocked && !q.outstandingLocked() {
		// The peer caught up: write what was held back, or end the
		// stream when nothing was.
		q.unacked = 0
		if q.pendingLocked() {
			q.writeNowLocked()
		} else {
			q.streaming = false
		}
	}
}

// trimLocked drops the kept chunks whose frames were all acknowledged (or
// need no acknowledgement), and rewinds buf when all of it was; it reports
// whether it dropped any bytes. It never reads a chunk: the goroutine that
// reads acknowledgements may run on another core than the producer, and
// reading the chunks there would cost the producer a cache miss per line
// when it writes them again. q.mu must be held.
func (q *outq) trimLocked() bool {
	freed := false
	for len(q.kept) > 0 && q.kept[0].last <= q.acked {
		c := q.kept[0]
		n := copy(q.kept, q.kept[1:])
		q.kept[n] = chunk{}
		q.kept = q.kept[:n]
		q.keptBytes -= len(c.b)
		q.recycleLocked(c.b)
		freed = true
	}
	n := len(q.buf)
	q.rewindLocked()
	return freed || len(q.buf) < n
}

// attach makes c the connection of q. With retain, the MSG frames with a
// sequence number above acked (all of them with acked 0), written or not,
// are kept to be written again after prefix; everything else not yet
// acknowledged is dropped (it belonged to the previous connection). Without
// retain, nothing queued is kept. The previous connection's writes must be
// over (its done channel closed). attach returns a channel closed once c
// is detached and no write to it is under way.
func (q *outq) attach(c net.Conn, acked uint64, prefix []byte) <-chan struct{} {
	q.mu.Lock()
	defer q.mu.Unlock()
	nb := make([]byte, 0, len(prefix)+q.heldLocked()+512)
	nb = append(nb, prefix...)
	if q.retain {
		keep := func(b []byte) {
			for i := 0; i < len(b); {
				size, typ, s := frameAt(b[i:])
				if typ == wire.TypeMsg && s != 0 && s > acked {
					nb = append(nb, b[i:i+size]...)
				}
				i += size
			}
		}
		for _, k := range q.kept {
			keep(k.b)
		}
		for _, c := range q.full {
			keep(c.b)
		}
		keep(q.buf)
	}
	clear(q.full)
	q.buf, q.full, q.fullBytes, q.sent = nb, q.full[:0], 0, 0
	q.kept, q.keptBytes, q.acked = nil, 0, acked
	return q.attachLocked(c)
}

// attachKeep makes c the connection of q, keeping everything queued, and
// returns what attach returns.
func (q *outq) attachKeep(c net.Conn) <-chan struct{} {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.attachLocked(c)
}

func (q *outq) attachLocked(c net.Conn) <-chan struct{} {
	q.conn = c
	q.tw = newTryWriter(c)
	q.writing, q.writer = false, false
	q.unacked, q.wroteSeq, q.streaming, q.holdArmed = 0, 0, false, false
	q.done = make(chan struct{})
	done := q.done
	q.freedLocked()
	// The first bytes (a WELCOME, a HELLO's renewals) go out at once: a
	// connection that stays idle after them never starts a writer.
	q.writeNowLocked()
	return done
}

// detach ends the writes to c (if c is still the connection).
func (q *outq) detach(c net.Conn) {
	q.mu.Lock()
	if q.conn == c {
		q.conn, q.tw = nil, nil
		q.wakeLocked()
		q.doneLocked()
	}
	q.mu.Unlock()
}

// doneLocked closes the done channel of the connection once it is detached
// and its writes are over. q.mu must be held.
func (q *outq) doneLocked() {
	if q.done != nil && q.conn == nil && !q.writer && !q.writing {
		close(q.done)
		q.done = nil
	}
}

// close stops the writes and fails waiting producers.
func (q *outq) close() {
	q.mu.Lock()
	q.closed = true
	if q.holdTimer != nil {
		q.holdTimer.Stop()
	}
	q.conn, q.tw = nil, nil
	q.wakeLocked()
	q.doneLocked()
	q.freedLocked()
	q.mu.Unlock()
}

// writeLoop is the writer goroutine of c: it writes while bytes wait and
// exits when none came for writerLinger, or c is no longer the connection.
func (q *outq) writeLoop(c net.Conn) {
	var linger *time.Timer
	q.mu.Lock()
	for q.conn == c {
		if q.pendingLocked() && !q.writing {
			if !q.writeLocked(c) {
				return
			}
			continue
		}
		if linger == nil {
			linger = time.NewTimer(writerLinger)
		} else {
			linger.Reset(writerLinger)
		}
		q.waiting = true
		q.mu.Unlock()
		select {
		case <-q.wake:
			q.mu.Lock()
			continue
		case <-linger.C:
		}
		q.mu.Lock()
		if !q.waiting {
			<-q.wake // woken as the timer fired: take the wake
			continue
		}
		q.waiting = false
		break
	}
	if linger != nil {
		linger.Stop()
	}
	q.writer = false
	q.doneLocked()
	q.mu.Unlock()
}

// writeLocked writes what waits in the oldest chunk to c, outside the
// lock. Producers go on appending meanwhile: after the bytes being written
// when the chunk is buf (they never move), or to a new chunk. A chunk is
// set aside as written (wroteLocked) only once it is full and written
// whole, so a receiver that is written to often, in small writes, still
// fills its chunks: its bytes stay in a few cache-warm chunks instead of
// one chunk per write. q.mu must be held and c the connection. It returns
// true with q.mu held, or false with q.mu released when the write failed
// (then c is closed and onWrite called).
func (q *outq) writeLocked(c net.Conn) bool {
	whole := len(q.full) > 0
	w, seq := q.buf, q.lastSeq
	if whole {
		w, seq = q.full[0].b, 0
	}
	from, end := q.sent, len(w)
	q.batch = end - from
	q.writing = true
	q.mu.Unlock()
	_, err := c.Write(w[from:end])
	q.mu.Lock()
	q.writing = false
	q.writes++
	q.noteWrittenLocked(end - from)
	// w is still the oldest chunk not written whole: full[0] if it was
	// set aside meanwhile (full was empty unless w was full[0]), else buf.
	q.sent = end
	if !whole {
		q.wroteSeq = max(q.wroteSeq, seq)
	}
	switch {
	case len(q.full) > 0:
		// With what was appended to it before it was set aside.
		if q.sent == len(q.full[0].b) {
			q.wroteLocked(q.popFullLocked())
		}
	case q.sent == len(q.buf):
		if cap(w) < minChunk {
			q.retireBufLocked()
		} else {
			q.rewindLocked()
		}
	}
	q.freedLocked()
	if err == nil || q.conn != c {
		return true
	}
	q.conn, q.tw = nil, nil
	f := q.onWrite
	q.mu.Unlock()
	c.Close()
	if f != nil {
		f(err)
	}
	q.mu.Lock()
	q.writer = false
	q.doneLocked()
	q.mu.Unlock()
	return false
}

// trimIdle gives back the empty and spare chunks of a queue that has not
// written since the previous call. The server's janitor calls it
// periodically, so a busy stream never reallocates while idle connections
// do not hold their peak memory.
func (q *outq) trimIdle() {
	q.mu.Lock()
	if q.writes == q.seenWrites && !q.writing {
		if len(q.full) == 0 && len(q.buf) > 0 && q.sent == len(q.buf) {
			q.retireBufLocked()
		}
		if len(q.buf) == 0 {
			q.buf, q.sent = nil, 0
		}
		for _, b := range q.spare {
			if cap(b) == chunkSize {
				chunkPool.Put(&b)
			}
		}
		clear(q.spare)
		q.spare = nil
	}
	q.seenWrites = q.writes
	q.mu.Unlock()
}
