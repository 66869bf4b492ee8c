package ipc

import (
	"errors"
	"log/slog"
	"net"
	"strconv"
	"time"

	"github.com/switchboard-ipc/switchboard/codec"
	"github.com/switchboard-ipc/switchboard/endpoint"
	"github.com/switchboard-ipc/switchboard/wire"
)

// Wire selects the protocol of a connection.
type Wire int

// Wires.
const (
	// Native is switchboard's binary protocol: sessions, subscriptions,
	// requests, acknowledgements. The default.
	Native Wire = iota
	// SocketIPC is the JSON protocol of @crussell52/socket-ipc 0.4:
	// messages only, no handshake, no acknowledgements.
	SocketIPC
)

// String returns "native" or "socket-ipc".
func (w Wire) String() string {
	switch w {
	case Native:
		return "native"
	case SocketIPC:
		return "socket-ipc"
	}
	return "Wire(" + strconv.Itoa(int(w)) + ")"
}

// Policy says what a Server does when a client's outbound queue is full.
type Policy int

// Slow-consumer policies.
const (
	// Disconnect closes the slow client's connection and ends its session;
	// the error, matching ErrSlowConsumer, goes to OnError and
	// OnDisconnect. The default, as in NATS.
	Disconnect Policy = iota
	// Drop drops the message for that client only and reports an error
	// matching ErrSlowConsumer to OnError.
	Drop
	// Block makes the sender wait for room: the publishing client's
	// connection stops being read (so the publisher is slowed by TCP-style
	// backpressure), Server.Send and friends wait. Delivery to a
	// disconnected session never blocks: it drops and reports.
	Block
)

// String returns "disconnect", "drop" or "block".
func (p Policy) String() string {
	switch p {
	case Disconnect:
		return "disconnect"
	case Drop:
		return "drop"
	case Block:
		return "block"
	}
	return "Policy(" + strconv.Itoa(int(p)) + ")"
}

// ClientInfo describes a connected client.
type ClientInfo struct {
	ID      string   // UUID v4; a native client keeps it across reconnects
	Wire    Wire     // the protocol it speaks
	Resumed bool     // a native client that resumed its session
	Conn    net.Conn // its connection: for addresses and credentials; do not read or write it
}

// Defaults of ServerConfig.
const (
	DefaultQueueBytes       = 8 << 20
	DefaultSessionTTL       = 10 * time.Second
	DefaultHandshakeTimeout = 10 * time.Second
	DefaultDetectTimeout    = 50 * time.Millisecond
	DefaultFrameTimeout     = 10 * time.Second
	DefaultMaxSubscriptions = 1024
	DefaultMaxRequests      = 1024
)

