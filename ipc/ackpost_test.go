package ipc

import (
	"bytes"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-ipc/switchboard/internal/testenv"
	"github.com/switchboard-ipc/switchboard/wire"
)

// returnsWhileLocked runs f on another goroutine while q.mu is held and
// fails the test if f waits for the lock.
func returnsWhileLocked(t *testing.T, q *outq, what string, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		f()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatalf("%s waited for the queue's lock", what)
	}
}

// An acknowledgement posted while a producer holds the queue's lock does
// not wait for it; the producer's Unlock applies it.
func TestPostAckWhileLocked(t *testing.T) {
	a, b := testenv.UnixPair(t)
	q := newOutq(true, 0)
	q.clocked = true
	done := q.attach(a, 0, nil)
	payload := bytes.Repeat([]byte("a"), 100)
	const n = 10
	for i := range n {
		produce(q, msgFrame(uint64(i+1), payload))
	}
	readFrames(t, b, n)

	q.mu.Lock()
	returnsWhileLocked(t, q, "postAck", func() { q.postAck(n) })
	if got := q.nmsgLocked(); got != n {
		t.Fatalf("while locked: %d messages held, want %d (not applied yet)", got, n)
	}
	q.mu.Unlock()

	q.mu.Lock()
	if got := q.nmsgLocked(); got != 0 || q.acked != n {
		t.Errorf("after Unlock: %d messages held, acked %d; want 0 and %d", got, q.acked, n)
	}
	q.mu.Unlock()
	q.detach(a)
	<-done
}

// A hold's timer that fires while the lock is held does not wait for it;
// the Unlock writes what was held.
func TestHoldExpiresWhileLocked(t *testing.T) {
	st := startStream(t)
	q, rd, seq := st.q, st.rd, st.seq
	seq++
	produce(q, msgFrame(seq, []byte("held")))
	q.mu.Lock()
	written, held := q.wroteSeq, q.pendingLocked()
	q.mu.Unlock()
	if !held {
		t.Fatal("nothing held in a stream")
	}
	rd.read(t, int(written))

	q.mu.Lock()
	returnsWhileLocked(t, q, "holdExpired", q.holdExpired)
	if !q.pendingLocked() {
		t.Fatal("written while the lock was held")
	}
	q.mu.Unlock()
	got := rd.read(t, int(seq-written))
	if f := got[len(got)-1]; f.Seq != seq || string(f.Payload) != "held" {
		t.Fatalf("got seq %d %q, want %d \"held\"", f.Seq, f.Payload, seq)
	}
	q.detach(st.a)
	<-st.done
}

// Acknowledgements posted from several goroutines while producers append
// and write are all applied: once the last one is posted and the lock let
// go, nothing sent stays held.
func TestPostAckConcurrent(t *testing.T) {
	a, b := testenv.UnixPair(t)
	q := newOutq(true, 0)
	q.clocked = true
	done := q.attach(a, 0, nil)
	payload := bytes.Repeat([]byte("c"), 64)
	const n = 5000
	var seq uint64
	var mu sync.Mutex // numbers the frames in the order they are appended
	read := make(chan uint64, n)
	go func() {
		rd := wire.NewReader(b, 0)
		for range n {
			var f wire.Frame
			if err := rd.ReadFrame(&f); err != nil {
				close(read)
				return
			}
			read <- f.Seq
		}
	}()
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			for range n / 2 {
				mu.Lock()
				seq++
				produce(q, msgFrame(seq, payload))
				mu.Unlock()
			}
		})
	}
	acks := make(chan uint64, n)
	for range 3 {
		wg.Go(func() {
			for s := range acks {
				q.postAck(s)
			}
		})
	}
	for i := range n {
		s, ok := <-read
		if !ok {
			t.Fatalf("read %d of %d frames", i, n)
		}
		if s != uint64(i+1) {
			t.Fatalf("frame %d has seq %d", i+1, s)
		}
		acks <- s
	}
	close(acks)
	wg.Wait()
	q.mu.Lock()
	if got := q.nmsgLocked(); got != 0 || q.acked != n {
		t.Errorf("%d messages still held, acked %d; want 0 and %d", got, q.acked, n)
	}
	q.mu.Unlock()
	q.detach(a)
	<-done
}
