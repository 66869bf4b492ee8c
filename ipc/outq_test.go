package ipc

import (
	"bytes"
	"io"
	"net"
	"slices"
	"testing"
	"time"

	"github.com/switchboard-ipc/switchboard/internal/testenv"
	"github.com/switchboard-ipc/switchboard/wire"
)

// readFrames reads n native frames from r and returns copies of them.
func readFrames(t *testing.T, r io.Reader, n int) []wire.Frame {
	t.Helper()
	rd := wire.NewReader(r, 0)
	out := make([]wire.Frame, 0, n)
	for range n {
		var f wire.Frame
		if err := rd.ReadFrame(&f); err != nil {
			t.Fatalf("frame %d of %d: %v", len(out)+1, n, err)
		}
		f.Topic = bytes.Clone(f.Topic)
		f.Payload = bytes.Clone(f.Payload)
		out = append(out, f)
	}
	return out
}

func msgFrame(seq uint64, payload []byte) *wire.Frame {
	return &wire.Frame{Type: wire.TypeMsg, Seq: seq, Topic: []byte("t"), Payload: payload}
}

// A retaining queue keeps what it wrote in whole chunks until the peer
// acknowledges it, then reuses the chunks: memory held goes back to zero and
// nothing is copied.
func TestOutqKeepsChunksUntilAcked(t *testing.T) {
	a, b := testenv.UnixPair(t)
	q := newOutq(true, 0)
	done := q.attach(a, 0, nil)
	payload := bytes.Repeat([]byte("x"), 1000)
	const n = 300 // about 4.6 chunks
	for i := range n {
		q.appendFrame(msgFrame(uint64(i+1), payload))
	}
	got := readFrames(t, b, n)
	for i, f := range got {
		if f.Seq != uint64(i+1) || !bytes.Equal(f.Payload, payload) {
			t.Fatalf("frame %d: seq %d, %d bytes", i, f.Seq, len(f.Payload))
		}
	}
	eventually(t, "the writes to finish", func() bool {
		q.mu.Lock()
		defer q.mu.Unlock()
		return !q.busyLocked()
	})
	q.mu.Lock()
	if q.nmsgLocked() != n || q.keptBytes == 0 || len(q.kept) < 2 {
		t.Errorf("before ack: nmsg %d, kept %d bytes in %d chunks", q.nmsgLocked(), q.keptBytes, len(q.kept))
	}
	q.ackLocked(n / 2)
	if q.nmsgLocked() != n-n/2 {
		t.Errorf("after ack of half: nmsg %d, want %d", q.nmsgLocked(), n-n/2)
	}
	q.ackLocked(n)
	if q.nmsgLocked() != 0 || q.keptBytes != 0 || len(q.kept) != 0 || q.heldLocked() != 0 {
		t.Errorf("after ack of all: nmsg %d, kept %d bytes in %d chunks, held %d", q.nmsgLocked(), q.keptBytes, len(q.kept), q.heldLocked())
	}
	if len(q.spare) == 0 {
		t.Error("acknowledged chunks were not kept for reuse")
	}
	q.mu.Unlock()
	q.detach(a)
	<-done
}

// An acknowledgement can reach the queue before the writer has recorded the
// write it acknowledges: the frames are dropped once the write is recorded.
func TestOutqAckBeforeWriteEnds(t *testing.T) {
	a, b := testenv.UnixPair(t)
	q := newOutq(true, 0)
	q.mu.Lock()
	q.ackLocked(3) // the peer acknowledged 3 before the queue saw it written
	q.mu.Unlock()
	done := q.attach(a, 0, nil)
	q.mu.Lock()
	q.acked = 3 // attach starts from the connection's view; the early ack came after it
	q.mu.Unlock()
	for i := range 3 {
		q.appendFrame(msgFrame(uint64(i+1), []byte("p")))
	}
	readFrames(t, b, 3)
	eventually(t, "the written frames to be dropped", func() bool {
		q.mu.Lock()
		defer q.mu.Unlock()
		return !q.busyLocked() && q.nmsgLocked() == 0 && q.keptBytes == 0
	})
	q.detach(a)
	<-done
}

