package ipc

import (
	"sync"
	"sync/atomic"
)

// The goroutine that reads a connection does not wait for its queue's lock
// to apply the peer's acknowledgements (postAck), nor does the timer that
// ends a hold (holdExpired). A producer sending a
// stream takes the lock again a few nanoseconds after it let it go, so a
// reader that waits for it is woken to find it taken, again and again; once
// it has waited a millisecond the lock turns to its starvation mode, where
// every unlock hands the lock over and sends the producer to the back of
// the run queue, a fifth of its time in a 64 B stream. Instead they post
// their work and do it only when the lock is free; if it is not, whoever
// holds it does it as it unlocks.

// queueMutex is the lock of an outq: a sync.Mutex whose Unlock does the
// work posted while it was held.
type queueMutex struct {
	sync.Mutex
	posted atomic.Bool // work waits (runPostedLocked)
	q      *outq
}

// Unlock releases the lock, then does the work posted meanwhile if the
// lock is free. A poster that found the lock held set posted before its
// TryLock failed, so this load, after the Unlock, sees it: posted work is
// done by the poster or by a later Unlock.
func (m *queueMutex) Unlock() {
	m.Mutex.Unlock()
	for m.posted.Load() && m.Mutex.TryLock() {
		if m.posted.Swap(false) {
			m.q.runPostedLocked()
		}
		m.Mutex.Unlock()
	}
}

// post has the posted work done now if the lock is free, else by the
// goroutine holding it when it unlocks.
func (m *queueMutex) post() {
	m.posted.Store(true)
	if m.TryLock() {
		m.Unlock()
	}
}

// postAck takes the peer's acknowledgement of the sequenced MSG frames up to
// seq, from the goroutine that reads the connection, without waiting for
// q.mu.
func (q *outq) postAck(seq uint64) {
	for {
		old := q.ackIn.Load()
		if seq <= old || q.ackIn.CompareAndSwap(old, seq) {
			break
		}
	}
	q.mu.post()
}

// holdExpired writes what a hold kept back for holdMax. It runs on the
// timer's goroutine.
func (q *outq) holdExpired() {
	q.holdDue.Store(true)
	q.mu.post()
}

// runPostedLocked applies the highest acknowledgement posted, if new, and
// wakes whoever waits for it (a Flush, producers waiting for room); then it
// ends a hold whose time is up. q.mu must be held.
func (q *outq) runPostedLocked() {
	if seq := q.ackIn.Load(); seq > q.ackDone {
		q.ackDone = seq
		q.ackLocked(seq)
		q.freedLocked()
	}
	if q.holdDue.Swap(false) && q.holdArmed {
		q.holdArmed = false
		q.writeNowLocked()
	}
}