// ServerConfig configures a Server. The zero value is a valid configuration:
// JSON codec, direct messaging (no hub), default limits, no hooks, silent.
type ServerConfig struct {
	// Codec encodes what the server sends and decodes what its handlers
	// receive (Message.Decode). Default codec.JSON, the only one socket-ipc
	// clients understand.
	Codec codec.Codec

	// Hub makes the server relay every message a client sends to the
	// subscribers of its topic (and to every socket-ipc client), besides
	// the server's own handlers; requests go to the server's handler for
	// the topic when it has one, else to one subscriber. See
	// docs/messaging.md.
	Hub bool

	// MaxFrame limits a received frame (native) or message (socket-ipc), in
	// bytes. Default wire.DefaultMaxFrame (4 MiB).
	MaxFrame int

	// MaxConnections limits concurrent connections; beyond it a connection
	// is closed at once. 0 means no limit.
	MaxConnections int

	// MaxConnectionsPerUID limits the concurrent connections of one user
	// (by peer credentials; TCP connections are not counted); beyond it a
	// connection is closed at once, counted (Stats().TooManyForUID) and
	// reported to OnError matching ErrTooManyForUID. 0, the default,
	// means no limit: with the default Authorize only the server's own
	// uid is served, so MaxConnections already bounds it; set this when
	// Authorize admits other users.
	MaxConnectionsPerUID int

	// MaxSubscriptions limits the subscriptions of one native client
	// (session). A SUB beyond it is refused in its SUBACK (the Client's
	// Subscribe returns an error matching ErrTooManySubscriptions); the
	// connection stays. Default DefaultMaxSubscriptions; negative means
	// no limit.
	MaxSubscriptions int

	// MaxRequests limits the requests of one native client that a hub
	// has forwarded to a subscriber and that are not answered yet. A
	// request beyond it is answered at once with an error (the Client's
	// Request returns an error matching ErrTooManyRequests). Default
	// DefaultMaxRequests; negative means no limit.
	MaxRequests int

	// HandshakeTimeout bounds a native client's handshake (preface and
	// HELLO). Default DefaultHandshakeTimeout; negative means none.
	HandshakeTimeout time.Duration

	// DetectTimeout is how long the server waits for a new connection's
	// first byte to tell native from socket-ipc. A connection silent that
	// long is a socket-ipc client (socket-ipc clients may only listen).
	// Default DefaultDetectTimeout.
	DetectTimeout time.Duration

	// NativeOnly refuses socket-ipc clients: a connection that does not
	// start with the native preface within HandshakeTimeout is closed with
	// a DecodeError.
	NativeOnly bool

	// IdleTimeout, if positive, closes a connection from which nothing was
	// read for that long.
	IdleTimeout time.Duration

	// FrameTimeout bounds how long a peer may take to finish a frame
	// (native) or message (socket-ipc) it has started sending, so that a
	// half-sent frame cannot hold a connection forever: the connection is
	// then closed with an error matching ErrFrameTimeout. Waiting between
	// frames is IdleTimeout's business. Default DefaultFrameTimeout;
	// negative means none.
	FrameTimeout time.Duration

	// QueueBytes bounds each client's outbound queue: bytes waiting to be
	// written plus, for native clients, bytes written but not yet
	// acknowledged. Default DefaultQueueBytes.
	QueueBytes int

	// SlowConsumer is what happens when a client's queue is full. Default
	// Disconnect.
	SlowConsumer Policy

	// SessionTTL is how long a disconnected native client's session (its id,
	// subscriptions and undelivered messages) is kept for it to resume.
	// Default DefaultSessionTTL; negative means the session ends with its
	// connection.
	SessionTTL time.Duration

	// Sessions, if set, holds the sessions instead of a store of the
	// Server's own; it may outlive the Server (see SessionStore).
	Sessions *SessionStore

	// AckAfterDelivery, on a hub, acknowledges a published message to its
	// publisher only once every native session it was routed to has
	// acknowledged it (or has ended), instead of as soon as it is routed.
	AckAfterDelivery bool

	// Authorize, if set, is called for every connection with its peer's
	// credentials; an error closes the connection. A connection without
	// credentials (TCP) is refused when Authorize is set.
	//
	// Nil means peerauth.SameUser().Check for Unix socket connections
	// (paths, abstract names, activated sockets): only processes of the
	// server's own effective uid are served. TCP connections carry no
	// credentials and are then let in: listen on a Unix socket, or set
	// Authorize, to control who connects. To admit every local user set
	// AllowAnyUser; to admit some, a peerauth.Policy's Check.
	//
	// A refused connection is closed before anything is read from it,
	// counted (Stats().Unauthorized) and reported to OnError as an error
	// matching ErrUnauthorized that wraps Authorize's error.
	Authorize func(endpoint.Peer) error

	// Hooks. Each is optional. OnConnect and OnDisconnect run on the
	// connection's goroutine, in order for one client; OnError may be
	// called from any goroutine.
	OnListening  func(net.Addr)             // once per listening address
	OnConnect    func(ClientInfo)           // a client connected (or resumed)
	OnDisconnect func(id string, err error) // its connection ended; err nil on a clean close
	OnError      func(error)                // an error nobody else can act on; not a peer that closed (EPIPE, ECONNRESET: OnDisconnect only)
	OnClose      func()                     // the server closed
	Logger       *slog.Logger               // nil: silent
}

var errBadConfig = errors.New("ipc: invalid config")

func (c *ServerConfig) normalize() error {
	if c.Codec == nil {
		c.Codec = codec.JSON
	}
	if c.MaxFrame == 0 {
		c.MaxFrame = wire.DefaultMaxFrame
	}
	if c.MaxFrame < 0 || c.MaxConnections < 0 || c.QueueBytes < 0 || c.MaxConnectionsPerUID < 0 {
		return errBadConfig
	}
	if c.HandshakeTimeout == 0 {
		c.HandshakeTimeout = DefaultHandshakeTimeout
	}
	if c.MaxSubscriptions == 0 {
		c.MaxSubscriptions = DefaultMaxSubscriptions
	}
	if c.MaxRequests == 0 {
		c.MaxRequests = DefaultMaxRequests
	}
	if c.FrameTimeout == 0 {
		c.FrameTimeout = DefaultFrameTimeout
	}
	if c.DetectTimeout <= 0 {
		c.DetectTimeout = DefaultDetectTimeout
	}
	if c.QueueBytes == 0 {
		c.QueueBytes = DefaultQueueBytes
	}
	if c.SessionTTL == 0 {
		c.SessionTTL = DefaultSessionTTL
	}
	if c.SlowConsumer < Disconnect || c.SlowConsumer > Block {
		return errBadConfig
	}
	return nil
}