// On a new connection a retaining queue writes again, after the prefix and
// in order, the sequenced messages the peer has not acknowledged, whether
// they were written or not, and nothing else.
func TestOutqAttachResends(t *testing.T) {
	a, b := testenv.UnixPair(t)
	q := newOutq(true, 0)
	done := q.attach(a, 0, nil)
	for i := range 5 {
		q.appendFrame(msgFrame(uint64(i+1), []byte{byte(i)}))
	}
	q.appendFrame(&wire.Frame{Type: wire.TypePong, ID: 1})
	readFrames(t, b, 6)
	eventually(t, "the writes to finish", func() bool {
		q.mu.Lock()
		defer q.mu.Unlock()
		return !q.busyLocked()
	})
	q.detach(a)
	<-done
	// Queued while detached: kept for the next connection.
	q.appendFrame(msgFrame(6, []byte{5}))
	q.appendFrame(&wire.Frame{Type: wire.TypePing})

	c, d := testenv.UnixPair(t)
	prefix := wire.AppendFrame(nil, &wire.Frame{Type: wire.TypeWelcome})
	done = q.attach(c, 2, prefix) // the peer had 1 and 2
	got := readFrames(t, d, 5)
	if got[0].Type != wire.TypeWelcome {
		t.Fatalf("first frame %v, want the prefix", got[0].Type)
	}
	for i, f := range got[1:] {
		if f.Type != wire.TypeMsg || f.Seq != uint64(i+3) {
			t.Fatalf("frame %d: %v seq %d, want MSG seq %d", i+1, f.Type, f.Seq, i+3)
		}
	}
	q.detach(c)
	<-done
}

// appendFrameNow writes from the calling goroutine: the frame is on the
// socket when it returns, and no writer goroutine was needed.
func TestOutqWriteNow(t *testing.T) {
	a, b := testenv.UnixPair(t)
	q := newOutq(false, 0)
	done := q.attach(a, 0, nil)
	q.appendFrameNow(&wire.Frame{Type: wire.TypeReq, ID: 7, Topic: []byte("t")})
	q.mu.Lock()
	writer, pending := q.writer, q.busyLocked()
	q.mu.Unlock()
	if writer || pending {
		t.Fatalf("after appendFrameNow: writer goroutine %v, bytes pending %v", writer, pending)
	}
	if f := readFrames(t, b, 1)[0]; f.Type != wire.TypeReq || f.ID != 7 {
		t.Fatalf("got %v id %d", f.Type, f.ID)
	}
	q.detach(a)
	<-done
}

// A frame the socket takes only in part is finished by the writer
// goroutine: the peer receives every byte, in order, once.
func TestOutqWriteNowPartial(t *testing.T) {
	a, b := testenv.UnixPair(t)
	a.SetWriteBuffer(4096)
	q := newOutq(false, 0)
	done := q.attach(a, 0, nil)
	big := bytes.Repeat([]byte("0123456789abcdef"), 64<<10) // 1 MiB: more than the socket holds
	q.appendFrameNow(&wire.Frame{Type: wire.TypeReply, ID: 1, Payload: big})
	q.appendFrameNow(&wire.Frame{Type: wire.TypeReply, ID: 2, Payload: []byte("after")})
	got := readFrames(t, b, 2)
	if got[0].ID != 1 || !bytes.Equal(got[0].Payload, big) || got[1].ID != 2 || string(got[1].Payload) != "after" {
		t.Fatalf("got ids %d, %d, payload sizes %d, %d", got[0].ID, got[1].ID, len(got[0].Payload), len(got[1].Payload))
	}
	q.detach(a)
	<-done
}

// Bytes waiting in several chunks go out in one write: a batch that spans
// a chunk boundary is not split in two system calls, and the peer gets
// every frame in order.
func TestOutqWriteNowSpansChunks(t *testing.T) {
	a, b := testenv.UnixPair(t)
	a.SetWriteBuffer(1 << 20) // room for all of it (the kernel may cap it, not below 128 KiB here)
	q := newOutq(false, 0)
	done := q.attach(a, 0, nil)
	payload := bytes.Repeat([]byte("x"), 1000)
	q.mu.Lock()
	n := 0
	for len(q.full) < 1 || len(q.buf) < 10<<10 { // a chunk set aside, and 10 KiB in the next
		q.appendLocked(&wire.Frame{Type: wire.TypeReply, ID: uint64(n + 1), Payload: payload})
		n++
	}
	writes := q.writes
	q.writeNowLocked()
	wrote, busy := q.writes-writes, q.busyLocked()
	q.mu.Unlock()
	if wrote != 1 || busy {
		t.Fatalf("%d frames in 2 chunks: %d writes, bytes left %v; want 1 write and none left", n, wrote, busy)
	}
	fr := &frameReader{wire.NewReader(b, 0)}
	for i, f := range fr.read(t, n) {
		if f.ID != uint64(i+1) || !bytes.Equal(f.Payload, payload) {
			t.Fatalf("frame %d: id %d, %d bytes", i+1, f.ID, len(f.Payload))
		}
	}
	q.detach(a)
	<-done
}

