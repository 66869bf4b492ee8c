package main

import (
	"bufio"
	"fmt"
	"net"
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

// launched is a running "switchboard activate" and what it logged.
type launched struct {
	t      *testing.T
	cmd    *exec.Cmd
	stderr chan string // the launcher's and children's stderr, line by line
	mu     sync.Mutex
	pids   []int // children the launcher reported starting
	done   chan struct{}
}

var startedRE = regexp.MustCompile(`started .* \(pid (\d+)\)`)

// startActivate runs "switchboard activate args..." and kills it and every
// child it reported at the end of the test.
func startActivate(t *testing.T, args ...string) *launched {
	t.Helper()
	cmd := cliCommand(t, append([]string{"activate"}, args...)...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	l := &launched{t: t, cmd: cmd, stderr: make(chan string, 256), done: make(chan struct{})}
	var all strings.Builder
	go func() {
		defer close(l.done)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			line := sc.Text()
			all.WriteString(line + "\n")
			if m := startedRE.FindStringSubmatch(line); m != nil {
				pid, _ := strconv.Atoi(m[1])
				l.mu.Lock()
				l.pids = append(l.pids, pid)
				l.mu.Unlock()
			}
			select {
			case l.stderr <- line:
			default: // nobody is reading; the line stays in the log
			}
		}
	}()
	t.Cleanup(func() {
		cmd.Process.Kill()
		l.mu.Lock()
		for _, pid := range l.pids {
			syscall.Kill(pid, syscall.SIGKILL)
		}
		l.mu.Unlock()
		<-l.done
		cmd.Wait()
		if t.Failed() {
			t.Logf("launcher stderr:\n%s", all.String())
		}
	})
	return l
}

// waitLine waits for a stderr line containing s.
func (l *launched) waitLine(s string) string {
	l.t.Helper()
	timeout := time.After(15 * time.Second)
	for {
		select {
		case line := <-l.stderr:
			if strings.Contains(line, s) {
				return line
			}
		case <-timeout:
			l.t.Fatalf("no stderr line with %q", s)
		}
	}
}

// exitCode waits for the launcher to exit and returns its status.
func (l *launched) exitCode() int {
	l.t.Helper()
	exited := make(chan error, 1)
	go func() { exited <- l.cmd.Wait() }()
	select {
	case <-exited:
	case <-time.After(15 * time.Second):
		l.t.Fatal("launcher did not exit")
	}
	return l.cmd.ProcessState.ExitCode()
}

// request connects once (never retrying: a refused connection fails the test),
// sends line and returns the answer's fields.
func request(t *testing.T, network, addr, line string) []string {
	t.Helper()
	c, err := net.Dial(network, addr)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(15 * time.Second))
	fmt.Fprintf(c, "%s\n", line)
	answer, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		t.Fatalf("reading the answer from %s: %v", addr, err)
	}
	return strings.Fields(answer)
}

func echoScript(t *testing.T) (node, script string) {
	testenv.NodeModules(t)
	return testenv.Node(t), filepath.Join(testenv.ModuleRoot(t), "test", "node", "activation-echo.js")
}

func TestActivateNodeCollect(t *testing.T) {
	node, script := echoScript(t)
	p := filepath.Join(testenv.ShortDir(t), "app.sock")
	l := startActivate(t, "-l", p, "--fdname", "app", "--", node, script, "listen", "app")
	l.waitLine("listening on " + p + " as fd 3")
	// This first connection starts the child, which answers it.
	got := request(t, "unix", p, "hello")
	if len(got) != 4 || got[0] != "app" || got[2] != "ok" || got[3] != "hello" {
		t.Fatalf("answer %q, want [app PID ok hello] (ok: LISTEN_PID was the child's pid)", got)
	}
	if got2 := request(t, "unix", p, "again"); got2[1] != got[1] {
		t.Errorf("second connection served by pid %s, first by %s: want one child", got2[1], got[1])
	}
	// SIGTERM is forwarded; the child exits 42 on it, and that status is the launcher's.
	l.cmd.Process.Signal(syscall.SIGTERM)
	if code := l.exitCode(); code != 42 {
		t.Errorf("launcher exit status %d, want the child's 42", code)
	}
	if _, err := os.Stat(p); !os.IsNotExist(err) {
		t.Errorf("socket file left behind after exit: %v", err)
	}
}

