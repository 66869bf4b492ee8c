package netserver

import (
	"errors"
	"fmt"
	"time"
)

// Errors returned by the server. Test for them with errors.Is.
var (
	// ErrServerClosed is returned by Serve and ListenAndServe after Shutdown
	// or Close, and given to OnReject for a connection accepted while the
	// server was stopping.
	ErrServerClosed = errors.New("netserver: server closed")

	// ErrTooManyConnections is given to OnReject for a connection closed
	// because MaxConnections connections were already open.
	ErrTooManyConnections = errors.New("netserver: too many connections")

	// ErrUnauthorized wraps every error returned by Server.Authorize before it
	// is given to OnReject, so errors.Is(err, ErrUnauthorized) tells an
	// access-control rejection apart from the others.
	ErrUnauthorized = errors.New("netserver: connection not authorized")

	// ErrInvalidConfig is returned by Serve when a Server field holds a value
	// it cannot use (a negative limit or timeout) or the listener is nil.
	ErrInvalidConfig = errors.New("netserver: invalid configuration")

	// ErrHandshakeTimeout matches (errors.Is) the *TimeoutError a Conn's Read
	// returns when HandshakeTimeout passed before HandshakeDone was called.
	ErrHandshakeTimeout = errors.New("netserver: handshake timeout")

	// ErrIdleTimeout matches (errors.Is) the *TimeoutError a Conn's Read
	// returns when no read completed within IdleTimeout.
	ErrIdleTimeout = errors.New("netserver: idle timeout")
)

// A TimeoutError is returned by Conn.Read when the server's handshake or idle
// deadline passed. It is a net.Error whose Timeout method reports true; it
// unwraps to the underlying deadline error (os.ErrDeadlineExceeded for the
// standard library's connections) and matches ErrHandshakeTimeout or
// ErrIdleTimeout with errors.Is.
type TimeoutError struct {
	Handshake bool          // true: HandshakeTimeout; false: IdleTimeout
	Limit     time.Duration // the configured timeout that passed
	Err       error         // the error returned by the wrapped connection
}

func (e *TimeoutError) Error() string {
	phase := "idle"
	if e.Handshake {
		phase = "handshake"
	}
	return fmt.Sprintf("netserver: %s timeout (%v) exceeded: %v", phase, e.Limit, e.Err)
}

// Unwrap returns the error of the wrapped connection.
func (e *TimeoutError) Unwrap() error { return e.Err }

// Timeout reports true: a TimeoutError is always a timeout (net.Error).
func (e *TimeoutError) Timeout() bool { return true }

// Temporary reports true, as the standard library does for deadline errors.
func (e *TimeoutError) Temporary() bool { return true }

// Is matches ErrHandshakeTimeout or ErrIdleTimeout, whichever applies.
func (e *TimeoutError) Is(target error) bool {
	return (target == ErrHandshakeTimeout && e.Handshake) ||
		(target == ErrIdleTimeout && !e.Handshake)
}
