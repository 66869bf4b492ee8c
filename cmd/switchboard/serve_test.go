package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/switchboard-ipc/switchboard/internal/testenv"
)

// cliWait bounds every wait for a CLI child: its lines and its exit.
const cliWait = 20 * time.Second

// lineBuf collects a child's output and wakes waiters on every write.
type lineBuf struct {
	mu     sync.Mutex
	buf    bytes.Buffer
	closed bool
	notify chan struct{}
}

func newLineBuf() *lineBuf { return &lineBuf{notify: make(chan struct{})} }

func (b *lineBuf) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf.Write(p)
	close(b.notify)
	b.notify = make(chan struct{})
	return len(p), nil
}

func (b *lineBuf) close() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.closed = true
	close(b.notify)
	b.notify = make(chan struct{})
}

func (b *lineBuf) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// lines returns the complete lines written so far.
func (b *lineBuf) lines() []string {
	s := b.String()
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		return strings.Split(s[:i], "\n")
	}
	return nil
}

// cliProc is a running "switchboard ..." child process.
type cliProc struct {
	t      testing.TB
	name   string
	stdout *lineBuf
	stderr *lineBuf
	proc   *os.Process
	done   chan struct{} // closed when the process has exited and its output is in
	code   int
}

// testEnv is the environment of every CLI child: the default address points
// into a test directory, so no test ever touches the real default socket.
func testEnv(t testing.TB) []string {
	return []string{"SWITCHBOARD_ADDR=" + filepath.Join(testenv.ShortDir(t), "default.sock")}
}

// startCLI starts "switchboard args..." with stdin (nil: empty) and kills it
// at the end of the test if it is still running.
func startCLI(t testing.TB, stdin io.Reader, args ...string) *cliProc {
	t.Helper()
	cmd := cliCommand(t, args...)
	cmd.Env = append(cmd.Env, testEnv(t)...)
	p := &cliProc{t: t, name: "switchboard " + strings.Join(args, " "), stdout: newLineBuf(), stderr: newLineBuf(), done: make(chan struct{})}
	cmd.Stdin = stdin
	cmd.Stdout = p.stdout
	cmd.Stderr = p.stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", p.name, err)
	}
	p.proc = cmd.Process
	go func() {
		cmd.Wait()
		p.code = cmd.ProcessState.ExitCode()
		p.stdout.close()
		p.stderr.close()
		close(p.done)
	}()
	t.Cleanup(func() {
		p.proc.Kill()
		<-p.done
	})
	return p
}

// runCLI runs "switchboard args..." to its end and returns its exit code and output.
func runCLI(t testing.TB, stdin io.Reader, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	p := startCLI(t, stdin, args...)
	code = p.wait()
	return code, p.stdout.String(), p.stderr.String()
}

// waitLine waits until a line of b starts with prefix and returns it.
func (p *cliProc) waitLine(b *lineBuf, prefix string) string {
	p.t.Helper()
	deadline := time.NewTimer(cliWait)
	defer deadline.Stop()
	for {
		b.mu.Lock()
		text, closed, notify := b.buf.String(), b.closed, b.notify
		b.mu.Unlock()
		for line := range strings.Lines(text) {
			if strings.HasPrefix(line, prefix) && strings.HasSuffix(line, "\n") {
				return strings.TrimSuffix(line, "\n")
			}
		}
		if closed {
			p.t.Fatalf("%s ended (exit %d) without a line starting %q\nstdout:\n%s\nstderr:\n%s", p.name, p.code, prefix, p.stdout, p.stderr)
		}
		select {
		case <-notify:
		case <-deadline.C:
			p.t.Fatalf("%s: no line starting %q within %v\nstdout:\n%s\nstderr:\n%s", p.name, prefix, cliWait, p.stdout, p.stderr)
		}
	}
}

// waitStderr waits for a stderr line starting with prefix.
func (p *cliProc) waitStderr(prefix string) string {
	p.t.Helper()
	return p.waitLine(p.stderr, prefix)
}

// wait waits for the process to exit and returns its exit code.
func (p *cliProc) wait() int {
	p.t.Helper()
	select {
	case <-p.done:
		return p.code
	case <-time.After(cliWait):
		p.t.Fatalf("%s did not exit within %v\nstdout:\n%s\nstderr:\n%s", p.name, cliWait, p.stdout, p.stderr)
		return -1
	}
}

