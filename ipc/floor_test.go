package ipc

import (
	"context"
	"errors"
	"net"
	"path/filepath"
	"regexp"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchboard-ipc/switchboard/internal/testenv"
)

// Tests of the socket-ipc floor (docs/socket-ipc.md maps each row to one).

var uuidV4 = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func TestFloorClientIDIsUUIDv4(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		id := newUUID()
		if !uuidV4.MatchString(id) || seen[id] {
			t.Fatalf("bad or repeated id %q", id)
		}
		seen[id] = true
		b, ok := parseUUID(id)
		if !ok || formatUUID(b) != id {
			t.Fatalf("parse/format round trip of %q failed", id)
		}
	}
}

func TestFloorServerListenOnce(t *testing.T) {
	s, err := NewServer(ServerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	addr := filepath.Join(testenv.ShortDir(t), "s.sock")
	var listening atomic.Int32
	s.cfg.OnListening = func(net.Addr) { listening.Add(1) }
	if err := s.Listen(testCtx(t), addr); err != nil {
		t.Fatal(err)
	}
	if err := s.Listen(testCtx(t), addr); !errors.Is(err, ErrAlreadyListening) {
		t.Fatalf("second Listen: %v, want ErrAlreadyListening", err)
	}
	eventually(t, "OnListening", func() bool { return listening.Load() == 1 })
	dialT(t, addr) // it serves
}

func TestFloorServerHooks(t *testing.T) {
	connects := make(chan ClientInfo, 4)
	disconnects := make(chan string, 4)
	closed := make(chan struct{})
	byTopic, all := newCollector(), newCollector()
	s, addr := testServer(t, ServerConfig{
		OnConnect:    func(ci ClientInfo) { connects <- ci },
		OnDisconnect: func(id string, err error) { disconnects <- id },
		OnClose:      func() { close(closed) },
	})
	s.Handle("greet", byTopic.handle)
	s.Handle(">", all.handle)
	for _, w := range []Wire{Native, SocketIPC} {
		c := dialT(t, addr, WithWire(w))
		ci := <-connects
		if !uuidV4.MatchString(ci.ID) || ci.Wire != w || ci.Conn == nil {
			t.Fatalf("%v: OnConnect got %+v", w, ci)
		}
		if w == Native && c.ID() != ci.ID {
			t.Fatalf("client id %q, server says %q", c.ID(), ci.ID)
		}
		if err := c.Send(testCtx(t), "greet", "hi"); err != nil {
			t.Fatal(err)
		}
		if err := c.Send(testCtx(t), "other", 1); err != nil {
			t.Fatal(err)
		}
		c.Close()
		if id := <-disconnects; id != ci.ID {
			t.Fatalf("OnDisconnect(%q), want %q", id, ci.ID)
		}
	}
	got := byTopic.wait(t, 2)
	if got[0].Topic != "greet" || string(got[0].Data) != `"hi"` {
		t.Fatalf("by-topic handler got %q %s", got[0].Topic, got[0].Data)
	}
	if n := len(all.wait(t, 4)); n != 4 {
		t.Fatalf("catch-all got %d", n)
	}
	s.Close()
	<-closed
}

func TestFloorServerSendUnknownClient(t *testing.T) {
	s, _ := testServer(t, ServerConfig{})
	err := s.Send("00000000-0000-4000-8000-000000000000", "t", 1)
	var bc *BadClientError
	if !errors.As(err, &bc) || !errors.Is(err, ErrBadClient) || bc.Topic != "t" || bc.Message != 1 {
		t.Fatalf("Send to unknown: %v", err)
	}
}

func TestFloorServerSendGoneClient(t *testing.T) {
	gone := make(chan string, 2)
	s, addr := testServer(t, ServerConfig{SessionTTL: -1, OnDisconnect: func(id string, err error) { gone <- id }})
	for _, w := range []Wire{SocketIPC, Native} {
		c := dialT(t, addr, WithWire(w))
		var id string
		eventually(t, "client listed", func() bool {
			cs := s.Clients()
			if len(cs) == 1 {
				id = cs[0].ID
			}
			return id != ""
		})
		if err := s.Send(id, "t", 1); err != nil {
			t.Fatal(err)
		}
		c.Close()
		<-gone
		if err := s.Send(id, "t", 1); !errors.Is(err, ErrBadClient) {
			t.Fatalf("%v: Send to gone client: %v", w, err)
		}
	}
}

func TestFloorServerSendAndBroadcast(t *testing.T) {
	s, addr := testServer(t, ServerConfig{})
	if err := s.Broadcast("t", 1); err != nil {
		t.Fatalf("Broadcast without clients: %v", err)
	}
	var cols []*collector
	for _, w := range []Wire{Native, SocketIPC, Native} {
		col := newCollector()
		dialT(t, addr, WithWire(w), WithFallback(col.handle))
		cols = append(cols, col)
	}
	eventually(t, "3 clients", func() bool { return len(s.Clients()) == 3 })
	if err := s.Broadcast("", map[string]any{"all": true}); err != nil {
		t.Fatal(err)
	}
	for _, ci := range s.Clients() {
		if err := s.Send(ci.ID, "direct", ci.ID); err != nil {
			t.Fatal(err)
		}
	}
	for i, col := range cols {
		got := col.wait(t, 2)
		if got[0].Topic != "none" || string(got[0].Data) != `{"all":true}` {
			t.Fatalf("client %d: broadcast arrived as %q %s", i, got[0].Topic, got[0].Data)
		}
		if got[1].Topic != "direct" || got[1].From != "" {
			t.Fatalf("client %d: direct send arrived as %+v", i, got[1])
		}
	}
}

func TestFloorEmptyTopicBecomesNone(t *testing.T) {
	got := newCollector()
	s, addr := testServer(t, ServerConfig{})
	s.Handle("none", got.handle)
	for _, w := range []Wire{Native, SocketIPC} {
		c := dialT(t, addr, WithWire(w))
		if err := c.Send(testCtx(t), "", "x"); err != nil {
			t.Fatal(err)
		}
	}
	got.wait(t, 2)
}

func TestFloorSendAfterClose(t *testing.T) {
	s, addr := testServer(t, ServerConfig{})
	c := dialT(t, addr)
	c.Close()
	var sac *SendAfterCloseError
	if err := c.Send(testCtx(t), "t", 1); !errors.As(err, &sac) || sac.Topic != "t" || !errors.Is(err, ErrSendAfterClose) {
		t.Fatalf("client Send after Close: %v", err)
	}
	s.Close()
	for _, err := range []error{s.Send("x", "t", 1), s.Broadcast("t", 1), s.Publish("t", 1)} {
		if !errors.As(err, &sac) || sac.Topic != "t" {
			t.Fatalf("server send after Close: %v", err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

func TestFloorEncodeError(t *testing.T) {
	s, addr := testServer(t, ServerConfig{})
	c := dialT(t, addr)
	var ee *EncodeError
	if err := c.Send(testCtx(t), "t", make(chan int)); !errors.As(err, &ee) || ee.Topic != "t" || !errors.Is(err, ErrEncode) {
		t.Fatalf("client: %v", err)
	}
	if err := s.Broadcast("t", make(chan int)); !errors.As(err, &ee) {
		t.Fatalf("server: %v", err)
	}
}

func TestFloorClientConnectOnce(t *testing.T) {
	_, addr := testServer(t, ServerConfig{})
	c := dialT(t, addr)
	if err := c.Connect(testCtx(t)); !errors.Is(err, ErrConnectCalled) {
		t.Fatalf("second Connect: %v", err)
	}
}

func TestFloorClientNoServerError(t *testing.T) {
	addr := filepath.Join(testenv.ShortDir(t), "none.sock")
	c, err := NewClient(addr, WithRetryDelay(time.Millisecond, time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var ns *NoServerError
	if err := c.Send(testCtx(t), "t", 1); !errors.As(err, &ns) || ns.Topic != "t" || !errors.Is(err, ErrNoServer) {
		t.Fatalf("Send before connect: %v", err)
	}
}

// The client retries until a server appears, reporting every failed attempt.
func TestFloorClientRetryReportsConnectErrors(t *testing.T) {
	addr := filepath.Join(testenv.ShortDir(t), "late.sock")
	var mu sync.Mutex
	var attempts []int
	c, err := NewClient(addr, WithRetryDelay(time.Millisecond, 3*time.Millisecond), WithOnError(func(err error) {
		var ce *ConnectError
		if errors.As(err, &ce) {
			mu.Lock()
			attempts = append(attempts, ce.Attempt)
			mu.Unlock()
		}
	}))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	connected := make(chan error, 1)
	go func() { connected <- c.Connect(testCtx(t)) }()
	eventually(t, "3 failed attempts", func() bool { mu.Lock(); defer mu.Unlock(); return len(attempts) >= 3 })
	testServerAt(t, ServerConfig{}, addr)
	if err := <-connected; err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	for i, a := range attempts {
		if a != i+1 {
			t.Fatalf("attempts %v, want 1, 2, 3, ...", attempts)
		}
	}
}

// After an unexpected disconnect the client reports it and reconnects.
func TestFloorClientReconnect(t *testing.T) {
	for _, w := range []Wire{Native, SocketIPC} {
		t.Run(w.String(), func(t *testing.T) {
			conns := make(chan ClientInfo, 4)
			s, addr := testServer(t, ServerConfig{OnConnect: func(ci ClientInfo) { conns <- ci }})
			var connects atomic.Int32
			disc := make(chan error, 2)
			got := newCollector()
			dialT(t, addr, WithWire(w), WithReconnectDelay(time.Millisecond, 2*time.Millisecond),
				WithOnConnect(func() { connects.Add(1) }), WithOnDisconnect(func(err error) { disc <- err }),
				WithFallback(got.handle))
			first := <-conns
			first.Conn.Close()
			<-disc
			second := <-conns
			if w == Native && (second.ID != first.ID || !second.Resumed) {
				t.Fatalf("native client did not resume: %+v then %+v", first, second)
			}
			eventually(t, "second OnConnect", func() bool { return connects.Load() == 2 })
			if err := s.Send(second.ID, "after", 1); err != nil {
				t.Fatal(err)
			}
			got.wait(t, 1)
		})
	}
}

func TestFloorClientCloseStopsRetry(t *testing.T) {
	addr := filepath.Join(testenv.ShortDir(t), "none.sock")
	var attempts atomic.Int32
	c, err := NewClient(addr, WithRetryDelay(time.Millisecond, time.Millisecond), WithOnError(func(error) { attempts.Add(1) }))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if err := c.Connect(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Connect: %v", err)
	}
	c.Close()
	<-c.Done()
	n := attempts.Load()
	if n == 0 || c.State() != StateClosed {
		t.Fatalf("attempts %d, state %v", n, c.State())
	}
	// No attempt after Close: the retry loop has exited (Done is closed
	// only after it returned), so the count cannot change.
	if attempts.Load() != n {
		t.Fatal("attempts after Close")
	}
}

func TestFloorDelayFixedOrRandom(t *testing.T) {
	if d := delay(5, 5); d != 5 {
		t.Fatalf("fixed delay %v", d)
	}
	if d := delay(0, 0); d != 0 {
		t.Fatalf("zero delay %v", d)
	}
	lo, hi := false, false
	for range 2000 {
		d := delay(10, 12)
		if d < 10 || d > 12 {
			t.Fatalf("delay %v out of [10, 12]", d)
		}
		lo = lo || d == 10
		hi = hi || d == 12
	}
	if !lo || !hi {
		t.Fatal("random delay never reached its bounds")
	}
	if _, err := NewClient("x.sock", WithRetryDelay(2, 1)); err == nil {
		t.Fatal("min > max accepted")
	}
}

func TestFloorErrorsMatchSentinels(t *testing.T) {
	cases := []struct {
		err  error
		want error
	}{
		{&EncodeError{}, ErrEncode},
		{&DecodeError{Err: errors.New("x")}, ErrDecode},
		{&SendAfterCloseError{}, ErrSendAfterClose},
		{&BadClientError{}, ErrBadClient},
		{&NoServerError{}, ErrNoServer},
		{&RemoteError{}, ErrRemote},
	}
	for _, c := range cases {
		if !errors.Is(c.err, c.want) || len(c.err.Error()) < 5 || c.err.Error()[:5] != "ipc: " {
			t.Errorf("%T: Is(%v) false or message %q", c.err, c.want, c.err.Error())
		}
	}
}
