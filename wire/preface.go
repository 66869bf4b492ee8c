package wire

import (
	"bufio"
	"errors"
	"io"
	"strconv"
)

// Protocol is one of the two protocols a connection can speak.
type Protocol int

// Protocols. The zero Protocol means "not known yet".
const (
	Native    Protocol = iota + 1 // the native binary protocol, after a Preface
	SocketIPC                     // JSON + "\0\0", compatible with @crussell52/socket-ipc 0.4
)

// String returns "native", "socket-ipc", or "Protocol(N)".
func (p Protocol) String() string {
	switch p {
	case Native:
		return "native"
	case SocketIPC:
		return "socket-ipc"
	}
	return "Protocol(" + strconv.Itoa(int(p)) + ")"
}

// Preface is what each side of a native connection sends first: the magic
// "\x00SWB", the protocol version, and three reserved bytes, zero when sent
// and ignored when received.
var Preface = [PrefaceSize]byte{0x00, 'S', 'W', 'B', Version, 0, 0, 0}

// errBadRead reports an io.Reader that returned an impossible count.
var errBadRead = errors.New("wire: reader returned invalid count")

// Detect tells which protocol a client speaks from its first bytes, without
// consuming them: a native client starts with the magic "\x00SWB", a
// socket-ipc client with "{", possibly after JSON whitespace.
//
// It returns io.EOF when the connection ends before sending a byte, and a
// *DecodeError wrapping ErrUnknownProtocol for any other first byte,
// ErrBadPreface when a 0x00 is not followed by "SWB", or ErrTruncated when
// the stream ends inside the magic. JSON whitespace longer than the
// bufio.Reader's buffer is an ErrUnknownProtocol too. Read errors of r are
// returned as they are. The version is checked by ReadPreface.
func Detect(r *bufio.Reader) (Protocol, error) {
	b, err := r.Peek(1)
	if len(b) == 0 {
		return 0, err
	}
	if b[0] == 0x00 {
		b, err = r.Peek(4)
		if len(b) < 4 {
			if err == io.EOF {
				return 0, decodeErr(Native, errTruncatedEOF, "in preface")
			}
			return 0, err
		}
		if string(b) != string(Preface[:4]) {
			return 0, decodeErr(Native, ErrBadPreface, "magic "+strconv.Quote(string(b)))
		}
		return Native, nil
	}
	for i := 0; ; i++ {
		b, err = r.Peek(i + 1)
		if len(b) <= i {
			if err == bufio.ErrBufferFull {
				return 0, decodeErr(0, ErrUnknownProtocol, "only whitespace in the first "+strconv.Itoa(r.Size())+" bytes")
			}
			if err == io.EOF {
				return 0, decodeErr(SocketIPC, errTruncatedEOF, "only whitespace before end of stream")
			}
			return 0, err
		}
		switch b[i] {
		case ' ', '\t', '\r', '\n':
			continue
		case '{':
			return SocketIPC, nil
		}
		return 0, decodeErr(0, ErrUnknownProtocol, "first byte "+strconv.QuoteRune(rune(b[i])))
	}
}

// ReadPreface reads the 8-byte preface from r and checks it. It returns a
// *DecodeError wrapping ErrBadPreface when the magic is wrong, ErrTruncated
// when the stream ends inside the preface, or one wrapping a *VersionError
// (matching ErrUnsupportedVersion) when the version is not Version — a server then
// answers with its own preface and a GOAWAY frame with code
// GoAwayUnsupportedVersion before closing. Reserved bytes are ignored.
func ReadPreface(r io.Reader) error {
	var b [PrefaceSize]byte
	if n, err := io.ReadFull(r, b[:]); err != nil {
		if err == io.ErrUnexpectedEOF || (err == io.EOF && n > 0) {
			return decodeErr(Native, errTruncatedEOF, "in preface")
		}
		return err
	}
	if string(b[:4]) != string(Preface[:4]) {
		return decodeErr(Native, ErrBadPreface, "magic "+strconv.Quote(string(b[:4])))
	}
	if b[4] != Version {
		return &DecodeError{Protocol: Native, Err: &VersionError{Version: b[4]}}
	}
	return nil
}

// WritePreface writes Preface to w.
func WritePreface(w io.Writer) error {
	_, err := w.Write(Preface[:])
	return err
}