// The writer goroutine exits once the queue stays idle, and done closes
// only when the connection is detached and no write is under way.
func TestOutqWriterExitsWhenIdle(t *testing.T) {
	a, b := testenv.UnixPair(t)
	q := newOutq(false, 0)
	done := q.attach(a, 0, nil)
	q.appendFrame(&wire.Frame{Type: wire.TypePing})
	readFrames(t, b, 1)
	eventually(t, "the writer goroutine to exit", func() bool {
		q.mu.Lock()
		defer q.mu.Unlock()
		return !q.writer
	})
	select {
	case <-done:
		t.Fatal("done closed while attached")
	default:
	}
	q.appendFrame(&wire.Frame{Type: wire.TypePing, ID: 2}) // starts it again
	if f := readFrames(t, b, 1)[0]; f.ID != 2 {
		t.Fatalf("got id %d", f.ID)
	}
	q.detach(a)
	<-done
}

// A write that fails ends the connection: onWrite learns why and done
// closes.
func TestOutqWriteError(t *testing.T) {
	a, b := testenv.UnixPair(t)
	q := newOutq(false, 0)
	errc := make(chan error, 1)
	q.onWrite = func(err error) { errc <- err }
	done := q.attach(a, 0, nil)
	b.Close()
	for i := 0; ; i++ {
		select {
		case err := <-errc:
			if err == nil {
				t.Fatal("onWrite(nil)")
			}
			<-done
			return
		default:
		}
		// Keep writing until the kernel reports the peer gone.
		q.appendFrame(&wire.Frame{Type: wire.TypePing, ID: uint64(i)})
		eventually(t, "the write", func() bool {
			q.mu.Lock()
			defer q.mu.Unlock()
			return !q.busyLocked() || q.conn == nil
		})
	}
}

// frameReader reads the frames of one connection through one wire.Reader
// (which reads ahead), returning copies.
type frameReader struct{ r *wire.Reader }

func (fr *frameReader) read(t *testing.T, n int) []wire.Frame {
	t.Helper()
	out := make([]wire.Frame, 0, n)
	for range n {
		var f wire.Frame
		if err := fr.r.ReadFrame(&f); err != nil {
			t.Fatalf("frame %d of %d: %v", len(out)+1, n, err)
		}
		f.Topic = bytes.Clone(f.Topic)
		f.Payload = bytes.Clone(f.Payload)
		out = append(out, f)
	}
	return out
}

// produce appends f as a producer does (Client.Send, Server.Send): the
// producer writes it itself unless it holds back.
func produce(q *outq, f *wire.Frame) {
	q.mu.Lock()
	q.appendLocked(f)
	q.flushLocked()
	q.mu.Unlock()
}

// pending reports whether bytes wait to be written, and whether the
// writer goroutine runs.
func pending(q *outq) (bool, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.busyLocked(), q.writer
}

