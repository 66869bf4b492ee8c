package fault

import (
	"context"
	"errors"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/switchboard-ipc/switchboard/endpoint"
	"github.com/switchboard-ipc/switchboard/internal/testenv"
	"github.com/switchboard-ipc/switchboard/ipc"
)

// pingServer starts an ipc server on addr answering "ping" and a client
// connected to it.
func pingServer(t *testing.T, ctx context.Context, addr string) (*ipc.Server, *ipc.Client) {
	t.Helper()
	srv, err := ipc.NewServer(ipc.ServerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	srv.Handle("ping", func(m *ipc.Message) { m.Respond("pong") })
	if err := srv.Listen(ctx, addr); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	c, err := ipc.Dial(ctx, addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if err := ping(ctx, c); err != nil {
		t.Fatal(err)
	}
	return srv, c
}

// TestSocketFileDeleted removes the socket file under a running server:
// connections made before go on, new dials fail with ENOENT, and Close
// creates nothing at the path.
func TestSocketFileDeleted(t *testing.T) {
	ctx := testCtx(t)
	addr := filepath.Join(testenv.ShortDir(t), "s.sock")
	srv, c := pingServer(t, ctx, addr)
	if err := os.Remove(addr); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if err := ping(ctx, c); err != nil {
			t.Fatalf("connection made before the deletion: %v", err)
		}
	}
	if _, err := endpoint.Dial(ctx, addr); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Dial after deletion = %v, want ENOENT", err)
	}
	if err := srv.Close(); err != nil {
		t.Errorf("Close after the socket file was deleted: %v", err)
	}
	if _, err := os.Lstat(addr); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("after Close, Lstat(path) = %v, want nothing there", err)
	}
}

// TestSocketFileReplaced removes the socket file and starts another listener
// on the path: connections made before stay with the first server, new dials
// reach the replacement, and the first server's Close leaves the
// replacement's socket in place.
func TestSocketFileReplaced(t *testing.T) {
	ctx := testCtx(t)
	addr := filepath.Join(testenv.ShortDir(t), "s.sock")
	srv, c := pingServer(t, ctx, addr)
	if err := os.Remove(addr); err != nil {
		t.Fatal(err)
	}
	repl, err := endpoint.Listen(ctx, addr)
	if err != nil {
		t.Fatalf("a second server on the freed path: %v", err)
	}
	defer repl.Close()
	accepted := make(chan net.Conn, 4)
	go func() {
		for {
			nc, err := repl.Accept()
			if err != nil {
				close(accepted)
				return
			}
			accepted <- nc
		}
	}()
	acceptOne := func(what string) {
		t.Helper()
		nc, err := endpoint.Dial(ctx, addr)
		if err != nil {
			t.Fatalf("%s: Dial: %v", what, err)
		}
		defer nc.Close()
		select {
		case sc := <-accepted:
			sc.Close()
		case <-time.After(10 * time.Second):
			t.Fatalf("%s: the replacement did not accept the new dial", what)
		}
	}

	acceptOne("after replacement")
	if err := ping(ctx, c); err != nil {
		t.Fatalf("connection made before the replacement: %v", err)
	}
	if err := srv.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	fi, err := os.Lstat(addr)
	if err != nil || fi.Mode().Type() != fs.ModeSocket {
		t.Fatalf("after the first server's Close, Lstat(path) = %v, %v: want the replacement's socket", fi, err)
	}
	acceptOne("after the first server closed")
	if err := repl.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(addr); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("after the replacement's Close, Lstat(path) = %v, want it removed", err)
	}
}
