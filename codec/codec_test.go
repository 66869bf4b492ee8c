package codec

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"
)

func TestNames(t *testing.T) {
	for _, c := range []Codec{JSON, Raw, CBOR} {
		if ByName(c.Name()) != c {
			t.Errorf("ByName(%q) is not the codec", c.Name())
		}
	}
	if ByName("xml") != nil {
		t.Error("ByName(xml) is not nil")
	}
}

type point struct {
	X, Y int
	Tag  string `json:"tag,omitempty"`
}

func TestRoundTrip(t *testing.T) {
	values := []any{
		point{1, -2, "ü"},
		map[string]any{"a": []any{"x", true, nil}, "b": "c"},
		"text",
		3.5,
	}
	for _, c := range []Codec{JSON, CBOR} {
		for _, v := range values {
			b, err := c.Marshal(v)
			if err != nil {
				t.Fatalf("%s: Marshal(%v): %v", c.Name(), v, err)
			}
			got := reflect.New(reflect.TypeOf(v))
			if err := c.Unmarshal(b, got.Interface()); err != nil {
				t.Fatalf("%s: Unmarshal(%x): %v", c.Name(), b, err)
			}
			if !reflect.DeepEqual(got.Elem().Interface(), v) {
				t.Errorf("%s: got %#v, want %#v", c.Name(), got.Elem().Interface(), v)
			}
		}
	}
}

func TestJSONPassThrough(t *testing.T) {
	raw := json.RawMessage(`{"a":1}`)
	b, err := JSON.Marshal(raw)
	if err != nil || string(b) != `{"a":1}` {
		t.Fatalf("RawMessage: %s, %v", b, err)
	}
	b, err = JSON.Marshal([]byte(` [1, 2] `))
	if err != nil || string(b) != ` [1, 2] ` {
		t.Fatalf("[]byte: %q, %v", b, err)
	}
	_, err = JSON.Marshal([]byte(`{oops`))
	var ce *Error
	if !errors.Is(err, ErrInvalidJSON) || !errors.As(err, &ce) || ce.Op != OpMarshal || ce.Codec != "json" {
		t.Fatalf("invalid bytes: %v", err)
	}
	var got json.RawMessage
	if err := JSON.Unmarshal([]byte(` {"b": 2} `), &got); err != nil || string(got) != `{"b": 2}` {
		t.Fatalf("Unmarshal RawMessage: %s, %v", got, err)
	}
	var gotb []byte
	if err := JSON.Unmarshal([]byte(`"x"`), &gotb); err != nil || string(gotb) != `"x"` {
		t.Fatalf("Unmarshal []byte: %s, %v", gotb, err)
	}
	if err := JSON.Unmarshal([]byte(`nope`), &gotb); !errors.Is(err, ErrInvalidJSON) {
		t.Fatalf("Unmarshal bad JSON into []byte: %v", err)
	}
}

func TestJSONErrors(t *testing.T) {
	_, err := JSON.Marshal(make(chan int))
	var ce *Error
	if !errors.As(err, &ce) || ce.Op != OpMarshal || ce.Type != reflect.TypeOf(make(chan int)) {
		t.Fatalf("Marshal(chan): %v", err)
	}
	var n int
	if err := JSON.Unmarshal([]byte(`"s"`), &n); !errors.As(err, &ce) || ce.Op != OpUnmarshal {
		t.Fatalf("Unmarshal string into int: %v", err)
	}
	if err := JSON.Unmarshal([]byte(`1`), n); !errors.Is(err, ErrUnsupportedType) {
		t.Fatalf("Unmarshal into non-pointer: %v", err)
	}
}

func TestRaw(t *testing.T) {
	for _, v := range []any{[]byte("ab\x00"), json.RawMessage("ab\x00"), "ab\x00"} {
		b, err := Raw.Marshal(v)
		if err != nil || string(b) != "ab\x00" {
			t.Fatalf("Marshal(%T): %q, %v", v, b, err)
		}
	}
	if b, err := Raw.Marshal(nil); err != nil || len(b) != 0 {
		t.Fatalf("Marshal(nil): %q, %v", b, err)
	}
	data := []byte("xyz")
	var b []byte
	var s string
	var rm json.RawMessage
	if err := Raw.Unmarshal(data, &b); err != nil || string(b) != "xyz" {
		t.Fatal(err)
	}
	data[0] = 'X'
	if string(b) != "xyz" {
		t.Fatal("Unmarshal into *[]byte kept the caller's data")
	}
	if err := Raw.Unmarshal(data, &s); err != nil || s != "Xyz" {
		t.Fatal(err)
	}
	if err := Raw.Unmarshal(data, &rm); err != nil || string(rm) != "Xyz" {
		t.Fatal(err)
	}
	var ce *Error
	if _, err := Raw.Marshal(42); !errors.Is(err, ErrUnsupportedType) || !errors.As(err, &ce) || ce.Codec != "raw" {
		t.Fatalf("Marshal(int): %v", err)
	}
	var n int
	if err := Raw.Unmarshal(data, &n); !errors.Is(err, ErrUnsupportedType) {
		t.Fatalf("Unmarshal into *int: %v", err)
	}
	if err := Raw.Unmarshal(data, (*[]byte)(nil)); !errors.Is(err, ErrUnsupportedType) {
		t.Fatalf("Unmarshal into nil *[]byte: %v", err)
	}
	if got, want := (&Error{Codec: "raw", Op: OpMarshal, Type: reflect.TypeOf(0), Err: ErrUnsupportedType}).Error(),
		"codec: raw: marshal int: codec: unsupported type"; got != want {
		t.Fatalf("Error() = %q, want %q", got, want)
	}
}

func TestCBOR(t *testing.T) {
	// Deterministic: map keys sorted, so equal maps give equal bytes.
	a, err := CBOR.Marshal(map[string]int{"b": 2, "a": 1, "c": 3})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := CBOR.Marshal(map[string]int{"c": 3, "a": 1, "b": 2})
	if string(a) != string(b) {
		t.Fatalf("not deterministic: %x vs %x", a, b)
	}
	// Bytes stay bytes.
	enc, err := CBOR.Marshal([]byte{0, 1, 2})
	if err != nil || string(enc) != "\x43\x00\x01\x02" {
		t.Fatalf("[]byte: %x, %v", enc, err)
	}
	// Interface targets get string-keyed maps.
	var v any
	if err := CBOR.Unmarshal(a, &v); err != nil {
		t.Fatal(err)
	}
	if m, ok := v.(map[string]any); !ok || m["a"] != uint64(1) {
		t.Fatalf("got %#v", v)
	}
	var ce *Error
	if _, err := CBOR.Marshal(make(chan int)); !errors.Is(err, ErrUnsupportedType) || !errors.As(err, &ce) || ce.Codec != "cbor" {
		t.Fatalf("Marshal(chan): %v", err)
	}
	if err := CBOR.Unmarshal([]byte{0xff, 0x00}, &v); !errors.As(err, &ce) || ce.Op != OpUnmarshal {
		t.Fatalf("Unmarshal(garbage): %v", err)
	}
	if err := CBOR.Unmarshal(a, v); !errors.Is(err, ErrUnsupportedType) {
		t.Fatalf("Unmarshal into non-pointer: %v", err)
	}
	// Nesting beyond the limit is an error, not a stack overflow.
	deep := make([]byte, 10000)
	for i := range deep {
		deep[i] = 0x81 // array of one element
	}
	if err := CBOR.Unmarshal(deep, &v); err == nil {
		t.Fatal("deeply nested input decoded")
	}
}