// A producer writes its messages itself while the peer keeps up; once a
// stream is under way (holdMin bytes written and not acknowledged) it holds
// small writes back until the peer acknowledges, and the acknowledgement
// writes them. Nothing is lost or reordered, and no writer goroutine runs.
func TestOutqProducerHoldsUntilAck(t *testing.T) {
	for _, retain := range []bool{false, true} {
		a, b := testenv.UnixPair(t)
		q := newOutq(retain, 0)
		q.clocked = true
		q.holdFor = time.Hour // only the acknowledgement ends the hold here
		done := q.attach(a, 0, nil)
		rd := &frameReader{r: wire.NewReader(b, 0)}
		payload := bytes.Repeat([]byte("x"), 1000)
		produce(q, msgFrame(1, payload))
		if busy, writer := pending(q); busy || writer {
			t.Fatalf("retain %v: first message: pending %v, writer goroutine %v; want written at once", retain, busy, writer)
		}
		seq := uint64(1)
		for range holdMin / len(payload) {
			seq++
			produce(q, msgFrame(seq, payload))
		}
		seq++
		produce(q, msgFrame(seq, []byte("held")))
		q.mu.Lock()
		held, streaming, armed := q.busyLocked(), q.streaming, q.holdArmed
		q.mu.Unlock()
		if !held || !streaming || !armed {
			t.Fatalf("retain %v: after %d bytes unacknowledged: pending %v, streaming %v, hold armed %v; want held", retain, holdMin, held, streaming, armed)
		}
		q.mu.Lock()
		written := q.wroteSeq
		q.mu.Unlock()
		got := rd.read(t, int(written))
		q.mu.Lock()
		q.ackLocked(written) // the peer read everything written
		q.mu.Unlock()
		if busy, writer := pending(q); busy || writer {
			t.Fatalf("retain %v: after the ack: pending %v, writer goroutine %v; want written by the ack", retain, busy, writer)
		}
		got = append(got, rd.read(t, int(seq-written))...)
		for i, f := range got {
			if f.Seq != uint64(i+1) {
				t.Fatalf("retain %v: frame %d has seq %d", retain, i, f.Seq)
			}
		}
		if string(got[len(got)-1].Payload) != "held" {
			t.Fatalf("retain %v: last payload %q", retain, got[len(got)-1].Payload)
		}
		q.mu.Lock()
		q.ackLocked(seq)
		streaming = q.streaming
		q.mu.Unlock()
		if streaming {
			t.Errorf("retain %v: still streaming after the peer caught up with nothing left", retain)
		}
		q.detach(a)
		<-done
	}
}

// stream is a clocked queue without retention on one end of a socket
// pair, after the producer wrote holdMin bytes and more of 1000-byte
// messages (seq of them), none acknowledged: a stream under way.
type stream struct {
	q       *outq
	a       net.Conn
	done    <-chan struct{}
	rd      *frameReader // the other end, with a 10 s read deadline
	payload []byte
	seq     uint64
}

func startStream(t *testing.T) *stream {
	t.Helper()
	a, b := testenv.UnixPair(t)
	b.SetReadDeadline(time.Now().Add(10 * time.Second))
	st := &stream{q: newOutq(false, 0), a: a, payload: bytes.Repeat([]byte("y"), 1000)}
	st.q.clocked = true
	st.q.holdFor = time.Hour
	st.done = st.q.attach(a, 0, nil)
	st.rd = &frameReader{r: wire.NewReader(b, 0)}
	for range holdMin/len(st.payload) + 1 {
		st.seq++
		produce(st.q, msgFrame(st.seq, st.payload))
	}
	return st
}

// A hold ends without an acknowledgement once batchMin bytes wait, or when
// holdMax has passed (a peer whose reader is busy elsewhere).
func TestOutqHoldEnds(t *testing.T) {
	st := startStream(t)
	q, a, done, rd, payload, seq := st.q, st.a, st.done, st.rd, st.payload, st.seq
	q.mu.Lock()
	streaming := q.streaming
	q.mu.Unlock()
	if !streaming {
		t.Fatal("not streaming after holdMin bytes")
	}
	// Held, then written by the producer that brings batchMin bytes.
	held := 0
	for {
		seq++
		produce(q, msgFrame(seq, payload))
		busy, _ := pending(q)
		if !busy {
			break
		}
		if held++; held*len(payload) > 2*batchMin {
			t.Fatalf("%d messages held", held)
		}
	}
	if held*len(payload) < batchMin/2 {
		t.Fatalf("written after only %d held messages", held)
	}
	rd.read(t, int(seq))
	// Held, and never acknowledged: written by the hold's timer.
	seq++
	produce(q, msgFrame(seq, []byte("late")))
	if busy, _ := pending(q); !busy {
		t.Fatal("a small message in a stream was not held")
	}
	q.mu.Lock()
	q.holdTimer.Reset(time.Millisecond) // as if the hour had passed
	q.mu.Unlock()
	if f := rd.read(t, 1)[0]; f.Seq != seq || string(f.Payload) != "late" {
		t.Fatalf("got seq %d %q", f.Seq, f.Payload)
	}
	q.detach(a)
	<-done
}

