//go:build unix

package activation_test

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/switchboard-ipc/switchboard/activation"
	"github.com/switchboard-ipc/switchboard/internal/testenv"
	"golang.org/x/sys/unix"
)

// childOpsEnv switches the test binary into the activated child: it runs the
// operations listed in the variable (comma-separated VERB:NAME) and reports
// each on stdout, one line per result.
const childOpsEnv = "SWITCHBOARD_ACTIVATION_TEST_OPS"

func TestMain(m *testing.M) {
	if ops, ok := os.LookupEnv(childOpsEnv); ok {
		runChild(ops)
		return
	}
	os.Exit(m.Run())
}

// runChild executes ops:
//
//	serve:NAME    Listeners(NAME); print "serve NAME n=K"; answer every
//	              connection on listener i with "NAME/i\n"
//	collect:NAME  Listeners(NAME); print the count or the error class
//	files:NAME    Files(NAME); print the count and whether each is close-on-exec
//	packet:NAME   PacketConns(NAME); print the count; echo "NAME/i:" + datagram
//	race:NAME     Listeners(NAME) from 8 goroutines at once; print how many won
//	keepenv:NAME  Collector{KeepEnv: true}.Files(NAME); print whether LISTEN_FDS stayed
//	closecheck:NAME  Listeners(NAME), close each, print whether its path still exists
//	env           print whether LISTEN_FDS is still set
//
// then prints "ready" and serves until killed.
func runChild(ops string) {
	out := bufio.NewWriter(os.Stdout)
	say := func(format string, args ...any) {
		fmt.Fprintf(out, format+"\n", args...)
		out.Flush()
	}
	for _, op := range strings.Split(ops, ",") {
		verb, name, _ := strings.Cut(op, ":")
		switch verb {
		case "serve":
			ls, err := activation.Listeners(name)
			if err != nil {
				say("serve %s %s", name, errClass(err))
				continue
			}
			say("serve %s n=%d", name, len(ls))
			for i, l := range ls {
				go func() {
					for {
						c, err := l.Accept()
						if err != nil {
							return
						}
						fmt.Fprintf(c, "%s/%d\n", name, i)
						c.Close()
					}
				}()
			}
		case "collect":
			ls, err := activation.Listeners(name)
			if err != nil {
				say("collect %s %s", name, errClass(err))
				continue
			}
			say("collect %s n=%d", name, len(ls))
		case "files":
			fs, err := activation.Files(name)
			if err != nil {
				say("files %s %s", name, errClass(err))
				continue
			}
			var flags []string
			for _, f := range fs {
				fl, err := unix.FcntlInt(f.Fd(), unix.F_GETFD, 0)
				flags = append(flags, fmt.Sprint(err == nil && fl&unix.FD_CLOEXEC != 0))
			}
			say("files %s n=%d cloexec=%s", name, len(fs), strings.Join(flags, ","))
		case "packet":
			pcs, err := activation.PacketConns(name)
			if err != nil {
				say("packet %s %s", name, errClass(err))
				continue
			}
			say("packet %s n=%d", name, len(pcs))
			for i, pc := range pcs {
				go func() {
					buf := make([]byte, 512)
					for {
						n, from, err := pc.ReadFrom(buf)
						if err != nil {
							return
						}
						pc.WriteTo(fmt.Appendf(nil, "%s/%d:%s", name, i, buf[:n]), from)
					}
				}()
			}
		case "race":
			var wg sync.WaitGroup
			var mu sync.Mutex
			won, already := 0, 0
			for range 8 {
				wg.Go(func() {
					_, err := activation.Listeners(name)
					mu.Lock()
					defer mu.Unlock()
					switch {
					case err == nil:
						won++
					case errors.Is(err, activation.ErrAlreadyCollected):
						already++
					}
				})
			}
			wg.Wait()
			say("race %s won=%d already=%d", name, won, already)
		case "keepenv":
			fs, err := activation.Collector{KeepEnv: true}.Files(name)
			_, set := os.LookupEnv("LISTEN_FDS")
			say("keepenv %s n=%d err=%v LISTEN_FDS set=%v", name, len(fs), err, set)
		case "closecheck":
			ls, err := activation.Listeners(name)
			if err != nil {
				say("closecheck %s %s", name, errClass(err))
				continue
			}
			for _, l := range ls {
				path := l.Addr().String()
				l.Close()
				_, err := os.Stat(path)
				say("closecheck %s closed, path kept=%v", name, err == nil)
			}
		case "env":
			_, set := os.LookupEnv("LISTEN_FDS")
			say("env LISTEN_FDS set=%v", set)
		}
	}
	say("ready")
	select {} // serve until the test kills the process
}

