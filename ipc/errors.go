package ipc

import (
	"errors"
	"fmt"
	"net"
	"os"
	"time"

	"github.com/switchboard-ipc/switchboard/wire"
)

// Sentinel errors. Every error this package returns or reports matches one
// of them (or a wire or context error) with errors.Is; the typed errors below
// carry the details the matching socket-ipc errors carry.
var (
	// ErrEncode: a message could not be encoded by the codec. The concrete
	// error is an *EncodeError.
	ErrEncode = errors.New("ipc: cannot encode message")

	// ErrDecode: bytes from the peer did not decode. The connection they
	// came from is closed; nothing else is affected. The concrete error is a
	// *DecodeError, which also unwraps to the wire error.
	ErrDecode = errors.New("ipc: cannot decode")

	// ErrSendAfterClose: a send on a Server or Client after Close. The
	// concrete error is a *SendAfterCloseError.
	ErrSendAfterClose = errors.New("ipc: send after close")

	// ErrBadClient: Server.Send to a client id that is unknown or gone. The
	// concrete error is a *BadClientError.
	ErrBadClient = errors.New("ipc: unknown client")

	// ErrNoServer: a Client send while not connected and without a queue
	// (see WithQueue). The concrete error is a *NoServerError.
	ErrNoServer = errors.New("ipc: no server connection")

	// ErrNoResponders: a request whose topic no handler or subscriber
	// answers.
	ErrNoResponders = errors.New("ipc: no responders")

	// ErrSlowConsumer: a connection's outbound queue overflowed
	// (ServerConfig.QueueBytes) and the SlowConsumer policy disconnected or
	// dropped for it.
	ErrSlowConsumer = errors.New("ipc: slow consumer")

	// ErrQueueFull: a Client's queue (WithQueue) stayed full until the
	// context of a send was done.
	ErrQueueFull = errors.New("ipc: queue full")

	// ErrServerClosed: Serve, Listen or a hook after Close or Shutdown.
	ErrServerClosed = errors.New("ipc: server closed")

	// ErrClientClosed: a Client operation after Close.
	ErrClientClosed = errors.New("ipc: client closed")

	// ErrAlreadyListening: a second call to Listen or Serve on one Server,
	// or a second Connect on one Client (socket-ipc's "listen once").
	ErrAlreadyListening = errors.New("ipc: already listening")

	// ErrConnectCalled: a second call to Client.Connect (socket-ipc's
	// "connect once").
	ErrConnectCalled = errors.New("ipc: connect already called")

	// ErrUnsupported: an operation the chosen wire cannot carry, such as a
	// request or a subscription over the socket-ipc wire.
	ErrUnsupported = errors.New("ipc: not supported by the socket-ipc wire")

	// ErrHandshakeTimeout: a native client did not complete its handshake
	// within ServerConfig.HandshakeTimeout. It is reported inside a
	// *DecodeError.
	ErrHandshakeTimeout = errors.New("ipc: handshake timeout")

	// ErrAlreadyResponded: Respond called twice for one request, or on a
	// message that is not a request.
	ErrAlreadyResponded = errors.New("ipc: already responded or not a request")

	// ErrRemote: a responder answered a request with an error. The concrete
	// error is a *RemoteError.
	ErrRemote = errors.New("ipc: remote error")

	// ErrUnauthorized: a connection refused by ServerConfig.Authorize or
	// by the default same-uid check, reported to OnError before the
	// connection is closed. It wraps the refusal, by default a
	// *peerauth.DeniedError (errors.Is(err, peerauth.ErrDenied)).
	ErrUnauthorized = errors.New("ipc: connection not authorized")

	// ErrFrameTimeout: a peer started a frame or message and did not
	// finish it within ServerConfig.FrameTimeout. The connection is
	// closed; the concrete error is a *FrameTimeoutError, a net.Error
	// whose Timeout is true.
	ErrFrameTimeout = errors.New("ipc: frame not completed in time")

	// ErrTooManyForUID: a connection refused because its user had
	// ServerConfig.MaxConnectionsPerUID connections open already.
	ErrTooManyForUID = errors.New("ipc: too many connections for one user")

	// ErrTooManySubscriptions: a subscription refused by the server
	// because the client had ServerConfig.MaxSubscriptions already.
	ErrTooManySubscriptions = errors.New("ipc: too many subscriptions")

	// ErrTooManyRequests: a request refused by the server because the
	// client had ServerConfig.MaxRequests unanswered requests at a hub.
	ErrTooManyRequests = errors.New("ipc: too many pending requests")

	// ErrSessionOwner: a client asked to resume a session that belongs to
	// another user (by peer credentials). The server gives it a new
	// session with a new id instead and reports a *SessionOwnerError to
	// OnError.
	ErrSessionOwner = errors.New("ipc: session belongs to another user")

	// ErrNoHandler: a message sent to a Server that is not a hub matched
	// none of its handlers. The message is acknowledged and dropped; the
	// server counts it (Stats().Unhandled) and reports a *NoHandlerError to
	// OnError, once for consecutive such messages of one connection to one
	// topic. Register handlers before Serve or Listen so that none of a
	// resuming client's messages meet a server without them.
	ErrNoHandler = errors.New("ipc: no handler")
)

// NoHandlerError reports a message that matched no handler of a Server.
type NoHandlerError struct {
	ClientID string // the sender
	Topic    string
}

// Error describes the error; the text starts with "ipc: ".
func (e *NoHandlerError) Error() string {
	return fmt.Sprintf("ipc: no handler for topic %q: message from client %s dropped (register one with Server.Handle before Serve)", e.Topic, e.ClientID)
}