// A retaining queue goes on appending after what the producer wrote in its
// chunk; those frames are written again on the next connection unless
// acknowledged, and the chunk is kept, then reused, once it is full.
func TestOutqRetainWrittenInChunk(t *testing.T) {
	a, b := testenv.UnixPair(t)
	q := newOutq(true, 0)
	q.clocked = true
	done := q.attach(a, 0, nil)
	brd := &frameReader{r: wire.NewReader(b, 0)}
	produce(q, msgFrame(1, []byte{0}))
	brd.read(t, 1)
	q.mu.Lock()
	if q.buf != nil || len(q.kept) != 1 {
		t.Errorf("an idle connection's small buffer: buf cap %d, %d kept; want it let go and kept until acknowledged", cap(q.buf), len(q.kept))
	}
	q.buf = make([]byte, 0, chunkSize) // as on a busy connection
	q.mu.Unlock()
	for i := 1; i < 3; i++ {
		produce(q, msgFrame(uint64(i+1), []byte{byte(i)}))
	}
	brd.read(t, 2)
	q.mu.Lock()
	if q.sent == 0 || q.sent != len(q.buf) {
		t.Errorf("sent %d of %d bytes in the chunk; want all, kept in place", q.sent, len(q.buf))
	}
	q.mu.Unlock()
	q.detach(a)
	<-done
	c, d := testenv.UnixPair(t)
	done = q.attach(c, 1, nil) // the peer had 1
	rd := &frameReader{r: wire.NewReader(d, 0)}
	got := rd.read(t, 2)
	if got[0].Seq != 2 || got[1].Seq != 3 {
		t.Fatalf("resent seqs %d, %d; want 2, 3", got[0].Seq, got[1].Seq)
	}
	// Fill chunks with frames the producer writes: each full chunk is
	// kept until acknowledged, then reused.
	payload := bytes.Repeat([]byte("z"), 1000)
	const n = 200
	for i := range n {
		produce(q, msgFrame(uint64(4+i), payload))
	}
	rd.read(t, n)
	eventually(t, "the writes to finish", func() bool {
		q.mu.Lock()
		defer q.mu.Unlock()
		return !q.busyLocked()
	})
	q.mu.Lock()
	kept := len(q.kept)
	q.ackLocked(uint64(3 + n))
	if kept == 0 || len(q.kept) != 0 || q.keptBytes != 0 || len(q.spare) == 0 {
		t.Errorf("kept %d chunks before the ack; after: %d chunks, %d bytes, %d spare", kept, len(q.kept), q.keptBytes, len(q.spare))
	}
	q.mu.Unlock()
	q.detach(c)
	<-done
}

// Producers append while the writer goroutine writes the same chunk, and
// fill it so that it is set aside mid-write: every frame arrives once, in
// order, whole.
func TestOutqAppendDuringWrite(t *testing.T) {
	for _, retain := range []bool{false, true} {
		for round := range 20 {
			a, b := testenv.UnixPair(t)
			q := newOutq(retain, 0)
			done := q.attach(a, 0, nil)
			const n = 400
			go func() {
				for i := range n {
					// Sizes that do not divide a chunk, so chunks fill
					// at varying points of a write.
					payload := bytes.Repeat([]byte{byte(i)}, 200+(i*37+round*101)%1500)
					q.appendFrame(msgFrame(uint64(i+1), payload))
				}
			}()
			b.SetReadDeadline(time.Now().Add(10 * time.Second))
			for i, f := range readFrames(t, b, n) {
				want := 200 + (i*37+round*101)%1500
				if f.Seq != uint64(i+1) || len(f.Payload) != want || f.Payload[0] != byte(i) || f.Payload[want-1] != byte(i) {
					t.Fatalf("retain %v round %d frame %d: seq %d, %d bytes, want %d", retain, round, i, f.Seq, len(f.Payload), want)
				}
			}
			eventually(t, "the writes to finish", func() bool {
				q.mu.Lock()
				defer q.mu.Unlock()
				return !q.busyLocked()
			})
			q.mu.Lock()
			if q.fullBytes != 0 || len(q.full) != 0 || q.unsentLocked() != 0 {
				t.Fatalf("retain %v round %d: %d chunks of %d bytes set aside, %d unsent after every write", retain, round, len(q.full), q.fullBytes, q.unsentLocked())
			}
			q.mu.Unlock()
			q.detach(a)
			<-done
		}
	}
}

