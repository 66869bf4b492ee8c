//go:build unix

package endpoint

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/switchboard-ipc/switchboard/internal/testenv"
)

func listenT(t *testing.T, addr string) net.Listener {
	t.Helper()
	l, err := Listen(context.Background(), addr)
	if err != nil {
		t.Fatalf("Listen(%q): %v", addr, err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

// echoOnce accepts connections until one sends a line, and echoes it back.
// Connections that close without a line (stale-socket probes) are skipped.
func echoOnce(l net.Listener) <-chan error {
	errc := make(chan error, 1)
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				errc <- err
				return
			}
			line, err := bufio.NewReader(c).ReadString('\n')
			if err != nil {
				c.Close()
				continue
			}
			_, err = io.WriteString(c, line)
			c.Close()
			errc <- err
			return
		}
	}()
	return errc
}

// roundTrip checks that a server answering with echoOnce is reachable at addr.
func roundTrip(t *testing.T, l net.Listener, addr string) {
	t.Helper()
	errc := echoOnce(l)
	c, err := Dial(context.Background(), addr)
	if err != nil {
		t.Fatalf("Dial(%q): %v", addr, err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c, "ping\n"); err != nil {
		t.Fatal(err)
	}
	got, err := bufio.NewReader(c).ReadString('\n')
	if err != nil || got != "ping\n" {
		t.Fatalf("echo from %s = %q, %v", addr, got, err)
	}
	if err := <-errc; err != nil {
		t.Fatalf("server: %v", err)
	}
}

// staleSocket leaves a socket file at path that nobody listens on, as a
// crashed server does.
func staleSocket(t *testing.T, path string) {
	t.Helper()
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	l.SetUnlinkOnClose(false)
	l.Close()
	if fi, err := os.Lstat(path); err != nil || fi.Mode().Type() != os.ModeSocket {
		t.Fatalf("stale socket not left at %s: %v", path, err)
	}
}

func TestUnixListenDialAndClose(t *testing.T) {
	path := filepath.Join(testenv.ShortDir(t), "a.sock")
	l, err := Listen(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	if l.Addr().Network() != "unix" || l.Addr().String() != path {
		t.Errorf("Addr() = %s %s, want unix %s", l.Addr().Network(), l.Addr(), path)
	}
	roundTrip(t, l, path)
	roundTrip(t, l, "unix:"+path)
	if _, err := os.Lstat(path + ".lock"); err != nil {
		t.Errorf("lock file should exist while the socket does: %v", err)
	}
	if err := l.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if _, err := os.Lstat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("socket file still there after Close: %v", err)
	}
	if _, err := os.Lstat(path + ".lock"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("lock file still there after Close: %v", err)
	}
	if err := l.Close(); !errors.Is(err, net.ErrClosed) {
		t.Errorf("second Close = %v, want net.ErrClosed", err)
	}
}

func TestUnixRelativePath(t *testing.T) {
	dir := testenv.ShortDir(t)
	t.Chdir(dir)
	l := listenT(t, "./rel.sock")
	roundTrip(t, l, "./rel.sock")
	roundTrip(t, l, filepath.Join(dir, "rel.sock"))
	l.Close()
	if _, err := os.Lstat(filepath.Join(dir, "rel.sock")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("socket file still there after Close: %v", err)
	}
}

func TestUnixStaleSocketRecovered(t *testing.T) {
	path := filepath.Join(testenv.ShortDir(t), "stale.sock")
	staleSocket(t, path)
	if _, err := Dial(context.Background(), path); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("Dial on the stale socket = %v, want ECONNREFUSED", err)
	}
	l := listenT(t, path)
	roundTrip(t, l, path)
}

func TestUnixLiveServerNotStolen(t *testing.T) {
	path := filepath.Join(testenv.ShortDir(t), "live.sock")
	first := listenT(t, path)
	before, err := os.Lstat(path)
	if err != nil {
		t.Fatal(err)
	}
	_, err = Listen(context.Background(), path)
	if !errors.Is(err, ErrAddrInUse) || !errors.Is(err, syscall.EADDRINUSE) {
		t.Fatalf("second Listen = %v, want ErrAddrInUse", err)
	}
	if !strings.Contains(err.Error(), "running server") {
		t.Errorf("error %q does not say a running server holds the path", err)
	}
	after, err := os.Lstat(path)
	if err != nil || !os.SameFile(before, after) {
		t.Fatalf("the live socket file was replaced or removed: %v", err)
	}
	roundTrip(t, first, path)

	// A server that is not ours (plain net.Listen) is not stolen either.
	other := filepath.Join(testenv.ShortDir(t), "other.sock")
	nl, err := net.Listen("unix", other)
	if err != nil {
		t.Fatal(err)
	}
	defer nl.Close()
	if _, err := Listen(context.Background(), other); !errors.Is(err, ErrAddrInUse) {
		t.Fatalf("Listen on a net.Listen socket = %v, want ErrAddrInUse", err)
	}
}

