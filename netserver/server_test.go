package netserver

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestServeUnixAndTCP(t *testing.T) {
	s := &Server{Handler: echo}
	ul, tl := listenUnix(t), listenTCP(t)
	uErr := serve(t, s, ul)
	if got := s.Addr(); got.String() != ul.Addr().String() {
		t.Errorf("Addr() = %v, want the first listener's %v", got, ul.Addr())
	}
	tErr := serve(t, s, tl)
	waitFor(t, "both listeners tracked", func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		return len(s.listeners) == 2
	})

	uc, tc := dial(t, ul.Addr()), dial(t, tl.Addr())
	roundTrip(t, uc, "over unix")
	roundTrip(t, tc, "over tcp")
	if n := s.Connections(); n != 2 {
		t.Errorf("Connections() = %d, want 2", n)
	}
	if got := s.Addr(); got.String() != ul.Addr().String() {
		t.Errorf("Addr() = %v, want %v", got, ul.Addr())
	}

	s.Close()
	for _, ch := range []<-chan error{uErr, tErr} {
		if err := recv(t, ch); !errors.Is(err, ErrServerClosed) {
			t.Errorf("Serve = %v, want ErrServerClosed", err)
		}
	}
	expectEOF(t, uc)
	expectEOF(t, tc)
	if a := s.Addr(); a != nil {
		t.Errorf("Addr() after Close = %v, want nil", a)
	}
	// Serve closed both listeners.
	for _, l := range []net.Listener{ul, tl} {
		if _, err := l.Accept(); !errors.Is(err, net.ErrClosed) {
			t.Errorf("Accept on served listener after Close = %v, want net.ErrClosed", err)
		}
	}
}

func TestShutdownWaitsAndRefusesNew(t *testing.T) {
	ctxDone := make(chan struct{})
	release := make(chan struct{})
	s := &Server{Handler: HandlerFunc(func(ctx context.Context, c *Conn) {
		io.WriteString(c, "hi")
		<-ctx.Done()
		close(ctxDone)
		<-release
		io.WriteString(c, "bye")
	})}
	l := listenTCP(t)
	errCh := serve(t, s, l)
	c := dial(t, l.Addr())
	if _, err := io.ReadFull(c, make([]byte, 2)); err != nil {
		t.Fatal(err)
	}

	shutErr := make(chan error, 1)
	go func() { shutErr <- s.Shutdown(context.Background()) }()
	recv(t, ctxDone) // Shutdown closed the listeners before it cancelled the handler's ctx.

	if err := recv(t, errCh); !errors.Is(err, ErrServerClosed) {
		t.Errorf("Serve = %v, want ErrServerClosed", err)
	}
	if c2, err := net.Dial("tcp", l.Addr().String()); err == nil {
		c2.Close()
		t.Error("dial during Shutdown succeeded, want refused")
	}
	select {
	case err := <-shutErr:
		t.Fatalf("Shutdown returned %v while a handler was running", err)
	default:
	}
	if n := s.Connections(); n != 1 {
		t.Errorf("Connections() during Shutdown = %d, want 1", n)
	}

	close(release)
	if err := recv(t, shutErr); err != nil {
		t.Errorf("Shutdown = %v, want nil", err)
	}
	if n := s.Connections(); n != 0 {
		t.Errorf("Connections() after Shutdown = %d, want 0", n)
	}
	got, err := io.ReadAll(c)
	if err != nil || string(got) != "bye" {
		t.Errorf("client read %q, %v; want the handler's last write then EOF", got, err)
	}
	if err := s.Serve(listenTCP(t)); !errors.Is(err, ErrServerClosed) {
		t.Errorf("Serve after Shutdown = %v, want ErrServerClosed", err)
	}
}

func TestShutdownContextExpires(t *testing.T) {
	started := make(chan struct{})
	returned := make(chan error, 1)
	s := &Server{Handler: HandlerFunc(func(_ context.Context, c *Conn) {
		close(started)
		_, err := c.Read(make([]byte, 1)) // ignores ctx: only Close ends it
		returned <- err
	})}
	l := listenUnix(t)
	errCh := serve(t, s, l)
	dial(t, l.Addr())
	recv(t, started)

	ctx, cancel := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancel()
	if err := s.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Shutdown with expired ctx = %v, want context.DeadlineExceeded", err)
	}
	if n := s.Connections(); n != 1 {
		t.Errorf("Connections() after failed Shutdown = %d, want 1 (left running)", n)
	}
	if err := recv(t, errCh); !errors.Is(err, ErrServerClosed) {
		t.Errorf("Serve = %v, want ErrServerClosed", err)
	}

	if err := s.Close(); err != nil {
		t.Errorf("Close = %v", err)
	}
	if err := recv(t, returned); err == nil {
		t.Error("handler's Read succeeded after Close, want an error")
	}
	if err := s.Shutdown(context.Background()); err != nil {
		t.Errorf("Shutdown after Close = %v, want nil", err)
	}
	if n := s.Connections(); n != 0 {
		t.Errorf("Connections() = %d, want 0", n)
	}
}

