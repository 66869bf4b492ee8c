package fault

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"runtime"
	"testing"
	"time"

	"github.com/switchboard-ipc/switchboard/internal/testenv"
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

// child is the test binary running as a role (see testenv.Child).
type child struct{ *testenv.Child }

// startChild runs the test binary as role on addr. The child is killed at the
// end of the test if it is still running.
func startChild(t *testing.T, role, addr string) child {
	t.Helper()
	return child{testenv.StartChild(t, envChild+"="+role, envAddr+"="+addr)}
}

func (c child) kill()            { c.Kill() }
func (c child) send(line string) { c.Send(line) }
func (c child) output() []string { return c.Output() }

// expect waits until the child printed a line starting with prefix and
// returns it; it fails the test when the child prints "error ..." or exits,
// or after 15 s.
func (c child) expect(prefix string) string {
	l, _ := c.Expect(prefix, 0, 15*time.Second)
	return l
}

// eventually polls cond every few milliseconds until it holds, failing the
// test after timeout.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	testenv.Eventually(t, timeout, what, cond)
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
