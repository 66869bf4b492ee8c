package wire_test

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/switchboard-ipc/switchboard/wire"
)

func Example() {
	// A native client's bytes: the preface, then frames.
	var conn bytes.Buffer
	conn.Write(wire.Preface[:])
	conn.Write(wire.AppendFrame(nil, &wire.Frame{Type: wire.TypeSub, ID: 1, Topic: []byte("orders.*")}))
	conn.Write(wire.AppendFrame(nil, &wire.Frame{Type: wire.TypeMsg, Seq: 1, Topic: []byte("orders.new"), Payload: []byte(`{"id":7}`)}))

	// The server's side.
	br := bufio.NewReader(&conn)
	p, err := wire.Detect(br)
	if err != nil {
		panic(err)
	}
	fmt.Println("protocol:", p)
	if err := wire.ReadPreface(br); err != nil {
		panic(err)
	}
	r := wire.NewReader(br, 0)
	var f wire.Frame
	for {
		if err := r.ReadFrame(&f); err == io.EOF {
			break
		} else if err != nil {
			panic(err)
		}
		fmt.Printf("%s seq=%d id=%d topic=%s payload=%s\n", f.Type, f.Seq, f.ID, f.Topic, f.Payload)
	}
	// Output:
	// protocol: native
	// SUB seq=0 id=1 topic=orders.* payload=
	// MSG seq=1 id=0 topic=orders.new payload={"id":7}
}

func ExampleJSONReader() {
	var conn bytes.Buffer
	conn.Write(wire.AppendJSONFrame(nil, "greeting", []byte(`"hello"`)))
	conn.WriteString(`{"topic":"empty"}` + wire.Delimiter) // socket-ipc omits an undefined message

	r := wire.NewJSONReader(&conn, 0)
	for {
		topic, msg, err := r.ReadMessage()
		if err == io.EOF {
			break
		} else if err != nil {
			panic(err)
		}
		fmt.Printf("%s: %s\n", topic, msg)
	}
	// Output:
	// greeting: "hello"
	// empty: null
}

func ExampleAppendJSONFrame() {
	b := wire.AppendJSONFrame(nil, `say "hi"`, []byte(`{"to":"you"}`))
	fmt.Printf("%q\n", b)
	// Output: "{\"topic\":\"say \\\"hi\\\"\",\"message\":{\"to\":\"you\"}}\x00\x00"
}

func ExampleDecodeError() {
	// A length field of 5,000,000 bytes, over the default limit.
	r := wire.NewReader(strings.NewReader("\x00\x4c\x4b\x40"), 0)
	var f wire.Frame
	err := r.ReadFrame(&f)
	var de *wire.DecodeError
	fmt.Println(errors.As(err, &de), errors.Is(err, wire.ErrFrameTooLarge))
	fmt.Println(err)
	// Output:
	// true true
	// wire: frame too large: 5000000 bytes, limit 4194304 (native)
}