func TestActivateSIGINT(t *testing.T) {
	node, script := echoScript(t)
	p := filepath.Join(testenv.ShortDir(t), "i.sock")
	l := startActivate(t, "--now", "-l", p, "--fdname=app", "--", node, script, "listen", "app")
	l.waitLine("listening app 1") // the child's own line: started without a connection
	l.cmd.Process.Signal(syscall.SIGINT)
	// Node dies of SIGINT: 128+2.
	if code := l.exitCode(); code != 130 {
		t.Errorf("launcher exit status %d, want 130", code)
	}
}

func TestActivateRestart(t *testing.T) {
	node, script := echoScript(t)
	p := filepath.Join(testenv.ShortDir(t), "r.sock")
	// The child serves one connection and exits; the launcher keeps the socket.
	l := startActivate(t, "--restart", "-l", p, "--fdname", "app", "--", node, script, "listen", "app", "1")
	l.waitLine("listening on")
	pids := map[string]bool{}
	for i := range 4 {
		got := request(t, "unix", p, fmt.Sprint(i))
		if len(got) != 4 || got[3] != fmt.Sprint(i) || got[2] != "ok" {
			t.Fatalf("answer %d: %q", i, got)
		}
		pids[got[1]] = true
	}
	if len(pids) != 4 {
		t.Errorf("4 connections served by %d children, want 4 (one per run)", len(pids))
	}
	l.cmd.Process.Signal(syscall.SIGTERM)
	if code := l.exitCode(); code != 0 && code != 42 {
		t.Errorf("launcher exit status %d after SIGTERM, want 0 (idle) or 42 (child running)", code)
	}
}

func TestActivateAccept(t *testing.T) {
	node, script := echoScript(t)
	p := filepath.Join(testenv.ShortDir(t), "a.sock")
	l := startActivate(t, "-a", "-l", p, "--", node, script, "conn")
	l.waitLine("listening on")
	a := request(t, "unix", p, "one")
	b := request(t, "unix", p, "two")
	for i, got := range [][]string{a, b} {
		if len(got) != 4 || got[0] != "fds-ok" || got[2] != "ok" {
			t.Fatalf("answer %d %q, want [fds-ok PID ok LINE]", i, got)
		}
	}
	if a[1] == b[1] {
		t.Errorf("both connections served by pid %s; want one child per connection", a[1])
	}
	l.cmd.Process.Signal(syscall.SIGTERM)
	if code := l.exitCode(); code != 0 {
		t.Errorf("launcher exit status %d, want 0", code)
	}
}

func TestActivateInetd(t *testing.T) {
	node, script := echoScript(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0") // a free port, released for the launcher
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	l := startActivate(t, "--inetd", "-l", addr, "--", node, script, "inetd")
	l.waitLine("listening on")
	got := request(t, "tcp", addr, "over-tcp")
	if len(got) != 4 || got[0] != "noenv" || got[3] != "over-tcp" {
		t.Fatalf("answer %q, want [noenv PID bad over-tcp]: stdin/stdout, no LISTEN_* variables", got)
	}
}

func TestActivateEnvAndStatus(t *testing.T) {
	p := filepath.Join(testenv.ShortDir(t), "e.sock")
	// The shell checks what it was given, then exits 7.
	script := `test "$LISTEN_PID" = "$$" && test "$LISTEN_FDS" = 2 && test "$LISTEN_FDNAMES" = "x:x" &&
test "$GREETING" = hello && test "$FROM_PARENT" = inherited && exit 7; exit 1`
	cmd := startActivateEnv(t, []string{"FROM_PARENT=inherited"},
		"--now", "-l", p, "-l", p+"2", "--fdname", "x", "-E", "GREETING=hello", "-E", "FROM_PARENT", "--", "sh", "-c", script)
	if code := cmd.exitCode(); code != 7 {
		t.Errorf("exit status %d, want the child's 7", code)
	}
}

func startActivateEnv(t *testing.T, env []string, args ...string) *launched {
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	return startActivate(t, args...)
}

func TestActivateErrors(t *testing.T) {
	dir := testenv.ShortDir(t)
	busy := filepath.Join(dir, "busy.sock")
	ln, err := net.Listen("unix", busy)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() { // a live server: the address is in use
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	free := filepath.Join(dir, "free.sock")
	for _, tc := range []struct {
		name string
		args []string
		code int
		msg  string
	}{
		{"missing command", []string{"-l", free}, exitUsage, "missing COMMAND"},
		{"missing command after --", []string{"-l", free, "--"}, exitUsage, "missing COMMAND"},
		{"no address", []string{"--", "true"}, exitUsage, "no address"},
		{"address in use", []string{"-l", busy, "--", "true"}, exitFailure, "cannot listen on " + busy},
		{"bad address", []string{"-l", "tcp:nohost", "--", "true"}, exitFailure, "cannot listen on tcp:nohost"},
		{"command not found", []string{"-l", free, "--", "no-such-program-xyz"}, exitFailure, "cannot start no-such-program-xyz"},
		{"datagram accept", []string{"-d", "-a", "-l", free, "--", "true"}, exitUsage, "exclude each other"},
		{"too many names", []string{"-l", free, "--fdname", "a:b", "--", "true"}, exitUsage, "2 descriptor names for 1 addresses"},
		{"bad flag", []string{"--nope", "-l", free, "--", "true"}, exitUsage, "flag provided but not defined"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cmd := cliCommand(t, append([]string{"activate"}, tc.args...)...)
			var stderr strings.Builder
			cmd.Stderr = &stderr
			cmd.WaitDelay = 5 * time.Second
			err := cmd.Run()
			if code := cmd.ProcessState.ExitCode(); code != tc.code {
				t.Errorf("exit status %d (%v), want %d", code, err, tc.code)
			}
			if !strings.Contains(stderr.String(), tc.msg) {
				t.Errorf("stderr %q does not say %q", stderr.String(), tc.msg)
			}
		})
	}
	if _, err := os.Stat(free); !os.IsNotExist(err) {
		t.Errorf("failed launches left %s behind: %v", free, err)
	}
}

// waitSocket polls, with a deadline, until a launcher has bound path.
func waitSocket(t *testing.T, path string) {
	t.Helper()
	deadline := time.Now().Add(cliWait)
	for {
		if fi, err := os.Stat(path); err == nil && fi.Mode()&os.ModeSocket != 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s was not bound within %v", path, cliWait)
		}
		time.Sleep(10 * time.Millisecond) // polling another process's bind, with a deadline
	}
}

