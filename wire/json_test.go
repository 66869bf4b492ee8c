package wire

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"strconv"
	"strings"
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

func readAll(t *testing.T, r *JSONReader) (topics []string, msgs []string, err error) {
	t.Helper()
	for {
		topic, msg, err := r.ReadMessage()
		if err != nil {
			return topics, msgs, err
		}
		topics = append(topics, topic)
		msgs = append(msgs, string(msg))
	}
}

func TestJSONShapes(t *testing.T) {
	cases := []struct {
		in, topic, msg string
	}{
		{`{"topic":"a","message":null}`, "a", `null`},
		{`{"topic":"a"}`, "a", `null`},
		{`{"topic":"a","message":42}`, "a", `42`},
		{`{"topic":"a","message":-1.5e-7}`, "a", `-1.5e-7`},
		{`{"topic":"a","message":"str\u0000ing"}`, "a", `"str\u0000ing"`},
		{`{"topic":"a","message":{"x":{"y":[1,{"z":null}]}}}`, "a", `{"x":{"y":[1,{"z":null}]}}`},
		{`{"topic":"ünïcødé ✓ 🚀","message":"日本語"}`, "ünïcødé ✓ 🚀", `"日本語"`},
		{`{"topic":"","message":true}`, "", `true`},
		// Shapes JSON.stringify does not produce: the general decoder.
		{` { "topic" : "a" , "message" : [ 1 ] } `, "a", `[ 1 ]`},
		{"\n{\"message\":1,\"topic\":\"b\"}", "b", `1`},
		{`{"topic":"esc\"aped\\\n\u00e9"}`, "esc\"aped\\\né", `null`},
		{`{"topic":"a","message":1,"topic":"c"}`, "c", `1`},
		{`{"topic":"a","extra":{},"message":2}`, "a", `2`},
	}
	for _, c := range cases {
		r := NewJSONReader(strings.NewReader(c.in+Delimiter), 0)
		topic, msg, err := r.ReadMessage()
		if err != nil || topic != c.topic || string(msg) != c.msg {
			t.Errorf("%s: got %q %s %v; want %q %s", c.in, topic, msg, err, c.topic, c.msg)
		}
	}
}

func TestJSONErrors(t *testing.T) {
	cases := []struct {
		in   string
		want error
	}{
		{Delimiter, ErrInvalidJSON},
		{`[1,2]` + Delimiter, ErrInvalidJSON},
		{`null` + Delimiter, ErrInvalidJSON},
		{`"topic"` + Delimiter, ErrInvalidJSON},
		{`{"topic":"a",}` + Delimiter, ErrInvalidJSON},
		{`{"topic":"a","message":}` + Delimiter, ErrInvalidJSON},
		{`{"topic":"a","message":1} x` + Delimiter, ErrInvalidJSON},
		{`{"message":1}` + Delimiter, ErrBadTopic},
		{`{"topic":1,"message":1}` + Delimiter, ErrBadTopic},
		{`{"topic":null}` + Delimiter, ErrBadTopic},
		{`{"Topic":"a"}` + Delimiter, ErrBadTopic},
		{"{\"topic\":\"\xff\"}" + Delimiter, ErrInvalidUTF8},
		{"{\"topic\":\"a\",\"message\":\"\xc3\x28\"}" + Delimiter, ErrInvalidUTF8},
		{`{"topic":"a"}`, ErrTruncated},
		{`{"topic":"a"}` + "\x00", ErrTruncated},
		{"\x00" + Delimiter, ErrInvalidJSON},
	}
	for _, c := range cases {
		r := NewJSONReader(strings.NewReader(c.in), 0)
		_, _, err := r.ReadMessage()
		var de *DecodeError
		if !errors.Is(err, c.want) || !errors.As(err, &de) || de.Protocol != SocketIPC {
			t.Errorf("%q: got %v, want %v", c.in, err, c.want)
			continue
		}
		if _, _, err2 := r.ReadMessage(); err2 != err {
			t.Errorf("%q: error not sticky: %v", c.in, err2)
		}
	}
	_, _, err := NewJSONReader(strings.NewReader(`{"topic":"a"}`), 0).ReadMessage()
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("truncated: %v does not match io.ErrUnexpectedEOF", err)
	}
}

