package wire

import (
	"bytes"
	"io"
	"testing"
	"testing/iotest"
)

func TestJSONRoundTripBasic(t *testing.T) {
	cases := []struct{ topic, msg string }{
		{"t", `null`},
		{"ünï\"co\\de\n\x01", `{"a":[1,2,{"b":null}],"c":"\u0000"}`},
		{"num", `-12.5e3`},
		{"", `"x"`},
	}
	var stream []byte
	for _, c := range cases {
		stream = AppendJSONFrame(stream, c.topic, []byte(c.msg))
	}
	for _, rd := range []io.Reader{bytes.NewReader(stream), iotest.OneByteReader(bytes.NewReader(stream))} {
		r := NewJSONReader(rd, 0)
		for _, c := range cases {
			topic, msg, err := r.ReadMessage()
			if err != nil {
				t.Fatal(err)
			}
			if topic != c.topic || string(msg) != c.msg {
				t.Fatalf("got %q %s, want %q %s", topic, msg, c.topic, c.msg)
			}
		}
		if _, _, err := r.ReadMessage(); err != io.EOF {
			t.Fatalf("end: %v", err)
		}
	}
}