// TestActivateServeSystemd runs "switchboard serve -l systemd:hub" under the
// real systemd-socket-activate: the subscriber's connection is the one that
// starts the hub, and it is served, not lost.
func TestActivateServeSystemd(t *testing.T) {
	sa := testenv.Program(t, "systemd-socket-activate")
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(testenv.ShortDir(t), "hub.sock")
	hub := exec.Command(sa, "-l", p, "--fdname=hub", "-E", envRunMain+"=1", "-E", "GORACE=atexit_sleep_ms=0",
		"--", exe, "serve", "-l", "systemd:hub")
	var hubErr strings.Builder
	hub.Stderr = &lockedBuilder{b: &hubErr}
	hub.WaitDelay = 5 * time.Second
	if err := hub.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		hub.Process.Kill() // systemd-socket-activate execs the hub: this is the hub
		hub.Wait()
		if t.Failed() {
			t.Logf("hub stderr:\n%s", hub.Stderr.(*lockedBuilder).String())
		}
	})
	waitSocket(t, p)
	sub := startCLI(t, nil, "sub", "-a", p, "-n", "1", "--timeout", "20s", "news")
	sub.waitStderr("subscribed")
	pubOK(t, "-a", p, "news", `"activated"`)
	sub.expectExit(exitOK)
	expectLines(t, sub, `{"topic":"news","message":"activated"}`)
}

type lockedBuilder struct {
	mu sync.Mutex
	b  *strings.Builder
}

func (l *lockedBuilder) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuilder) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestActivateServeLauncher is the same with "switchboard activate" as the
// launcher and the activation:NAME address form: whichever manager started it.
func TestActivateServeLauncher(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(testenv.ShortDir(t), "hub.sock")
	l := startActivate(t, "-l", p, "--fdname=hub", "-E", envRunMain+"=1", "-E", "GORACE=atexit_sleep_ms=0",
		"--", exe, "serve", "-l", "activation:hub")
	l.waitLine("listening on " + p)
	sub := startCLI(t, nil, "sub", "-a", p, "-n", "1", "--timeout", "20s", "news")
	sub.waitStderr("subscribed")
	pubOK(t, "-a", p, "news", `"via switchboard activate"`)
	sub.expectExit(exitOK)
	expectLines(t, sub, `{"topic":"news","message":"via switchboard activate"}`)
	l.cmd.Process.Signal(syscall.SIGTERM)
	if code := l.exitCode(); code != exitOK {
		t.Errorf("launcher exit status %d after SIGTERM, want the hub's 0", code)
	}
}
