package fault

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"time"

	"github.com/switchboard-ipc/switchboard/endpoint"
	"github.com/switchboard-ipc/switchboard/wire"
)

// rawNative is a native peer driven frame by frame, to misbehave in ways an
// ipc.Client never would.
type rawNative struct {
	net.Conn
	r *wire.Reader
}

// dialNative connects to addr and completes the native handshake as a new
// client.
func dialNative(ctx context.Context, addr string) (*rawNative, error) {
	c, err := endpoint.Dial(ctx, addr)
	if err != nil {
		return nil, err
	}
	c.SetDeadline(time.Now().Add(10 * time.Second))
	hello, _ := wire.MarshalHello(&wire.Hello{Codec: "json"})
	b := append([]byte(nil), wire.Preface[:]...)
	b = wire.AppendFrame(b, &wire.Frame{Type: wire.TypeHello, Payload: hello})
	if _, err := c.Write(b); err != nil {
		c.Close()
		return nil, err
	}
	br := bufio.NewReader(c)
	if err := wire.ReadPreface(br); err != nil {
		c.Close()
		return nil, err
	}
	p := &rawNative{Conn: c, r: wire.NewReader(br, 0)}
	var f wire.Frame
	if err := p.r.ReadFrame(&f); err != nil || f.Type != wire.TypeWelcome {
		c.Close()
		return nil, fmt.Errorf("handshake: %v %v", f.Type, err)
	}
	c.SetDeadline(time.Time{})
	return p, nil
}

// subscribe subscribes to pattern and waits for the SUBACK.
func (p *rawNative) subscribe(pattern string) error {
	p.SetDeadline(time.Now().Add(10 * time.Second))
	defer p.SetDeadline(time.Time{})
	if _, err := p.Write(wire.AppendFrame(nil, &wire.Frame{Type: wire.TypeSub, ID: 1, Topic: []byte(pattern)})); err != nil {
		return err
	}
	var f wire.Frame
	for {
		if err := p.r.ReadFrame(&f); err != nil {
			return err
		}
		if f.Type == wire.TypeSubAck && f.ID == 1 {
			return nil
		}
	}
}

// halfFrame returns the first half of a MSG frame whose payload is size
// bytes.
func halfFrame(size int) []byte {
	b := wire.AppendFrame(nil, &wire.Frame{Type: wire.TypeMsg, Seq: 1, Topic: []byte("t"), Payload: make([]byte, size)})
	return b[:len(b)/2]
}
