package main

import (
	"strings"
	"testing"
)

func TestReqNoResponders(t *testing.T) {
	addr, _ := startHub(t)
	code, stdout, stderr := runCLI(t, nil, "req", "-a", addr, "nobody.home", `"anyone?"`)
	if code != exitFailure || stdout != "" || !strings.Contains(stderr, `no responders on "nobody.home"`) {
		t.Errorf("req with no responders: exit %d, stdout %q, stderr %q; want 1 and \"no responders\"", code, stdout, stderr)
	}
}

func TestReqTimeout(t *testing.T) {
	addr, _ := startHub(t)
	slow := startCLI(t, nil, "reply", "-a", addr, "slow", "--", "sh", "-c", "exec sleep 30")
	slow.waitStderr("subscribed")
	code, stdout, stderr := runCLI(t, nil, "req", "-a", addr, "--timeout", "1500ms", "slow")
	if code != exitFailure || stdout != "" || !strings.Contains(stderr, `no reply on "slow" within 1.5s`) {
		t.Errorf("req to a slow responder: exit %d, stdout %q, stderr %q; want 1 and a timeout message", code, stdout, stderr)
	}
	slow.signal(sigterm)
	slow.expectExit(exitOK)
}

func TestReqNoHub(t *testing.T) {
	code, _, stderr := runCLI(t, nil, "req", "--timeout", "1s", "t")
	if code != exitFailure || !strings.Contains(stderr, "cannot connect") {
		t.Errorf("req with no hub: exit %d, stderr %q; want 1 and \"cannot connect\"", code, stderr)
	}
}
