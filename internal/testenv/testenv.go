// Package testenv finds what switchboard's tests run against: the module root,
// the Node packages installed by scripts/test-deps.sh, and short directories
// for Unix sockets; and it gives them connected socket pairs and the test
// binary run again as a child process (Child). It is for tests only.
package testenv

import (
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
	"time"
)

// ModuleRoot returns the directory that holds go.mod.
func ModuleRoot(t testing.TB) string {
	t.Helper()
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("testenv: cannot locate source file")
	}
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// NodeModules returns test/node/node_modules, failing the test (never skipping it)
// when scripts/test-deps.sh has not been run.
func NodeModules(t testing.TB) string {
	t.Helper()
	dir := filepath.Join(ModuleRoot(t), "test", "node", "node_modules")
	if _, err := os.Stat(filepath.Join(dir, ".switchboard-ok")); err != nil {
		t.Fatalf("testenv: Node test packages missing (%v); run scripts/test-deps.sh", err)
	}
	return dir
}

// Node returns the path of the node binary, failing the test when it is missing.
func Node(t testing.TB) string {
	t.Helper()
	p, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("testenv: node not found (%v); run scripts/test-deps.sh", err)
	}
	return p
}

// Program returns the path of a program the tests need, failing the test when it
// is missing.
func Program(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("testenv: %s not found (%v); run scripts/test-deps.sh", name, err)
	}
	return p
}

// ShortDir returns a new temporary directory with a short path, so Unix socket
// paths inside it stay well below the sun_path limit. It is removed at the end
// of the test.
func ShortDir(t testing.TB) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "sb")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// StartPiped starts cmd with pipes to its stdin and from its stdout, and
// its stderr on the test process's unless cmd already has one. It fails
// the test when cmd cannot be started.
func StartPiped(t testing.TB, cmd *exec.Cmd) (io.WriteCloser, io.ReadCloser) {
	t.Helper()
	if cmd.Stderr == nil {
		cmd.Stderr = os.Stderr
	}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", cmd.Path, err)
	}
	return stdin, stdout
}

// Eventually polls cond every millisecond until it holds, failing the test
// with what when timeout passes first: for state another goroutine or
// process changes without an event to wait on.
func Eventually(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, timeout)
		}
		time.Sleep(time.Millisecond)
	}
}
