// Package codec turns message values into payload bytes and back.
//
// A Codec is a value, chosen in a client's or server's options; there is no
// global registry. The package offers three:
//
//   - JSON, the default and the only one socket-ipc peers understand;
//     values that already are JSON (json.RawMessage, []byte) pass through.
//   - Raw, bytes in and bytes out, for applications with their own encoding.
//   - CBOR, compact binary (RFC 8949) with deterministic encoding.
//
// Invariants: codecs are safe for concurrent use; Unmarshal never keeps the
// data it is given (it copies what it stores); every failure is an *Error
// naming the codec, the operation and the type, and wrapping the cause;
// bad bytes never panic.
//
// Usage:
//
//	b, err := codec.CBOR.Marshal(map[string]int{"n": 1})
//	...
//	var v map[string]int
//	err = codec.CBOR.Unmarshal(b, &v)
package codec
