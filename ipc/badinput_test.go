package ipc

import (
	"encoding/binary"
	"errors"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-ipc/switchboard/wire"
)

// badInputServer starts a server that reports errors on a channel, with a
// healthy client connected, and returns a function that checks the healthy
// client still works.
func badInputServer(t *testing.T, cfg ServerConfig) (string, chan error, func()) {
	errs := make(chan error, 8)
	cfg.OnError = func(err error) {
		select {
		case errs <- err:
		default:
		}
	}
	s, addr := testServer(t, cfg)
	s.Handle("echo", func(m *Message) { m.Respond(string(m.Data)) })
	good := dialT(t, addr)
	check := func() {
		t.Helper()
		if _, err := good.Request(testCtx(t), "echo", 1); err != nil {
			t.Fatalf("healthy client after bad input: %v", err)
		}
	}
	return addr, errs, check
}

func nativeHello() []byte {
	hello, _ := wire.MarshalHello(&wire.Hello{Codec: "json"})
	b := append([]byte(nil), wire.Preface[:]...)
	return wire.AppendFrame(b, &wire.Frame{Type: wire.TypeHello, Payload: hello})
}

func TestBadInput(t *testing.T) {
	bigHeader := make([]byte, 24)
	binary.BigEndian.PutUint32(bigHeader, 1<<31) // 2 GiB: rejected before allocating
	bigHeader[4] = byte(wire.TypeMsg)
	badUTF8 := wire.AppendFrame(nil, &wire.Frame{Type: wire.TypeMsg, Topic: []byte{'a', 0xff}, Payload: []byte("1")})
	msg := wire.AppendFrame(nil, &wire.Frame{Type: wire.TypeMsg, Seq: 1, Topic: []byte("t"), Payload: []byte("1")})
	cases := []struct {
		name  string
		cfg   ServerConfig
		input []byte
		close bool // close the writing side after the input
		want  error
	}{
		{"garbage instead of a preface", ServerConfig{}, []byte("GET / HTTP/1.1\r\n\r\n"), false, wire.ErrUnknownProtocol},
		{"bad magic", ServerConfig{}, []byte("\x00SWX\x01\x00\x00\x00"), false, wire.ErrBadPreface},
		{"unsupported version", ServerConfig{}, []byte("\x00SWB\x09\x00\x00\x00"), false, wire.ErrUnsupportedVersion},
		{"oversize frame", ServerConfig{}, append(nativeHello(), bigHeader...), false, wire.ErrFrameTooLarge},
		{"truncated frame", ServerConfig{}, append(nativeHello(), msg[:len(msg)-1]...), true, wire.ErrTruncated},
		{"invalid UTF-8 topic", ServerConfig{}, append(nativeHello(), badUTF8...), false, wire.ErrInvalidUTF8},
		{"invalid JSON (socket-ipc)", ServerConfig{}, []byte("{\"topic\":\"t\",\"message\":nope}\x00\x00"), false, wire.ErrInvalidJSON},
		{"oversize socket-ipc message", ServerConfig{MaxFrame: 64}, []byte(`{"topic":"t","message":"` + strings.Repeat("x", 200)), false, wire.ErrFrameTooLarge},
		{"preface without HELLO", ServerConfig{HandshakeTimeout: 30 * time.Millisecond}, wire.Preface[:], false, ErrHandshakeTimeout},
		{"silent client, native only", ServerConfig{NativeOnly: true, HandshakeTimeout: 30 * time.Millisecond}, nil, false, ErrHandshakeTimeout},
		{"HELLO not first", ServerConfig{}, append(append([]byte(nil), wire.Preface[:]...), msg...), false, wire.ErrMalformed},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			addr, errs, check := badInputServer(t, tc.cfg)
			c, err := net.Dial("unix", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if _, err := c.Write(tc.input); err != nil {
				t.Fatal(err)
			}
			if tc.close {
				c.(*net.UnixConn).CloseWrite()
			}
			select {
			case err := <-errs:
				var de *DecodeError
				if !errors.As(err, &de) || !errors.Is(err, ErrDecode) || !errors.Is(err, tc.want) {
					t.Fatalf("reported %v, want a DecodeError matching %v", err, tc.want)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("no error reported")
			}
			// The bad connection is closed by the server.
			c.SetReadDeadline(time.Now().Add(10 * time.Second))
			buf := make([]byte, 256)
			for {
				if _, err := c.Read(buf); err != nil {
					if isTimeout(err) {
						t.Fatal("bad connection left open")
					}
					break
				}
			}
			check()
		})
	}
}

// A client whose server sends bad bytes reports a DecodeError and reconnects.
func TestBadInputFromServer(t *testing.T) {
	l, err := net.Listen("unix", shortSock(t))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.Write([]byte("{\"topic\":\"t\",\"message\":bad}\x00\x00"))
		}
	}()
	errs := make(chan error, 4)
	c := dialT(t, l.Addr().String(), WithWire(SocketIPC), WithOnError(func(err error) {
		select {
		case errs <- err:
		default:
		}
	}))
	_ = c
	err = <-errs
	if !errors.Is(err, ErrDecode) || !errors.Is(err, wire.ErrInvalidJSON) {
		t.Fatalf("client reported %v", err)
	}
}

// A message that matches no handler of a server is counted and reported
// with its topic and sender, on either wire, once per run of such messages
// to one topic; the connection stays, and a handler registered afterwards
// gets what follows.
func TestNoHandler(t *testing.T) {
	for _, w := range []Wire{Native, SocketIPC} {
		t.Run(w.String(), func(t *testing.T) {
			var mu sync.Mutex
			var errs []error
			s, addr := testServer(t, ServerConfig{OnError: func(err error) { mu.Lock(); errs = append(errs, err); mu.Unlock() }})
			barrier := newCollector()
			s.Handle("sync", barrier.handle)
			c := dialT(t, addr, WithWire(w))
			// Handled in order on one connection: "sync" comes last.
			for _, topic := range []string{"nobody", "nobody", "nobody", "other", "sync", "nobody", "sync"} {
				if err := c.Send(testCtx(t), topic, 1); err != nil {
					t.Fatal(err)
				}
			}
			barrier.wait(t, 2)
			mu.Lock()
			got := slices.Clone(errs)
			mu.Unlock()
			var topics []string
			for _, err := range got {
				var nh *NoHandlerError
				if !errors.As(err, &nh) || !errors.Is(err, ErrNoHandler) {
					t.Fatalf("OnError got %v, want a *NoHandlerError", err)
				}
				if nh.ClientID == "" || (w == Native && nh.ClientID != c.ID()) {
					t.Fatalf("NoHandlerError from %q, want %s", nh.ClientID, c.ID())
				}
				topics = append(topics, nh.Topic)
			}
			if want := []string{"nobody", "other", "nobody"}; !slices.Equal(topics, want) {
				t.Fatalf("reported topics %q, want %q (one per run)", topics, want)
			}
			if n := s.Stats().Unhandled; n != 5 {
				t.Fatalf("Stats().Unhandled = %d, want 5", n)
			}
			got2 := newCollector()
			s.Handle("nobody", got2.handle)
			if err := c.Send(testCtx(t), "nobody", 2); err != nil {
				t.Fatal(err)
			}
			var n int
			if err := got2.wait(t, 1)[0].Decode(&n); err != nil || n != 2 {
				t.Fatalf("handler got %d (%v), want 2", n, err)
			}
			if n := s.Stats().Unhandled; n != 5 {
				t.Fatalf("Stats().Unhandled = %d after a handled message, want 5", n)
			}
		})
	}
}
