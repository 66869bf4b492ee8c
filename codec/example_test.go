package codec_test

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/switchboard-ipc/switchboard/codec"
)

func Example() {
	type order struct {
		ID    int      `json:"id"`
		Items []string `json:"items"`
	}
	for _, c := range []codec.Codec{codec.JSON, codec.CBOR} {
		b, err := c.Marshal(order{ID: 7, Items: []string{"tea"}})
		if err != nil {
			panic(err)
		}
		var o order
		if err := c.Unmarshal(b, &o); err != nil {
			panic(err)
		}
		fmt.Printf("%s: %d bytes, %+v\n", c.Name(), len(b), o)
	}
	// Output:
	// json: 24 bytes, {ID:7 Items:[tea]}
	// cbor: 16 bytes, {ID:7 Items:[tea]}
}

func ExampleJSON_passThrough() {
	b, _ := codec.JSON.Marshal(json.RawMessage(`{"already":"json"}`))
	fmt.Println(string(b))
	// Output: {"already":"json"}
}

func ExampleRaw() {
	b, _ := codec.Raw.Marshal("plain text")
	var s string
	_ = codec.Raw.Unmarshal(b, &s)
	fmt.Println(s)

	_, err := codec.Raw.Marshal(42)
	fmt.Println(errors.Is(err, codec.ErrUnsupportedType), err)
	// Output:
	// plain text
	// true codec: raw: marshal int: codec: unsupported type
}
