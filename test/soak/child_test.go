package soak

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The test binary runs itself as a holder of connections (see holder).
const (
	envChild = "SWITCHBOARD_SOAK_CHILD"
	envAddr  = "SWITCHBOARD_SOAK_ADDR"
	envCount = "SWITCHBOARD_SOAK_COUNT"
)

// commands receives the lines a child reads on stdin; stdin closing ends
// the child, so none outlives its parent.
var commands = make(chan string, 16)

func say(format string, args ...any) {
	os.Stdout.WriteString(fmt.Sprintf(format, args...) + "\n")
}

type child struct {
	t      *testing.T
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	mu     sync.Mutex
	lines  []string
	eof    chan struct{}
	waited chan struct{}
}

func startChild(t *testing.T, env ...string) *child {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(self, "-test.run=^$")
	cmd.Env = append(os.Environ(), env...)
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
		for sc.Scan() {
			c.mu.Lock()
			c.lines = append(c.lines, sc.Text())
			c.mu.Unlock()
		}
	}()
	go func() {
		<-c.eof
		cmd.Wait()
		close(c.waited)
	}()
	t.Cleanup(c.kill)
	return c
}

func (c *child) kill() {
	c.cmd.Process.Signal(syscall.SIGKILL)
	c.stdin.Close()
	select {
	case <-c.waited:
	case <-time.After(10 * time.Second):
		c.t.Errorf("child %d not reaped 10s after SIGKILL", c.cmd.Process.Pid)
	}
}

func (c *child) send(line string) {
	c.t.Helper()
	if _, err := io.WriteString(c.stdin, line+"\n"); err != nil {
		c.t.Fatalf("write to child: %v", err)
	}
}

// expect waits for a line starting with prefix printed after the first
// `from` lines, and returns it and the number of lines so far.
func (c *child) expect(prefix string, from int, timeout time.Duration) (string, int) {
	c.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		c.mu.Lock()
		lines := append([]string(nil), c.lines...)
		c.mu.Unlock()
		for i := from; i < len(lines); i++ {
			if strings.HasPrefix(lines[i], "error ") {
				c.t.Fatalf("child: %s", lines[i])
			}
			if strings.HasPrefix(lines[i], prefix) {
				return lines[i], i + 1
			}
		}
		select {
		case <-c.eof:
			c.t.Fatalf("child exited without printing %q; output %q", prefix, lines)
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("child did not print %q within %v; output %q", prefix, timeout, lines)
		}
	}
}
