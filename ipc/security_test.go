package ipc

import (
	"errors"
	"net"
	"testing"

	"github.com/switchboard-ipc/switchboard/endpoint"
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