// Is reports whether target is ErrNoHandler.
func (e *NoHandlerError) Is(target error) bool { return target == ErrNoHandler }

// EncodeError reports a message the codec could not encode.
type EncodeError struct {
	Topic   string
	Message any
	Err     error // the codec's error
}

// Error describes the error; the text starts with "ipc: ".
func (e *EncodeError) Error() string {
	return fmt.Sprintf("ipc: cannot encode message for topic %q: %v", e.Topic, e.Err)
}

// Unwrap returns the codec's error.
func (e *EncodeError) Unwrap() error { return e.Err }

// Is reports whether target is ErrEncode.
func (e *EncodeError) Is(target error) bool { return target == ErrEncode }

// DecodeError reports bytes from a peer that could not be decoded, or a peer
// that broke the protocol. The connection is closed; nothing else is
// affected.
type DecodeError struct {
	ClientID string // the server-side client id, "" on a Client or before the handshake
	Err      error  // usually a *wire.DecodeError; errors.Is(err, wire.ErrFrameTooLarge) etc. work
}

// Error describes the error; the text starts with "ipc: ".
func (e *DecodeError) Error() string {
	if e.ClientID != "" {
		return "ipc: cannot decode from client " + e.ClientID + ": " + e.Err.Error()
	}
	return "ipc: cannot decode: " + e.Err.Error()
}

// Unwrap returns the underlying error.
func (e *DecodeError) Unwrap() error { return e.Err }

// Is reports whether target is ErrDecode.
func (e *DecodeError) Is(target error) bool { return target == ErrDecode }

// SendAfterCloseError reports a send after Close.
type SendAfterCloseError struct {
	Topic   string
	Message any
}

// Error describes the error; the text starts with "ipc: ".
func (e *SendAfterCloseError) Error() string {
	return fmt.Sprintf("ipc: send after close (topic %q)", e.Topic)
}

// Is reports whether target is ErrSendAfterClose.
func (e *SendAfterCloseError) Is(target error) bool { return target == ErrSendAfterClose }

// BadClientError reports a Server.Send to a client id that is unknown or gone.
type BadClientError struct {
	ClientID string
	Topic    string
	Message  any
}

// Error describes the error; the text starts with "ipc: ".
func (e *BadClientError) Error() string {
	return fmt.Sprintf("ipc: unknown client %q (topic %q)", e.ClientID, e.Topic)
}

// Is reports whether target is ErrBadClient.
func (e *BadClientError) Is(target error) bool { return target == ErrBadClient }

// NoServerError reports a Client send without a connection and without a
// queue to hold it.
type NoServerError struct {
	Topic   string
	Message any
}

// Error describes the error; the text starts with "ipc: ".
func (e *NoServerError) Error() string {
	return fmt.Sprintf("ipc: no server connection (topic %q)", e.Topic)
}

// Is reports whether target is ErrNoServer.
func (e *NoServerError) Is(target error) bool { return target == ErrNoServer }

// ConnectError reports one failed connection attempt of a Client. It is
// passed to the error hook (WithOnError) for every attempt; the Client keeps
// retrying until Close.
type ConnectError struct {
	Addr    string
	Attempt int // 1 for the first attempt of a connect or reconnect
	Err     error
}

// Error describes the error; the text starts with "ipc: ".
func (e *ConnectError) Error() string {
	return fmt.Sprintf("ipc: connect to %s (attempt %d): %v", e.Addr, e.Attempt, e.Err)
}

// Unwrap returns the dial or handshake error.
func (e *ConnectError) Unwrap() error { return e.Err }

// RemoteError is the error text a responder replied with.
type RemoteError struct {
	Topic string
	Text  string
}

// Error describes the error; the text starts with "ipc: ".
func (e *RemoteError) Error() string { return "ipc: remote error on " + e.Topic + ": " + e.Text }

// Is reports whether target is ErrRemote.
func (e *RemoteError) Is(target error) bool { return target == ErrRemote }

// FrameTimeoutError reports a frame a peer started and did not finish
// within ServerConfig.FrameTimeout.
type FrameTimeoutError struct {
	Limit time.Duration // the FrameTimeout that passed
}

// Error describes the error; the text starts with "ipc: ".
func (e *FrameTimeoutError) Error() string {
	return fmt.Sprintf("ipc: frame not completed within %v", e.Limit)
}

// Is reports whether target is ErrFrameTimeout or os.ErrDeadlineExceeded.
func (e *FrameTimeoutError) Is(target error) bool {
	return target == ErrFrameTimeout || target == os.ErrDeadlineExceeded
}

// Timeout reports true: a FrameTimeoutError is a net.Error timeout.
func (e *FrameTimeoutError) Timeout() bool { return true }

// Temporary reports false.
func (e *FrameTimeoutError) Temporary() bool { return false }

var _ net.Error = (*FrameTimeoutError)(nil)

// SessionOwnerError reports a refused resumption: the peer's uid is not
// the one of the session's owner.
type SessionOwnerError struct {
	ClientID string // the session asked for
	UID      uint32 // the uid of the peer that asked
}

// Error describes the error; the text starts with "ipc: ".
func (e *SessionOwnerError) Error() string {
	return fmt.Sprintf("ipc: uid %d may not resume session %s of another user", e.UID, e.ClientID)
}

// Is reports whether target is ErrSessionOwner.
func (e *SessionOwnerError) Is(target error) bool { return target == ErrSessionOwner }

// decodeErr wraps a wire decoding error for a connection.
func decodeErr(id string, err error) error {
	return &DecodeError{ClientID: id, Err: err}
}

// isDecode reports whether err came from a decoder (as opposed to the
// connection).
func isDecode(err error) bool {
	var de *wire.DecodeError
	return errors.As(err, &de)
}