func TestCloseEndsConnectionsNow(t *testing.T) {
	const n = 5
	var opened sync.WaitGroup
	opened.Add(n)
	s := &Server{
		OnOpen: func(*Conn) { opened.Done() },
		Handler: HandlerFunc(func(_ context.Context, c *Conn) {
			io.Copy(io.Discard, c) // blocks until the connection is closed
		}),
	}
	l := listenTCP(t)
	errCh := serve(t, s, l)
	var clients []net.Conn
	for range n {
		clients = append(clients, dial(t, l.Addr()))
	}
	opened.Wait()
	if got := s.Connections(); got != n {
		t.Fatalf("Connections() = %d, want %d", got, n)
	}
	if err := s.Close(); err != nil {
		t.Errorf("Close = %v", err)
	}
	for _, c := range clients {
		expectEOF(t, c)
	}
	if err := recv(t, errCh); !errors.Is(err, ErrServerClosed) {
		t.Errorf("Serve = %v, want ErrServerClosed", err)
	}
	waitFor(t, "handlers to finish", func() bool { return s.Connections() == 0 })
	if err := s.Close(); err != nil {
		t.Errorf("second Close = %v, want nil", err)
	}
}

func TestMaxConnections(t *testing.T) {
	const max = 3
	opened := make(chan *Conn, max+1)
	type rejection struct {
		c   net.Conn
		err error
	}
	rejected := make(chan rejection, 1)
	s := &Server{
		MaxConnections: max,
		Handler:        echo,
		OnOpen:         func(c *Conn) { opened <- c },
		OnReject:       func(c net.Conn, err error) { rejected <- rejection{c, err} },
	}
	l := listenUnix(t)
	errCh := serve(t, s, l)
	defer stopAndCheck(t, s, errCh)

	var clients []net.Conn
	for i := range max {
		c := dial(t, l.Addr())
		roundTrip(t, c, "ping")
		clients = append(clients, c)
		if got := s.Connections(); got != i+1 {
			t.Fatalf("Connections() = %d, want %d", got, i+1)
		}
	}

	extra := dial(t, l.Addr())
	r := recv(t, rejected)
	if !errors.Is(r.err, ErrTooManyConnections) {
		t.Errorf("OnReject err = %v, want ErrTooManyConnections", r.err)
	}
	if _, ok := r.c.(*Conn); ok {
		t.Error("OnReject got a *Conn for a connection over the limit, want the raw connection")
	}
	expectEOF(t, extra)
	st := s.Stats()
	if st.Accepted != max+1 || st.Rejected != 1 || st.Active != max {
		t.Errorf("Stats = %+v, want Accepted %d, Rejected 1, Active %d", st, max+1, max)
	}
	if len(opened) != max {
		t.Errorf("OnOpen ran %d times, want %d: the rejected connection reached the handler", len(opened), max)
	}

	clients[0].Close()
	waitFor(t, "Connections() == max-1", func() bool { return s.Connections() == max-1 })
	again := dial(t, l.Addr())
	roundTrip(t, again, "room again")
	if got := s.Connections(); got != max {
		t.Errorf("Connections() = %d, want %d", got, max)
	}
	for _, c := range clients[1:] {
		c.Close()
	}
	again.Close()
	waitFor(t, "Connections() == 0", func() bool { return s.Connections() == 0 })
	if st := s.Stats(); st.Rejected != 1 || st.Accepted != max+2 {
		t.Errorf("Stats = %+v, want Accepted %d, Rejected 1", st, max+2)
	}
}

