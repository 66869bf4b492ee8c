package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
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

// wait waits until a complete line equals want.
func (l *lines) wait(t *testing.T, want string) {
	t.Helper()
	rx := regexp.MustCompile("(?m)^" + regexp.QuoteMeta(want) + "\n")
	timer := time.NewTimer(waitFor)
	defer timer.Stop()
	for {
		l.mu.Lock()
		text, changed := l.buf.String(), l.changed
		l.mu.Unlock()
		if rx.MatchString(text) {
			return
		}
		select {
		case <-changed:
		case <-timer.C:
			t.Fatalf("no line %q within %v; got:\n%s", want, waitFor, text)
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

// TestNodeInterop runs the Go side in-process and client.js under the real
// @crussell52/socket-ipc, and has each side hear the other.
func TestNodeInterop(t *testing.T) {
	node, modules := testenv.Node(t), testenv.NodeModules(t)
	dir := testenv.ShortDir(t)
	t.Setenv("XDG_RUNTIME_DIR", dir) // both sides find the socket there
	sock := filepath.Join(dir, "nodeinterop.sock")

	// The Go side.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	goIn, goInW := io.Pipe()
	defer goInW.Close()
	goOut := newLines()
	ran := make(chan error, 1)
	go func() { ran <- run(ctx, nil, goIn, goOut) }()
	ranDone := false
	t.Cleanup(func() {
		if !ranDone {
			cancel()
			receive(t, ran, "run")
		}
	})
	goOut.wait(t, "listening on "+sock)
	goOut.wait(t, "go subscriber listening on node.>")

	// The Node side.
	js := exec.Command(node, "client.js")
	js.Env = append(os.Environ(), "NODE_PATH="+modules)
	nodeOut := newLines()
	js.Stdout, js.Stderr = nodeOut, nodeOut
	nodeIn, err := js.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := js.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- js.Wait() }()
	jsDone := false
	t.Cleanup(func() {
		if !jsDone {
			js.Process.Kill()
			receive(t, exited, "node")
		}
	})
	nodeOut.wait(t, "connected to "+sock)

	// Node to Go, and the Go subscriber's answer back to Node.
	goOut.wait(t, `go subscriber got node.hello: {"from":"node","text":"hello from Node `+nodeVersion(t, node)+`"}`)
	nodeOut.wait(t, `node got go.reply: "hello node, Go got your node.hello"`)

	// Go to Node: a line typed into the Go side.
	if _, err := io.WriteString(goInW, "ping from go\n"); err != nil {
		t.Fatal(err)
	}
	nodeOut.wait(t, `node got go.say: "ping from go"`)

	// Node to Go: a line typed into client.js.
	if _, err := io.WriteString(nodeIn, "pong from node\n"); err != nil {
		t.Fatal(err)
	}
	goOut.wait(t, `go subscriber got node.say: {"from":"node","text":"pong from node"}`)
	nodeOut.wait(t, `node got go.reply: "hello node, Go got your node.say"`)

	// client.js closes its client and exits when its input ends.
	nodeIn.Close()
	err = receive(t, exited, "node")
	jsDone = true
	if err != nil {
		t.Fatalf("node: %v\n%s", err, nodeOut)
	}
	cancel()
	err = receive(t, ran, "run")
	ranDone = true
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	if out := nodeOut.String(); strings.Contains(out, "error") {
		t.Errorf("client.js reported an error:\n%s", out)
	}
}

// nodeVersion returns what process.version says in node.
func nodeVersion(t *testing.T, node string) string {
	t.Helper()
	out, err := exec.Command(node, "--version").Output()
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(out))
}
