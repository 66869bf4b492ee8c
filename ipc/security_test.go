package ipc

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/switchboard-ipc/switchboard/endpoint"
	"github.com/switchboard-ipc/switchboard/wire"
)

// TestDefaultAccessTCP: without Authorize a TCP connection, which carries
// no credentials, is served; an explicit Authorize refuses it, reports and
// counts the refusal.
func TestDefaultAccessTCP(t *testing.T) {
	for _, explicit := range []bool{false, true} {
		errs := make(chan error, 4)
		cfg := ServerConfig{OnError: func(err error) {
			select {
			case errs <- err:
			default:
			}
		}}
		if explicit {
			cfg.Authorize = AllowAnyUser
		}
		s, err := NewServer(cfg)
		if err != nil {
			t.Fatal(err)
		}
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		go s.Serve(l)
		ctx := testCtx(t)
		c, err := NewClient("tcp:"+l.Addr().String(), WithRetryDelay(0, 0))
		if err != nil {
			t.Fatal(err)
		}
		if explicit {
			go c.Connect(ctx)
			err := <-errs
			if !errors.Is(err, ErrUnauthorized) || !errors.Is(err, endpoint.ErrNotSupported) {
				t.Errorf("explicit Authorize, TCP: reported %v, want ErrUnauthorized wrapping ErrNotSupported", err)
			}
			if st := s.Stats(); st.Unauthorized == 0 || st.Rejected < st.Unauthorized {
				t.Errorf("Stats %+v, want the refusal counted", st)
			}
		} else if err := c.Connect(ctx); err != nil {
			t.Errorf("default Authorize, TCP: %v, want served", err)
		}
		c.Close()
		s.Close()
	}
}

// TestDefaultAccessSameUser: the default check serves the server's own uid.
func TestDefaultAccessSameUser(t *testing.T) {
	s, addr := testServer(t, ServerConfig{})
	c := dialT(t, addr)
	if c.ID() == "" {
		t.Fatal("no id")
	}
	if st := s.Stats(); st.Unauthorized != 0 || st.Accepted != 1 {
		t.Errorf("Stats %+v, want Accepted 1, nothing refused", st)
	}
}

// rawHandshake writes a native preface and HELLO on c and reads the
// server's preface and WELCOME.
func rawHandshake(t *testing.T, c net.Conn) *wire.Welcome {
	t.Helper()
	hello, _ := wire.MarshalHello(&wire.Hello{Codec: "json"})
	b := wire.AppendFrame(append([]byte(nil), wire.Preface[:]...), &wire.Frame{Type: wire.TypeHello, Payload: hello})
	if _, err := c.Write(b); err != nil {
		t.Fatal(err)
	}
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReader(c)
	if err := wire.ReadPreface(br); err != nil {
		t.Fatalf("server answered %v, want its preface", err)
	}
	var f wire.Frame
	if err := wire.NewReader(br, 0).ReadFrame(&f); err != nil || f.Type != wire.TypeWelcome {
		t.Fatalf("got %v, %v; want WELCOME", f.Type, err)
	}
	var w wire.Welcome
	if err := wire.UnmarshalWelcome(f.Payload, &w); err != nil {
		t.Fatal(err)
	}
	return &w
}

// TestLatePrefaceIsNative: a native client whose preface arrives after
// DetectTimeout, when the server has taken it for a silent socket-ipc
// client, is still served as native.
func TestLatePrefaceIsNative(t *testing.T) {
	var mu sync.Mutex
	var events []string
	s, addr := testServer(t, ServerConfig{
		OnConnect: func(ci ClientInfo) {
			mu.Lock()
			events = append(events, "connect "+ci.Wire.String())
			mu.Unlock()
		},
		OnDisconnect: func(id string, err error) {
			mu.Lock()
			events = append(events, fmt.Sprintf("disconnect %v", err))
			mu.Unlock()
		},
	})
	c, err := net.Dial("unix", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	eventually(t, "the silent connection taken for socket-ipc", func() bool {
		cl := s.Clients()
		return len(cl) == 1 && cl[0].Wire == SocketIPC
	})
	w := rawHandshake(t, c)
	cl := s.Clients()
	if len(cl) != 1 || cl[0].Wire != Native || cl[0].ID != w.ID {
		t.Errorf("Clients() = %+v, want the one native client %s", cl, w.ID)
	}
	// OnConnect runs once the WELCOME is on its way: the client may have
	// it first.
	want := []string{"connect socket-ipc", "disconnect <nil>", "connect native"}
	eventually(t, "the native client's OnConnect", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(events) >= len(want)
	})
	mu.Lock()
	defer mu.Unlock()
	if !slices.Equal(events, want) {
		t.Errorf("hooks saw %q, want %q", events, want)
	}
}

