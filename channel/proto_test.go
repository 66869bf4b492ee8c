package channel

import (
	"bufio"
	"bytes"
	"reflect"
	"testing"
)

func FuzzReadFrame(f *testing.F) {
	f.Add(appendFrame(nil, &frame{typ: framePub, seq: 7, inc: 3, id: "a", topic: "t", reply: "r", data: []byte(`{"x":1}`)}))
	f.Add(appendFrame(nil, &frame{typ: frameMack, dseq: 1 << 40}))
	f.Add([]byte{0, 0, 0, 1, 0})
	f.Add([]byte{0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		var fr frame
		if readFrame(bufio.NewReader(bytes.NewReader(b)), &fr) != nil {
			return
		}
		// What decodes re-encodes to a frame that decodes the same.
		var again frame
		if err := readFrame(bufio.NewReader(bytes.NewReader(appendFrame(nil, &fr))), &again); err != nil {
			t.Fatalf("re-encoded frame does not decode: %v", err)
		}
		if len(fr.data) == 0 {
			fr.data, again.data = nil, nil
		}
		if !reflect.DeepEqual(fr, again) {
			t.Fatalf("round trip: %+v != %+v", fr, again)
		}
	})
}

func TestReadFrameLimits(t *testing.T) {
	for name, b := range map[string][]byte{
		"too large": {0x7f, 0, 0, 0},
		"short":     {0, 0, 0, 3, 1, 2, 3},
		"no fields": append([]byte{0, 0, 0, 26}, make([]byte, 26)...),
		"truncated": append([]byte{0, 0, 0, 40}, make([]byte, 40)...)[:30],
		"bad field": append([]byte{0, 0, 0, 42}, append(make([]byte, 26), 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)...),
		"trailing":  append([]byte{0, 0, 0, 46}, append(make([]byte, 42), 0xff, 0xff, 0xff, 0xff)...),
	} {
		var fr frame
		if err := readFrame(bufio.NewReader(bytes.NewReader(b)), &fr); err == nil {
			t.Errorf("%s: readFrame accepted %x", name, b)
		}
	}
}
