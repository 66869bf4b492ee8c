package ipc

import (
	"bufio"
	"context"
	"errors"
	"net"
	"path/filepath"
	"testing"
	"time"

	"github.com/switchboard-ipc/switchboard/internal/testenv"
	"github.com/switchboard-ipc/switchboard/netserver"
	"github.com/switchboard-ipc/switchboard/wire"
)

// recordingSource is a wire.LazyReader in front of a connection's
// connSource that records, from the reader's goroutine, the calls of get
// and release, and tells the test each time the reader is about to wait
// for frame number n.
type recordingSource struct {
	src     wire.LazyReader
	calls   []string
	n       int
	waiting chan int
}

func (r *recordingSource) Read(p []byte) (int, error) { return r.src.Read(p) }

func (r *recordingSource) ReadLazy(get func() []byte, release func()) ([]byte, error) {
	return r.src.ReadLazy(func() []byte {
		r.calls = append(r.calls, "get")
		return get()
	}, func() {
		r.calls = append(r.calls, "release")
		release()
		select {
		case r.waiting <- r.n:
		default:
		}
	})
}

type frameResult struct {
	f     wire.Frame
	calls []string
	err   error
}

// TestReaderWaitsWithoutBuffer: a server connection's frame reader reads
// what detection left buffered, then waits for the next frame through the
// socket without a buffer (it is given back before each wait and taken
// once bytes arrive), reads the frames that arrive after it idled, and a
// frame begun and not finished still ends with a FrameTimeoutError.
func TestReaderWaitsWithoutBuffer(t *testing.T) {
	const frameTimeout = 100 * time.Millisecond
	waiting := make(chan int, 64)
	results := make(chan frameResult, 4)
	ns := &netserver.Server{Handler: netserver.HandlerFunc(func(_ context.Context, nc *netserver.Conn) {
		c := &sconn{nc: nc}
		c.ir = idleReader{c: nc, frame: frameTimeout}
		c.br = bufio.NewReaderSize(&c.ir, 16)
		c.src = connSource{br: c.br, ir: &c.ir}
		if err := wire.ReadPreface(c.br); err != nil {
			results <- frameResult{err: err}
			return
		}
		c.ir.start()
		rec := &recordingSource{src: &c.src, waiting: waiting}
		rd := wire.NewReader(rec, 0)
		for ; ; rec.n++ {
			rec.calls = nil
			var r frameResult
			r.err = rd.ReadFrame(&r.f)
			r.f.Topic, r.f.Payload = []byte(string(r.f.Topic)), []byte(string(r.f.Payload))
			r.calls = rec.calls
			results <- r
			if r.err != nil {
				return
			}
		}
	})}
	l, err := net.Listen("unix", filepath.Join(testenv.ShortDir(t), "s.sock"))
	if err != nil {
		t.Fatal(err)
	}
	go ns.Serve(l)
	defer ns.Close()
	c, err := net.Dial("unix", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	write := func(b []byte) {
		t.Helper()
		if _, err := c.Write(b); err != nil {
			t.Fatal(err)
		}
	}
	frame := func(topic string, payload int) []byte {
		return wire.AppendFrame(nil, &wire.Frame{Type: wire.TypeMsg, Seq: 1, Topic: []byte(topic), Payload: make([]byte, payload)})
	}
	wait := func(n int) {
		t.Helper()
		timeout := time.After(10 * time.Second)
		for {
			select {
			case m := <-waiting:
				if m == n {
					return
				}
			case <-timeout:
				t.Fatalf("the reader never waited for frame %d", n)
			}
		}
	}
	check := func(topic string, payload int) []string {
		t.Helper()
		var r frameResult
		select {
		case r = <-results:
		case <-time.After(10 * time.Second):
			t.Fatalf("no frame %q", topic)
		}
		if r.err != nil || string(r.f.Topic) != topic || len(r.f.Payload) != payload {
			t.Fatalf("frame %q/%d: got %q/%d, %v", topic, payload, r.f.Topic, len(r.f.Payload), r.err)
		}
		return r.calls
	}

	// The first frame comes with the preface: part of it is in br.
	write(append(wire.Preface[:], frame("first", 40)...))
	check("first", 40)
	for i, topic := range []string{"after.idle", "again"} {
		wait(i + 1)
		write(frame(topic, 100*i))
		calls := check(topic, 100*i)
		// The buffer was given back before the wait and taken again
		// once the frame arrived.
		if n := len(calls); n < 2 || calls[n-2] != "release" || calls[n-1] != "get" {
			t.Fatalf("frame %q: calls %v, want release then get", topic, calls)
		}
	}
	wait(3)
	write(frame("unfinished", 10)[:12])
	var r frameResult
	select {
	case r = <-results:
	case <-time.After(10 * time.Second):
		t.Fatal("an unfinished frame never timed out")
	}
	var fte *FrameTimeoutError
	if !errors.As(r.err, &fte) || !errors.Is(r.err, ErrFrameTimeout) {
		t.Fatalf("unfinished frame: %v, want a FrameTimeoutError", r.err)
	}
}