func TestUnixNotSocketLeftAlone(t *testing.T) {
	dir := testenv.ShortDir(t)
	for name, make := range map[string]func(string) error{
		"file": func(p string) error { return os.WriteFile(p, []byte("keep"), 0o600) },
		"dir":  func(p string) error { return os.Mkdir(p, 0o700) },
		"link": func(p string) error { return os.Symlink(filepath.Join(dir, "nowhere"), p) },
	} {
		path := filepath.Join(dir, name+".sock")
		if err := make(path); err != nil {
			t.Fatal(err)
		}
		_, err := Listen(context.Background(), path)
		if !errors.Is(err, ErrNotSocket) {
			t.Errorf("Listen over a %s = %v, want ErrNotSocket", name, err)
		}
		if _, err := os.Lstat(path); err != nil {
			t.Errorf("the %s at the path was removed: %v", name, err)
		}
	}
	if b, err := os.ReadFile(filepath.Join(dir, "file.sock")); err != nil || string(b) != "keep" {
		t.Errorf("regular file changed: %q, %v", b, err)
	}
}

func TestUnixConcurrentStartersGoroutines(t *testing.T) {
	const n = 20
	path := filepath.Join(testenv.ShortDir(t), "race.sock")
	staleSocket(t, path) // the starters must also agree on who removes it
	// Hold each new socket between bind and listen for a moment, when it
	// looks exactly like a stale one: only the lock keeps the others from
	// removing it then. The result must not depend on the delay.
	testHookBound = func() { time.Sleep(2 * time.Millisecond) }
	defer func() { testHookBound = nil }()
	start := make(chan struct{})
	type result struct {
		l   net.Listener
		err error
	}
	results := make(chan result, n)
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			l, err := Listen(context.Background(), path)
			results <- result{l, err}
		}()
	}
	close(start)
	wg.Wait()
	close(results)
	var winners []net.Listener
	inUse := 0
	for r := range results {
		switch {
		case r.err == nil:
			winners = append(winners, r.l)
			t.Cleanup(func() { r.l.Close() })
		case errors.Is(r.err, ErrAddrInUse):
			inUse++
		default:
			t.Errorf("unexpected error: %v", r.err)
		}
	}
	if len(winners) != 1 || inUse != n-1 {
		t.Fatalf("%d listeners and %d ErrAddrInUse, want 1 and %d", len(winners), inUse, n-1)
	}
	roundTrip(t, winners[0], path)
}

func TestUnixConcurrentStartersProcesses(t *testing.T) {
	const n = 20
	path := filepath.Join(testenv.ShortDir(t), "race.sock")
	staleSocket(t, path)
	children := make([]*child, n)
	for i := range children {
		children[i] = startChild(t, "starter", []string{"SWB_ADDR=" + path})
	}
	for _, c := range children {
		if l := c.line(t); l != "ready" {
			t.Fatalf("child says %q, want ready", l)
		}
	}
	for _, c := range children {
		io.WriteString(c.in, "go\n")
	}
	winner, inUse := 0, 0
	for _, c := range children {
		switch l := c.line(t); l {
		case "won":
			winner = c.cmd.Process.Pid
		case "inuse":
			inUse++
			c.in.Close()
		default:
			t.Fatalf("child %d says %q", c.cmd.Process.Pid, l)
		}
	}
	if winner == 0 || inUse != n-1 {
		t.Fatalf("winner pid %d and %d ErrAddrInUse, want one winner and %d", winner, inUse, n-1)
	}
	if got := readPID(t, path); got != winner {
		t.Fatalf("server at the path is pid %d, want the winner %d", got, winner)
	}
}

