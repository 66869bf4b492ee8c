package wire

import (
	"bufio"
	"bytes"
	"encoding/json"
	"testing"
	"unicode/utf8"
)

const fuzzMax = 1 << 16

func FuzzReadFrame(f *testing.F) {
	for _, fr := range sampleFrames() {
		f.Add(AppendFrame(nil, &fr))
	}
	f.Add(append(AppendFrame(nil, &Frame{Type: TypeAck, Seq: 5}), 0, 0, 0))
	f.Add(header(MinFrameLen-1, TypeMsg, 0, 0))
	f.Add(header(fuzzMax+1, TypeMsg, 0, 0))
	f.Add(append(header(MinFrameLen+2, TypeMsg, 0, 2), 0xc3, 0x28))
	f.Fuzz(func(t *testing.T, data []byte) {
		r := NewReader(bytes.NewReader(data), fuzzMax)
		var fr, again Frame
		defer func() {
			if len(r.buf) > 4+fuzzMax {
				t.Fatalf("buffer grew to %d bytes", len(r.buf))
			}
		}()
		for i := 0; i < 1000; i++ {
			if err := r.ReadFrame(&fr); err != nil {
				return
			}
			if err := fr.Validate(fuzzMax); err != nil {
				t.Fatalf("decoded frame does not validate: %v", err)
			}
			if !utf8.Valid(fr.Topic) {
				t.Fatalf("decoded topic %q is not UTF-8", fr.Topic)
			}
			enc := AppendFrame(nil, &fr)
			if len(enc) != FrameSize(&fr) {
				t.Fatalf("encoded %d bytes, FrameSize %d", len(enc), FrameSize(&fr))
			}
			if err := NewReader(bytes.NewReader(enc), fuzzMax).ReadFrame(&again); err != nil {
				t.Fatalf("re-decoding %x: %v", enc, err)
			}
			if !framesEqual(&fr, &again) {
				t.Fatalf("round trip: %+v != %+v", fr, again)
			}
		}
	})
}

func FuzzJSONReader(f *testing.F) {
	seeds := []string{
		`{"topic":"a","message":{"x":[1,2,null]}}` + Delimiter,
		`{"topic":"a"}` + Delimiter + `{"topic":"b","message":"é"}` + Delimiter,
		` {"message":1, "topic":"esc\"\u00e9"} ` + Delimiter,
		`{"topic":1}` + Delimiter,
		`[]` + Delimiter,
		"\x00\x00\x00",
		`{"topic":"a","message":1,"topic":"b"}` + Delimiter,
		`{"topic":"t","message":"unterminated`,
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		r := NewJSONReader(bytes.NewReader(data), fuzzMax)
		defer func() {
			if len(r.buf) > fuzzMax+len(Delimiter) {
				t.Fatalf("buffer grew to %d bytes", len(r.buf))
			}
		}()
		for i := 0; i < 1000; i++ {
			topic, msg, err := r.ReadMessage()
			if err != nil {
				return
			}
			if !utf8.ValidString(topic) || !json.Valid(msg) || len(msg) > fuzzMax {
				t.Fatalf("decoded %q %q", topic, msg)
			}
			enc := AppendJSONFrame(nil, topic, msg)
			t2, m2, err := NewJSONReader(bytes.NewReader(enc), 0).ReadMessage()
			if err != nil || t2 != topic || !bytes.Equal(m2, msg) {
				t.Fatalf("round trip of %q %q: %q %q %v", topic, msg, t2, m2, err)
			}
		}
	})
}

func FuzzDetect(f *testing.F) {
	for _, s := range []string{string(Preface[:]), "\x00SWB\x09", " {", "\x00", "", "\r\n\t x", "\x00SWX"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		br := bufio.NewReaderSize(bytes.NewReader(data), 16)
		p, err := Detect(br)
		if err != nil {
			if p != 0 {
				t.Fatalf("protocol %v with error %v", p, err)
			}
			return
		}
		if br.Buffered() > len(data) {
			t.Fatal("buffered more than the input")
		}
		rest := make([]byte, len(data))
		n, _ := br.Read(rest)
		if !bytes.HasPrefix(data, rest[:n]) || n == 0 {
			t.Fatal("Detect consumed bytes")
		}
		switch p {
		case Native:
			if !bytes.HasPrefix(data, Preface[:4]) {
				t.Fatalf("native without magic: %q", data)
			}
		case SocketIPC:
			if b := bytes.TrimLeft(data, " \t\r\n"); len(b) == 0 || b[0] != '{' {
				t.Fatalf("socket-ipc without '{': %q", data)
			}
		default:
			t.Fatalf("protocol %v", p)
		}
	})
}

// FuzzJSONFastPath holds the allocation-free decoder of the common shape to
// the answers of the general one.
func FuzzJSONFastPath(f *testing.F) {
	for _, s := range []string{`{"topic":"a","message":[1]}`, `{"topic":"a"}`, `{"topic":"","message":"x"} `, `{"topic":"a","message":1,"topic":"b"}`, `{"topic":"a","message":{}}}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if !utf8.Valid(data) {
			return
		}
		topic, msg, ok := parseFast(data)
		if !ok {
			return
		}
		var r JSONReader
		t2, m2, err := r.parseSlow(data)
		if err != nil || t2 != string(topic) || !bytes.Equal(m2, msg) {
			t.Fatalf("fast %q %q, general %q %q %v", topic, msg, t2, m2, err)
		}
	})
}
