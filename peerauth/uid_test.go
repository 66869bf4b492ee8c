package peerauth_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-ipc/switchboard/endpoint"
	"github.com/switchboard-ipc/switchboard/internal/testenv"
	"github.com/switchboard-ipc/switchboard/ipc"
	"github.com/switchboard-ipc/switchboard/netserver"
	"github.com/switchboard-ipc/switchboard/peerauth"
)

// The test binary re-runs itself as the client: envChild says which kind,
// envAddr where to connect. The child prints one line, "served ..." or
// "refused ...", and exits 0.
const (
	envChild = "PEERAUTH_TEST_CHILD"
	envAddr  = "PEERAUTH_TEST_ADDR"
)

func TestMain(m *testing.M) {
	switch os.Getenv(envChild) {
	case "":
		os.Exit(m.Run())
	case "raw":
		fmt.Println(rawClient(os.Getenv(envAddr)))
	case "ipc":
		fmt.Println(ipcClient(os.Getenv(envAddr)))
	default:
		fmt.Println("unknown child kind")
		os.Exit(2)
	}
	os.Exit(0)
}

// rawClient connects and reads the server's greeting: a refused connection
// is closed before the handler writes it.
func rawClient(addr string) string {
	c, err := net.Dial("unix", addr)
	if err != nil {
		return "refused dial: " + err.Error()
	}
	defer c.Close()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return "refused read: " + err.Error()
	}
	return "served " + strings.TrimSpace(line)
}

// ipcClient connects with ipc and reports the first failed attempt, or the id
// it was given.
func ipcClient(addr string) string {
	errs := make(chan error, 1)
	c, err := ipc.NewClient(addr, ipc.WithRetryDelay(time.Hour, time.Hour), ipc.WithOnError(func(err error) {
		select {
		case errs <- err:
		default:
		}
	}))
	if err != nil {
		return "error " + err.Error()
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- c.Connect(ctx) }()
	select {
	case err := <-done:
		if err != nil {
			return "refused connect: " + err.Error()
		}
		return "served " + c.ID()
	case err := <-errs:
		return "refused handshake: " + err.Error()
	}
}

// childAs runs the test binary (copied where nobody can execute it) as the
// client kind against addr, as the nobody user when asNobody, and returns
// its line.
func childAs(t *testing.T, bin, kind, addr string, asNobody bool) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	args := []string{bin, "-test.run=^$"}
	if asNobody {
		setpriv := testenv.Program(t, "setpriv")
		args = append([]string{setpriv, "--reuid=nobody", "--regid=nogroup", "--clear-groups"}, args...)
	}
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	// The race detector sleeps a second at exit unless told not to.
	cmd.Env = append(os.Environ(), envChild+"="+kind, envAddr+"="+addr, "GORACE=atexit_sleep_ms=0")
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("client %s (nobody=%v): %v; output %q", kind, asNobody, err, out)
	}
	return strings.TrimSpace(string(out))
}

// sharedDir returns a directory every user can traverse, holding a copy of
// the test binary every user can execute.
func sharedDir(t *testing.T) (dir, bin string) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("changing to another uid needs root: this test runs the client as nobody via setpriv")
	}
	dir = testenv.ShortDir(t)
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	src, err := os.Open(self)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	bin = filepath.Join(dir, "peerauth.test")
	dst, err := os.OpenFile(bin, os.O_CREATE|os.O_WRONLY|os.O_EXCL, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		t.Fatal(err)
	}
	if err := dst.Close(); err != nil {
		t.Fatal(err)
	}
	return dir, bin
}

