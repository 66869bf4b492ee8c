package ipc

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchboard-ipc/switchboard/internal/testenv"
	"github.com/switchboard-ipc/switchboard/wire"
)

// The server restarts 10 times (in process, sharing one SessionStore) during
// a stream of 100,000 messages from one client: the handler sees every
// message exactly once, in order.
func TestDeliveryExactlyOnceAcrossServerRestarts(t *testing.T) {
	const total, restarts = 100_000, 10
	addr := filepath.Join(testenv.ShortDir(t), "r.sock")
	store := NewSessionStore()
	var mu sync.Mutex
	var got []uint64
	var bad atomic.Value
	count := make(chan int, 1)
	start := func() *Server {
		return testServerSetup(t, ServerConfig{Sessions: store}, addr, func(s *Server) {
			s.Handle("n", func(m *Message) {
				var n uint64
				if err := m.Decode(&n); err != nil {
					bad.Store(err)
					return
				}
				mu.Lock()
				got = append(got, n)
				k := len(got)
				mu.Unlock()
				select {
				case count <- k:
				default:
				}
			})
		})
	}
	srv := start()
	c := dialT(t, addr, WithQueue(0, 1<<20))
	done := make(chan error, 1)
	go func() {
		for i := uint64(1); i <= total; i++ {
			if err := c.Send(testCtx(t), "n", i); err != nil {
				done <- err
				return
			}
		}
		done <- c.Flush(testCtx(t))
	}()
	for r := 1; r <= restarts; r++ {
		for k := 0; k < r*total/(restarts+1); {
			select {
			case k = <-count:
			case err := <-done:
				t.Fatalf("sender finished early (%v) before restart %d", err, r)
			}
		}
		srv.Close()
		srv = start()
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if err := bad.Load(); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(got) != total {
		t.Fatalf("handler saw %d messages, want %d", len(got), total)
	}
	for i, n := range got {
		if n != uint64(i+1) {
			t.Fatalf("message %d is %d: duplicate or out of order", i+1, n)
		}
	}
}

// Deliveries to a native client survive its connection being cut 10 times:
// the server resends what was not acknowledged and the client drops what it
// has seen.
func TestDeliveryToClientExactlyOnceAcrossReconnects(t *testing.T) {
	const total, cuts = 50_000, 10
	conns := make(chan ClientInfo, cuts+2)
	s, addr := testServer(t, ServerConfig{QueueBytes: 64 << 20, SlowConsumer: Block, OnConnect: func(ci ClientInfo) { conns <- ci }})
	var mu sync.Mutex
	var got []uint64
	c := dialT(t, addr, WithFallback(func(m *Message) {
		var n uint64
		m.Decode(&n)
		mu.Lock()
		got = append(got, n)
		mu.Unlock()
	}))
	ci := <-conns
	id := c.ID()
	for i := uint64(1); i <= total; i++ {
		if err := s.Send(id, "n", i); err != nil {
			t.Fatal(err)
		}
		if i%(total/cuts) == 0 {
			ci.Conn.Close()
			ci = <-conns
		}
	}
	eventually(t, "all deliveries", func() bool { mu.Lock(); defer mu.Unlock(); return len(got) >= total })
	mu.Lock()
	defer mu.Unlock()
	for i, n := range got {
		if n != uint64(i+1) {
			t.Fatalf("delivery %d is %d", i+1, n)
		}
	}
	if len(got) != total {
		t.Fatalf("%d deliveries", len(got))
	}
}

// A full queue makes Send wait; when ctx ends first the error matches
// ErrQueueFull and the context error.
func TestDeliveryQueueFull(t *testing.T) {
	addr := filepath.Join(testenv.ShortDir(t), "q.sock")
	c, err := NewClient(addr, WithQueue(3, 0), WithRetryDelay(time.Hour, time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	go c.Connect(context.Background())
	for i := range 3 {
		if err := c.Send(testCtx(t), "t", i); err != nil {
			t.Fatalf("queued send %d: %v", i, err)
		}
	}
	ctx, cancel := context.WithTimeout(testCtx(t), 10*time.Millisecond)
	defer cancel()
	err = c.Send(ctx, "t", 4)
	if !errors.Is(err, ErrQueueFull) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Send on a full queue: %v", err)
	}
}

// Messages queued before the first connection are sent once it is up.
func TestDeliveryQueueBeforeConnect(t *testing.T) {
	addr := filepath.Join(testenv.ShortDir(t), "q.sock")
	c, err := NewClient(addr, WithQueue(100, 0), WithRetryDelay(time.Millisecond, time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	go c.Connect(context.Background())
	for i := range 5 {
		if err := c.Send(testCtx(t), "t", i); err != nil {
			t.Fatal(err)
		}
	}
	// The handler is in place before the server takes the connection, or
	// the messages could arrive with no handler for them.
	got := newCollector()
	s, err := NewServer(ServerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	s.Handle("t", got.handle)
	l, err := net.Listen("unix", addr)
	if err != nil {
		t.Fatal(err)
	}
	go s.Serve(l)
	defer s.Close()
	if err := c.Flush(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	for i, m := range got.wait(t, 5) {
		var n int
		if m.Decode(&n); n != i {
			t.Fatalf("message %d is %d", i, n)
		}
	}
}

// fakeHub accepts one native client, welcomes it and writes frames to it.
func fakeHub(t *testing.T, frames []byte) string {
	t.Helper()
	l, err := net.Listen("unix", shortSock(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		c, err := l.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		if wire.ReadPreface(c) != nil {
			return
		}
		var f wire.Frame
		if wire.NewReader(c, 0).ReadFrame(&f) != nil {
			return
		}
		w, _ := wire.MarshalWelcome(&wire.Welcome{ID: newUUID()})
		b := append([]byte(nil), wire.Preface[:]...)
		b = wire.AppendFrame(b, &wire.Frame{Type: wire.TypeWelcome, Payload: w})
		c.Write(append(b, frames...))
		io.Copy(io.Discard, c)
	}()
	return l.Addr().String()
}

// WithDedupe drops a relayed message whose (origin, origin seq) was seen,
// as after a publisher resends to a new hub; without it every delivery is
// passed on.
func TestDeliveryDedupeByOrigin(t *testing.T) {
	var frames []byte
	a, b := [16]byte{1}, [16]byte{2}
	for i, r := range []struct {
		origin [16]byte
		seq    uint64
	}{{a, 1}, {a, 2}, {b, 1}, {a, 2}, {a, 1}, {b, 1}, {a, 3}} {
		frames = wire.AppendFrame(frames, &wire.Frame{Type: wire.TypeMsg, Flags: wire.FlagOrigin,
			Seq: uint64(i + 1), ID: r.seq, Origin: r.origin, Topic: []byte("t"), Payload: []byte("0")})
	}
	for _, dedupe := range []bool{true, false} {
		got := newCollector()
		dialT(t, fakeHub(t, frames), WithDedupe(dedupe), WithFallback(got.handle))
		want := 7
		if dedupe {
			want = 4
		}
		msgs := got.wait(t, want)
		if dedupe {
			var seen []string
			for _, m := range msgs {
				seen = append(seen, fmt.Sprintf("%s/%d", m.From[:2], m.Seq))
			}
			if fmt.Sprint(seen) != "[01/1 01/2 02/1 01/3]" {
				t.Fatalf("dedupe passed %v", seen)
			}
		}
	}
}

// A new Client resuming an id (WithID) whose session has seen messages
// numbers its own above them, so none is taken for a duplicate.
func TestDeliveryNewProcessResumesID(t *testing.T) {
	s, addr := testServer(t, ServerConfig{})
	got := newCollector()
	s.Handle("t", got.handle)
	id := newUUID()
	first := dialT(t, addr, WithID(id))
	for i := range 5 {
		first.Send(testCtx(t), "t", i)
	}
	if err := first.Flush(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	first.Close()
	second := dialT(t, addr, WithID(id))
	if second.ID() != id {
		t.Fatalf("id %q, want %q", second.ID(), id)
	}
	second.Send(testCtx(t), "t", 5)
	if err := second.Flush(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	if n := len(got.wait(t, 6)); n != 6 {
		t.Fatalf("%d messages", n)
	}
}

// A client whose stream never lets it catch up (every write of the server
// ends inside a frame) still acknowledges, at least every ackEvery bytes,
// so the server does not keep the whole stream.
func TestDeliveryAckWithoutCatchingUp(t *testing.T) {
	l, err := net.Listen("unix", shortSock(t))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	acked := make(chan uint64, 1)
	done := make(chan struct{})
	defer close(done)
	go func() {
		c, err := l.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		if err := wire.ReadPreface(c); err != nil {
			return
		}
		rd := wire.NewReader(c, 0)
		var f wire.Frame
		if rd.ReadFrame(&f) != nil || f.Type != wire.TypeHello {
			return
		}
		welcome, _ := wire.MarshalWelcome(&wire.Welcome{ID: "00000000-0000-4000-8000-000000000001"})
		out := append([]byte(nil), wire.Preface[:]...)
		out = wire.AppendFrame(out, &wire.Frame{Type: wire.TypeWelcome, Payload: welcome})
		if _, err := c.Write(out); err != nil {
			return
		}
		go func() {
			for rd.ReadFrame(&f) == nil {
				if f.Type == wire.TypeAck {
					select {
					case acked <- f.Seq:
					default:
					}
				}
			}
		}()
		writeStraddling(c)
		<-done // the connection stays open until the test is over
	}()
	dialT(t, l.Addr().String())
	select {
	case seq := <-acked:
		if seq == 0 {
			t.Fatal("acknowledged sequence number 0")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no acknowledgement from a client that never caught up")
	}
}

// The server, too, acknowledges a client's stream that never lets it catch
// up (every write ends inside a frame), at least every ackEvery bytes.
func TestDeliveryServerAckWithoutCatchingUp(t *testing.T) {
	s, addr := testServer(t, ServerConfig{})
	s.Handle("t", func(m *Message) {})
	c, err := net.Dial("unix", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	hello, _ := wire.MarshalHello(&wire.Hello{Codec: "raw"})
	head := append([]byte(nil), wire.Preface[:]...)
	head = wire.AppendFrame(head, &wire.Frame{Type: wire.TypeHello, Payload: hello})
	if _, err := c.Write(head); err != nil {
		t.Fatal(err)
	}
	if err := wire.ReadPreface(c); err != nil {
		t.Fatal(err)
	}
	acked := make(chan uint64, 1)
	go func() {
		rd := wire.NewReader(c, 0)
		var f wire.Frame
		for rd.ReadFrame(&f) == nil {
			if f.Type == wire.TypeAck && f.Seq > 0 {
				select {
				case acked <- f.Seq:
				default:
				}
			}
		}
	}()
	go writeStraddling(c)
	select {
	case <-acked:
	case <-time.After(10 * time.Second):
		t.Fatal("no acknowledgement from a server that never caught up")
	}
}

// writeStraddling writes 2*ackEvery bytes of sequenced 1 KiB messages to w,
// each write ending 10 bytes into the next frame, so that a reader never
// finds its buffer empty; the last frame is never finished.
func writeStraddling(w io.Writer) {
	payload := bytes.Repeat([]byte("x"), 1000)
	frame := wire.FrameSize(&wire.Frame{Topic: []byte("t"), Payload: payload})
	var stream []byte
	for seq := uint64(1); len(stream) < 2*ackEvery+2*frame; seq++ {
		stream = wire.AppendFrame(stream, &wire.Frame{Type: wire.TypeMsg, Seq: seq, Topic: []byte("t"), Payload: payload})
	}
	from := 0
	for to := frame + 10; to <= len(stream); to += frame {
		if _, err := w.Write(stream[from:to]); err != nil {
			return
		}
		from = to
	}
}