func TestJSONEndOfStream(t *testing.T) {
	for _, in := range []string{"", " \n", `{"topic":"a"}` + Delimiter + "\r\n"} {
		r := NewJSONReader(strings.NewReader(in), 0)
		_, _, err := readAll(t, r)
		if err != io.EOF {
			t.Errorf("%q: %v, want io.EOF", in, err)
		}
	}
}

func TestJSONLimit(t *testing.T) {
	const limit = 200 << 10
	prefix := `{"topic":"big","message":"`
	body := strings.Repeat("x", limit-len(prefix)-2)
	exact := prefix + body + `"}`
	if len(exact) != limit {
		t.Fatal(len(exact))
	}
	smalls := strings.Repeat(`{"topic":"s"}`+Delimiter, 2*shrinkWindow)
	r := NewJSONReader(strings.NewReader(exact+Delimiter+smalls), limit)
	topic, msg, err := r.ReadMessage()
	if err != nil || topic != "big" || len(msg) != len(body)+2 {
		t.Fatalf("exactly the limit: %q %d %v", topic, len(msg), err)
	}
	if len(r.buf) > limit+len(Delimiter) {
		t.Fatalf("buffer grew to %d bytes, beyond the limit", len(r.buf))
	}
	for i := range 2 * shrinkWindow {
		if topic, _, err := r.ReadMessage(); err != nil || topic != "s" {
			t.Fatalf("message %d after the big one: %q %v", i, topic, err)
		}
	}
	if len(r.buf) > DefaultBufferSize {
		t.Fatalf("buffer stayed at %d bytes after %d small messages", len(r.buf), 2*shrinkWindow)
	}

	over := prefix + body + `x"}`
	r = NewJSONReader(strings.NewReader(over+Delimiter), limit)
	if _, _, err := r.ReadMessage(); !errors.Is(err, ErrFrameTooLarge) {
		t.Fatalf("limit+1: %v", err)
	}

	// A peer that sends gigabytes without a delimiter: rejected after at most
	// limit+2 bytes.
	src := &endless{head: []byte(prefix)}
	src2 := &onesReader{src}
	r = NewJSONReader(src2, limit)
	if _, _, err := r.ReadMessage(); !errors.Is(err, ErrFrameTooLarge) {
		t.Fatalf("endless: %v", err)
	}
	if src.n > int64(limit+len(Delimiter)) || len(r.buf) > limit+len(Delimiter) {
		t.Fatalf("read %d bytes, buffer %d, before rejecting", src.n, len(r.buf))
	}
}

// onesReader turns the zeros of an endless reader into 'x', so no delimiter
// ever comes.
type onesReader struct{ e *endless }

func (o *onesReader) Read(p []byte) (int, error) {
	n, err := o.e.Read(p)
	for i := range p[:n] {
		if p[i] == 0 {
			p[i] = 'x'
		}
	}
	return n, err
}

func TestJSONOneMiB(t *testing.T) {
	big := `"` + strings.Repeat("ü", 512<<10) + `"` // 1 MiB of UTF-8
	stream := AppendJSONFrame(nil, "big", []byte(big))
	stream = AppendJSONFrame(stream, "after", []byte(`1`))
	for _, rd := range []io.Reader{bytes.NewReader(stream), iotest.HalfReader(bytes.NewReader(stream))} {
		r := NewJSONReader(rd, 0)
		topics, msgs, err := readAll(t, r)
		if err != io.EOF || len(msgs) != 2 || msgs[0] != big || topics[1] != "after" {
			t.Fatalf("got %d messages, %v", len(msgs), err)
		}
	}
}

