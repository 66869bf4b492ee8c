package fault

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The test binary runs itself as a child process: envChild names the role
// (see children), envAddr the address it works on.
const (
	envChild = "SWITCHBOARD_FAULT_CHILD"
	envAddr  = "SWITCHBOARD_FAULT_ADDR"
)

func TestMain(m *testing.M) {
	role := os.Getenv(envChild)
	if role == "" {
		os.Exit(m.Run())
	}
	run, ok := children[role]
	if !ok {
		fmt.Fprintln(os.Stderr, "fault: unknown child role", role)
		os.Exit(2)
	}
	// A child ends when its parent goes away (stdin closes), so none
	// outlives a test binary that crashed. Lines on stdin are commands.
	go func() {
		sc := bufio.NewScanner(os.Stdin)
		for sc.Scan() {
			commands <- sc.Text()
		}
		os.Exit(0)
	}()
	if err := run(os.Getenv(envAddr)); err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	os.Exit(0)
}

// children maps a role to the function the child runs. Each prints "ready"
// (or more) on stdout once set up, then usually blocks until killed.
var children = map[string]func(addr string) error{}

// commands receives the lines a child reads on stdin.
var commands = make(chan string, 16)

// say writes one line to stdout in one write(2), so a line is either in the
// pipe whole or not at all when the child is killed.
func say(format string, args ...any) {
	os.Stdout.WriteString(fmt.Sprintf(format, args...) + "\n")
}

// child is a running child process and everything it printed.
type child struct {
	t      *testing.T
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	mu     sync.Mutex
	lines  []string
	eof    chan struct{} // closed when stdout reached EOF
	waited chan struct{} // closed when the process was reaped
}

// startChild runs the test binary as role on addr. The child is killed at the
// end of the test if it is still running.
func startChild(t *testing.T, role, addr string) *child {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(self, "-test.run=^$")
	cmd.Env = append(os.Environ(), envChild+"="+role, envAddr+"="+addr)
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c := &child{t: t, cmd: cmd, stdin: stdin, eof: make(chan struct{}), waited: make(chan struct{})}
	go func() {
		defer close(c.eof)
		sc := bufio.NewScanner(stdout)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			c.mu.Lock()
			c.lines = append(c.lines, sc.Text())
			c.mu.Unlock()
		}
	}()
	go func() {
		<-c.eof // Wait closes stdout: read it all first
		cmd.Wait()
		close(c.waited)
	}()
	t.Cleanup(c.kill)
	return c
}

// kill sends SIGKILL and waits until the child is reaped and its output read.
func (c *child) kill() {
	c.cmd.Process.Signal(syscall.SIGKILL)
	c.stdin.Close()
	select {
	case <-c.waited:
	case <-time.After(10 * time.Second):
		c.t.Errorf("child %d not reaped 10s after SIGKILL", c.cmd.Process.Pid)
	}
}

// send writes a line to the child's stdin.
func (c *child) send(line string) {
	c.t.Helper()
	if _, err := io.WriteString(c.stdin, line+"\n"); err != nil {
		c.t.Fatalf("write to child: %v", err)
	}
}

// output returns a copy of the lines printed so far.
func (c *child) output() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.lines...)
}

// expect waits until the child printed a line starting with prefix and
// returns it; it fails the test when the child prints "error ..." or exits,
// or after 15 s.
func (c *child) expect(prefix string) string {
	c.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		for _, l := range c.output() {
			if strings.HasPrefix(l, prefix) {
				return l
			}
			if strings.HasPrefix(l, "error ") {
				c.t.Fatalf("child: %s", l)
			}
		}
		select {
		case <-c.eof:
			for _, l := range c.output() {
				if strings.HasPrefix(l, prefix) {
					return l
				}
			}
			c.t.Fatalf("child exited without printing %q; output %q", prefix, c.output())
		case <-time.After(5 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("child did not print %q within 15s; output %q", prefix, c.output())
		}
	}
}

// eventually polls cond every few milliseconds until it holds, failing the
// test after timeout.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, timeout)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// openFDs counts this process's open descriptors.
func openFDs(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(ents)
}

// settled waits until goroutines and descriptors are back to at most the
// baseline plus slack, failing with the figures when they are not.
func settled(t *testing.T, what string, goroutines, fds, slack int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		g, f := runtime.NumGoroutine(), openFDs(t)
		if g <= goroutines+slack && f <= fds+slack {
			return
		}
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			buf = buf[:runtime.Stack(buf, true)]
			t.Fatalf("%s: goroutines %d (baseline %d), fds %d (baseline %d) after 10s\n%s", what, g, goroutines, f, fds, buf)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}