// claimLocked clears ahead of the appends into a reused chunk and never
// what was appended: the bytes in buf stay, those past it up to claimed
// are zero, and a chunk rewound in place is claimed again from its start.
func TestOutqClaimKeepsAppended(t *testing.T) {
	allZero := func(b []byte) bool { return bytes.Count(b, []byte{0}) == len(b) }
	q := newOutq(false, 0)
	q.mu.Lock()
	defer q.mu.Unlock()
	dirty := bytes.Repeat([]byte{0xff}, chunkSize)
	q.spare = append(q.spare, slices.Clone(dirty)[:0]) // taken by the first append
	var want []byte
	for i := 0; len(want)+100 <= chunkSize; i++ {
		p := bytes.Repeat([]byte{byte(i%250) + 1}, 100)
		q.reserveLocked(len(p))
		if cap(q.buf) != chunkSize {
			t.Fatalf("append %d: buffer of %d bytes, want the spare chunk", i, cap(q.buf))
		}
		if q.claimed < len(q.buf)+len(p) || q.claimed > cap(q.buf) {
			t.Fatalf("claimed %d for an append at %d+%d (cap %d)", q.claimed, len(q.buf), len(p), cap(q.buf))
		}
		if !allZero(q.buf[len(q.buf):q.claimed]) {
			t.Fatalf("bytes %d..%d not cleared", len(q.buf), q.claimed)
		}
		q.buf = append(q.buf, p...)
		want = append(want, p...)
		if !bytes.Equal(q.buf, want) {
			t.Fatalf("append %d: appended bytes changed", i)
		}
	}
	copy(q.buf[:cap(q.buf)], dirty)
	q.buf = q.buf[:0]
	q.reserveLocked(10)
	if q.claimed != claimAhead+10 || !allZero(q.buf[:q.claimed]) {
		t.Fatalf("rewound chunk: claimed %d, want %d cleared", q.claimed, claimAhead+10)
	}
}

// A frame larger than a chunk gets a buffer of a pooled size, a power of
// two that holds it, and only such buffers go back to the pools.
func TestOutqBigBuffers(t *testing.T) {
	for _, n := range []int{chunkSize + 1, 2 * chunkSize, 2*chunkSize + 1, 1 << 20, 1<<maxBigShift - 5} {
		b := takeBig(n)
		c := cap(b)
		if len(b) != 0 || c < n || c&(c-1) != 0 || c < 2*chunkSize || c >= 2*n && c > 2*chunkSize {
			t.Errorf("takeBig(%d): len %d cap %d, want an empty power of two from %d holding it", n, len(b), c, 2*chunkSize)
		}
		if !putBig(b) {
			t.Errorf("putBig refused takeBig(%d)'s buffer of %d", n, c)
		}
	}
	if b := takeBig(1<<maxBigShift + 1); cap(b) != 1<<maxBigShift+1 || putBig(b) {
		t.Errorf("a frame beyond the largest class: cap %d, pooled %v; want its own size, not pooled", cap(b), putBig(b))
	}
	for _, c := range []int{chunkSize, 3 * chunkSize, 100_000} {
		if putBig(make([]byte, 0, c)) {
			t.Errorf("putBig took a buffer of %d", c)
		}
	}
}

// A producer of small frames runs at most a chunk ahead of the writes
// (highWater), so that a process with many busy connections keeps each
// one's bytes in the cache until they are written; a producer of large
// frames keeps a few of them in flight.
func TestOutqPacesSmallFramesByAChunk(t *testing.T) {
	if hw := highWater(64 << 10); hw != 4*chunkSize {
		t.Errorf("highWater(64 KiB) = %d, want %d (four frames in flight)", hw, 4*chunkSize)
	}
	a, b := testenv.UnixPair(t)
	q := newOutq(false, 0)
	done := q.attach(a, 0, nil)
	f := &wire.Frame{Type: wire.TypeMsg, Topic: []byte("t"), Payload: make([]byte, 64)}
	size := wire.FrameSize(f)
	const n = 50_000 // far more than the socket holds: the peer reads nothing yet
	ctx := testCtx(t)
	sent := make(chan struct{})
	go func() {
		defer close(sent)
		for range n {
			q.mu.Lock()
			q.paceLocked(ctx, highWater(size))
			q.appendLocked(f)
			q.flushLocked()
			q.mu.Unlock()
		}
	}()
	eventually(t, "the producer waiting for the writes", func() bool {
		q.mu.Lock()
		defer q.mu.Unlock()
		return q.space != nil
	})
	q.mu.Lock()
	unsent := q.unsentLocked()
	q.mu.Unlock()
	if unsent > chunkSize+size {
		t.Errorf("the producer waits with %d bytes unwritten, want at most a chunk (%d) and a frame", unsent, chunkSize)
	}
	fr := &frameReader{wire.NewReader(b, 0)}
	fr.read(t, n) // every frame arrives once the peer reads
	<-sent
	q.detach(a)
	<-done
}
