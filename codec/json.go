package codec

import (
	"bytes"
	"encoding/json"
)

// JSON encodes with encoding/json; it is the default codec and the one
// socket-ipc peers speak. Values that already are JSON pass through
// unchanged: Marshal of a json.RawMessage or []byte returns those bytes
// (without copying) after checking they are one valid JSON value
// (ErrInvalidJSON otherwise), and Unmarshal into a *json.RawMessage or
// *[]byte stores a copy of the JSON text.
var JSON Codec = jsonCodec{}

type jsonCodec struct{}

func (jsonCodec) Name() string { return "json" }

func (c jsonCodec) Marshal(v any) ([]byte, error) {
	switch v := v.(type) {
	case json.RawMessage:
		return c.passThrough(v, []byte(v))
	case []byte:
		return c.passThrough(v, v)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, newError("json", OpMarshal, v, err)
	}
	return b, nil
}

func (jsonCodec) passThrough(v any, b []byte) ([]byte, error) {
	if !json.Valid(b) {
		return nil, newError("json", OpMarshal, v, ErrInvalidJSON)
	}
	return b, nil
}

func (jsonCodec) Unmarshal(data []byte, v any) error {
	switch p := v.(type) {
	case *json.RawMessage:
		if p != nil {
			if !json.Valid(data) {
				return newError("json", OpUnmarshal, v, ErrInvalidJSON)
			}
			*p = append((*p)[:0], bytes.TrimSpace(data)...)
			return nil
		}
	case *[]byte:
		if p != nil {
			if !json.Valid(data) {
				return newError("json", OpUnmarshal, v, ErrInvalidJSON)
			}
			*p = append((*p)[:0], bytes.TrimSpace(data)...)
			return nil
		}
	}
	if err := json.Unmarshal(data, v); err != nil {
		if _, ok := err.(*json.InvalidUnmarshalError); ok {
			err = ErrUnsupportedType
		}
		return newError("json", OpUnmarshal, v, err)
	}
	return nil
}