// errClass names the class of a collecting error for the parent to check.
func errClass(err error) string {
	var e *activation.Error
	typed := errors.As(err, &e)
	var class string
	switch {
	case errors.Is(err, activation.ErrOtherProcess) && errors.Is(err, syscall.ESRCH):
		class = "OTHERPROCESS"
	case errors.Is(err, activation.ErrNotActivated) && errors.Is(err, syscall.ESRCH):
		class = "ESRCH"
	case errors.Is(err, activation.ErrNoSuchSocket) && errors.Is(err, syscall.ENOENT):
		class = "ENOENT"
	case errors.Is(err, activation.ErrAlreadyCollected) && errors.Is(err, syscall.EALREADY):
		class = "EALREADY"
	case errors.Is(err, activation.ErrBadEnvironment) && errors.Is(err, syscall.EINVAL):
		class = "EINVAL"
	case errors.Is(err, activation.ErrBadSocket):
		class = "BADSOCKET"
	default:
		class = "OTHER"
	}
	if !typed {
		class += "-untyped"
	}
	return "err=" + class
}

// child is a running activated test child.
type child struct {
	t     *testing.T
	lines chan string
}

// start runs cmd (which must end up executing the test binary) with ops and
// returns its reporter. The process is killed at the end of the test.
func start(t *testing.T, cmd *exec.Cmd, ops string) *child {
	t.Helper()
	cmd.Env = append(os.Environ(), childOpsEnv+"="+ops)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &lockedWriter{w: &stderr}
	// A process group of its own, so that cleanup kills every process the
	// command started (sh may leave the test binary as its child).
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c := &child{t: t, lines: make(chan string, 64)}
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer close(c.lines)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			c.lines <- sc.Text()
		}
	}()
	t.Cleanup(func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-done
		cmd.Wait()
		if t.Failed() {
			t.Logf("child stderr:\n%s", cmd.Stderr.(*lockedWriter).String())
		}
	})
	return c
}

// expect reads the child's next line and compares it with want.
func (c *child) expect(want string) {
	c.t.Helper()
	select {
	case got, ok := <-c.lines:
		if !ok {
			c.t.Fatalf("child exited; want line %q", want)
		}
		if got != want {
			c.t.Fatalf("child said %q, want %q", got, want)
		}
	case <-time.After(10 * time.Second):
		c.t.Fatalf("timed out waiting for child line %q", want)
	}
}

type lockedWriter struct {
	mu sync.Mutex
	w  *strings.Builder
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func (l *lockedWriter) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.String()
}

// socketActivate returns a command running the test binary under the real
// systemd-socket-activate with the given launcher flags.
func socketActivate(t *testing.T, flags ...string) *exec.Cmd {
	t.Helper()
	sa := testenv.Program(t, "systemd-socket-activate")
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	args := append(append([]string{}, flags...), "-E", childOpsEnv, "--", exe)
	return exec.Command(sa, args...)
}

// ask connects to the Unix socket at path, retrying until it exists (the
// launcher binds it asynchronously), and returns the line it answers.
func ask(t *testing.T, network, path string) string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.Dial(network, path)
		if err != nil {
			if time.Now().After(deadline) {
				t.Fatalf("dial %s: %v", path, err)
			}
			time.Sleep(10 * time.Millisecond) // polling for the launcher's bind, with a deadline
			continue
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(10 * time.Second))
		line, err := bufio.NewReader(c).ReadString('\n')
		if err != nil {
			t.Fatalf("read from %s: %v", path, err)
		}
		return strings.TrimSuffix(line, "\n")
	}
}

