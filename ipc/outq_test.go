package ipc

import (
	"bytes"
	"io"
	"net"
	"os"
	"syscall"
	"testing"

	"github.com/switchboard-ipc/switchboard/wire"
)

// unixPair returns the two ends of a connected Unix stream socket.
func unixPair(t *testing.T) (*net.UnixConn, *net.UnixConn) {
	t.Helper()
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	conn := func(fd int) *net.UnixConn {
		f := os.NewFile(uintptr(fd), "pair")
		defer f.Close()
		c, err := net.FileConn(f)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c.(*net.UnixConn)
	}
	return conn(fds[0]), conn(fds[1])
}

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
	a, b := unixPair(t)
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
	if q.nmsg != n || q.keptBytes == 0 || len(q.kept) < 2 {
		t.Errorf("before ack: nmsg %d, kept %d bytes in %d chunks", q.nmsg, q.keptBytes, len(q.kept))
	}
	q.ackLocked(n / 2)
	if q.nmsg != n-n/2 {
		t.Errorf("after ack of half: nmsg %d, want %d", q.nmsg, n-n/2)
	}
	q.ackLocked(n)
	if q.nmsg != 0 || q.keptBytes != 0 || len(q.kept) != 0 || q.heldLocked() != 0 {
		t.Errorf("after ack of all: nmsg %d, kept %d bytes in %d chunks, held %d", q.nmsg, q.keptBytes, len(q.kept), q.heldLocked())
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
	a, b := unixPair(t)
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
		return !q.busyLocked() && q.nmsg == 0 && q.keptBytes == 0
	})
	q.detach(a)
	<-done
}

// On a new connection a retaining queue writes again, after the prefix and
// in order, the sequenced messages the peer has not acknowledged, whether
// they were written or not, and nothing else.
func TestOutqAttachResends(t *testing.T) {
	a, b := unixPair(t)
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

	c, d := unixPair(t)
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
	a, b := unixPair(t)
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
	a, b := unixPair(t)
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

// The writer goroutine exits once the queue stays idle, and done closes
// only when the connection is detached and no write is under way.
func TestOutqWriterExitsWhenIdle(t *testing.T) {
	a, b := unixPair(t)
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
	a, b := unixPair(t)
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