func TestJSONManyInOneRead(t *testing.T) {
	var stream []byte
	const n = 1000
	for i := 0; i < n; i++ {
		stream = AppendJSONFrame(stream, "t", []byte(`{"i":`+strconv.Itoa(i)+`}`))
	}
	cr := &countingReader{r: bytes.NewReader(stream)}
	r := NewJSONReader(cr, 0)
	_, msgs, err := readAll(t, r)
	if err != io.EOF || len(msgs) != n || msgs[n-1] != `{"i":999}` {
		t.Fatalf("got %d messages, %v", len(msgs), err)
	}
	// 4, 8, 16 and 32 KiB while the buffer grows, and the end of the stream.
	if cr.calls > 6 {
		t.Fatalf("%d messages in %d bytes took %d reads", n, len(stream), cr.calls)
	}
}

func TestAppendJSONFrameEscapes(t *testing.T) {
	topics := []string{"plain", `q"uote`, `back\slash`, "ctl\x00\x01\x1f\b\f\n\r\t", "ü✓🚀", "<&>", "bad\xffutf8", "\u2028"}
	for _, topic := range topics {
		b := AppendJSONFrame(nil, topic, nil)
		if !bytes.HasSuffix(b, []byte(Delimiter)) || bytes.Count(b, []byte{0}) != 2 {
			t.Fatalf("%q: %q", topic, b)
		}
		var v struct {
			Topic   string          `json:"topic"`
			Message json.RawMessage `json:"message"`
		}
		if err := json.Unmarshal(b[:len(b)-2], &v); err != nil {
			t.Fatalf("%q: %s: %v", topic, b, err)
		}
		want := strings.ToValidUTF8(topic, "\ufffd")
		if v.Topic != want || string(v.Message) != "null" {
			t.Fatalf("%q: decoded %q %s", topic, v.Topic, v.Message)
		}
	}
	if got := string(AppendJSONFrame(nil, "a\"\n\x01", []byte(`[1]`))); got != `{"topic":"a\"\n\u0001","message":[1]}`+Delimiter {
		t.Fatalf("got %q", got)
	}
}

func TestJSONZeroAllocs(t *testing.T) {
	one := AppendJSONFrame(nil, "orders.new", []byte(`{"id":1,"items":["tea","cake"]}`))
	r := NewJSONReader(bytes.NewReader(bytes.Repeat(one, 1000)), 0)
	if _, _, err := r.ReadMessage(); err != nil {
		t.Fatal(err)
	}
	allocs := testing.AllocsPerRun(500, func() {
		if _, _, err := r.ReadMessage(); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("ReadMessage: %v allocs per message", allocs)
	}
	dst := make([]byte, 0, 256)
	msg := []byte(`{"id":1}`)
	allocs = testing.AllocsPerRun(100, func() { dst = AppendJSONFrame(dst[:0], "orders.\"new\"", msg) })
	if allocs != 0 {
		t.Errorf("AppendJSONFrame: %v allocs", allocs)
	}
}

// TestAppendJSONFrameMatchesJSONStringify compares with testdata/stringify.golden,
// written by Node.js: JSON.stringify({topic, message}) + "\0\0" for a topic
// with each ASCII character, then two ordinary messages. The encoder must
// produce the same bytes as socket-ipc's.
func TestAppendJSONFrameMatchesJSONStringify(t *testing.T) {
	want, err := os.ReadFile("testdata/stringify.golden")
	if err != nil {
		t.Fatal(err)
	}
	var got []byte
	for c := 0; c < 0x80; c++ {
		got = AppendJSONFrame(got, "a"+string(rune(c))+"é\u2028🚀", []byte("null"))
	}
	got = AppendJSONFrame(got, "orders.new", []byte(`{"id":7,"items":["tea"],"note":null}`))
	// JSON.stringify omits an undefined message; the reader maps it to null.
	got = append(got, `{"topic":"t"}`+Delimiter...)
	if !bytes.Equal(got, want) {
		t.Fatalf("differs from JSON.stringify:\n got %q\nwant %q", got, want)
	}
	r := NewJSONReader(bytes.NewReader(want), 0)
	topics, msgs, err := readAll(t, r)
	if err != io.EOF || len(msgs) != 0x80+2 || topics[0x80] != "orders.new" || msgs[0x80+1] != "null" {
		t.Fatalf("reading the golden file: %d messages, %v", len(msgs), err)
	}
}
