package endpoint

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/switchboard-ipc/switchboard/internal/testenv"
	"golang.org/x/sys/unix"
)

func TestAbstractSocket(t *testing.T) {
	name := "@switchboard-test-" + strconv.Itoa(os.Getpid()) + "-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	l := listenT(t, name)
	if got := l.Addr().String(); got != name {
		t.Errorf("Addr() = %q, want %q", got, name)
	}
	roundTrip(t, l, name)
	if _, err := Listen(context.Background(), name); !errors.Is(err, ErrAddrInUse) {
		t.Errorf("second Listen on %s = %v, want ErrAddrInUse", name, err)
	}
	// The peer of an abstract connection is known too.
	c, err := Dial(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	s, err := l.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if p, err := PeerOf(s); err != nil || p.PID != os.Getpid() {
		t.Errorf("PeerOf = %+v, %v; want pid %d", p, err, os.Getpid())
	}
	l.Close()
	// Closing leaves nothing behind, and the name is free again.
	l2 := listenT(t, name)
	l2.Close()
}

func TestUnixBacklog(t *testing.T) {
	dir := testenv.ShortDir(t)
	// A Unix stream socket queues at most backlog+1 connections nobody has
	// accepted; a non-blocking connect beyond that fails with EAGAIN.
	queued := func(backlog int) int {
		lc := ListenConfig{Backlog: backlog}
		path := filepath.Join(dir, "b"+strconv.Itoa(backlog)+".sock")
		l, err := lc.Listen(context.Background(), path)
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		var conns []net.Conn
		defer func() {
			for _, c := range conns {
				c.Close()
			}
		}()
		for len(conns) < 1000 {
			c, err := net.Dial("unix", path) // not Dial, which waits for room
			if errors.Is(err, syscall.EAGAIN) {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			conns = append(conns, c)
		}
		return len(conns)
	}
	if n := queued(3); n != 4 {
		t.Errorf("Backlog 3 queued %d connections, want 4", n)
	}
	if n := queued(0); n != DefaultBacklog+1 {
		t.Errorf("default Backlog queued %d connections, want %d", n, DefaultBacklog+1)
	}
}

func TestTCPAcceptedOptions(t *testing.T) {
	no := false
	lc := ListenConfig{KeepAlive: 42 * time.Second, NoDelay: &no}
	l, err := lc.Listen(context.Background(), "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	c, err := Dial(context.Background(), l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	s, err := l.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	opts := sockopts(t, s)
	if opts[unix.TCP_NODELAY] != 0 || opts[unix.SO_KEEPALIVE] != 1 || opts[unix.TCP_KEEPIDLE] != 42 {
		t.Errorf("accepted connection: nodelay %d keepalive %d keepidle %d, want 0 1 42",
			opts[unix.TCP_NODELAY], opts[unix.SO_KEEPALIVE], opts[unix.TCP_KEEPIDLE])
	}

	lc = ListenConfig{KeepAlive: -1}
	l2, err := lc.Listen(context.Background(), "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l2.Close()
	c2, err := Dial(context.Background(), l2.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	s2, err := l2.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	opts = sockopts(t, s2)
	if opts[unix.TCP_NODELAY] != 1 || opts[unix.SO_KEEPALIVE] != 0 {
		t.Errorf("defaults with KeepAlive -1: nodelay %d keepalive %d, want 1 0", opts[unix.TCP_NODELAY], opts[unix.SO_KEEPALIVE])
	}
}

// sockopts reads TCP_NODELAY, SO_KEEPALIVE and TCP_KEEPIDLE of a TCP connection.
func sockopts(t *testing.T, c net.Conn) map[int]int {
	t.Helper()
	rc, err := c.(syscall.Conn).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	m := map[int]int{}
	rc.Control(func(fd uintptr) {
		for _, o := range []struct{ level, opt int }{
			{unix.IPPROTO_TCP, unix.TCP_NODELAY}, {unix.SOL_SOCKET, unix.SO_KEEPALIVE}, {unix.IPPROTO_TCP, unix.TCP_KEEPIDLE},
		} {
			v, err := unix.GetsockoptInt(int(fd), o.level, o.opt)
			if err != nil {
				t.Errorf("getsockopt %d: %v", o.opt, err)
			}
			m[o.opt] = v
		}
	})
	return m
}

func TestDialWaitsForRoomInQueue(t *testing.T) {
	path := filepath.Join(testenv.ShortDir(t), "q.sock")
	lc := ListenConfig{Backlog: 1}
	l, err := lc.Listen(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	var queued []net.Conn
	defer func() {
		for _, c := range queued {
			c.Close()
		}
	}()
	for {
		c, err := net.Dial("unix", path)
		if errors.Is(err, syscall.EAGAIN) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		queued = append(queued, c)
	}
	// The queue is full: Dial must wait, not fail.
	retrying := make(chan struct{}, 1)
	testHookQueueFull = func() {
		select {
		case retrying <- struct{}{}:
		default:
		}
	}
	defer func() { testHookQueueFull = nil }()
	dialed := make(chan error, 1)
	go func() {
		c, err := Dial(context.Background(), path)
		if err == nil {
			c.Close()
		}
		dialed <- err
	}()
	<-retrying
	s, err := l.Accept() // make room
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	if err := <-dialed; err != nil {
		t.Fatalf("Dial with a full queue: %v", err)
	}

	// With a deadline, a queue that stays full ends the dial.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	for { // refill
		c, err := net.Dial("unix", path)
		if errors.Is(err, syscall.EAGAIN) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		queued = append(queued, c)
	}
	if _, err := Dial(ctx, path); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Dial on a full queue past its deadline = %v, want DeadlineExceeded", err)
	}
}
