package ipc

import (
	"slices"
	"sync"

	"github.com/switchboard-ipc/switchboard/wire"
)

// ackTracker holds a session's state for ServerConfig.AckAfterDelivery.
//
// As a publisher, a session's message (its sequence number pseq) stays in
// pubs until every session it was routed to acknowledged the delivery; the
// publisher is acknowledged up to just below its oldest incomplete message.
// As a subscriber, dels lists its unacknowledged deliveries and the message
// each one belongs to.
type ackTracker struct {
	mu      sync.Mutex
	pubs    []pubState
	dels    []delivery
	ackSent uint64 // highest ACK queued to the publisher
}

type pubState struct {
	pseq      uint64
	remaining int
}

type delivery struct {
	dseq uint64
	pub  *session
	pseq uint64
}

// begin starts tracking message pseq, with a guard count of one that end
// removes once routing is done.
func (t *ackTracker) begin(pseq uint64) {
	t.mu.Lock()
	t.pubs = append(t.pubs, pubState{pseq: pseq, remaining: 1})
	t.mu.Unlock()
}

// add counts one more delivery of pseq.
func (t *ackTracker) add(pseq uint64) {
	t.mu.Lock()
	if i, ok := t.find(pseq); ok {
		t.pubs[i].remaining++
	}
	t.mu.Unlock()
}

// done counts one delivery of pseq as acknowledged (or void).
func (t *ackTracker) done(pseq uint64) {
	t.mu.Lock()
	if i, ok := t.find(pseq); ok {
		t.pubs[i].remaining--
	}
	t.mu.Unlock()
}

// t.mu must be held.
func (t *ackTracker) find(pseq uint64) (int, bool) {
	return slices.BinarySearchFunc(t.pubs, pseq, func(p pubState, s uint64) int {
		switch {
		case p.pseq < s:
			return -1
		case p.pseq > s:
			return 1
		}
		return 0
	})
}

// ackable returns the highest sequence number that may be acknowledged to
// the publisher, given that everything up to lastRecv was processed, and
// whether it is above what was acknowledged already (then it counts as
// acknowledged).
func (t *ackTracker) ackable(lastRecv uint64) (uint64, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := 0
	for n < len(t.pubs) && t.pubs[n].remaining <= 0 {
		n++
	}
	if n > 0 {
		t.pubs = slices.Delete(t.pubs, 0, n)
	}
	a := lastRecv
	if len(t.pubs) > 0 && t.pubs[0].pseq-1 < a {
		a = t.pubs[0].pseq - 1
	}
	if a <= t.ackSent {
		return a, false
	}
	t.ackSent = a
	return a, true
}

// delivered records that delivery dseq of this (subscriber) session carries
// message pseq of pub.
func (t *ackTracker) delivered(dseq uint64, pub *session, pseq uint64) {
	t.mu.Lock()
	t.dels = append(t.dels, delivery{dseq, pub, pseq})
	t.mu.Unlock()
	pub.track.add(pseq)
}

// acked processes a subscriber's acknowledgement up to dseq (all when
// dseq is max) and acknowledges what became complete to the publishers.
func (t *ackTracker) acked(dseq uint64) {
	t.mu.Lock()
	n := 0
	for n < len(t.dels) && t.dels[n].dseq <= dseq {
		n++
	}
	if n == 0 {
		t.mu.Unlock()
		return
	}
	done := slices.Clone(t.dels[:n])
	t.dels = slices.Delete(t.dels, 0, n)
	t.mu.Unlock()
	var pubs []*session
	for _, d := range done {
		d.pub.track.done(d.pseq)
		if !slices.Contains(pubs, d.pub) {
			pubs = append(pubs, d.pub)
		}
	}
	for _, p := range pubs {
		p.sendAck()
	}
}

// ended voids the deliveries of a session that ended.
func (t *ackTracker) ended(*Server) { t.acked(^uint64(0)) }

// sendAck queues an ACK to the session's client if more can be acknowledged.
func (ss *session) sendAck() {
	if a, ok := ss.track.ackable(ss.lastRecv.Load()); ok {
		ss.q.appendFrame(&wire.Frame{Type: wire.TypeAck, Seq: a})
	}
}
