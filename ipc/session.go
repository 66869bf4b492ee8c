package ipc

import (
	"sync"
	"sync/atomic"
	"time"
)

// A SessionStore holds the sessions of native clients: for each client id,
// its subscriptions, the last sequence number received from it (for
// de-duplication), and the messages delivered to it but not yet
// acknowledged. A Server creates its own store unless ServerConfig.Sessions
// gives one; a store given to several Servers one after the other (never at
// the same time) carries sessions across in-process restarts, so clients that
// reconnect resume where they were: nothing they sent is processed twice and
// nothing sent to them is lost. The zero value is not usable: call
// NewSessionStore.
type SessionStore struct {
	mu  sync.Mutex
	m   map[string]*session
	ids sync.Map                   // id -> *session, a copy of m for lookups without mu
	all atomic.Pointer[[]*session] // a snapshot of m, nil when m changed since
}

// putLocked adds or replaces a session. st.mu must be held.
func (st *SessionStore) putLocked(ss *session) {
	st.m[ss.id] = ss
	st.ids.Store(ss.id, ss)
	st.all.Store(nil)
}

// deleteLocked removes ss if it is the session of its id. st.mu must be held.
func (st *SessionStore) deleteLocked(ss *session) {
	if st.m[ss.id] == ss {
		delete(st.m, ss.id)
		st.ids.Delete(ss.id)
		st.all.Store(nil)
	}
}

// NewSessionStore returns an empty store.
func NewSessionStore() *SessionStore {
	return &SessionStore{m: make(map[string]*session)}
}

// Len returns the number of sessions in the store, connected or not.
func (st *SessionStore) Len() int {
	st.mu.Lock()
	defer st.mu.Unlock()
	return len(st.m)
}

// session is one client's state. For a socket-ipc client it lives as long as
// its connection; for a native client it outlives disconnections by
// ServerConfig.SessionTTL.
type session struct {
	id   string
	uuid [16]byte
	wire Wire
	q    *outq // deliveries; q.mu also guards deliverSeq

	deliverSeq uint64 // last delivery sequence number; q.mu held

	// lastRecv is the highest sequence number of the client processed, as
	// last published by the reader of the attached connection: it keeps
	// its own count and stores it here when it acknowledges and when it
	// ends, so the handshake of the next connection and sendAck read it.
	lastRecv atomic.Uint64

	mu         sync.Mutex // guards the fields below
	subs       map[uint64]string
	conn       *sconn
	detachedAt time.Time
	dead       bool
	adopted    bool        // created by AdoptSession, its client not yet connected
	deadA      atomic.Bool // dead, readable without mu
	codecName  string

	track ackTracker // AckAfterDelivery state

	reqs atomic.Int64 // requests forwarded by a hub, not answered yet

	// owner is the uid of the peer that first attached to the session,
	// when it had credentials (owned); mu held. Only that uid may resume it.
	owner uint32
	owned bool
}

func newSession(id string, w Wire, limit int) *session {
	s := &session{id: id, wire: w, subs: make(map[uint64]string)}
	s.uuid, _ = parseUUID(id)
	s.q = newOutq(w == Native, limit)
	s.q.unsentLimit = true
	s.q.clocked = w == Native // native clients acknowledge every MSG
	return s
}