func TestSystemdCollectByName(t *testing.T) {
	dir := testenv.ShortDir(t)
	pa, pb := filepath.Join(dir, "a.sock"), filepath.Join(dir, "b.sock")
	cmd := socketActivate(t, "-l", pa, "-l", pb, "--fdname=a:b")
	c := start(t, cmd, "serve:b,serve:a,collect:c,collect:A,collect:a,env")
	// The first connection starts the child; it is answered, not lost.
	if got := ask(t, "unix", pa); got != "a/0" {
		t.Errorf("socket a answered %q, want a/0", got)
	}
	c.expect("serve b n=1")
	c.expect("serve a n=1")
	c.expect("collect c err=ENOENT")
	c.expect("collect A err=ENOENT") // names are case sensitive
	c.expect("collect a err=EALREADY")
	c.expect("env LISTEN_FDS set=false")
	c.expect("ready")
	if got := ask(t, "unix", pb); got != "b/0" {
		t.Errorf("socket b answered %q, want b/0", got)
	}
}

func TestSystemdTwoSocketsOneName(t *testing.T) {
	dir := testenv.ShortDir(t)
	p0, p1 := filepath.Join(dir, "0.sock"), filepath.Join(dir, "1.sock")
	cmd := socketActivate(t, "-l", p0, "-l", p1, "--fdname=x:x")
	c := start(t, cmd, "serve:x,race:x")
	if got := ask(t, "unix", p1); got != "x/1" {
		t.Errorf("second socket answered %q, want x/1", got)
	}
	c.expect("serve x n=2")
	c.expect("race x won=0 already=8")
	c.expect("ready")
	if got := ask(t, "unix", p0); got != "x/0" {
		t.Errorf("first socket answered %q, want x/0", got)
	}
}

func TestSystemdConcurrentCollect(t *testing.T) {
	dir := testenv.ShortDir(t)
	p := filepath.Join(dir, "r.sock")
	cmd := socketActivate(t, "-l", p, "--fdname=r")
	c := start(t, cmd, "race:r")
	triggerUnix(t, p)
	c.expect("race r won=1 already=7")
	c.expect("ready")
}

func TestSystemdKeepEnvAndClose(t *testing.T) {
	dir := testenv.ShortDir(t)
	pk, pc := filepath.Join(dir, "k.sock"), filepath.Join(dir, "c.sock")
	cmd := socketActivate(t, "-l", pk, "-l", pc, "--fdname=k:c")
	c := start(t, cmd, "keepenv:k,closecheck:c,env")
	triggerUnix(t, pk)
	c.expect("keepenv k n=1 err=<nil> LISTEN_FDS set=true")
	c.expect("closecheck c closed, path kept=true") // the manager's path is never unlinked
	c.expect("env LISTEN_FDS set=false")
	c.expect("ready")
	if _, err := os.Stat(pc); err != nil {
		t.Errorf("inherited socket path gone after the child closed its listener: %v", err)
	}
}

// TestSystemdAcceptConnection: with --accept the child gets a connected socket,
// not a listener (systemd's Accept=yes): Listeners refuses it, Files takes it.
func TestSystemdAcceptConnection(t *testing.T) {
	p := filepath.Join(testenv.ShortDir(t), "acc.sock")
	cmd := socketActivate(t, "--accept", "-l", p)
	c := start(t, cmd, "collect:unknown,files:unknown")
	triggerUnix(t, p)
	c.expect("collect unknown err=BADSOCKET")
	c.expect("files unknown n=1 cloexec=true")
	c.expect("ready")
}

func TestSystemdUnnamedAreUnknown(t *testing.T) {
	dir := testenv.ShortDir(t)
	p := filepath.Join(dir, "u.sock")
	cmd := socketActivate(t, "-l", p) // no --fdname: no LISTEN_FDNAMES
	c := start(t, cmd, "files:unknown")
	triggerUnix(t, p)
	c.expect("files unknown n=1 cloexec=true")
	c.expect("ready")
}

func TestSystemdDatagram(t *testing.T) {
	dir := testenv.ShortDir(t)
	p := filepath.Join(dir, "d.sock")
	cmd := socketActivate(t, "-d", "-l", p, "--fdname=dg")
	c := start(t, cmd, "collect:dg,packet:dg")
	me, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: filepath.Join(dir, "me.sock"), Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer me.Close()
	to := &net.UnixAddr{Name: p, Net: "unixgram"}
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := me.WriteTo([]byte("hi"), to); err == nil {
			break
		} else if time.Now().After(deadline) {
			t.Fatal(err)
		}
		time.Sleep(10 * time.Millisecond) // polling for the launcher's bind, with a deadline
	}
	c.expect("collect dg err=BADSOCKET") // not a listener; and still collectable
	c.expect("packet dg n=1")
	me.SetReadDeadline(time.Now().Add(10 * time.Second))
	buf := make([]byte, 64)
	n, _, err := me.ReadFrom(buf)
	if err != nil {
		t.Fatal(err)
	}
	if got := string(buf[:n]); got != "dg/0:hi" {
		t.Errorf("answer %q, want dg/0:hi", got)
	}
}

