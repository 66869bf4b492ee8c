package fault

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"log/slog"
	"net"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-ipc/switchboard/endpoint"
	"github.com/switchboard-ipc/switchboard/internal/testenv"
	"github.com/switchboard-ipc/switchboard/ipc"
	"github.com/switchboard-ipc/switchboard/wire"
)

// badInputServer is an ipc hub whose OnError reports go to a channel and
// whose logged panics fail the test. It has no idle timeout: the good
// client stays idle between inputs, and ipc clients send no keep-alives.
type badInputServer struct {
	srv    *ipc.Server
	addr   string
	errs   chan error
	good   *ipc.Client
	mu     sync.Mutex
	panics []string
}

type panicLog struct{ s *badInputServer }

func (h panicLog) Enabled(context.Context, slog.Level) bool { return true }
func (h panicLog) Handle(_ context.Context, r slog.Record) error {
	if strings.Contains(r.Message, "panic") {
		h.s.mu.Lock()
		h.s.panics = append(h.s.panics, r.Message)
		h.s.mu.Unlock()
	}
	return nil
}
func (h panicLog) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h panicLog) WithGroup(string) slog.Handler      { return h }

func newBadInputServer(t testing.TB) *badInputServer {
	ctx := context.Background()
	b := &badInputServer{addr: filepath.Join(testenv.ShortDir(t), "s.sock"), errs: make(chan error, 64)}
	srv, err := ipc.NewServer(ipc.ServerConfig{Hub: true, HandshakeTimeout: time.Second,
		Logger: slog.New(panicLog{b}),
		OnError: func(err error) {
			select {
			case b.errs <- err:
			default:
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	srv.Handle("ping", func(m *ipc.Message) { m.Respond("pong") })
	if err := srv.Listen(ctx, b.addr); err != nil {
		t.Fatal(err)
	}
	b.srv = srv
	t.Cleanup(func() { srv.Close() })
	good, err := ipc.Dial(ctx, b.addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { good.Close() })
	b.good = good
	return b
}

// feed writes input on a new connection, half-closes it when asked, and
// returns whether the server closed the connection within wait.
func (b *badInputServer) feed(t testing.TB, input []byte, halfClose bool, wait time.Duration) bool {
	c, err := endpoint.Dial(context.Background(), b.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	closed := make(chan struct{})
	go func() {
		io.Copy(io.Discard, c)
		close(closed)
	}()
	c.Write(input)
	if halfClose {
		c.(*net.UnixConn).CloseWrite()
	}
	select {
	case <-closed:
		return true
	case <-time.After(wait):
		return false
	}
}

// check fails the test if a panic was logged or the good client is no longer
// served.
func (b *badInputServer) check(t testing.TB) {
	b.mu.Lock()
	if len(b.panics) > 0 {
		t.Fatalf("server logged a panic: %v", b.panics)
	}
	b.mu.Unlock()
	if err := ping(context.Background(), b.good); err != nil {
		t.Fatalf("the good client after bad input: %v", err)
	}
}

func preface(frames ...*wire.Frame) []byte {
	b := append([]byte(nil), wire.Preface[:]...)
	for _, f := range frames {
		b = wire.AppendFrame(b, f)
	}
	return b
}

func helloFrame() *wire.Frame {
	p, _ := wire.MarshalHello(&wire.Hello{Codec: "json"})
	return &wire.Frame{Type: wire.TypeHello, Payload: p}
}

// hugeHeader is a MSG frame header claiming 3 GiB.
func hugeHeader() []byte {
	b := wire.AppendFrame(nil, &wire.Frame{Type: wire.TypeMsg, Topic: []byte("t")})
	binary.BigEndian.PutUint32(b, 3<<30)
	return b
}

// badInputs are the inputs of the table in docs/security.md: what each
// is, its bytes, whether to half-close after it, and what must happen: the
// connection closed (by the server, within 2s) with a DecodeError matching
// want, or kept open.
var badInputs = []struct {
	name      string
	input     []byte
	halfClose bool
	want      error // nil: the connection stays open
}{
	{"HTTP request instead of a preface", []byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), false, wire.ErrUnknownProtocol},
	{"random bytes instead of a preface", []byte("\x17\x03\x03\x00\x10garbage"), false, wire.ErrUnknownProtocol},
	{"NUL then not SWB", []byte("\x00XYZ\x01\x00\x00\x00"), false, wire.ErrBadPreface},
	{"unsupported protocol version", []byte("\x00SWB\x09\x00\x00\x00"), false, wire.ErrUnsupportedVersion},
	{"garbage after the preface", append(preface(), []byte("\xff\xff\xff\xffjunkjunkjunkjunkjunk")...), false, wire.ErrFrameTooLarge},
	{"first frame not HELLO", preface(&wire.Frame{Type: wire.TypeMsg, Topic: []byte("t")}), false, wire.ErrMalformed},
	{"HELLO payload not JSON", preface(&wire.Frame{Type: wire.TypeHello, Payload: []byte("nope")}), false, wire.ErrInvalidJSON},
	{"frame length 3 GiB (limit 4 MiB)", append(preface(helloFrame()), hugeHeader()...), false, wire.ErrFrameTooLarge},
	{"frame length below the header", append(preface(helloFrame()), 0, 0, 0, 3, 1, 2, 3), false, wire.ErrMalformed},
	{"truncated frame, then EOF", append(preface(helloFrame()), halfFrame(1000)...), true, wire.ErrTruncated},
	{"invalid UTF-8 in a native topic", preface(helloFrame(), &wire.Frame{Type: wire.TypeMsg, Seq: 1, Topic: []byte("a\xffb"), Payload: []byte("1")}), false, wire.ErrInvalidUTF8},
	{"second HELLO", preface(helloFrame(), helloFrame()), false, wire.ErrMalformed},
	{"socket-ipc: invalid JSON", []byte(`{"topic":"t","message":}` + "\x00\x00"), false, wire.ErrInvalidJSON},
	{"socket-ipc: topic not a string", []byte(`{"topic":7,"message":1}` + "\x00\x00"), false, wire.ErrBadTopic},
	{"socket-ipc: invalid UTF-8 in the topic", []byte("{\"topic\":\"a\xffb\",\"message\":1}\x00\x00"), false, wire.ErrInvalidUTF8},
	{"socket-ipc: 5 MiB without a delimiter (limit 4 MiB)", []byte(`{"topic":"t","message":"` + strings.Repeat("x", 5<<20)), false, wire.ErrFrameTooLarge},
	{"socket-ipc: truncated message, then EOF", []byte(`{"topic":"t","mess`), true, wire.ErrTruncated},
	{"invalid subscription pattern (refused, connection kept)", preface(helloFrame(), &wire.Frame{Type: wire.TypeSub, ID: 1, Topic: []byte("a..b")}), false, nil},
}

// TestBadInput sends each bad input on its own connection to a hub that
// also serves a well-behaved client, and checks what happened: a clear,
// typed error for that connection only, nothing allocated for an oversized
// length, no goroutine or descriptor left behind.
func TestBadInput(t *testing.T) {
	b := newBadInputServer(t)
	runtime.GC()
	g0, fd0 := runtime.NumGoroutine(), openFDs(t)
	for _, tt := range badInputs {
		t.Run(tt.name, func(t *testing.T) {
			for len(b.errs) > 0 {
				<-b.errs
			}
			var ms0, ms1 runtime.MemStats
			runtime.ReadMemStats(&ms0)
			wait := 2 * time.Second
			if tt.want == nil {
				wait = 200 * time.Millisecond
			}
			closed := b.feed(t, tt.input, tt.halfClose, wait)
			runtime.ReadMemStats(&ms1)
			if tt.want == nil {
				if closed {
					t.Fatal("connection closed, want it kept")
				}
			} else {
				if !closed {
					t.Fatalf("connection still open after 2s, want it closed with %v", tt.want)
				}
				select {
				case err := <-b.errs:
					if !errors.Is(err, ipc.ErrDecode) || !errors.Is(err, tt.want) {
						t.Fatalf("OnError got %v, want a DecodeError matching %v", err, tt.want)
					}
				case <-time.After(2 * time.Second):
					t.Fatalf("nothing reported to OnError, want %v", tt.want)
				}
			}
			if grew := ms1.TotalAlloc - ms0.TotalAlloc; strings.HasPrefix(tt.name, "frame length 3 GiB") && grew > 1<<20 {
				t.Errorf("a 3 GiB length field made the server allocate %d bytes", grew)
			}
			b.check(t)
		})
	}
	settled(t, "after every bad input", g0, fd0, 0)
}

// FuzzServerInput feeds arbitrary bytes to a live hub as one connection,
// as native (after the preface and a HELLO) and as raw bytes: the server
// never panics, and keeps serving a well-behaved client.
func FuzzServerInput(f *testing.F) {
	for _, tt := range badInputs {
		f.Add(tt.input, false)
	}
	f.Add(wire.AppendFrame(nil, &wire.Frame{Type: wire.TypeSub, ID: 1, Topic: []byte("a.>")}), true)
	f.Add(wire.AppendFrame(nil, &wire.Frame{Type: wire.TypeReq, ID: 9, Topic: []byte("ping"), Payload: []byte("1")}), true)
	f.Add(wire.AppendFrame(nil, &wire.Frame{Type: wire.TypeAck, Seq: 1 << 60}), true)
	b := newBadInputServer(f)
	f.Fuzz(func(t *testing.T, input []byte, afterHello bool) {
		if afterHello {
			input = append(preface(helloFrame()), input...)
		}
		b.feed(t, input, true, 50*time.Millisecond)
		b.check(t)
	})
}
