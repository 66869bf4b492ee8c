package codec

import (
	"strconv"
	"strings"
	"testing"
)

type benchMsg struct {
	ID    int      `json:"id"`
	Kind  string   `json:"kind"`
	Tags  []string `json:"tags"`
	Value float64  `json:"value"`
	Note  string   `json:"note"`
}

// benchValue returns a struct whose JSON encoding is about size bytes.
func benchValue(size int) benchMsg {
	m := benchMsg{ID: 12345, Kind: "order", Tags: []string{"a", "b"}, Value: 9.75}
	b, _ := JSON.Marshal(m)
	if pad := size - len(b); pad > 0 {
		m.Note = strings.Repeat("n", pad)
	}
	return m
}

func BenchmarkMarshal(b *testing.B) {
	for _, c := range []Codec{JSON, CBOR} {
		for _, size := range []int{64, 1024} {
			b.Run(c.Name()+"/"+strconv.Itoa(size)+"B", func(b *testing.B) {
				v := benchValue(size)
				enc, _ := c.Marshal(v)
				b.SetBytes(int64(len(enc)))
				b.ReportAllocs()
				for b.Loop() {
					if _, err := c.Marshal(v); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

func BenchmarkUnmarshal(b *testing.B) {
	for _, c := range []Codec{JSON, CBOR} {
		for _, size := range []int{64, 1024} {
			b.Run(c.Name()+"/"+strconv.Itoa(size)+"B", func(b *testing.B) {
				enc, _ := c.Marshal(benchValue(size))
				b.SetBytes(int64(len(enc)))
				b.ReportAllocs()
				var v benchMsg
				for b.Loop() {
					if err := c.Unmarshal(enc, &v); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

func BenchmarkRaw(b *testing.B) {
	data := make([]byte, 1024)
	var out []byte
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		enc, _ := Raw.Marshal(data)
		if err := Raw.Unmarshal(enc, &out); err != nil {
			b.Fatal(err)
		}
	}
}
