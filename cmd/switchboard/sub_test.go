package main

import (
	"strings"
	"syscall"
	"testing"
)

func TestSubCount(t *testing.T) {
	addr, _ := startHub(t)
	sub := startCLI(t, nil, "sub", "-a", addr, "-n", "1", "t")
	sub.waitStderr("subscribed")
	pubOK(t, "-a", addr, "t", `"first"`)
	pubOK(t, "-a", addr, "t", `"second"`)
	sub.expectExit(exitOK)
	expectLines(t, sub, `{"topic":"t","message":"first"}`)
}

func TestSubTimeout(t *testing.T) {
	addr, _ := startHub(t)
	// Nothing arrives: exit 1.
	code, stdout, stderr := runCLI(t, nil, "sub", "-a", addr, "-n", "1", "--timeout", "1s", "quiet")
	if code != exitFailure || stdout != "" || !strings.Contains(stderr, "subscribed\n") || !strings.Contains(stderr, "timeout after 1s: received 0 of 1") {
		t.Errorf("sub with nothing to receive: exit %d, stdout %q, stderr %q; want 1 and a timeout message", code, stdout, stderr)
	}
	// One of two arrives: the one is printed, then exit 1.
	sub := startCLI(t, nil, "sub", "-a", addr, "-n", "2", "--timeout", "4s", "half")
	sub.waitStderr("subscribed")
	pubOK(t, "-a", addr, "half", `1`)
	sub.expectExit(exitFailure)
	expectLines(t, sub, `{"topic":"half","message":1}`)
	if !strings.Contains(sub.stderr.String(), "received 1 of 2") {
		t.Errorf("sub stderr %q does not say how many arrived", sub.stderr)
	}
	// A timeout without -n ends a listening window: exit 1 too, as documented.
	code, _, _ = runCLI(t, nil, "sub", "-a", addr, "--timeout", "500ms", "quiet")
	if code != exitFailure {
		t.Errorf("sub --timeout without -n: exit %d, want 1", code)
	}
}

func TestSubSignals(t *testing.T) {
	addr, _ := startHub(t)
	// Without -n, a signal is the normal end: exit 0.
	sub := startCLI(t, nil, "sub", "-a", addr, "x")
	sub.waitStderr("subscribed")
	sub.signal(syscall.SIGINT)
	sub.expectExit(exitOK)
	// With -n not reached, the count was not met: exit 1.
	sub = startCLI(t, nil, "sub", "-a", addr, "-n", "3", "x")
	sub.waitStderr("subscribed")
	sub.signal(syscall.SIGTERM)
	sub.expectExit(exitFailure)
}

func TestSubNoHub(t *testing.T) {
	code, stdout, stderr := runCLI(t, nil, "sub", "--timeout", "1s", "x") // default address: nothing there
	if code != exitFailure || stdout != "" || strings.Contains(stderr, "subscribed") {
		t.Errorf("sub with no hub: exit %d, stdout %q, stderr %q; want 1 and no \"subscribed\"", code, stdout, stderr)
	}
}
