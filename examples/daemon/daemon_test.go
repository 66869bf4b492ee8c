package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/switchboard-ipc/switchboard/internal/testenv"
)

// waitFor bounds every wait for a line of output; it only matters when
// something is broken.
const waitFor = 15 * time.Second

// lines is an io.Writer that keeps what is written to it and lets a test
// wait for a line. It is safe for concurrent use.
type lines struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	changed chan struct{} // closed and replaced on every write
}

func newLines() *lines { return &lines{changed: make(chan struct{})} }

func (l *lines) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	close(l.changed)
	l.changed = make(chan struct{})
	return l.buf.Write(p)
}

func (l *lines) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// wait waits until a complete line matches re and returns its submatches.
func (l *lines) wait(t *testing.T, re string) []string {
	t.Helper()
	rx := regexp.MustCompile(re)
	timer := time.NewTimer(waitFor)
	defer timer.Stop()
	for {
		l.mu.Lock()
		text, changed := l.buf.String(), l.changed
		l.mu.Unlock()
		for line := range strings.Lines(text) {
			if strings.HasSuffix(line, "\n") {
				if m := rx.FindStringSubmatch(strings.TrimSuffix(line, "\n")); m != nil {
					return m
				}
			}
		}
		select {
		case <-changed:
		case <-timer.C:
			t.Fatalf("no line matching %q within %v; got:\n%s", re, waitFor, text)
		}
	}
}

// receive waits for a value from ch, failing the test after waitFor.
func receive[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(waitFor):
		t.Fatalf("%s: not done within %v", what, waitFor)
		panic("unreachable")
	}
}

// TestDaemon runs the daemon, a watcher and get/set commands in-process, on
// the fallback socket in a private runtime directory.
func TestDaemon(t *testing.T) {
	dir := testenv.ShortDir(t)
	t.Setenv("XDG_RUNTIME_DIR", dir)
	t.Setenv("LISTEN_FDS", "") // not socket-activated, whatever started the test
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	// cmd runs one client command to completion.
	cmd := func(args ...string) (code int, stdout, stderr string) {
		t.Helper()
		var out, errs bytes.Buffer
		code = run(ctx, args, &out, &errs)
		return code, out.String(), errs.String()
	}

	code, _, stderr := cmd("get", "color")
	if code != exitFailure || !strings.Contains(stderr, "no daemon at") {
		t.Fatalf("get without a daemon: exit %d, stderr %q; want %d, \"no daemon at\"", code, stderr, exitFailure)
	}

	serveOut, serveErr := newLines(), newLines()
	served := make(chan int, 1)
	go func() { served <- run(ctx, []string{"serve"}, serveOut, serveErr) }()
	serveDone := false
	t.Cleanup(func() {
		if !serveDone {
			cancel()
			receive(t, served, "serve")
		}
	})
	serveOut.wait(t, `^listening on `+regexp.QuoteMeta(filepath.Join(dir, "kv.sock"))+` \(pid \d+\)$`)

	watchOut, watchErr := newLines(), newLines()
	watched := make(chan int, 1)
	go func() { watched <- run(ctx, []string{"-n", "2", "watch", "user.>"}, watchOut, watchErr) }()
	watchErr.wait(t, `^watching user\.>$`)

	for _, kv := range [][2]string{
		{"user.ann.email", "ann@example.org"},
		{"color", "blue"}, // not watched
		{"user.bob.email", "bob@example.org"},
	} {
		if code, _, stderr := cmd("set", kv[0], kv[1]); code != exitOK {
			t.Fatalf("set %s: exit %d, stderr %q", kv[0], code, stderr)
		}
	}
	if code, stdout, stderr := cmd("get", "user.ann.email"); code != exitOK || stdout != "ann@example.org\n" {
		t.Errorf("get user.ann.email: exit %d, stdout %q, stderr %q; want ann@example.org", code, stdout, stderr)
	}
	if code, _, stderr := cmd("get", "size"); code != exitFailure || !strings.Contains(stderr, "no such key: size") {
		t.Errorf("get size: exit %d, stderr %q; want %d, \"no such key: size\"", code, stderr, exitFailure)
	}
	if code, _, _ := cmd("set", "user.*", "x"); code != exitUsage {
		t.Errorf("set user.*: exit %d, want %d", code, exitUsage)
	}

	if code := receive(t, watched, "watch -n 2"); code != exitOK {
		t.Fatalf("watch: exit %d, stderr %q", code, watchErr.String())
	}
	want := "user.ann.email=ann@example.org\nuser.bob.email=bob@example.org\n"
	if got := watchOut.String(); got != want {
		t.Errorf("watch printed %q, want %q", got, want)
	}

	cancel() // what SIGTERM does in main
	code = receive(t, served, "serve")
	serveDone = true
	if code != exitOK {
		t.Fatalf("serve: exit %d, stderr %q", code, serveErr.String())
	}
	serveOut.wait(t, `^stopped$`)
}

// TestActivated builds the program and the switchboard CLI, runs the daemon
// under "switchboard activate", and stops it with SIGTERM.
func TestActivated(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: this test builds the switchboard CLI and the daemon; run it without -short")
	}
	bin := t.TempDir()
	build := exec.Command(testenv.Program(t, "go"), "build", "-o", bin+string(filepath.Separator), "./cmd/switchboard", "./examples/daemon")
	build.Dir = testenv.ModuleRoot(t)
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	daemon, switchboard := filepath.Join(bin, "daemon"), filepath.Join(bin, "switchboard")

	sock := filepath.Join(testenv.ShortDir(t), "kv.sock")
	env := append(os.Environ(), "XDG_RUNTIME_DIR="+testenv.ShortDir(t)) // a fallback would listen there, not on sock
	out, errs := newLines(), newLines()
	activate := exec.Command(switchboard, "activate", "-l", sock, "--fdname", "kv", "--", daemon, "serve")
	activate.Env, activate.Stdout, activate.Stderr = env, out, errs
	if err := activate.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- activate.Wait() }()
	childPID := 0
	stopped := false
	t.Cleanup(func() {
		if stopped {
			return
		}
		activate.Process.Kill()
		if childPID > 0 {
			if p, err := os.FindProcess(childPID); err == nil {
				p.Kill() // it runs in its own process group, so it outlives the launcher
			}
		}
		receive(t, exited, "switchboard activate")
	})
	errs.wait(t, `^switchboard activate: listening on `+regexp.QuoteMeta(sock)+` as fd 3$`)

	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	client := func(args ...string) string {
		t.Helper()
		c := exec.CommandContext(ctx, daemon, append([]string{"-a", sock}, args...)...)
		c.Env = env
		b, err := c.CombinedOutput()
		if err != nil {
			t.Fatalf("daemon %s: %v\n%s", strings.Join(args, " "), err, b)
		}
		return string(b)
	}
	client("set", "greeting", "hello") // the first connection starts the daemon
	m := out.wait(t, `^listening on activation:kv \(pid (\d+)\)$`)
	childPID, _ = strconv.Atoi(m[1])
	if got := client("get", "greeting"); got != "hello\n" {
		t.Errorf("get greeting = %q, want hello", got)
	}

	// SIGTERM to the launcher is forwarded to the daemon, which shuts down
	// gracefully and exits 0; so does the launcher.
	if err := activate.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	err := receive(t, exited, "switchboard activate")
	stopped = true
	if err != nil { // an *exec.ExitError unless the daemon and the launcher exited 0
		t.Fatalf("switchboard activate after SIGTERM: %v\nstdout:\n%s\nstderr:\n%s", err, out, errs)
	}
	out.wait(t, `^stopped$`)
}
