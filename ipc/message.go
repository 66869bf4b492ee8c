package ipc

import (
	"slices"
	"sync"

	"github.com/switchboard-ipc/switchboard/codec"
)

// A Message is one message received by a handler.
//
// A handler's *Message and its Data are valid only during the handler call:
// the receiving connection reuses them for the next message. Call Clone to
// keep a message (for instance to Respond later from another goroutine).
type Message struct {
	// Topic is the message's topic, never empty (an empty topic is sent as
	// "none").
	Topic string

	// From is the client id of the sender: the publishing client for a
	// message relayed by a hub, the sending client for a message received by
	// a Server, the requesting client for a request. It is "" for a message
	// the server itself sent (Server.Send, Broadcast, Publish) and for a
	// socket-ipc peer that does not carry it.
	From string

	// Seq is the sender's sequence number of the message when known (native
	// clients number what they send, starting at 1), else 0. Together with
	// From it identifies a message: see WithDedupe.
	Seq uint64

	// Data is the payload as encoded by the sender's codec.
	Data []byte

	codec codec.Codec
	resp  responder // nil unless a request
	reqID uint64
	done  bool // responded
}

// set makes m a message (not a request) with these fields, assigning
// them one by one: a reader reuses one Message for every frame, and a
// composite literal would be built in a temporary and copied, a copy
// whose wide loads wait on the narrow stores that built it.
func (m *Message) set(topic, from string, seq uint64, data []byte, c codec.Codec) {
	m.Topic = topic
	m.From = from
	m.Seq = seq
	m.Data = data
	m.codec = c
	m.resp = nil
	m.reqID = 0
	m.done = false
}

// responder sends a reply for a request received on one connection.
type responder interface {
	reply(id uint64, payload []byte, errText string) error
}

// Decode decodes the payload into v with the codec of the receiver.
func (m *Message) Decode(v any) error {
	c := m.codec
	if c == nil {
		c = codec.JSON
	}
	return c.Unmarshal(m.Data, v)
}

// IsRequest reports whether the message is a request that expects a Respond.
func (m *Message) IsRequest() bool { return m.resp != nil }

// Respond answers a request with v, encoded by the receiver's codec. It
// returns ErrAlreadyResponded for a message that is not a request or that
// was answered already, an *EncodeError when v cannot be encoded, and
// ErrSendAfterClose when the receiver was closed. A reply to a requester
// that is gone is dropped silently: nobody waits for it.
//
// Respond may be called after the handler returned, on a Clone.
func (m *Message) Respond(v any) error {
	if m.resp == nil || m.done {
		return ErrAlreadyResponded
	}
	c := m.codec
	if c == nil {
		c = codec.JSON
	}
	b, err := c.Marshal(v)
	if err != nil {
		return &EncodeError{Topic: m.Topic, Message: v, Err: err}
	}
	m.done = true
	return m.resp.reply(m.reqID, b, "")
}

// RespondError answers a request with an error: the requester's Request
// returns a *RemoteError (matching ErrRemote) carrying err's text.
func (m *Message) RespondError(err error) error {
	if m.resp == nil || m.done {
		return ErrAlreadyResponded
	}
	m.done = true
	text := "error"
	if err != nil {
		text = err.Error()
	}
	return m.resp.reply(m.reqID, nil, text)
}

// Clone returns a copy of m that stays valid after the handler returns,
// with its own copy of Data. A request's clone can be answered (once, by the
// original or the clone).
func (m *Message) Clone() *Message {
	c := *m
	c.Data = slices.Clone(m.Data)
	return &c
}

// A HandlerFunc handles a message. Handlers run on the reading goroutine of
// the connection the message came from, one message at a time, in order: a
// slow handler slows only its own connection.
type HandlerFunc func(m *Message)

// route is one registered handler.
type route struct {
	pattern string
	h       HandlerFunc
	order   uint64
}

// mux finds the handlers whose patterns match a topic, in registration
// order.
type mux struct {
	mu    sync.Mutex
	idx   index[*route]
	next  uint64
	count int
}

func newMux() *mux {
	m := &mux{}
	m.idx.less = func(a, b *route) bool { return a.order < b.order }
	return m
}

func (m *mux) add(pattern string, h HandlerFunc) *route {
	m.mu.Lock()
	m.next++
	r := &route{pattern: pattern, h: h, order: m.next}
	m.count++
	m.mu.Unlock()
	m.idx.add(pattern, r, r.order)
	return r
}

func (m *mux) remove(r *route) {
	if m.idx.remove(r.pattern, r, r.order) {
		m.mu.Lock()
		m.count--
		m.mu.Unlock()
	}
}

// dispatch calls every handler matching msg.Topic and reports whether there
// was one. rc, if not nil, is the calling reader's route cache.
func (m *mux) dispatch(msg *Message, rc *routeCache[*route]) bool {
	var rs []*route
	if rc != nil {
		rs = m.idx.matchCached(rc, msg.Topic)
	} else {
		rs = m.idx.match(msg.Topic)
	}
	for _, r := range rs {
		r.h(msg)
	}
	return len(rs) > 0
}

// has reports whether a handler matches topic.
func (m *mux) has(topic string) bool { return len(m.idx.match(topic)) > 0 }