// expectExit waits for the exit and fails unless the code is want.
func (p *cliProc) expectExit(want int) {
	p.t.Helper()
	if code := p.wait(); code != want {
		p.t.Fatalf("%s: exit code %d, want %d\nstdout:\n%s\nstderr:\n%s", p.name, code, want, p.stdout, p.stderr)
	}
}

func (p *cliProc) signal(sig os.Signal) {
	p.t.Helper()
	if err := p.proc.Signal(sig); err != nil {
		p.t.Fatalf("signalling %s: %v", p.name, err)
	}
}

// startHub runs "switchboard serve -l SOCKET" in a new short directory, waits
// for its "listening on" line and returns the socket's address. The hub is
// stopped with SIGTERM at the end of the test, which must exit 0.
func startHub(t testing.TB, extra ...string) (addr string, hub *cliProc) {
	t.Helper()
	addr = filepath.Join(testenv.ShortDir(t), "hub.sock")
	hub = startCLI(t, nil, append([]string{"serve", "-l", addr}, extra...)...)
	if line := hub.waitStderr("listening on "); line != "listening on "+addr {
		t.Fatalf("serve printed %q, want %q", line, "listening on "+addr)
	}
	t.Cleanup(func() {
		select {
		case <-hub.done:
			return // the test stopped it
		default:
		}
		hub.signal(syscall.SIGTERM)
		if code := hub.wait(); code != exitOK {
			t.Errorf("hub: exit code %d after SIGTERM, want 0\nstderr:\n%s", code, hub.stderr)
		}
	})
	return addr, hub
}

func TestServeSignals(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			dir := testenv.ShortDir(t)
			a, b := filepath.Join(dir, "a.sock"), filepath.Join(dir, "b.sock")
			hub := startCLI(t, nil, "serve", "-l", a, "-l", b)
			hub.waitStderr("listening on " + a)
			hub.waitStderr("listening on " + b)
			// A connected subscriber does not hold the shutdown up.
			sub := startCLI(t, nil, "sub", "-a", b, "x")
			sub.waitStderr("subscribed")
			hub.signal(sig)
			hub.expectExit(exitOK)
			for _, s := range []string{a, b} {
				if _, err := os.Lstat(s); !os.IsNotExist(err) {
					t.Errorf("socket %s still there after shutdown (%v)", s, err)
				}
			}
		})
	}
}

