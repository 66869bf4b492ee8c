package channel

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// The member protocol, spoken between every member and the host over the
// channel's socket. A frame is
//
//	u32 length of the rest (big endian)
//	u8  type
//	u8  flags
//	u64 seq    (pub, ack, msg: the origin's sequence number; sub/subok: request id)
//	u64 dseq   (msg, mack: the per-session delivery number)
//	u64 inc    (hello: the member's incarnation; msg: the origin's)
//	4 × (u32 length + bytes): id, topic, reply, data
//
// id is a member id (hello) or the origin of a message (pub, msg). The
// incarnation is a random number each Open draws: a process that reuses a
// member id (WithID) starts its sequence numbers again, and (id, inc, seq)
// still names each publication once.
const (
	frameHello   byte = iota + 1 // member → host: id, data = JSON []string patterns
	frameWelcome                 // host → member: id = host member id, data = JSON members
	frameSub                     // member → host: topic = pattern, seq = request id
	frameUnsub                   // member → host: topic = pattern, seq = request id
	frameSubOK                   // host → member: seq = request id
	framePub                     // member → host: id, seq, topic, reply, data
	frameAck                     // host → member: seq of a pub delivered everywhere
	frameMsg                     // host → member: dseq, id, seq, topic, reply, data
	frameMack                    // member → host: every msg up to dseq received
	frameBye                     // member → host: leaving; drop my session now
)

// flagNoResponders marks a msg that answers a request nobody could receive.
const flagNoResponders byte = 1

const maxFrame = 16 << 20

var errFrameTooLarge = errors.New("channel: frame too large")

type frame struct {
	typ, flags byte
	seq, dseq  uint64
	inc        uint64
	id, topic  string
	reply      string
	data       []byte
}

func appendFrame(dst []byte, f *frame) []byte {
	dst = binary.BigEndian.AppendUint32(dst, uint32(frameSize(f)-4))
	dst = append(dst, f.typ, f.flags)
	dst = binary.BigEndian.AppendUint64(dst, f.seq)
	dst = binary.BigEndian.AppendUint64(dst, f.dseq)
	dst = binary.BigEndian.AppendUint64(dst, f.inc)
	for _, s := range [...]string{f.id, f.topic, f.reply} {
		dst = binary.BigEndian.AppendUint32(dst, uint32(len(s)))
		dst = append(dst, s...)
	}
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(f.data)))
	return append(dst, f.data...)
}

// mackEvery bounds the bytes of msg frames a member takes in before it
// acknowledges them when it keeps finding more to read.
const mackEvery = 1 << 20

// frameSize returns the encoded size of f.
func frameSize(f *frame) int {
	return 4 + 2 + 24 + 16 + len(f.id) + len(f.topic) + len(f.reply) + len(f.data)
}

// frameBuffered reports whether a whole frame is buffered in r, so that the
// next readFrame does not read the connection.
func frameBuffered(r *bufio.Reader) bool {
	n := r.Buffered()
	if n < 4 {
		return false
	}
	b, _ := r.Peek(4)
	return uint64(n) >= 4+uint64(binary.BigEndian.Uint32(b))
}

// readFrame reads one frame; f's strings and data are fresh copies.
func readFrame(r *bufio.Reader, f *frame) error {
	var hdr [4]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return err
	}
	n := binary.BigEndian.Uint32(hdr[:])
	if n > maxFrame {
		return errFrameTooLarge
	}
	if n < 2+24+16 {
		return fmt.Errorf("channel: short frame (%d bytes)", n)
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(r, b); err != nil {
		return err
	}
	f.typ, f.flags = b[0], b[1]
	f.seq = binary.BigEndian.Uint64(b[2:])
	f.dseq = binary.BigEndian.Uint64(b[10:])
	f.inc = binary.BigEndian.Uint64(b[18:])
	b = b[26:]
	var fields [4][]byte
	for i := range fields {
		if len(b) < 4 {
			return errors.New("channel: truncated frame")
		}
		l := binary.BigEndian.Uint32(b)
		b = b[4:]
		if uint32(len(b)) < l {
			return errors.New("channel: truncated frame")
		}
		fields[i], b = b[:l:l], b[l:]
	}
	if len(b) != 0 {
		return errors.New("channel: trailing bytes in frame")
	}
	f.id, f.topic, f.reply = string(fields[0]), string(fields[1]), string(fields[2])
	f.data = fields[3]
	return nil
}
