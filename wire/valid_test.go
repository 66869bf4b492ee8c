package wire

import (
	"encoding/json"
	"strings"
	"testing"
)

var validSeeds = []string{
	`null`, `true`, `false`, `0`, `-0`, `-0.5e+10`, `1E5`, `12.25`, `""`, `"\u00e9\n\"\\\/"`,
	` [ 1 , { "a" : [ ] } , "x" ] `, `{}`, `{"a":{"b":{"c":null}}}`, "\"\xff\"",
	``, ` `, `01`, `-`, `1.`, `.5`, `1e`, `+1`, `[1,]`, `{"a"}`, `{"a":1,}`, `{,}`, `[`, `"abc`,
	`"\x"`, `"\u12G4"`, "\"a\tb\"", `tru`, `nulll`, `1 2`, `{"a":1}}`, `NaN`, `[1]x`,
	strings.Repeat("[", maxJSONDepth) + strings.Repeat("]", maxJSONDepth),
	strings.Repeat("[", maxJSONDepth+1) + strings.Repeat("]", maxJSONDepth+1),
	strings.Repeat(`{"a":`, maxJSONDepth) + "1" + strings.Repeat("}", maxJSONDepth),
}

func TestValidJSONMatchesEncodingJSON(t *testing.T) {
	for _, s := range validSeeds {
		if got, want := validJSON([]byte(s)), json.Valid([]byte(s)); got != want {
			t.Errorf("validJSON(%.40q) = %v, json.Valid says %v", s, got, want)
		}
	}
}

func FuzzValidJSON(f *testing.F) {
	for _, s := range validSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if got, want := validJSON(b), json.Valid(b); got != want {
			t.Fatalf("validJSON(%q) = %v, json.Valid says %v", b, got, want)
		}
	})
}