func TestUnixSocketMode(t *testing.T) {
	dir := testenv.ShortDir(t)
	old := syscall.Umask(0) // the widest umask: the mode must not depend on it
	defer syscall.Umask(old)
	for _, tt := range []struct {
		mode os.FileMode
		want os.FileMode
	}{{0, 0o600}, {0o660, 0o660}, {0o666, 0o666}, {0o700, 0o700}} {
		path := filepath.Join(dir, "m"+tt.want.String()[1:]+".sock")
		lc := ListenConfig{SocketMode: tt.mode}
		l, err := lc.Listen(context.Background(), path)
		if err != nil {
			t.Fatal(err)
		}
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Type() != os.ModeSocket || fi.Mode().Perm() != tt.want {
			t.Errorf("SocketMode %v: file mode %v, want socket %v", tt.mode, fi.Mode(), tt.want)
		}
		l.Close()
	}
	lc := ListenConfig{SocketMode: os.ModeSetuid | 0o600}
	if _, err := lc.Listen(context.Background(), filepath.Join(dir, "bad.sock")); !errors.Is(err, ErrBadConfig) {
		t.Errorf("SocketMode with setuid = %v, want ErrBadConfig", err)
	}
	lc = ListenConfig{Backlog: -1}
	if _, err := lc.Listen(context.Background(), filepath.Join(dir, "bad.sock")); !errors.Is(err, ErrBadConfig) {
		t.Errorf("negative Backlog = %v, want ErrBadConfig", err)
	}
}

func TestUnixParentDirCreated(t *testing.T) {
	base := testenv.ShortDir(t)
	path := filepath.Join(base, "a", "b", "x.sock")
	l := listenT(t, path)
	for _, d := range []string{filepath.Join(base, "a"), filepath.Join(base, "a", "b")} {
		fi, err := os.Stat(d)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o700 {
			t.Errorf("created directory %s has mode %v, want 0700", d, fi.Mode().Perm())
		}
	}
	roundTrip(t, l, path)
}

func TestUnixUnlinkOnCloseLeavesReplacedFile(t *testing.T) {
	dir := testenv.ShortDir(t)
	path := filepath.Join(dir, "r.sock")
	l, err := Listen(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	// Someone removes our file and another server binds the path.
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	other, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	before, _ := os.Lstat(path)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	after, err := os.Lstat(path)
	if err != nil || !os.SameFile(before, after) {
		t.Fatalf("Close removed a socket that was not its own: %v", err)
	}
	// The same with a regular file in its place.
	path2 := filepath.Join(dir, "r2.sock")
	l2, err := Listen(context.Background(), path2)
	if err != nil {
		t.Fatal(err)
	}
	os.Remove(path2)
	os.WriteFile(path2, []byte("x"), 0o600)
	l2.Close()
	if _, err := os.Lstat(path2); err != nil {
		t.Fatalf("Close removed a regular file: %v", err)
	}
	// And SetUnlinkOnClose(false) keeps our own file.
	path3 := filepath.Join(dir, "r3.sock")
	l3, err := Listen(context.Background(), path3)
	if err != nil {
		t.Fatal(err)
	}
	l3.(interface{ SetUnlinkOnClose(bool) }).SetUnlinkOnClose(false)
	l3.Close()
	if _, err := os.Lstat(path3); err != nil {
		t.Fatalf("SetUnlinkOnClose(false) did not keep the file: %v", err)
	}
}

func TestUnixPathTooLong(t *testing.T) {
	dir := testenv.ShortDir(t)
	path := filepath.Join(dir, strings.Repeat("n", sunPathLimit-len(dir)))
	for _, f := range []func() error{
		func() error { _, err := Listen(context.Background(), path); return err },
		func() error { _, err := Dial(context.Background(), path); return err },
	} {
		err := f()
		var pe *PathTooLongError
		if !errors.As(err, &pe) || !errors.Is(err, ErrPathTooLong) {
			t.Fatalf("err = %v, want a *PathTooLongError", err)
		}
		if pe.Limit != sunPathLimit || pe.Len != len(path) {
			t.Errorf("PathTooLongError{Len %d, Limit %d}, want {%d, %d}", pe.Len, pe.Limit, len(path), sunPathLimit)
		}
	}
	if _, err := os.Lstat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("something was created at the long path: %v", err)
	}
}

