package wire

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
)

func TestDetect(t *testing.T) {
	cases := []struct {
		in   string
		want Protocol
		err  error
	}{
		{string(Preface[:]), Native, nil},
		{"\x00SWB\x02\x00\x00\x00", Native, nil}, // the version is ReadPreface's business
		{`{"topic":"a"}` + Delimiter, SocketIPC, nil},
		{" \t\r\n{", SocketIPC, nil},
		{"", 0, io.EOF},
		{"GET / HTTP/1.1\r\n", 0, ErrUnknownProtocol},
		{"[1]", 0, ErrUnknownProtocol},
		{"  x", 0, ErrUnknownProtocol},
		{"\x00SWC", 0, ErrBadPreface},
		{"\x00S", 0, ErrTruncated},
		{"   ", 0, ErrTruncated},
		{strings.Repeat(" ", 5000) + "{", 0, ErrUnknownProtocol},
	}
	for _, c := range cases {
		br := bufio.NewReaderSize(strings.NewReader(c.in), 4096)
		p, err := Detect(br)
		if p != c.want || !errors.Is(err, c.err) || (c.err == nil) != (err == nil) {
			t.Errorf("Detect(%.20q) = %v, %v; want %v, %v", c.in, p, err, c.want, c.err)
			continue
		}
		if c.err != nil && c.err != io.EOF {
			var de *DecodeError
			if !errors.As(err, &de) {
				t.Errorf("Detect(%.20q): %T is not a *DecodeError", c.in, err)
			}
		}
		if err == nil {
			rest, _ := io.ReadAll(br)
			if string(rest) != c.in {
				t.Errorf("Detect(%.20q) consumed bytes", c.in)
			}
		}
	}
}

func TestReadPreface(t *testing.T) {
	var buf bytes.Buffer
	if err := WritePreface(&buf); err != nil {
		t.Fatal(err)
	}
	if got := buf.String(); got != "\x00SWB\x01\x00\x00\x00" {
		t.Fatalf("WritePreface wrote %q", got)
	}
	if err := ReadPreface(&buf); err != nil {
		t.Fatal(err)
	}
	// Reserved bytes are ignored.
	if err := ReadPreface(strings.NewReader("\x00SWB\x01\x07\x00\xff")); err != nil {
		t.Fatal(err)
	}
	err := ReadPreface(strings.NewReader("\x00SWB\x02\x00\x00\x00"))
	var ve *VersionError
	var de *DecodeError
	if !errors.Is(err, ErrUnsupportedVersion) || !errors.As(err, &ve) || ve.Version != 2 || !errors.As(err, &de) {
		t.Fatalf("version 2: %v", err)
	}
	if got, want := err.Error(), "wire: unsupported protocol version 2 (native)"; got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
	if err := ReadPreface(strings.NewReader("\x00SWX\x01\x00\x00\x00")); !errors.Is(err, ErrBadPreface) {
		t.Fatalf("bad magic: %v", err)
	}
	if err := ReadPreface(strings.NewReader("\x00SWB\x01")); !errors.Is(err, ErrTruncated) || !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("short: %v", err)
	}
	if err := ReadPreface(strings.NewReader("")); err != io.EOF {
		t.Fatalf("empty: %v", err)
	}
}

func TestHelloWelcome(t *testing.T) {
	h := Hello{ID: "6ba7b810-9dad-41d1-80b4-00c04fd430c8", Codec: "cbor", Resume: true}
	b, err := MarshalHello(&h)
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != `{"id":"6ba7b810-9dad-41d1-80b4-00c04fd430c8","codec":"cbor","resume":true}` {
		t.Fatalf("HELLO payload %s", b)
	}
	var h2 Hello
	if err := UnmarshalHello(b, &h2); err != nil || h2 != h {
		t.Fatalf("got %+v, %v", h2, err)
	}
	w := Welcome{ID: h.ID, Resumed: true, Acked: 41, MaxFrame: DefaultMaxFrame}
	b, err = MarshalWelcome(&w)
	if err != nil {
		t.Fatal(err)
	}
	var w2 Welcome
	if err := UnmarshalWelcome(b, &w2); err != nil || w2 != w {
		t.Fatalf("got %+v, %v", w2, err)
	}
	// Unknown fields are ignored (the version rule).
	if err := UnmarshalWelcome([]byte(`{"id":"x","future":[1,2],"acked":3}`), &w2); err != nil || w2.Acked != 3 {
		t.Fatalf("unknown field: %+v, %v", w2, err)
	}
	if err := UnmarshalHello([]byte(`{"resume":"yes"}`), &h2); !errors.Is(err, ErrInvalidJSON) {
		t.Fatalf("bad HELLO: %v", err)
	}
	if err := UnmarshalWelcome([]byte(`[`), &w2); !errors.Is(err, ErrInvalidJSON) {
		t.Fatalf("bad WELCOME: %v", err)
	}
}
