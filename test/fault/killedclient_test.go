package fault

import (
	"context"
	"errors"
	"io"
	"path/filepath"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchboard-ipc/switchboard/endpoint"
	"github.com/switchboard-ipc/switchboard/internal/testenv"
	"github.com/switchboard-ipc/switchboard/ipc"
	"github.com/switchboard-ipc/switchboard/netserver"
	"github.com/switchboard-ipc/switchboard/wire"
)

func init() {
	// halfNative completes the handshake, subscribes, writes half of a
	// 64 KiB frame and waits to be killed.
	children["halfNative"] = func(addr string) error {
		p, err := dialNative(context.Background(), addr)
		if err != nil {
			return err
		}
		if err := p.subscribe(">"); err != nil {
			return err
		}
		if _, err := p.Write(halfFrame(64 << 10)); err != nil {
			return err
		}
		say("ready")
		select {}
	}
	// halfSocketIPC writes half of a socket-ipc message.
	children["halfSocketIPC"] = func(addr string) error {
		c, err := endpoint.Dial(context.Background(), addr)
		if err != nil {
			return err
		}
		if _, err := c.Write([]byte(`{"topic":"t","message":"half a messa`)); err != nil {
			return err
		}
		say("ready")
		select {}
	}
	// halfRaw writes half a frame with no handshake (for a plain netserver).
	children["halfRaw"] = func(addr string) error {
		c, err := endpoint.Dial(context.Background(), addr)
		if err != nil {
			return err
		}
		if _, err := c.Write(halfFrame(64 << 10)); err != nil {
			return err
		}
		say("ready")
		select {}
	}
}

// TestClientKilledMidFrame SIGKILLs client processes that are in the middle
// of sending a frame, native and socket-ipc, and checks that the ipc server
// frees everything they held: clients, sessions, goroutines, descriptors.
// The server keeps serving a well-behaved client throughout.
func TestClientKilledMidFrame(t *testing.T) {
	ctx := testCtx(t)
	addr := filepath.Join(testenv.ShortDir(t), "s.sock")
	store := ipc.NewSessionStore()
	var truncated, otherDecode atomic.Int32
	srv, err := ipc.NewServer(ipc.ServerConfig{Hub: true, Sessions: store, SessionTTL: 100 * time.Millisecond,
		OnError: func(err error) {
			switch {
			case errors.Is(err, wire.ErrTruncated) && errors.Is(err, ipc.ErrDecode):
				truncated.Add(1)
			case errors.Is(err, ipc.ErrDecode):
				otherDecode.Add(1)
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Listen(ctx, addr); err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	good, err := ipc.Dial(ctx, addr)
	if err != nil {
		t.Fatal(err)
	}
	defer good.Close()
	got := make(chan string, 1)
	if _, err := good.Subscribe(ctx, "echo", func(m *ipc.Message) {
		var s string
		m.Decode(&s)
		got <- s
	}); err != nil {
		t.Fatal(err)
	}
	runtime.GC()
	g0, fd0 := runtime.NumGoroutine(), openFDs(t)

	for round := range 3 {
		kids := []child{startChild(t, "halfNative", addr), startChild(t, "halfSocketIPC", addr)}
		for _, k := range kids {
			k.expect("ready")
		}
		eventually(t, 10*time.Second, "both half-frame clients connected", func() bool { return len(srv.Clients()) == 3 })
		for _, k := range kids {
			k.kill()
		}
		eventually(t, 10*time.Second, "killed clients gone", func() bool { return len(srv.Clients()) == 1 })
		eventually(t, 10*time.Second, "their sessions ended", func() bool { return store.Len() == 1 })
		settled(t, "after killing mid-frame clients", g0, fd0, 0)
		if err := srv.Publish("echo", "round"); err != nil {
			t.Fatal(err)
		}
		select {
		case s := <-got:
			if s != "round" {
				t.Fatalf("round %d: got %q", round, s)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("round %d: the good client got nothing after the kills", round)
		}
	}
	// Each death is reported once, as a DecodeError for a truncated frame
	// of that client only.
	if tr, o := truncated.Load(), otherDecode.Load(); tr != 6 || o != 0 {
		t.Errorf("OnError: %d truncated-frame and %d other DecodeErrors for 6 killed peers, want 6 and 0", tr, o)
	}
}

// TestClientKilledMidFrameNetserver does the same against a plain netserver
// whose handler reads native frames: Connections() returns to its baseline.
func TestClientKilledMidFrameNetserver(t *testing.T) {
	addr := filepath.Join(testenv.ShortDir(t), "n.sock")
	l, err := endpoint.Listen(testCtx(t), addr)
	if err != nil {
		t.Fatal(err)
	}
	reading := make(chan struct{}, 4)
	ended := make(chan error, 4)
	srv := &netserver.Server{Handler: netserver.HandlerFunc(func(ctx context.Context, c *netserver.Conn) {
		r := wire.NewReader(c, 0)
		var f wire.Frame
		reading <- struct{}{}
		ended <- r.ReadFrame(&f)
	})}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(l) }()
	defer func() {
		srv.Close()
		<-served
	}()
	runtime.GC()
	g0, fd0 := runtime.NumGoroutine(), openFDs(t)
	for range 3 {
		k := startChild(t, "halfRaw", addr)
		k.expect("ready")
		<-reading
		eventually(t, 10*time.Second, "connection counted", func() bool { return srv.Connections() == 1 })
		k.kill()
		if err := <-ended; !errors.Is(err, wire.ErrTruncated) || !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Errorf("handler's ReadFrame = %v, want ErrTruncated", err)
		}
		eventually(t, 10*time.Second, "Connections() back to 0", func() bool { return srv.Connections() == 0 })
		settled(t, "after killing a mid-frame client", g0, fd0, 0)
	}
	if st := srv.Stats(); st.Accepted != 3 || st.Active != 0 {
		t.Errorf("Stats %+v, want 3 accepted, 0 active", st)
	}
}