func TestPeerCredentialsInProcess(t *testing.T) {
	path := filepath.Join(testenv.ShortDir(t), "peer.sock")
	l := listenT(t, path)
	c, err := Dial(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	s, err := l.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, conn := range []net.Conn{s, c, wrapped{s}} {
		p, err := PeerOf(conn)
		if err != nil {
			t.Fatalf("PeerOf: %v", err)
		}
		want := Peer{UID: uint32(os.Getuid()), GID: uint32(os.Getgid()), PID: os.Getpid()}
		if p != want {
			t.Errorf("PeerOf = %+v, want %+v", p, want)
		}
	}
}

// wrapped hides its connection behind NetConn, as *tls.Conn does.
type wrapped struct{ net.Conn }

func (w wrapped) NetConn() net.Conn { return w.Conn }

func TestPeerCredentialsOfChild(t *testing.T) {
	path := filepath.Join(testenv.ShortDir(t), "peer.sock")
	l := listenT(t, path)
	ch := startChild(t, "dialer", []string{"SWB_ADDR=" + path})
	s, err := l.Accept()
	if err != nil {
		t.Fatal(err)
	}
	p, err := PeerOf(s)
	s.Close()
	if err != nil {
		t.Fatal(err)
	}
	want := Peer{UID: uint32(os.Getuid()), GID: uint32(os.Getgid()), PID: ch.cmd.Process.Pid}
	if p != want {
		t.Fatalf("PeerOf = %+v, want the child's %+v", p, want)
	}
}

func TestPeerOfNotUnix(t *testing.T) {
	l := listenT(t, "127.0.0.1:0")
	c, err := Dial(context.Background(), l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := PeerOf(c); !errors.Is(err, ErrNotSupported) || !errors.Is(err, errors.ErrUnsupported) {
		t.Errorf("PeerOf(TCP) = %v, want ErrNotSupported", err)
	}
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	if _, err := PeerOf(a); !errors.Is(err, ErrNotSupported) {
		t.Errorf("PeerOf(pipe) = %v, want ErrNotSupported", err)
	}
	if _, err := PeerOf(nil); !errors.Is(err, ErrNotSupported) {
		t.Errorf("PeerOf(nil) = %v, want ErrNotSupported", err)
	}
}

func TestFDInheritedListener(t *testing.T) {
	for _, network := range []string{"tcp", "unix"} {
		t.Run(network, func(t *testing.T) {
			addr := "127.0.0.1:0"
			if network == "unix" {
				addr = filepath.Join(testenv.ShortDir(t), "fd.sock")
			}
			nl, err := net.Listen(network, addr)
			if err != nil {
				t.Fatal(err)
			}
			dialAddr := nl.Addr().String()
			var f *os.File
			switch l := nl.(type) {
			case *net.TCPListener:
				f, err = l.File()
			case *net.UnixListener:
				f, err = l.File()
			}
			if err != nil {
				t.Fatal(err)
			}
			ch := startChild(t, "fd", nil, f)
			f.Close()
			if network == "unix" {
				nl.(*net.UnixListener).SetUnlinkOnClose(false)
			}
			nl.Close() // only the child listens now
			if l := ch.line(t); l != "listening" {
				t.Fatalf("child says %q", l)
			}
			c, err := Dial(context.Background(), dialAddr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(10 * time.Second))
			line, err := bufio.NewReader(c).ReadString('\n')
			if err != nil {
				t.Fatal(err)
			}
			want := "pid=" + itoa(ch.cmd.Process.Pid) + " fd3closed=true network=" + network + "\n"
			if line != want {
				t.Fatalf("child served %q, want %q", line, want)
			}
			if network == "unix" {
				ch.cmd.Wait()
				if _, err := os.Lstat(dialAddr); err != nil {
					t.Errorf("an inherited socket's file was removed on Close: %v", err)
				}
			}
		})
	}
}

func TestFDBadDescriptors(t *testing.T) {
	f, err := os.CreateTemp(testenv.ShortDir(t), "plain")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	c1, c2 := socketPair(t)
	for _, tt := range []struct {
		fd   uintptr
		want string
	}{
		{f.Fd(), "not a socket"},
		{c1, "not listening"},
		{999999, "not open"},
	} {
		_, err := Listen(context.Background(), "fd:"+itoa(int(tt.fd)))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Listen(fd:%d) = %v, want an error saying %q", tt.fd, err, tt.want)
		}
	}
	// The descriptors were left open.
	if _, err := f.Stat(); err != nil {
		t.Errorf("the file's descriptor was closed: %v", err)
	}
	if _, err := syscall.Write(int(c1), []byte("x")); err != nil {
		t.Errorf("the socket's descriptor was closed: %v", err)
	}
	_ = c2
}

func TestDialListenerOnlyForms(t *testing.T) {
	for _, addr := range []string{"fd:3", "systemd:app", "launchd:app", "activation:app"} {
		_, err := Dial(context.Background(), addr)
		if !errors.Is(err, ErrNotSupported) {
			t.Errorf("Dial(%q) = %v, want ErrNotSupported", addr, err)
		}
	}
	if _, err := Dial(context.Background(), "fd:"); !errors.Is(err, ErrBadAddr) {
		t.Errorf("Dial(fd:) = %v, want ErrBadAddr", err)
	}
	if _, err := DialAddr(context.Background(), Addr{}); !errors.Is(err, ErrBadAddr) {
		t.Errorf("DialAddr(zero) = %v, want ErrBadAddr", err)
	}
	var lc ListenConfig
	if _, err := lc.ListenAddr(context.Background(), Addr{}); !errors.Is(err, ErrBadAddr) {
		t.Errorf("ListenAddr(zero) = %v, want ErrBadAddr", err)
	}
}

func TestListenCanceledContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	path := filepath.Join(testenv.ShortDir(t), "c.sock")
	if _, err := Listen(ctx, path); !errors.Is(err, context.Canceled) {
		t.Errorf("Listen with a canceled ctx = %v, want context.Canceled", err)
	}
	if _, err := os.Lstat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a canceled Listen left a file: %v", err)
	}
}

