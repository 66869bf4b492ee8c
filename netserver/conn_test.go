package netserver

import (
	"context"
	"errors"
	"net"
	"os"
	"testing"
	"time"
)

func TestConnContext(t *testing.T) {
	type seen struct {
		same      bool
		netConn   net.Conn
		doneAfter bool
	}
	results := make(chan seen, 1)
	s := &Server{Handler: HandlerFunc(func(ctx context.Context, c *Conn) {
		r := seen{same: c.Context() == ctx, netConn: c.NetConn()}
		if ctx.Err() != nil {
			t.Error("handler ctx cancelled on entry")
		}
		c.Close()
		<-ctx.Done() // closing the connection cancels its ctx
		r.doneAfter = true
		results <- r
	})}
	l := newPipeListener()
	errCh := serve(t, s, l)
	defer stopAndCheck(t, s, errCh)
	l.Dial()
	r := recv(t, results)
	if !r.same || !r.doneAfter {
		t.Errorf("Context() is the handler's ctx: %v; cancelled by Close: %v", r.same, r.doneAfter)
	}
	if _, isConn := r.netConn.(*Conn); isConn || r.netConn == nil {
		t.Errorf("NetConn() = %T, want the raw connection", r.netConn)
	}
}

func TestSetDeadlineTakesOverFromHandshake(t *testing.T) {
	errs := make(chan error, 1)
	s := &Server{
		HandshakeTimeout: time.Hour,
		Handler: HandlerFunc(func(_ context.Context, c *Conn) {
			c.SetDeadline(time.Now().Add(-time.Second))
			_, err := c.Read(make([]byte, 1))
			errs <- err
		}),
	}
	l := newPipeListener()
	errCh := serve(t, s, l)
	defer stopAndCheck(t, s, errCh)
	defer l.Dial().Close()
	err := recv(t, errs)
	var te *TimeoutError
	if !errors.Is(err, os.ErrDeadlineExceeded) || errors.As(err, &te) {
		t.Errorf("Read after SetDeadline in the past = %v, want the raw deadline error", err)
	}
}

func TestTimeoutErrorText(t *testing.T) {
	tests := []struct {
		err  *TimeoutError
		want string
	}{
		{&TimeoutError{Handshake: true, Limit: time.Second, Err: os.ErrDeadlineExceeded}, "netserver: handshake timeout (1s) exceeded: i/o timeout"},
		{&TimeoutError{Limit: time.Minute, Err: os.ErrDeadlineExceeded}, "netserver: idle timeout (1m0s) exceeded: i/o timeout"},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("Error() = %q, want %q", got, tt.want)
		}
		if !tt.err.Timeout() || !tt.err.Temporary() || !errors.Is(tt.err, os.ErrDeadlineExceeded) {
			t.Errorf("%v: not a temporary timeout unwrapping to os.ErrDeadlineExceeded", tt.err)
		}
	}
}

func TestServeAll(t *testing.T) {
	t.Run("both served until Close", func(t *testing.T) {
		s := &Server{Handler: echo}
		l1, l2 := listenUnix(t), listenTCP(t)
		errCh := make(chan error, 1)
		go func() { errCh <- s.serveAll([]net.Listener{l1, l2}) }()
		waitFor(t, "two listeners", func() bool {
			s.mu.Lock()
			defer s.mu.Unlock()
			return len(s.listeners) == 2
		})
		roundTrip(t, dial(t, l1.Addr()), "one")
		roundTrip(t, dial(t, l2.Addr()), "two")
		s.Close()
		if err := recv(t, errCh); !errors.Is(err, ErrServerClosed) {
			t.Errorf("serveAll = %v, want ErrServerClosed", err)
		}
	})
	t.Run("one fails", func(t *testing.T) {
		errBroken := errors.New("broken listener")
		s := &Server{Handler: echo}
		good, bad := listenTCP(t), newPipeListener(nil, errBroken)
		errCh := make(chan error, 1)
		go func() { errCh <- s.serveAll([]net.Listener{good, bad}) }()
		waitFor(t, "two listeners", func() bool {
			s.mu.Lock()
			defer s.mu.Unlock()
			return len(s.listeners) == 2
		})
		bad.Dial().Close() // then its next Accept fails
		if err := recv(t, errCh); !errors.Is(err, errBroken) {
			t.Errorf("serveAll = %v, want the failing listener's error", err)
		}
		if _, err := good.Accept(); !errors.Is(err, net.ErrClosed) {
			t.Errorf("the other listener was left open: Accept = %v", err)
		}
		waitFor(t, "the closed connection to be untracked", func() bool { return s.Connections() == 0 })
		s.Close()
	})
}