// listenOpen listens on a socket every user may connect to, so that only the
// credential check can turn the nobody client away.
func listenOpen(t *testing.T, dir string) net.Listener {
	t.Helper()
	lc := endpoint.ListenConfig{SocketMode: 0o666}
	l, err := lc.Listen(context.Background(), filepath.Join(dir, "s.sock"))
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func TestOtherUIDRefusedByNetserver(t *testing.T) {
	dir, bin := sharedDir(t)
	l := listenOpen(t, dir)
	addr := l.Addr().String()
	pol := peerauth.SameUser()
	var mu sync.Mutex
	var rejects []error
	srv := &netserver.Server{
		Handler: netserver.HandlerFunc(func(ctx context.Context, c *netserver.Conn) {
			io.WriteString(c, "hello\n")
			io.Copy(io.Discard, c)
		}),
		HandshakeTimeout: 5 * time.Second,
		Authorize:        func(c *netserver.Conn) error { return pol.CheckConn(c) },
		OnReject: func(_ net.Conn, err error) {
			mu.Lock()
			rejects = append(rejects, err)
			mu.Unlock()
		},
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(l) }()
	defer func() {
		srv.Close()
		if err := <-served; !errors.Is(err, netserver.ErrServerClosed) {
			t.Errorf("Serve = %v, want ErrServerClosed", err)
		}
	}()

	if got := childAs(t, bin, "raw", addr, true); !strings.HasPrefix(got, "refused") {
		t.Fatalf("client as nobody: %q, want it refused", got)
	}
	if st := srv.Stats(); st.Rejected != 1 {
		t.Errorf("after the nobody client: Stats %+v, want Rejected 1", st)
	}
	mu.Lock()
	if len(rejects) != 1 {
		t.Fatalf("OnReject called %d times, want 1", len(rejects))
	}
	var de *peerauth.DeniedError
	if !errors.Is(rejects[0], netserver.ErrUnauthorized) || !errors.As(rejects[0], &de) || de.Peer.UID != 65534 || de.Peer.GID != 65534 {
		t.Errorf("OnReject err = %v, want ErrUnauthorized wrapping a *DeniedError for uid/gid 65534", rejects[0])
	}
	mu.Unlock()

	if got := childAs(t, bin, "raw", addr, false); got != "served hello" {
		t.Fatalf("client as root: %q, want \"served hello\"", got)
	}
	if st := srv.Stats(); st.Rejected != 1 || st.Accepted != 2 {
		t.Errorf("after the root client: Stats %+v, want Accepted 2, Rejected 1", st)
	}
}

func TestOtherUIDRefusedByIPC(t *testing.T) {
	dir, bin := sharedDir(t)
	l := listenOpen(t, dir)
	addr := l.Addr().String()
	pol := peerauth.SameUser()
	var mu sync.Mutex
	var peers []endpoint.Peer
	var denied int
	srv, err := ipc.NewServer(ipc.ServerConfig{
		Authorize: func(p endpoint.Peer) error {
			err := pol.Check(p)
			mu.Lock()
			peers = append(peers, p)
			if errors.Is(err, peerauth.ErrDenied) {
				denied++
			}
			mu.Unlock()
			return err
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(l) }()
	defer func() {
		srv.Close()
		if err := <-served; !errors.Is(err, ipc.ErrServerClosed) {
			t.Errorf("Serve = %v, want ErrServerClosed", err)
		}
	}()

	if got := childAs(t, bin, "ipc", addr, true); !strings.HasPrefix(got, "refused") {
		t.Fatalf("ipc client as nobody: %q, want it refused", got)
	}
	if n := len(srv.Clients()); n != 0 {
		t.Errorf("%d clients connected after the refusal, want 0", n)
	}
	if got := childAs(t, bin, "ipc", addr, false); !strings.HasPrefix(got, "served ") {
		t.Fatalf("ipc client as root: %q, want it served", got)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(peers) != 2 || peers[0].UID != 65534 || peers[1].UID != 0 || denied != 1 {
		t.Errorf("Authorize saw %+v (denied %d), want uid 65534 denied, then uid 0", peers, denied)
	}
}

// TestAbstractSocketOtherUID shows why abstract sockets need the credential
// check: they have no file permissions, so without Authorize a nobody client
// is served; with SameUser it is refused.
func TestAbstractSocketOtherUID(t *testing.T) {
	_, bin := sharedDir(t)
	for _, check := range []bool{false, true} {
		name := fmt.Sprintf("@sb-peerauth-%d-%v", os.Getpid(), check)
		l, err := endpoint.Listen(context.Background(), name)
		if err != nil {
			t.Fatal(err)
		}
		srv := &netserver.Server{Handler: netserver.HandlerFunc(func(ctx context.Context, c *netserver.Conn) {
			io.WriteString(c, "hello\n")
			io.Copy(io.Discard, c)
		})}
		if check {
			pol := peerauth.SameUser()
			srv.Authorize = func(c *netserver.Conn) error { return pol.CheckConn(c) }
		}
		served := make(chan error, 1)
		go func() { served <- srv.Serve(l) }()
		got := childAs(t, bin, "raw", name, true)
		srv.Close()
		<-served
		switch {
		case !check && got != "served hello":
			t.Errorf("abstract socket without Authorize: nobody got %q; expected it served (no file permissions apply)", got)
		case check && !strings.HasPrefix(got, "refused"):
			t.Errorf("abstract socket with SameUser: nobody got %q, want refused", got)
		case check && srv.Stats().Rejected != 1:
			t.Errorf("Stats %+v, want Rejected 1", srv.Stats())
		}
	}
}