func TestByteCounters(t *testing.T) {
	type counts struct{ read, written uint64 }
	closed := make(chan counts, 10)
	s := &Server{
		Handler: echo,
		OnClose: func(c *Conn) { closed <- counts{c.BytesRead(), c.BytesWritten()} },
	}
	l := listenTCP(t)
	errCh := serve(t, s, l)
	defer stopAndCheck(t, s, errCh)

	sizes := []int{1, 1000, 65536, 1 << 20}
	var total uint64
	for _, size := range sizes {
		c := dial(t, l.Addr())
		msg := strings.Repeat("x", size)
		roundTrip(t, c, msg[:size/2])
		roundTrip(t, c, msg[size/2:])
		c.Close()
		got := recv(t, closed)
		if got.read != uint64(size) || got.written != uint64(size) {
			t.Errorf("size %d: conn counted read %d, written %d", size, got.read, got.written)
		}
		total += uint64(size)
	}
	waitFor(t, "all connections closed", func() bool { return s.Connections() == 0 })
	st := s.Stats()
	if st.BytesRead != total || st.BytesWritten != total {
		t.Errorf("Stats bytes read %d, written %d; want %d each", st.BytesRead, st.BytesWritten, total)
	}
}

func TestConnIDsUnique(t *testing.T) {
	const n = 20
	ids := make(chan uint64, n)
	s := &Server{Handler: HandlerFunc(func(_ context.Context, c *Conn) { ids <- c.ID() })}
	l := listenUnix(t)
	errCh := serve(t, s, l)
	defer stopAndCheck(t, s, errCh)
	for range n {
		expectEOF(t, dial(t, l.Addr())) // nil-returning handler: closed at once
	}
	seen := map[uint64]bool{}
	for range n {
		id := recv(t, ids)
		if id == 0 || seen[id] {
			t.Fatalf("ID %d is zero or repeated", id)
		}
		seen[id] = true
	}
}

func TestNilHandlerClosesConnection(t *testing.T) {
	var opens, closes atomic.Int32
	s := &Server{OnOpen: func(*Conn) { opens.Add(1) }, OnClose: func(*Conn) { closes.Add(1) }}
	l := listenUnix(t)
	errCh := serve(t, s, l)
	defer stopAndCheck(t, s, errCh)
	expectEOF(t, dial(t, l.Addr()))
	waitFor(t, "OnClose", func() bool { return closes.Load() == 1 })
	if opens.Load() != 1 || s.Connections() != 0 {
		t.Errorf("opens %d, Connections %d; want 1, 0", opens.Load(), s.Connections())
	}
}

func TestAuthorize(t *testing.T) {
	errDenied := errors.New("denied by policy")
	rejected := make(chan error, 1)
	var opens atomic.Int32
	s := &Server{
		Handler: echo,
		Authorize: func(c *Conn) error {
			// The first byte says whether the peer may in.
			b := make([]byte, 1)
			if _, err := io.ReadFull(c, b); err != nil || b[0] != 'y' {
				return errDenied
			}
			return nil
		},
		OnOpen: func(*Conn) { opens.Add(1) },
		OnReject: func(c net.Conn, err error) {
			if _, ok := c.(*Conn); !ok {
				err = fmt.Errorf("OnReject got %T, want *Conn", c)
			}
			rejected <- err
		},
	}
	l := listenTCP(t)
	errCh := serve(t, s, l)
	defer stopAndCheck(t, s, errCh)

	bad := dial(t, l.Addr())
	io.WriteString(bad, "n")
	err := recv(t, rejected)
	if !errors.Is(err, ErrUnauthorized) || !errors.Is(err, errDenied) {
		t.Errorf("OnReject err = %v, want ErrUnauthorized wrapping the Authorize error", err)
	}
	expectEOF(t, bad)

	good := dial(t, l.Addr())
	io.WriteString(good, "y")
	roundTrip(t, good, "welcome")
	if st := s.Stats(); st.Rejected != 1 || st.Accepted != 2 || opens.Load() != 1 {
		t.Errorf("Stats %+v, OnOpen %d; want 2 accepted, 1 rejected, 1 opened", st, opens.Load())
	}
}

func TestServeAfterClose(t *testing.T) {
	var s Server
	if err := s.Close(); err != nil {
		t.Fatalf("Close on an idle server = %v", err)
	}
	l := listenTCP(t)
	if err := s.Serve(l); !errors.Is(err, ErrServerClosed) {
		t.Errorf("Serve after Close = %v, want ErrServerClosed", err)
	}
	if _, err := l.Accept(); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Serve left the listener open: Accept = %v", err)
	}
	if err := s.Shutdown(context.Background()); err != nil {
		t.Errorf("Shutdown after Close = %v", err)
	}
}

