package codec

import (
	"errors"
	"reflect"
)

// Codec turns message values into payload bytes and back. Implementations
// are safe for concurrent use and keep no state between calls.
type Codec interface {
	// Name is the codec's name on the wire (the HELLO frame's "codec"):
	// "json", "raw" or "cbor".
	Name() string
	// Marshal encodes v. Errors are *Error.
	Marshal(v any) ([]byte, error)
	// Unmarshal decodes data into v, a non-nil pointer. It does not keep
	// data. Errors are *Error.
	Unmarshal(data []byte, v any) error
}

// Errors wrapped by *Error; test for them with errors.Is.
var (
	// ErrUnsupportedType: the value's type cannot be used with the codec,
	// such as an int for Raw, or a nil or non-pointer target for Unmarshal.
	ErrUnsupportedType = errors.New("codec: unsupported type")

	// ErrInvalidJSON: bytes given to JSON as already-encoded JSON
	// ([]byte, json.RawMessage) that are not one valid JSON value.
	ErrInvalidJSON = errors.New("codec: invalid JSON")
)

// Operations named in Error.Op.
const (
	OpMarshal   = "marshal"
	OpUnmarshal = "unmarshal"
)

// Error reports a value that could not be encoded or bytes that could not be
// decoded.
type Error struct {
	Codec string       // the codec's Name
	Op    string       // OpMarshal or OpUnmarshal
	Type  reflect.Type // the type of the value (Marshal) or target (Unmarshal); nil for nil
	Err   error        // the cause: a sentinel of this package or the library's error
}

// Error returns, for example, "codec: raw: marshal int: codec: unsupported type".
func (e *Error) Error() string {
	s := "codec: " + e.Codec + ": " + e.Op
	if e.Type != nil {
		s += " " + e.Type.String()
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

func newError(codec, op string, v any, err error) *Error {
	return &Error{Codec: codec, Op: op, Type: reflect.TypeOf(v), Err: err}
}

// ByName returns the codec of this package with the given Name, or nil.
func ByName(name string) Codec {
	for _, c := range []Codec{JSON, Raw, CBOR} {
		if c.Name() == name {
			return c
		}
	}
	return nil
}