func TestServeListenErrors(t *testing.T) {
	addr, _ := startHub(t)
	// A second hub on a live socket must not steal it.
	code, _, stderr := runCLI(t, nil, "serve", "-l", addr)
	if code != exitFailure || !strings.Contains(stderr, addr) {
		t.Errorf("second serve on a live socket: exit %d, stderr %q; want 1 naming the address", code, stderr)
	}
	// A path below a regular file cannot be bound.
	file := filepath.Join(testenv.ShortDir(t), "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	code, _, stderr = runCLI(t, nil, "serve", "-l", filepath.Join(file, "x.sock"))
	if code != exitFailure || !strings.Contains(stderr, "switchboard serve: ") {
		t.Errorf("serve below a regular file: exit %d, stderr %q; want 1 with a message", code, stderr)
	}
}

func TestServeDefaultAddress(t *testing.T) {
	// Without -l, serve listens on $SWITCHBOARD_ADDR (set by testEnv).
	hub := startCLI(t, nil, "serve")
	line := hub.waitStderr("listening on ")
	addr := strings.TrimPrefix(line, "listening on ")
	if !strings.HasSuffix(addr, "default.sock") {
		t.Errorf("serve without -l listens on %q, want $SWITCHBOARD_ADDR", addr)
	}
	hub.signal(syscall.SIGTERM)
	hub.expectExit(exitOK)
}

// TestServeUsage covers --help and usage errors of every command of this file
// set: --help exits 0 with the synopsis on stdout; a usage error exits 2 with
// a message and a pointer to --help on stderr.
func TestServeUsage(t *testing.T) {
	for _, name := range []string{"serve", "pub", "sub", "req", "reply"} {
		code, stdout, _ := runCLI(t, nil, name, "--help")
		if code != exitOK || !strings.HasPrefix(stdout, "Usage: switchboard "+name+" ") || !strings.Contains(stdout, "Flags:") || !strings.Contains(stdout, "Examples:") {
			t.Errorf("%s --help: exit %d, stdout:\n%s", name, code, stdout)
		}
		code, stdout, _ = runCLI(t, nil, "help", name)
		if code != exitOK || !strings.HasPrefix(stdout, "Usage: switchboard "+name+" ") {
			t.Errorf("help %s: exit %d, stdout:\n%s", name, code, stdout)
		}
	}
	bad := [][]string{
		{"serve", "extra"},
		{"serve", "--bogus"},
		{"serve", "--max-conns", "-1"},
		{"serve", "--max-frame", "-5"},
		{"serve", "-l", "tcp:host:notaport"},
		{"pub"},
		{"pub", "t", "m", "extra"},
		{"pub", "--wire", "carrier-pigeon", "t", "m"},
		{"pub", "", "m"},
		{"pub", "a.*", "m"},
		{"pub", "a..b", "m"},
		{"pub", "--timeout", "-1s", "t", "m"},
		{"pub", "--timeout", "0s", "t", "m"},
		{"pub", "-a", "tcp:host:notaport", "t", "m"},
		{"sub"},
		{"sub", "-n", "-1", "x"},
		{"sub", "-n", "many", "x"},
		{"sub", "a.>.b"},
		{"sub", "--timeout", "soon", "x"},
		{"sub", "--wire", "x", "t"},
		{"req"},
		{"req", "t", "m", "extra"},
		{"req", "--timeout", "0s", "t"},
		{"req", "a.>"},
		{"reply"},
		{"reply", "t", "cat"},
		{"reply", "t", "--"},
		{"reply", "--timeout", "0s", "t"},
		{"reply", "a.*"},
	}
	for _, args := range bad {
		code, stdout, stderr := runCLI(t, nil, args...)
		if code != exitUsage || stdout != "" || !strings.Contains(stderr, "switchboard "+args[0]+": ") || !strings.Contains(stderr, "--help") {
			t.Errorf("switchboard %q: exit %d, stdout %q, stderr %q; want exit 2 and a usage message", args, code, stdout, stderr)
		}
	}
}

// TestQuickstart runs scripts/quickstart.sh, the README's first command, on a
// test socket: it must build, deliver the message and exit 0.
func TestQuickstart(t *testing.T) {
	root := testenv.ModuleRoot(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", filepath.Join(root, "scripts", "quickstart.sh"))
	sock := filepath.Join(testenv.ShortDir(t), "qs.sock")
	cmd.Env = append(os.Environ(), "SWITCHBOARD_ADDR="+sock, "BIN_DIR="+t.TempDir())
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("quickstart.sh: %v\nstdout:\n%s\nstderr:\n%s", err, &stdout, &stderr)
	}
	want := "listening on " + sock + "\nsubscribed\n" + `{"topic":"greetings","message":"hello"}` + "\n"
	if stdout.String() != want {
		t.Errorf("quickstart.sh printed\n%s\nwant\n%s\nstderr:\n%s", &stdout, want, &stderr)
	}
	if _, err := os.Lstat(sock); !os.IsNotExist(err) {
		t.Errorf("the hub's socket is still there after quickstart.sh (%v)", err)
	}
}

func TestServeLimits(t *testing.T) {
	// --max-frame: a message over the limit is never accepted; one under it is.
	addr, _ := startHub(t, "--max-frame", "200")
	big := `"` + strings.Repeat("x", 300) + `"`
	code, _, stderr := runCLI(t, nil, "pub", "-a", addr, "--timeout", "2s", "t", big)
	if code != exitFailure || !strings.Contains(stderr, "switchboard pub: ") {
		t.Errorf("pub over --max-frame: exit %d, stderr %q; want 1", code, stderr)
	}
	pubOK(t, "-a", addr, "t", `"small"`)

	// --max-conns: beyond the limit a client cannot get in.
	addr, _ = startHub(t, "--max-conns", "1")
	sub := startCLI(t, nil, "sub", "-a", addr, "x")
	sub.waitStderr("subscribed")
	code, _, stderr = runCLI(t, nil, "pub", "-a", addr, "--timeout", "2s", "t", "1")
	if code != exitFailure || !strings.Contains(stderr, "switchboard pub: ") {
		t.Errorf("pub beyond --max-conns: exit %d, stderr %q; want 1", code, stderr)
	}
	sub.signal(syscall.SIGTERM)
	sub.expectExit(exitOK)
}
