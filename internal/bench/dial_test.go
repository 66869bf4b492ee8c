package bench

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/switchboard-ipc/switchboard/internal/testenv"
)

// A Unix listener whose backlog is full refuses connections at once
// (EAGAIN); dialN waits and tries again instead of failing the run, and
// gets every connection once the server accepts.
func TestDialNRetriesFullBacklog(t *testing.T) {
	path := filepath.Join(testenv.ShortDir(t), "b.sock")
	fd, err := syscall.Socket(syscall.AF_UNIX, syscall.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Bind(fd, &syscall.SockaddrUnix{Name: path}); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Listen(fd, 1); err != nil {
		t.Fatal(err)
	}
	f := os.NewFile(uintptr(fd), path)
	l, err := net.FileListener(f) // dups fd
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()

	retried := make(chan struct{}, 1)
	testHookDialRetry = func() {
		select {
		case retried <- struct{}{}:
		default:
		}
	}
	defer func() { testHookDialRetry = nil }()
	const n = 8
	type result struct {
		conns []net.Conn
		err   error
	}
	done := make(chan result, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	go func() {
		conns, err := dialN(ctx, path, n)
		done <- result{conns, err}
	}()
	select {
	case <-retried: // the backlog filled and a dial was refused
	case r := <-done:
		t.Fatalf("dialN returned (%v) before any connection was refused", r.err)
	}
	for range n {
		c, err := l.Accept()
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
	}
	r := <-done
	if r.err != nil {
		t.Fatalf("dialN: %v", r.err)
	}
	closeAll(r.conns)
	if len(r.conns) != n {
		t.Fatalf("dialN: %d connections, want %d", len(r.conns), n)
	}
}
