//go:build unix

package testenv

import (
	"bufio"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Child is the test binary run again as a child process (with -test.run=^$,
// so only its TestMain acts, as the environment tells it), talked to by
// lines: the parent writes commands to its stdin and reads what it prints.
// Its stdin closing ends it, so none outlives its parent.
type Child struct {
	Cmd    *exec.Cmd
	t      testing.TB
	stdin  io.WriteCloser
	mu     sync.Mutex
	lines  []string
	eof    chan struct{} // closed when stdout reached EOF
	waited chan struct{} // closed when the process was reaped
}

// StartChild runs the test binary with env added to its environment. The
// child is killed at the end of the test if it is still running.
func StartChild(t testing.TB, env ...string) *Child {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(self, "-test.run=^$")
	cmd.Env = append(os.Environ(), env...)
	stdin, stdout := StartPiped(t, cmd)
	c := &Child{Cmd: cmd, t: t, stdin: stdin, eof: make(chan struct{}), waited: make(chan struct{})}
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
	t.Cleanup(c.Kill)
	return c
}

// Kill sends SIGKILL and waits until the child is reaped and its output
// read.
func (c *Child) Kill() {
	c.Cmd.Process.Signal(syscall.SIGKILL)
	c.stdin.Close()
	select {
	case <-c.waited:
	case <-time.After(10 * time.Second):
		c.t.Errorf("child %d not reaped 10s after SIGKILL", c.Cmd.Process.Pid)
	}
}

// Send writes a line to the child's stdin.
func (c *Child) Send(line string) {
	c.t.Helper()
	if _, err := io.WriteString(c.stdin, line+"\n"); err != nil {
		c.t.Fatalf("write to child: %v", err)
	}
}

// Output returns a copy of the lines printed so far.
func (c *Child) Output() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.lines...)
}

// Expect waits for a line starting with prefix among those printed after
// the first from, and returns it and the number of lines printed so far. It
// fails the test when the child prints a line starting with "error ", exits
// first, or timeout passes.
func (c *Child) Expect(prefix string, from int, timeout time.Duration) (string, int) {
	c.t.Helper()
	deadline := time.Now().Add(timeout)
	find := func() (string, int, bool) {
		lines := c.Output()
		for i := from; i < len(lines); i++ {
			if strings.HasPrefix(lines[i], prefix) {
				return lines[i], i + 1, true
			}
			if strings.HasPrefix(lines[i], "error ") {
				c.t.Fatalf("child: %s", lines[i])
			}
		}
		return "", len(lines), false
	}
	for {
		if l, n, ok := find(); ok {
			return l, n
		}
		select {
		case <-c.eof:
			if l, n, ok := find(); ok { // printed just before it exited
				return l, n
			}
			c.t.Fatalf("child exited without printing %q; output %q", prefix, c.Output())
		case <-time.After(5 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("child did not print %q within %v; output %q", prefix, timeout, c.Output())
		}
	}
}
