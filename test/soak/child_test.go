package soak

import (
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/switchboard-ipc/switchboard/internal/testenv"
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

// child is the test binary running as a holder (see testenv.Child).
type child struct{ *testenv.Child }

func startChild(t *testing.T, env ...string) child {
	t.Helper()
	return child{testenv.StartChild(t, env...)}
}

func (c child) kill()            { c.Kill() }
func (c child) send(line string) { c.Send(line) }

// expect waits for a line starting with prefix printed after the first
// `from` lines, and returns it and the number of lines so far.
func (c child) expect(prefix string, from int, timeout time.Duration) (string, int) {
	return c.Expect(prefix, from, timeout)
}
