package wire

import (
	"encoding/binary"
	"slices"
	"strconv"
	"unicode/utf8"
)

// Sizes and limits of the native protocol.
const (
	// Version is the native protocol version this package speaks.
	Version = 1

	// PrefaceSize is the size of the preface each side sends first.
	PrefaceSize = 8

	// HeaderSize is the size of the fixed frame header, including the
	// 4-byte length field: length, type, flags, topic length, seq, id.
	HeaderSize = 24

	// MinFrameLen is the smallest valid value of the length field: the
	// header after the length field, with no topic, origin or payload.
	MinFrameLen = HeaderSize - 4

	// OriginSize is the size of the origin UUID present when FlagOrigin is set.
	OriginSize = 16

	// MaxTopicLen is the longest topic a native frame can carry, in bytes.
	MaxTopicLen = 1<<16 - 1

	// DefaultMaxFrame is the default limit on a frame's length field (native)
	// or on a message without its delimiter (socket-ipc): 4 MiB.
	DefaultMaxFrame = 4 << 20

	// MaxMaxFrame is the largest limit a reader accepts: the length field is
	// 32 bits wide.
	MaxMaxFrame = 1<<32 - 1
)

// Type is the type of a native frame.
type Type uint8

// Frame types. Receivers skip frames of a type they do not know.
const (
	TypeHello   Type = 1  // client->server, first frame: payload JSON Hello
	TypeWelcome Type = 2  // server->client, answer to HELLO: payload JSON Welcome
	TypeMsg     Type = 3  // a message: client->server publish or send, server->client delivery
	TypeReq     Type = 4  // a request; ID is the request id
	TypeReply   Type = 5  // a reply to the request with the same ID
	TypeSub     Type = 6  // subscribe to the pattern in Topic; ID is the subscription id
	TypeSubAck  Type = 7  // the server confirms subscription ID
	TypeUnsub   Type = 8  // cancel subscription ID
	TypeAck     Type = 9  // Seq is the cumulative acknowledgement
	TypePing    Type = 10 // liveness probe; ID is echoed in the PONG
	TypePong    Type = 11 // answer to the PING with the same ID
	TypeGoAway  Type = 12 // the sender closes; ID is a GoAway code, payload a text
)

var typeNames = [...]string{
	TypeHello:   "HELLO",
	TypeWelcome: "WELCOME",
	TypeMsg:     "MSG",
	TypeReq:     "REQ",
	TypeReply:   "REPLY",
	TypeSub:     "SUB",
	TypeSubAck:  "SUBACK",
	TypeUnsub:   "UNSUB",
	TypeAck:     "ACK",
	TypePing:    "PING",
	TypePong:    "PONG",
	TypeGoAway:  "GOAWAY",
}

// String returns the name used in docs/protocol.md, such as "MSG", or
// "Type(N)" for a type this package does not know.
func (t Type) String() string {
	if int(t) < len(typeNames) && typeNames[t] != "" {
		return typeNames[t]
	}
	return "Type(" + strconv.Itoa(int(t)) + ")"
}

// Known reports whether t is a frame type of this protocol version.
func (t Type) Known() bool { return t >= TypeHello && t <= TypeGoAway }

// Flags is the flags byte of a native frame.
type Flags uint8

// Frame flags. Receivers ignore flags they do not know; senders set reserved
// bits to zero.
const (
	FlagOrigin Flags = 1 << iota // the 16-byte origin UUID follows the topic
	FlagError                    // REPLY: the payload is an error text
	FlagNoAck                    // MSG: the sender needs no ACK for it
)

// String lists the set flags, such as "ORIGIN|NOACK", or "0".
func (f Flags) String() string {
	if f == 0 {
		return "0"
	}
	var s string
	add := func(n string) {
		if s != "" {
			s += "|"
		}
		s += n
	}
	if f&FlagOrigin != 0 {
		add("ORIGIN")
	}
	if f&FlagError != 0 {
		add("ERROR")
	}
	if f&FlagNoAck != 0 {
		add("NOACK")
	}
	if r := f &^ (FlagOrigin | FlagError | FlagNoAck); r != 0 {
		add("0x" + strconv.FormatUint(uint64(r), 16))
	}
	return s
}

// Frame is one native frame. Which fields mean something depends on Type
// (see docs/protocol.md); the rest are zero.
//
// A Frame filled by Reader.ReadFrame points into the reader's buffer: Topic
// and Payload are valid only until the next call to ReadFrame.
type Frame struct {
	Type    Type
	Flags   Flags
	Seq     uint64   // sender's sequence number (MSG, REQ), cumulative ack (ACK); 0 = unsequenced
	ID      uint64   // request id, subscription id, ping id or GoAway code
	Topic   []byte   // UTF-8; a pattern for SUB
	Origin  [16]byte // on the wire only when Flags&FlagOrigin
	Payload []byte
}

// FrameSize returns the number of bytes AppendFrame appends for f,
// including the 4-byte length field.
func FrameSize(f *Frame) int {
	n := HeaderSize + len(f.Topic) + len(f.Payload)
	if f.Flags&FlagOrigin != 0 {
		n += OriginSize
	}
	return n
}

// Validate reports whether f can be encoded and would be accepted by a
// Reader with limit maxFrame (<= 0 means DefaultMaxFrame): the topic is at
// most MaxTopicLen bytes of valid UTF-8 and the frame fits the limit.
// It returns ErrTopicTooLong, ErrInvalidUTF8 or ErrFrameTooLarge.
func (f *Frame) Validate(maxFrame int) error {
	if len(f.Topic) > MaxTopicLen {
		return ErrTopicTooLong
	}
	if !utf8.Valid(f.Topic) {
		return ErrInvalidUTF8
	}
	if uint64(FrameSize(f)-4) > uint64(normMax(maxFrame)) {
		return ErrFrameTooLarge
	}
	return nil
}

// AppendFrame appends the encoding of f to dst and returns the extended
// slice. It allocates only when dst lacks capacity for FrameSize(f) bytes.
//
// AppendFrame does not check f: a frame with a topic longer than
// MaxTopicLen cannot be encoded and makes AppendFrame panic. Call
// Validate first on frames built from untrusted values.
func AppendFrame(dst []byte, f *Frame) []byte {
	if len(f.Topic) > MaxTopicLen {
		panic("wire: AppendFrame: topic longer than MaxTopicLen")
	}
	size := FrameSize(f)
	dst = slices.Grow(dst, size)
	n := len(dst)
	dst = dst[:n+size]
	b := dst[n:]
	binary.BigEndian.PutUint32(b[0:4], uint32(size-4))
	b[4] = byte(f.Type)
	b[5] = byte(f.Flags)
	binary.BigEndian.PutUint16(b[6:8], uint16(len(f.Topic)))
	binary.BigEndian.PutUint64(b[8:16], f.Seq)
	binary.BigEndian.PutUint64(b[16:24], f.ID)
	i := HeaderSize + copy(b[HeaderSize:], f.Topic)
	if f.Flags&FlagOrigin != 0 {
		i += copy(b[i:], f.Origin[:])
	}
	copy(b[i:], f.Payload)
	return dst
}

// normMax maps a caller's limit to the effective limit.
func normMax(maxFrame int) int {
	if maxFrame <= 0 {
		return DefaultMaxFrame
	}
	if uint64(maxFrame) > MaxMaxFrame {
		return int(maxMaxFrame)
	}
	return maxFrame
}

// maxMaxFrame is MaxMaxFrame as a variable, so that normMax compiles where
// int is 32 bits wide (and the branch is never taken).
var maxMaxFrame uint64 = MaxMaxFrame
