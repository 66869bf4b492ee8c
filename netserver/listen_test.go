//go:build unix

package netserver

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/switchboard-ipc/switchboard/endpoint"
	"github.com/switchboard-ipc/switchboard/internal/testenv"
)

// listenAndServe runs s.ListenAndServe(addr) on a goroutine and waits until
// it is serving.
func listenAndServe(t *testing.T, s *Server, addr string) <-chan error {
	t.Helper()
	errCh := make(chan error, 1)
	go func() { errCh <- s.ListenAndServe(context.Background(), addr) }()
	waitFor(t, "ListenAndServe to serve", func() bool {
		select {
		case err := <-errCh:
			t.Fatalf("ListenAndServe(%q) = %v", addr, err)
		default:
		}
		return s.Addr() != nil
	})
	return errCh
}

func TestListenAndServeUnixWithPeer(t *testing.T) {
	path := filepath.Join(testenv.ShortDir(t), "sub", "sb.sock")
	peers := make(chan endpoint.Peer, 1)
	s := &Server{
		Handler: echo,
		Authorize: func(c *Conn) error {
			p, err := c.Peer()
			if err != nil {
				return err
			}
			if p2, err2 := c.Peer(); p2 != p || err2 != nil {
				t.Errorf("second Peer() = %+v, %v; want the cached %+v", p2, err2, p)
			}
			peers <- p
			if p.UID != uint32(os.Getuid()) {
				return errors.New("other user")
			}
			return nil
		},
	}
	errCh := listenAndServe(t, s, path)
	roundTrip(t, dial(t, s.Addr()), "from the same user")
	p := recv(t, peers)
	if p.GID != uint32(os.Getgid()) {
		t.Errorf("peer gid = %d, want %d", p.GID, os.Getgid())
	}
	if p.PID != os.Getpid() && !(p.PID == 0 && runtime.GOOS == "freebsd") {
		t.Errorf("peer pid = %d, want %d", p.PID, os.Getpid())
	}

	if err := s.Shutdown(context.Background()); err != nil {
		t.Errorf("Shutdown = %v", err)
	}
	if err := recv(t, errCh); !errors.Is(err, ErrServerClosed) {
		t.Errorf("ListenAndServe = %v, want ErrServerClosed", err)
	}
	if _, err := os.Lstat(path); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("socket file after Shutdown: %v, want it removed", err)
	}
	if err := s.ListenAndServe(context.Background(), path); !errors.Is(err, ErrServerClosed) {
		t.Errorf("ListenAndServe after Shutdown = %v, want ErrServerClosed", err)
	}
}

func TestPeerOfTCPConnIsNotSupported(t *testing.T) {
	errs := make(chan error, 1)
	s := &Server{Handler: HandlerFunc(func(_ context.Context, c *Conn) {
		_, err := c.Peer()
		errs <- err
	})}
	errCh := listenAndServe(t, s, "tcp:127.0.0.1:0")
	defer stopAndCheck(t, s, errCh)
	dial(t, s.Addr())
	if err := recv(t, errs); !errors.Is(err, endpoint.ErrNotSupported) {
		t.Errorf("Peer() on TCP = %v, want endpoint.ErrNotSupported", err)
	}
}

func TestListenAndServeShared(t *testing.T) {
	shared := &endpoint.ListenConfig{Shared: true}
	s1 := &Server{Handler: echo, ListenConfig: shared}
	errCh1 := listenAndServe(t, s1, "127.0.0.1:0")
	defer stopAndCheck(t, s1, errCh1)
	addr := s1.Addr().String()

	s2 := &Server{Handler: echo, ListenConfig: shared}
	errCh2 := listenAndServe(t, s2, addr)
	defer stopAndCheck(t, s2, errCh2)
	roundTrip(t, dial(t, s2.Addr()), "shared port")

	exclusive := &Server{}
	if err := exclusive.ListenAndServe(context.Background(), addr); err == nil {
		t.Error("ListenAndServe on a port shared by others without Shared succeeded")
	}
}

func TestListenAndServeBadInput(t *testing.T) {
	var s Server
	if err := s.ListenAndServe(context.Background(), "tcp:"); !errors.Is(err, endpoint.ErrBadAddr) {
		t.Errorf("ListenAndServe(bad address) = %v, want endpoint.ErrBadAddr", err)
	}
	bad := &Server{MaxConnections: -3}
	if err := bad.ListenAndServe(context.Background(), "127.0.0.1:0"); !errors.Is(err, ErrInvalidConfig) {
		t.Errorf("ListenAndServe with MaxConnections -3 = %v, want ErrInvalidConfig", err)
	}
}
