package wire

import (
	"bytes"
	"errors"
	"io"
	"testing"
	"testing/iotest"
)

func sampleFrames() []Frame {
	origin := [16]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}
	return []Frame{
		{Type: TypeHello, Payload: []byte(`{"id":"","codec":"json","resume":false}`)},
		{Type: TypeWelcome, Payload: []byte(`{"id":"x","resumed":false,"acked":0,"maxFrame":4194304}`)},
		{Type: TypeMsg, Seq: 1, Topic: []byte("orders.new"), Payload: []byte(`{"n":1}`)},
		{Type: TypeMsg, Flags: FlagOrigin | FlagNoAck, Seq: 1<<64 - 1, Topic: []byte("ünïcödé.✓"), Origin: origin, Payload: []byte{0, 1, 2, 0xff}},
		{Type: TypeReq, Seq: 7, ID: 42, Topic: []byte("svc.echo"), Payload: []byte(`"hi"`)},
		{Type: TypeReply, Flags: FlagError, ID: 42, Payload: []byte("no responders")},
		{Type: TypeReply, ID: 43, Flags: FlagOrigin, Origin: origin},
		{Type: TypeSub, ID: 1, Topic: []byte("orders.>")},
		{Type: TypeSubAck, ID: 1},
		{Type: TypeUnsub, ID: 1},
		{Type: TypeAck, Seq: 1000},
		{Type: TypePing, ID: 9},
		{Type: TypePong, ID: 9},
		{Type: TypeGoAway, ID: GoAwayUnsupportedVersion, Payload: []byte("unsupported version")},
		{Type: 200, Flags: 0x80, Topic: []byte("future"), Payload: []byte("x")},
	}
}

func framesEqual(a, b *Frame) bool {
	return a.Type == b.Type && a.Flags == b.Flags && a.Seq == b.Seq && a.ID == b.ID &&
		bytes.Equal(a.Topic, b.Topic) && a.Origin == b.Origin && bytes.Equal(a.Payload, b.Payload)
}

func TestRoundTripEveryType(t *testing.T) {
	for _, want := range sampleFrames() {
		t.Run(want.Type.String(), func(t *testing.T) {
			b := AppendFrame(nil, &want)
			if len(b) != FrameSize(&want) {
				t.Fatalf("len %d, FrameSize %d", len(b), FrameSize(&want))
			}
			r := NewReader(bytes.NewReader(b), 0)
			var got Frame
			if err := r.ReadFrame(&got); err != nil {
				t.Fatal(err)
			}
			if !framesEqual(&got, &want) {
				t.Fatalf("got %+v, want %+v", got, want)
			}
			if err := r.ReadFrame(&got); err != io.EOF {
				t.Fatalf("after last frame: %v, want io.EOF", err)
			}
		})
	}
}

func TestManyFramesByteByByte(t *testing.T) {
	var stream []byte
	frames := sampleFrames()
	for i := range frames {
		stream = AppendFrame(stream, &frames[i])
	}
	for _, rd := range []io.Reader{bytes.NewReader(stream), iotest.OneByteReader(bytes.NewReader(stream)), iotest.HalfReader(bytes.NewReader(stream))} {
		r := NewReader(rd, 0)
		var got Frame
		for i := range frames {
			if err := r.ReadFrame(&got); err != nil {
				t.Fatalf("frame %d: %v", i, err)
			}
			if !framesEqual(&got, &frames[i]) {
				t.Fatalf("frame %d: got %+v, want %+v", i, got, frames[i])
			}
		}
		if err := r.ReadFrame(&got); err != io.EOF {
			t.Fatalf("end: %v, want io.EOF", err)
		}
	}
}

func TestTruncatedAtEveryOffset(t *testing.T) {
	f := Frame{Type: TypeMsg, Flags: FlagOrigin, Seq: 3, Topic: []byte("a.b"), Payload: []byte("payload")}
	b := AppendFrame(nil, &f)
	for n := 1; n < len(b); n++ {
		r := NewReader(bytes.NewReader(b[:n]), 0)
		var got Frame
		err := r.ReadFrame(&got)
		var de *DecodeError
		if !errors.As(err, &de) || !errors.Is(err, ErrTruncated) || !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Fatalf("cut at %d: %v, want a truncation DecodeError", n, err)
		}
		if de.Protocol != Native {
			t.Fatalf("protocol %v", de.Protocol)
		}
	}
}
