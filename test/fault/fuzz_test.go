package fault

import (
	"strings"
	"testing"

	"github.com/switchboard-ipc/switchboard/ipc"
	"github.com/switchboard-ipc/switchboard/wire"
)

// FuzzHandshakePayloads feeds arbitrary bytes to the decoders of the HELLO
// and WELCOME payloads, which come from the peer before anything else is
// known about it: no panic, and what decodes encodes and decodes the same.
func FuzzHandshakePayloads(f *testing.F) {
	f.Add([]byte(`{"id":"","codec":"json","resume":false}`))
	f.Add([]byte(`{"id":"2046f4a7-dcef-465f-9c66-0381e01b0100","codec":"cbor","resume":true}`))
	f.Add([]byte(`{"id":"x","resumed":true,"acked":18446744073709551615,"maxFrame":-1}`))
	f.Add([]byte(`[]`))
	f.Add([]byte("{\"codec\":\"\xff\"}"))
	f.Fuzz(func(t *testing.T, b []byte) {
		var h wire.Hello
		if wire.UnmarshalHello(b, &h) == nil {
			p, err := wire.MarshalHello(&h)
			if err != nil {
				t.Fatalf("decoded HELLO %+v does not encode: %v", h, err)
			}
			var h2 wire.Hello
			if err := wire.UnmarshalHello(p, &h2); err != nil || h2 != h {
				t.Fatalf("HELLO round trip: %+v -> %q -> %+v, %v", h, p, h2, err)
			}
		}
		var w wire.Welcome
		if wire.UnmarshalWelcome(b, &w) == nil {
			p, err := wire.MarshalWelcome(&w)
			if err != nil {
				t.Fatalf("decoded WELCOME %+v does not encode: %v", w, err)
			}
			var w2 wire.Welcome
			if err := wire.UnmarshalWelcome(p, &w2); err != nil || w2 != w {
				t.Fatalf("WELCOME round trip: %+v -> %q -> %+v, %v", w, p, w2, err)
			}
		}
	})
}

// FuzzPattern checks subscription patterns, which a peer sends in SUB
// frames: no panic; a valid pattern without wildcards matches exactly
// itself; "*" stands for one token and ">" for one or more. Topics are not
// validated, so a token of a topic may be empty ("a..b"): "*" matches it.
func FuzzPattern(f *testing.F) {
	for _, s := range [][2]string{{"a.*", "a.b"}, {"a.>", "a.b.c"}, {">", "x"}, {"a..b", "a.b"}, {"*.*", "a.b"}, {"a.>.b", "a.x.b"}, {"", ""}} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, p, topic string) {
		valid := ipc.ValidPattern(p)
		m := ipc.MatchPattern(p, topic)
		if !valid {
			return
		}
		if !strings.ContainsAny(p, "*>") {
			if m != (p == topic) {
				t.Fatalf("MatchPattern(%q, %q) = %v for a pattern without wildcards", p, topic, m)
			}
			return
		}
		pt, tt := strings.Split(p, "."), strings.Split(topic, ".")
		want := len(tt) == len(pt) || (pt[len(pt)-1] == ">" && len(tt) >= len(pt))
		for i := 0; want && i < len(pt); i++ {
			switch pt[i] {
			case "*", ">":
			default:
				want = tt[i] == pt[i]
			}
		}
		if m != want {
			t.Fatalf("MatchPattern(%q, %q) = %v, want %v", p, topic, m, want)
		}
	})
}
