package codec

import (
	"errors"
	"reflect"

	"github.com/fxamacker/cbor/v2"
)

// CBOR encodes with CBOR (RFC 8949) through github.com/fxamacker/cbor/v2:
// compact and binary ([]byte values stay bytes, not base64 text). Encoding is
// deterministic (RFC 8949 core deterministic encoding: sorted map keys,
// shortest forms), so equal values give equal bytes. Decoding is bounded by
// the library's limits on nesting depth (32), array elements and map pairs,
// and decodes maps into map[string]any when the target is an interface, so
// that values look as they would from JSON; a map with non-string keys then
// needs a typed target. Struct fields use `cbor` tags, else `json` tags.
var CBOR Codec = newCBOR()

type cborCodec struct {
	enc cbor.EncMode
	dec cbor.DecMode
}

func newCBOR() cborCodec {
	enc, err := cbor.CoreDetEncOptions().EncMode()
	if err != nil {
		panic("codec: CBOR encoding options: " + err.Error()) // fixed options: cannot happen
	}
	dec, err := cbor.DecOptions{
		DefaultMapType: reflect.TypeOf(map[string]any(nil)),
	}.DecMode()
	if err != nil {
		panic("codec: CBOR decoding options: " + err.Error()) // fixed options: cannot happen
	}
	return cborCodec{enc: enc, dec: dec}
}

func (cborCodec) Name() string { return "cbor" }

func (c cborCodec) Marshal(v any) ([]byte, error) {
	b, err := c.enc.Marshal(v)
	if err != nil {
		var ute *cbor.UnsupportedTypeError
		if errors.As(err, &ute) {
			err = errors.Join(ErrUnsupportedType, err)
		}
		return nil, newError("cbor", OpMarshal, v, err)
	}
	return b, nil
}

func (c cborCodec) Unmarshal(data []byte, v any) error {
	if err := c.dec.Unmarshal(data, v); err != nil {
		var iue *cbor.InvalidUnmarshalError
		if errors.As(err, &iue) {
			err = errors.Join(ErrUnsupportedType, err)
		}
		return newError("cbor", OpUnmarshal, v, err)
	}
	return nil
}
