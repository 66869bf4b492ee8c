package ipc

import (
	"context"
	"log/slog"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-ipc/switchboard/wire"
)

// panicLog records error-level log records: the connection server logs a
// recovered handler panic that way.
type panicLog struct {
	mu   sync.Mutex
	msgs []string
}

func (p *panicLog) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelError }
func (p *panicLog) Handle(_ context.Context, r slog.Record) error {
	p.mu.Lock()
	p.msgs = append(p.msgs, r.Message)
	p.mu.Unlock()
	return nil
}
func (p *panicLog) WithAttrs([]slog.Attr) slog.Handler { return p }
func (p *panicLog) WithGroup(string) slog.Handler      { return p }

// FuzzServerInput feeds arbitrary bytes after a valid native handshake (or
// instead of one) to a hub: the server never panics and keeps serving.
func FuzzServerInput(f *testing.F) {
	frame := func(fr wire.Frame) []byte { return wire.AppendFrame(nil, &fr) }
	f.Add(true, frame(wire.Frame{Type: wire.TypeMsg, Seq: 1, Topic: []byte("a.b"), Payload: []byte(`1`)}))
	f.Add(true, frame(wire.Frame{Type: wire.TypeSub, ID: 1, Topic: []byte("a.>")}))
	f.Add(true, frame(wire.Frame{Type: wire.TypeSub, ID: 1, Topic: []byte("a..>")}))
	f.Add(true, frame(wire.Frame{Type: wire.TypeUnsub, ID: 7}))
	f.Add(true, frame(wire.Frame{Type: wire.TypeReq, ID: 3, Topic: []byte("x")}))
	f.Add(true, frame(wire.Frame{Type: wire.TypeReply, ID: 99, Flags: wire.FlagError}))
	f.Add(true, frame(wire.Frame{Type: wire.TypeAck, Seq: 1 << 60}))
	f.Add(true, frame(wire.Frame{Type: wire.TypeHello, Payload: []byte(`{}`)}))
	f.Add(true, frame(wire.Frame{Type: 200, Flags: 0xff, Topic: []byte("t"), Payload: []byte("?")}))
	f.Add(true, []byte{0, 0, 0, 1, 3})
	f.Add(false, []byte(`{"topic":"t","message":[1,{"a":null}]}`+"\x00\x00"))
	f.Add(false, []byte("\x00SWB\x01\x00\x00\x00\x00\x00\x00\x20\x01\x00\x00\x00"))

	logs := &panicLog{}
	s, addr := testServer(f, ServerConfig{Hub: true, HandshakeTimeout: time.Second, Logger: slog.New(logs)})
	s.Handle("x", func(m *Message) { m.Respond(m.Data) })
	f.Fuzz(func(t *testing.T, handshake bool, data []byte) {
		c, err := net.Dial("unix", addr)
		if err != nil {
			t.Fatal(err)
		}
		if handshake {
			c.Write(nativeHello())
		}
		c.Write(data)
		c.Close()
		// The server still answers.
		probe := dialT(t, addr)
		if _, err := probe.Request(testCtx(t), "x", 1); err != nil {
			t.Fatalf("server stopped answering: %v", err)
		}
		probe.Close()
		logs.mu.Lock()
		defer logs.mu.Unlock()
		if len(logs.msgs) > 0 {
			t.Fatalf("server logged %v", logs.msgs)
		}
	})
}
