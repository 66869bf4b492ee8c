package main

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestPubParseMessage(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{`42`, `42`},
		{`-1.5e3`, `-1.5e3`},
		{`"hello"`, `"hello"`},
		{`null`, `null`},
		{`true`, `true`},
		{`{"a": [1, 2, {"b": null}]}`, `{"a":[1,2,{"b":null}]}`},
		{"  [1,\n 2]  ", `[1,2]`},
		{`hello world`, `"hello world"`},
		{``, `""`},
		{`{"a":`, `"{\"a\":"`},
		{`a<b & c>d`, `"a<b & c>d"`},
		{`héllo ☃`, `"héllo ☃"`},
		{"tab\there", `"tab\there"`},
		{"bad \xff utf8", `"bad ` + "\uFFFD" + ` utf8"`},
		{`'single'`, `"'single'"`},
		{`NaN`, `"NaN"`},
		{`01`, `"01"`},
	}
	for _, tt := range tests {
		got := parseMessage(tt.in)
		if string(got) != tt.want {
			t.Errorf("parseMessage(%q) = %s, want %s", tt.in, got, tt.want)
		}
		if !json.Valid(got) {
			t.Errorf("parseMessage(%q) = %s, not valid JSON", tt.in, got)
		}
	}
}

func TestSubFormatLine(t *testing.T) {
	tests := []struct {
		topic   string
		payload string
		want    string
	}{
		{"greetings", `"hello"`, `{"topic":"greetings","message":"hello"}`},
		{"a.b", `{"x": [1, null]}`, `{"topic":"a.b","message":{"x":[1,null]}}`},
		{"n", `3.25`, `{"topic":"n","message":3.25}`},
		{"empty", ``, `{"topic":"empty","message":null}`},
		{"bin", "\x00\x01raw", `{"topic":"bin","message":"\u0000\u0001raw"}`},
		{"t<&>", `"<&>"`, `{"topic":"t<&>","message":"<&>"}`},
	}
	for _, tt := range tests {
		got := formatLine(tt.topic, []byte(tt.payload))
		if string(got) != tt.want+"\n" {
			t.Errorf("formatLine(%q, %q) = %q, want %q", tt.topic, tt.payload, got, tt.want+"\n")
		}
	}
}

// FuzzPubMessage checks the MESSAGE rule on any text: the result is always
// one line of valid JSON; JSON input keeps its value; other input becomes the
// string it was; and printing the result as a sub line and reading it back
// gives the same value.
func FuzzPubMessage(f *testing.F) {
	for _, s := range []string{`42`, `"hi"`, `null`, `{"a":[1,{"b":null}]}`, `hello`, ``, `{"a":`, "\xff", ` [ 1 ] `, `"\u0000"`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		got := parseMessage(text)
		if !json.Valid(got) {
			t.Fatalf("parseMessage(%q) = %q: not valid JSON", text, got)
		}
		if bytes.ContainsAny(got, "\n\r") {
			t.Fatalf("parseMessage(%q) = %q: spans lines", text, got)
		}
		gotV := decodeValue(t, got)
		text = strings.ToValidUTF8(text, "\uFFFD")
		if json.Valid([]byte(text)) {
			want := decodeValue(t, []byte(text))
			if !reflect.DeepEqual(gotV, want) {
				t.Fatalf("parseMessage(%q) = %s: value changed", text, got)
			}
		} else if !reflect.DeepEqual(gotV, text) {
			t.Fatalf("parseMessage(%q) = %s: want the string %q", text, got, text)
		}

		line := formatLine("t", got)
		if !bytes.HasSuffix(line, []byte("\n")) || bytes.Count(line, []byte("\n")) != 1 || !utf8.Valid(line) {
			t.Fatalf("formatLine: %q is not one line of UTF-8", line)
		}
		var back struct {
			Topic   string
			Message json.RawMessage
		}
		if err := json.Unmarshal(line, &back); err != nil {
			t.Fatalf("formatLine: %q: %v", line, err)
		}
		if backV := decodeValue(t, back.Message); back.Topic != "t" || !reflect.DeepEqual(backV, gotV) {
			t.Fatalf("formatLine round trip: %q -> %q", got, line)
		}
	})
}

// decodeValue decodes JSON keeping numbers as written (1e400 is valid JSON but
// no float64).
func decodeValue(t *testing.T, data []byte) any {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("decoding %q: %v", data, err)
	}
	return v
}
