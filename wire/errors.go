package wire

import (
	"errors"
	"fmt"
	"io"
	"strconv"
)

// Errors reported by the decoders and encoders of this package. Decoders wrap
// them in a *DecodeError; test for them with errors.Is.
var (
	// ErrFrameTooLarge: a native frame's length field, or a socket-ipc
	// message without its delimiter, exceeds the reader's maximum. It is
	// detected before the frame is buffered.
	ErrFrameTooLarge = errors.New("wire: frame too large")

	// ErrTruncated: the stream ended inside a frame. The *DecodeError that
	// carries it also matches io.ErrUnexpectedEOF.
	ErrTruncated = errors.New("wire: truncated frame")

	// ErrMalformed: a native frame whose fields do not fit its length (length
	// below the fixed header, topic or origin past the end of the frame).
	ErrMalformed = errors.New("wire: malformed frame")

	// ErrInvalidUTF8: a topic (native or socket-ipc) or a socket-ipc message
	// that is not valid UTF-8.
	ErrInvalidUTF8 = errors.New("wire: invalid UTF-8")

	// ErrInvalidJSON: a socket-ipc message that is not one JSON object.
	ErrInvalidJSON = errors.New("wire: invalid JSON")

	// ErrBadTopic: a socket-ipc message whose "topic" is missing or not a
	// JSON string.
	ErrBadTopic = errors.New("wire: topic missing or not a string")

	// ErrTopicTooLong: a native topic longer than MaxTopicLen bytes.
	ErrTopicTooLong = errors.New("wire: topic too long")

	// ErrBadPreface: the first bytes of a native connection are not the
	// magic "\x00SWB".
	ErrBadPreface = errors.New("wire: bad preface")

	// ErrUnsupportedVersion: the preface names a protocol version this
	// package does not speak. The concrete error is a *VersionError.
	ErrUnsupportedVersion = errors.New("wire: unsupported protocol version")

	// ErrUnknownProtocol: the first byte of a connection starts neither a
	// native preface nor a socket-ipc JSON message.
	ErrUnknownProtocol = errors.New("wire: unknown protocol")
)

// errTruncatedEOF matches both ErrTruncated and io.ErrUnexpectedEOF.
var errTruncatedEOF = fmt.Errorf("%w (%w)", ErrTruncated, io.ErrUnexpectedEOF)

// DecodeError reports bytes from a peer that cannot be decoded. The
// connection they came from cannot be read any further and should be closed;
// nothing else is affected.
type DecodeError struct {
	Protocol Protocol // the protocol being decoded; 0 when not yet known
	Reason   string   // details, such as sizes; may be empty
	Err      error    // one of the Err* sentinels of this package
}

// Error returns, for example,
// "wire: frame too large: 5000000 bytes, limit 4194304 (native)".
func (e *DecodeError) Error() string {
	s := "wire: decode error"
	if e.Err != nil {
		s = e.Err.Error()
	}
	if e.Reason != "" {
		s += ": " + e.Reason
	}
	if e.Protocol != 0 {
		s += " (" + e.Protocol.String() + ")"
	}
	return s
}

// Unwrap returns the sentinel error.
func (e *DecodeError) Unwrap() error { return e.Err }

// VersionError reports a native preface with a version this package does not
// support. errors.Is(err, ErrUnsupportedVersion) is true for it.
type VersionError struct {
	Version byte // the version the peer asked for
}

// Error returns "wire: unsupported protocol version N".
func (e *VersionError) Error() string {
	return ErrUnsupportedVersion.Error() + " " + strconv.Itoa(int(e.Version))
}

// Is reports whether target is ErrUnsupportedVersion.
func (e *VersionError) Is(target error) bool { return target == ErrUnsupportedVersion }

func decodeErr(p Protocol, err error, reason string) *DecodeError {
	return &DecodeError{Protocol: p, Reason: reason, Err: err}
}

func tooLarge(p Protocol, n, limit uint64) *DecodeError {
	return decodeErr(p, ErrFrameTooLarge,
		strconv.FormatUint(n, 10)+" bytes, limit "+strconv.FormatUint(limit, 10))
}
