//go:build unix

package endpoint

import (
	"context"
	"errors"
	"net"
	"os"
	"os/exec"
	"syscall"
	"testing"

	"github.com/switchboard-ipc/switchboard/activation"
	"github.com/switchboard-ipc/switchboard/internal/testenv"
)

func TestTCPForms(t *testing.T) {
	l := listenT(t, "tcp:127.0.0.1:0")
	port := l.Addr().(*net.TCPAddr).Port
	p := itoa(port)
	for _, addr := range []string{"tcp:127.0.0.1:" + p, "127.0.0.1:" + p, "localhost:" + p} {
		roundTrip(t, l, addr)
	}
	for _, addr := range []string{"127.0.0.1:0", ":0", "0", "tcp:0", "tcp::0"} {
		l := listenT(t, addr)
		if l.Addr().Network() != "tcp" || l.Addr().(*net.TCPAddr).Port == 0 {
			t.Errorf("Listen(%q) gave %v", addr, l.Addr())
		}
		// ":PORT" and "PORT" dial the local system.
		p := itoa(l.Addr().(*net.TCPAddr).Port)
		roundTrip(t, l, "127.0.0.1:"+p)
		if addr == ":0" {
			roundTrip(t, l, ":"+p)
			roundTrip(t, l, p)
		}
		l.Close()
	}
}

func TestTCPIPv6(t *testing.T) {
	nl, err := net.Listen("tcp6", "[::1]:0")
	if err != nil {
		t.Fatalf("this machine has no IPv6 loopback (%v); the test needs it", err)
	}
	nl.Close()
	l := listenT(t, "[::1]:0")
	p := itoa(l.Addr().(*net.TCPAddr).Port)
	roundTrip(t, l, "[::1]:"+p)
	roundTrip(t, l, "tcp:[::1]:"+p)
}

func TestTCPInUse(t *testing.T) {
	l := listenT(t, "127.0.0.1:0")
	addr := l.Addr().String()
	_, err := Listen(context.Background(), addr)
	if !errors.Is(err, ErrAddrInUse) || !errors.Is(err, syscall.EADDRINUSE) {
		t.Fatalf("second Listen(%s) = %v, want ErrAddrInUse", addr, err)
	}
	// Shared does not help when the first listener did not share.
	lc := ListenConfig{Shared: true}
	if _, err := lc.Listen(context.Background(), addr); !errors.Is(err, ErrAddrInUse) {
		t.Fatalf("shared Listen beside an exclusive one = %v, want ErrAddrInUse", err)
	}
}

func TestTCPShared(t *testing.T) {
	lc := ListenConfig{Shared: true}
	l1, err := lc.Listen(context.Background(), "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l1.Close()
	addr := l1.Addr().String()
	l2, err := lc.Listen(context.Background(), addr)
	if err != nil {
		t.Fatalf("second shared Listen(%s): %v", addr, err)
	}
	defer l2.Close()
	if l2.Addr().String() != addr {
		t.Fatalf("second listener on %s, want %s", l2.Addr(), addr)
	}
	// The kernel spreads connections over both; each one is served.
	go servePID(l1)
	go servePID(l2)
	for range 20 {
		if pid := readPID(t, addr); pid != os.Getpid() {
			t.Fatalf("served by pid %d", pid)
		}
	}
	// With one closed, the other still serves the port.
	l1.Close()
	if pid := readPID(t, addr); pid != os.Getpid() {
		t.Fatalf("served by pid %d", pid)
	}
}

func TestActivatedNotActivated(t *testing.T) {
	for _, addr := range []string{"systemd:nothing-here", "activation:nothing-here"} {
		_, err := Listen(context.Background(), addr)
		if err == nil {
			t.Fatalf("Listen(%q) succeeded in a process nobody activated", addr)
		}
		var oe *OpError
		if !errors.As(err, &oe) || oe.Op != "listen" || oe.Addr != addr {
			t.Errorf("Listen(%q) = %v, want an *OpError naming the address", addr, err)
		}
		if !errors.Is(err, activation.ErrNotActivated) || !errors.Is(err, syscall.ESRCH) {
			t.Errorf("Listen(%q) = %v, want activation.ErrNotActivated", addr, err)
		}
	}
}

// TestActivatedListeners hands two TCP listeners to a child as systemd does
// (descriptors 3 and 4, LISTEN_FDS, LISTEN_FDNAMES and LISTEN_PID set to the
// child's own pid by a shell that then execs it).
func TestActivatedListeners(t *testing.T) {
	sh := testenv.Program(t, "sh")
	for _, role := range []string{"activated-all", "activated-first"} {
		t.Run(role, func(t *testing.T) {
			var files []*os.File
			var addrs []string
			for range 2 {
				nl, err := net.Listen("tcp", "127.0.0.1:0")
				if err != nil {
					t.Fatal(err)
				}
				f, err := nl.(*net.TCPListener).File()
				if err != nil {
					t.Fatal(err)
				}
				addrs = append(addrs, nl.Addr().String())
				files = append(files, f)
				nl.Close()
			}
			cmd := exec.Command(sh, "-c", `LISTEN_PID=$$ exec "$0" -test.run='^$'`, os.Args[0])
			cmd.Env = append(os.Environ(), childEnv+"="+role, "LISTEN_FDS=2", "LISTEN_FDNAMES=web:web")
			ch := startCmd(t, cmd, files...)
			for _, f := range files {
				f.Close()
			}
			want := "2 listeners"
			if role == "activated-first" {
				want = "1 listener"
			}
			if l := ch.line(t); l != want {
				t.Fatalf("child says %q, want %q", l, want)
			}
			if role == "activated-first" {
				addrs = addrs[:1]
			}
			for _, a := range addrs {
				if pid := readPID(t, a); pid != ch.cmd.Process.Pid {
					t.Fatalf("%s served by pid %d, want the child %d", a, pid, ch.cmd.Process.Pid)
				}
			}
		})
	}
}
