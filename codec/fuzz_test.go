package codec

import (
	"bytes"
	"testing"
)

// roundTrip checks, for bytes c can decode, that encoding the decoded value
// and decoding and encoding again gives the same bytes: decode(encode(v))
// loses nothing that encode looks at.
func roundTrip(t *testing.T, c Codec, data []byte) {
	var v any
	if err := c.Unmarshal(data, &v); err != nil {
		return
	}
	b1, err := c.Marshal(v)
	if err != nil {
		t.Fatalf("%s: Marshal(%#v) of decoded %x: %v", c.Name(), v, data, err)
	}
	var v2 any
	if err := c.Unmarshal(b1, &v2); err != nil {
		t.Fatalf("%s: Unmarshal(%x) of own output: %v", c.Name(), b1, err)
	}
	b2, err := c.Marshal(v2)
	if err != nil {
		t.Fatalf("%s: Marshal(%#v): %v", c.Name(), v2, err)
	}
	if !bytes.Equal(b1, b2) {
		t.Fatalf("%s: %x then %x", c.Name(), b1, b2)
	}
}

func FuzzJSON(f *testing.F) {
	for _, s := range []string{`null`, `{"a":[1,2.5,"x",true,null]}`, `"\u00e9\ud83d\ude80"`, `1e400`, `[`, `{"a":{"a":{}}}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) { roundTrip(t, JSON, data) })
}

func FuzzCBOR(f *testing.F) {
	for _, v := range []any{nil, map[string]any{"a": []any{1, 2.5, "x", true}}, []byte{0, 1}, -1, "é", 1.5} {
		b, err := CBOR.Marshal(v)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte{0xff})
	f.Add([]byte{0xc1, 0x1a, 0, 0, 0, 1}) // a tagged time
	f.Fuzz(func(t *testing.T, data []byte) { roundTrip(t, CBOR, data) })
}

func FuzzRaw(f *testing.F) {
	f.Add([]byte("bytes\x00\xff"))
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := Raw.Marshal(data)
		if err != nil {
			t.Fatal(err)
		}
		var out []byte
		if err := Raw.Unmarshal(b, &out); err != nil || !bytes.Equal(out, data) {
			t.Fatalf("got %q, %v", out, err)
		}
		var s string
		if err := Raw.Unmarshal(data, &s); err != nil || s != string(data) {
			t.Fatalf("string: %q, %v", s, err)
		}
	})
}