// triggerUnix makes the launcher start its child by connecting once.
func triggerUnix(t *testing.T, path string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.Dial("unix", path)
		if err == nil {
			t.Cleanup(func() { c.Close() })
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("dial %s: %v", path, err)
		}
		time.Sleep(10 * time.Millisecond) // polling for the launcher's bind, with a deadline
	}
}

// handOver returns a command that runs the test binary through sh with script,
// a listening socket on fd 3 and the given LISTEN_* variables.
func handOver(t *testing.T, script string) *exec.Cmd {
	t.Helper()
	dir := testenv.ShortDir(t)
	p := filepath.Join(dir, "h.sock")
	l, err := net.Listen("unix", p)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	f, err := l.(*net.UnixListener).File()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("sh", "-c", script, exe)
	cmd.ExtraFiles = []*os.File{f}
	return cmd
}

func TestSystemdPID(t *testing.T) {
	for _, tc := range []struct {
		name, script, want string
	}{
		// sh sets LISTEN_PID to its own pid, then becomes the program: a match.
		{"exec keeps pid", `LISTEN_PID=$$ LISTEN_FDS=1 LISTEN_FDNAMES=h exec "$0"`, "serve h n=1"},
		// sh sets LISTEN_PID to its own pid and starts the program as a child.
		{"other pid", `LISTEN_PID=$$ LISTEN_FDS=1 LISTEN_FDNAMES=h "$0"`, "serve h err=OTHERPROCESS"},
		{"absent pid", `unset LISTEN_PID; LISTEN_FDS=1 LISTEN_FDNAMES=h exec "$0"`, "serve h err=OTHERPROCESS"},
		{"bogus pid", `LISTEN_PID=12abc LISTEN_FDS=1 LISTEN_FDNAMES=h exec "$0"`, "serve h err=EINVAL"},
		{"bogus count", `LISTEN_PID=$$ LISTEN_FDS=one LISTEN_FDNAMES=h exec "$0"`, "serve h err=EINVAL"},
		{"name count mismatch", `LISTEN_PID=$$ LISTEN_FDS=1 LISTEN_FDNAMES=h:i exec "$0"`, "serve h err=EINVAL"},
		{"zero fds", `LISTEN_PID=$$ LISTEN_FDS=0 exec "$0"`, "serve h err=ESRCH"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cmd := handOver(t, tc.script)
			c := start(t, cmd, "serve:h")
			c.expect(tc.want)
			c.expect("ready")
		})
	}
}

func TestSystemdNotASocket(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(exe)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	// fd 3: a listening socket, fd 4: a connected one, fd 5: a plain file.
	dir := testenv.ShortDir(t)
	l, err := net.Listen("unix", filepath.Join(dir, "n.sock"))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	lf, err := l.(*net.UnixListener).File()
	if err != nil {
		t.Fatal(err)
	}
	defer lf.Close()
	conn, err := net.Dial("unix", filepath.Join(dir, "n.sock"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	cf, err := conn.(*net.UnixConn).File()
	if err != nil {
		t.Fatal(err)
	}
	defer cf.Close()
	cmd := exec.Command("sh", "-c", `LISTEN_PID=$$ LISTEN_FDS=3 LISTEN_FDNAMES=l:c:f exec "$0"`, exe)
	cmd.ExtraFiles = []*os.File{lf, cf, f}
	c := start(t, cmd, "collect:f,files:f,collect:c,files:c,collect:l")
	c.expect("collect f err=BADSOCKET")
	c.expect("files f err=BADSOCKET")
	c.expect("collect c err=BADSOCKET") // connected, not listening
	c.expect("files c n=1 cloexec=true")
	c.expect("collect l n=1")
	c.expect("ready")
}