func TestNilListenConfig(t *testing.T) {
	var lc *ListenConfig
	l, err := lc.Listen(context.Background(), filepath.Join(testenv.ShortDir(t), "n.sock"))
	if err != nil {
		t.Fatal(err)
	}
	l.Close()
}

func TestHandBuiltAddrChecked(t *testing.T) {
	var lc ListenConfig
	for _, a := range []Addr{
		{},
		{Kind: Unix},
		{Kind: Unix, Path: "@x"},
		{Kind: Abstract},
		{Kind: TCP, Port: "99999"},
		{Kind: TCP, Host: "a b", Port: "80"},
		{Kind: FD, FD: -1},
		{Kind: Activated, Name: "a:b"},
		{Kind: 99},
	} {
		if _, err := lc.ListenAddr(context.Background(), a); !errors.Is(err, ErrBadAddr) {
			t.Errorf("ListenAddr(%+v) = %v, want ErrBadAddr", a, err)
		}
		if _, err := lc.ListenAllAddr(context.Background(), a); !errors.Is(err, ErrBadAddr) {
			t.Errorf("ListenAllAddr(%+v) = %v, want ErrBadAddr", a, err)
		}
		if _, err := DialAddr(context.Background(), a); !errors.Is(err, ErrBadAddr) {
			t.Errorf("DialAddr(%+v) = %v, want ErrBadAddr", a, err)
		}
	}
	if _, err := lc.ListenAddr(context.Background(), Addr{Kind: TCP, Host: "127.000.0.1", Port: "0"}); !errors.Is(err, ErrBadAddr) {
		t.Errorf("ListenAddr with host 127.000.0.1 = %v, want ErrBadAddr", err)
	}
	// A hand-built Addr in non-canonical form works.
	l, err := lc.ListenAddr(context.Background(), Addr{Kind: TCP, Host: "127.0.0.1", Port: "00"})
	if err != nil {
		t.Fatal(err)
	}
	l.Close()
}

// TestUnixCloseRacingStarter closes a listener while another starter listens on
// the same path: the new socket must survive the old listener's Close, even
// when the kernel gives it the inode number the old socket just freed.
func TestUnixCloseRacingStarter(t *testing.T) {
	path := filepath.Join(testenv.ShortDir(t), "race.sock")
	ctx := context.Background()
	for i := range 20 {
		old, err := Listen(ctx, path)
		if err != nil {
			t.Fatalf("round %d: Listen: %v", i, err)
		}
		type result struct {
			l   net.Listener
			err error
		}
		started := make(chan result, 1)
		testHookClosed = func() {
			go func() {
				l, err := Listen(ctx, path)
				started <- result{l, err}
			}()
		}
		old.Close()
		testHookClosed = nil
		r := <-started
		if r.err != nil {
			t.Fatalf("round %d: the racing starter failed: %v", i, r.err)
		}
		c, err := Dial(ctx, path)
		if err != nil {
			r.l.Close()
			t.Fatalf("round %d: the new listener is unreachable after the old one closed: %v", i, err)
		}
		c.Close()
		r.l.Close()
	}
}