// TestPublishDuringDetection: a message published while a new connection
// has not said which wire it speaks reaches it once it is taken for a
// socket-ipc client; a native client gets none of it.
func TestPublishDuringDetection(t *testing.T) {
	const detect = 300 * time.Millisecond
	s, addr := testServer(t, ServerConfig{DetectTimeout: detect})
	listener, err := net.Dial("unix", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer listener.Close()
	eventually(t, "the connection accepted", func() bool { return len(*s.sockAll.Load()) == 1 })
	if n := len(s.Clients()); n != 0 {
		t.Fatalf("%d clients before detection, want 0", n)
	}
	if err := s.Publish("news", "early"); err != nil {
		t.Fatal(err)
	}
	listener.SetReadDeadline(time.Now().Add(10 * time.Second))
	topic, msg, err := wire.NewJSONReader(listener, 0).ReadMessage()
	if err != nil || topic != "news" || string(msg) != `"early"` {
		t.Fatalf("silent client read %q %s %v, want news \"early\"", topic, msg, err)
	}

	// A native client connecting meanwhile: its pending socket-ipc
	// session is dropped, nothing of it is written.
	nc, err := net.Dial("unix", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	eventually(t, "the native connection accepted", func() bool { return len(*s.sockAll.Load()) == 2 })
	if err := s.Publish("news", "before hello"); err != nil {
		t.Fatal(err)
	}
	rawHandshake(t, nc)
	if n := len(*s.sockAll.Load()); n != 1 {
		t.Errorf("%d socket-ipc sessions after the native handshake, want 1", n)
	}
}

// TestIdleClientKeptAlive: a server with an idle timeout keeps an idle
// native Client connected (it pings within the timeout announced in
// WELCOME), and still cuts a connection that sends nothing after its
// handshake.
func TestIdleClientKeptAlive(t *testing.T) {
	const idle = 200 * time.Millisecond
	s, addr := testServer(t, ServerConfig{IdleTimeout: idle})
	s.Handle("ping", func(m *Message) { m.Respond("pong") })
	dropped := make(chan error, 1)
	c := dialT(t, addr, WithOnDisconnect(func(err error) {
		select {
		case dropped <- err:
		default:
		}
	}))
	raw, err := net.Dial("unix", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	if w := rawHandshake(t, raw); w.Idle != idle.Milliseconds() {
		t.Errorf("WELCOME idle = %d, want %d", w.Idle, idle.Milliseconds())
	}
	// The silent raw peer is cut after the idle timeout; by then the
	// Client has been idle as long.
	start := time.Now()
	raw.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.Copy(io.Discard, raw); err != nil {
		t.Fatalf("silent peer: %v, want the server to close it", err)
	}
	if lived := time.Since(start); lived < idle-50*time.Millisecond {
		t.Errorf("silent peer cut after %v, before the idle timeout %v", lived, idle)
	}
	// Five idle timeouts of silence from the application.
	quiet := time.NewTimer(5 * idle)
	defer quiet.Stop()
	select {
	case err := <-dropped:
		t.Fatalf("idle client disconnected: %v", err)
	case <-quiet.C:
	}
	m, err := c.Request(testCtx(t), "ping", nil)
	if err != nil || string(m.Data) != `"pong"` {
		t.Fatalf("request after idling: %v %v", m, err)
	}
	select {
	case err := <-dropped:
		t.Fatalf("idle client disconnected: %v", err)
	default:
	}
}

// TestFrameTimeout: a peer that starts a frame (native) or message
// (socket-ipc) and does not finish it within FrameTimeout is cut, with an
// error matching ErrFrameTimeout; a peer quiet between frames is not.
func TestFrameTimeout(t *testing.T) {
	const frame = 200 * time.Millisecond
	ends := make(chan error, 8)
	_, addr := testServer(t, ServerConfig{FrameTimeout: frame, OnDisconnect: func(id string, err error) { ends <- err }})
	half := wire.AppendFrame(nil, &wire.Frame{Type: wire.TypeMsg, Topic: []byte("t"), Payload: make([]byte, 100)})
	half = half[:len(half)-10]
	ping := wire.AppendFrame(nil, &wire.Frame{Type: wire.TypePing, ID: 7})
	for _, tc := range []struct {
		name  string
		setup func(c net.Conn) []byte // returns what to send half of
	}{
		{"native", func(c net.Conn) []byte { rawHandshake(t, c); return half }},
		{"socket-ipc", func(c net.Conn) []byte { return []byte(`{"topic":"t","message":`) }},
	} {
		c, err := net.Dial("unix", addr)
		if err != nil {
			t.Fatal(err)
		}
		b := tc.setup(c)
		start := time.Now()
		if _, err := c.Write(b); err != nil {
			t.Fatal(err)
		}
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		io.Copy(io.Discard, c)
		lived := time.Since(start)
		c.Close()
		if lived < frame-20*time.Millisecond || lived > 5*time.Second {
			t.Errorf("%s: half-sent frame held the connection %v, want about %v", tc.name, lived, frame)
		}
		if err := <-ends; !errors.Is(err, ErrFrameTimeout) {
			t.Errorf("%s: disconnected with %v, want ErrFrameTimeout", tc.name, err)
		}
	}

	// Quiet between frames for several frame timeouts: still served.
	c, err := net.Dial("unix", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	rawHandshake(t, c)
	rd := wire.NewReader(c, 0)
	for i := range 3 {
		if _, err := c.Write(ping); err != nil {
			t.Fatal(err)
		}
		var f wire.Frame
		for f.Type != wire.TypePong {
			if err := rd.ReadFrame(&f); err != nil {
				t.Fatalf("ping %d: %v", i, err)
			}
		}
		select {
		case err := <-ends:
			t.Fatalf("quiet connection ended: %v", err)
		case <-time.After(3 * frame):
		}
	}
}

// TestMaxSubscriptions: a SUB beyond MaxSubscriptions is refused with
// ErrTooManySubscriptions; the connection and its subscriptions stay.
func TestMaxSubscriptions(t *testing.T) {
	s, addr := testServer(t, ServerConfig{Hub: true, MaxSubscriptions: 16})
	c := dialT(t, addr)
	ctx := testCtx(t)
	got := make(chan string, 1)
	for i := range 16 {
		if _, err := c.Subscribe(ctx, fmt.Sprintf("t.%d", i), func(m *Message) { got <- m.Topic }); err != nil {
			t.Fatalf("subscription %d: %v", i, err)
		}
	}
	if _, err := c.Subscribe(ctx, "t.16", func(*Message) {}); !errors.Is(err, ErrTooManySubscriptions) {
		t.Fatalf("17th subscription: %v, want ErrTooManySubscriptions", err)
	}
	if err := s.Publish("t.15", 1); err != nil {
		t.Fatal(err)
	}
	if tp := <-got; tp != "t.15" {
		t.Fatalf("got %q", tp)
	}
}

// TestMaxRequests: a hub answers a request beyond MaxRequests unanswered
// ones of one client at once with ErrTooManyRequests.
func TestMaxRequests(t *testing.T) {
	_, addr := testServer(t, ServerConfig{Hub: true, MaxRequests: 2})
	ctx := testCtx(t)
	held := make(chan *Message, 4)
	responder := dialT(t, addr)
	if _, err := responder.Subscribe(ctx, "slow", func(m *Message) { held <- m.Clone() }); err != nil {
		t.Fatal(err)
	}
	c := dialT(t, addr)
	results := make(chan error, 2)
	for range 2 {
		go func() {
			_, err := c.Request(ctx, "slow", nil)
			results <- err
		}()
	}
	first, second := <-held, <-held
	if _, err := c.Request(ctx, "slow", nil); !errors.Is(err, ErrTooManyRequests) {
		t.Fatalf("third request: %v, want ErrTooManyRequests", err)
	}
	// Answered requests make room again.
	first.Respond("a")
	second.Respond("b")
	for range 2 {
		if err := <-results; err != nil {
			t.Fatal(err)
		}
	}
	go func() { (<-held).Respond("c") }()
	if m, err := c.Request(ctx, "slow", nil); err != nil || string(m.Data) != `"c"` {
		t.Fatalf("request after the answers: %v %v", m, err)
	}
}

// TestMaxConnectionsPerUID: a user's connection beyond the limit is
// closed at once, counted and reported; a closed one makes room.
func TestMaxConnectionsPerUID(t *testing.T) {
	errs := make(chan error, 4)
	s, addr := testServer(t, ServerConfig{MaxConnectionsPerUID: 2, OnError: func(err error) {
		select {
		case errs <- err:
		default:
		}
	}})
	dialT(t, addr)
	second := dialT(t, addr)
	third, err := net.Dial("unix", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer third.Close()
	third.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := third.Read(make([]byte, 1)); !errors.Is(err, io.EOF) {
		t.Fatalf("third connection read %v, want EOF (closed by the server)", err)
	}
	if err := <-errs; !errors.Is(err, ErrTooManyForUID) {
		t.Errorf("reported %v, want ErrTooManyForUID", err)
	}
	if st := s.Stats(); st.TooManyForUID != 1 || st.Unauthorized != 0 {
		t.Errorf("Stats %+v, want TooManyForUID 1", st)
	}
	second.Close()
	eventually(t, "the closed connection forgotten", func() bool { return s.Stats().Active == 1 })
	dialT(t, addr)
}

// TestSessionOwner: a session can be resumed only by the uid that created
// it; another uid asking for its id gets a new session, and the refusal is
// reported. (The other uid is simulated by changing the recorded owner.)
func TestSessionOwner(t *testing.T) {
	errs := make(chan error, 16)
	s, addr := testServer(t, ServerConfig{OnError: func(err error) {
		select {
		case errs <- err:
		default:
		}
	}})
	c := dialT(t, addr)
	id := c.ID()
	v, ok := s.store.ids.Load(id)
	if !ok {
		t.Fatal("no session")
	}
	ss := v.(*session)
	ss.mu.Lock()
	owner, owned := ss.owner, ss.owned
	ss.mu.Unlock()
	if !owned || owner != uint32(os.Geteuid()) {
		t.Fatalf("session owner %d (owned %v), want %d", owner, owned, os.Geteuid())
	}
	// Its own uid resumes it.
	c.Close()
	c2 := dialT(t, addr, WithID(id))
	if c2.ID() != id {
		t.Fatalf("same uid resumed as %s, want %s", c2.ID(), id)
	}
	c2.Close()
	eventually(t, "the session detached", func() bool {
		ss.mu.Lock()
		defer ss.mu.Unlock()
		return ss.conn == nil
	})
	ss.mu.Lock()
	ss.owner = owner + 1
	ss.mu.Unlock()
	c3 := dialT(t, addr, WithID(id))
	if c3.ID() == id || c3.ID() == "" {
		t.Fatalf("another uid took over session %s", id)
	}
	// Other reports (the earlier connections' ends) may come first.
	var oe *SessionOwnerError
	timeout := time.After(10 * time.Second)
	for oe == nil {
		select {
		case err := <-errs:
			if errors.As(err, &oe) && (!errors.Is(err, ErrSessionOwner) || oe.ClientID != id) {
				t.Errorf("reported %v, want a *SessionOwnerError for %s", err, id)
			}
		case <-timeout:
			t.Fatal("no *SessionOwnerError reported")
		}
	}
	if _, ok := s.store.ids.Load(id); !ok {
		t.Error("the owner's session was ended")
	}
}

// TestDialErrorWrapsLastAttempt: when ctx ends before a connection, Dial's
// error matches ctx's error and the last attempt's error.
func TestDialErrorWrapsLastAttempt(t *testing.T) {
	addr := shortSock(t)
	l, err := net.Listen("unix", addr)
	if err != nil {
		t.Fatal(err)
	}
	l.(*net.UnixListener).SetUnlinkOnClose(false)
	l.Close() // the file stays, nobody listens: ECONNREFUSED
	attempted := make(chan struct{}, 1)
	ctx, cancel := context.WithCancel(testCtx(t))
	defer cancel()
	go func() {
		<-attempted
		cancel()
	}()
	_, err = Dial(ctx, addr, WithRetryDelay(time.Hour, time.Hour), WithOnError(func(error) {
		select {
		case attempted <- struct{}{}:
		default:
		}
	}))
	var ce *ConnectError
	if !errors.Is(err, context.Canceled) || !errors.Is(err, syscall.ECONNREFUSED) || !errors.As(err, &ce) {
		t.Fatalf("Dial = %v, want an error matching context.Canceled, ECONNREFUSED and *ConnectError", err)
	}
}