func TestStopTwiceConcurrently(t *testing.T) {
	s := &Server{Handler: HandlerFunc(func(ctx context.Context, _ *Conn) { <-ctx.Done() })}
	l := listenUnix(t)
	errCh := serve(t, s, l)
	c := dial(t, l.Addr())
	waitFor(t, "connection", func() bool { return s.Connections() == 1 })
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for i := range 8 {
		wg.Go(func() {
			if i%2 == 0 {
				errs <- s.Close()
			} else {
				errs <- s.Shutdown(context.Background())
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("Close/Shutdown = %v", err)
		}
	}
	if err := recv(t, errCh); !errors.Is(err, ErrServerClosed) {
		t.Errorf("Serve = %v", err)
	}
	expectEOF(t, c)
	if err := s.Shutdown(context.Background()); err != nil || s.Connections() != 0 {
		t.Errorf("Shutdown = %v, Connections = %d; want nil, 0", err, s.Connections())
	}
}

func TestInvalidConfig(t *testing.T) {
	tests := []struct {
		name string
		s    *Server
	}{
		{"negative MaxConnections", &Server{MaxConnections: -1}},
		{"negative HandshakeTimeout", &Server{HandshakeTimeout: -time.Second}},
		{"negative IdleTimeout", &Server{IdleTimeout: -time.Second}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := newPipeListener()
			if err := tt.s.Serve(l); !errors.Is(err, ErrInvalidConfig) {
				t.Errorf("Serve = %v, want ErrInvalidConfig", err)
			}
			if _, err := l.Accept(); !errors.Is(err, net.ErrClosed) {
				t.Errorf("listener left open: %v", err)
			}
		})
	}
	if err := new(Server).Serve(nil); !errors.Is(err, ErrInvalidConfig) {
		t.Errorf("Serve(nil) = %v, want ErrInvalidConfig", err)
	}
}

func TestHandlerPanicIsRecovered(t *testing.T) {
	var logs syncBuffer
	s := &Server{
		Logger: slog.New(slog.NewTextHandler(&logs, nil)),
		Handler: HandlerFunc(func(_ context.Context, c *Conn) {
			if c.ID() == 1 {
				panic("handler bug")
			}
			io.Copy(c, c)
		}),
	}
	l := listenUnix(t)
	errCh := serve(t, s, l)
	defer stopAndCheck(t, s, errCh)
	expectEOF(t, dial(t, l.Addr()))
	roundTrip(t, dial(t, l.Addr()), "still serving")
	waitFor(t, "panic logged", func() bool { return strings.Contains(logs.String(), "handler bug") })
}

func TestNonTemporaryAcceptErrorEndsServe(t *testing.T) {
	errBroken := errors.New("listener broken")
	s := &Server{}
	if err := s.Serve(newPipeListener(errBroken)); !errors.Is(err, errBroken) {
		t.Errorf("Serve = %v, want the accept error", err)
	}
	// The server itself is not stopped: it can serve another listener.
	l := newPipeListener()
	errCh := make(chan error, 1)
	go func() { errCh <- s.Serve(l) }()
	expectEOF(t, l.Dial())
	stopAndCheck(t, s, errCh)
}

func TestShutdownWaitsForOnClose(t *testing.T) {
	inOnClose := make(chan int, 1)
	release := make(chan struct{})
	s := &Server{
		Handler: echo,
		OnClose: func(*Conn) {
			inOnClose <- 0
			<-release
		},
	}
	l := newPipeListener()
	errCh := serve(t, s, l)
	roundTrip(t, l.Dial(), "x")
	shutErr := make(chan error, 1)
	go func() { shutErr <- s.Shutdown(context.Background()) }()
	recv(t, inOnClose) // echo returned on the cancelled ctx
	select {
	case err := <-shutErr:
		t.Fatalf("Shutdown returned %v while OnClose ran", err)
	default:
	}
	if n := s.Connections(); n != 1 {
		t.Errorf("Connections() in OnClose = %d, want 1", n)
	}
	close(release)
	if err := recv(t, shutErr); err != nil || s.Connections() != 0 {
		t.Errorf("Shutdown = %v, Connections = %d; want nil, 0", err, s.Connections())
	}
	if err := recv(t, errCh); !errors.Is(err, ErrServerClosed) {
		t.Errorf("Serve = %v", err)
	}
}
