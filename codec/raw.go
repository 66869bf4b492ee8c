package codec

import "encoding/json"

// Raw passes bytes through unchanged, for payloads the application encodes
// itself. Marshal accepts []byte, json.RawMessage and string (and nil, as
// no bytes); it returns []byte and json.RawMessage values without copying.
// Unmarshal stores a copy of the data into a *[]byte, *json.RawMessage or
// *string. Any other type is an *Error wrapping ErrUnsupportedType.
var Raw Codec = rawCodec{}

type rawCodec struct{}

func (rawCodec) Name() string { return "raw" }

func (rawCodec) Marshal(v any) ([]byte, error) {
	switch v := v.(type) {
	case []byte:
		return v, nil
	case json.RawMessage:
		return v, nil
	case string:
		return []byte(v), nil
	case nil:
		return nil, nil
	}
	return nil, newError("raw", OpMarshal, v, ErrUnsupportedType)
}

func (rawCodec) Unmarshal(data []byte, v any) error {
	switch p := v.(type) {
	case *[]byte:
		if p != nil {
			*p = append((*p)[:0], data...)
			return nil
		}
	case *json.RawMessage:
		if p != nil {
			*p = append((*p)[:0], data...)
			return nil
		}
	case *string:
		if p != nil {
			*p = string(data)
			return nil
		}
	}
	return newError("raw", OpUnmarshal, v, ErrUnsupportedType)
}
