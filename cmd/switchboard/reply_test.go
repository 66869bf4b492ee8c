package main

import (
	"strings"
	"syscall"
	"testing"
)

const sigterm = syscall.SIGTERM

// reqOK runs "switchboard req args..." and returns its stdout, failing unless it exits 0.
func reqOK(t testing.TB, args ...string) string {
	t.Helper()
	code, stdout, stderr := runCLI(t, nil, append([]string{"req"}, args...)...)
	if code != exitOK {
		t.Fatalf("req %q: exit %d\nstdout: %s\nstderr: %s", args, code, stdout, stderr)
	}
	return stdout
}

func TestReplyEcho(t *testing.T) {
	addr, _ := startHub(t)
	echo := startCLI(t, nil, "reply", "-a", addr, "echo.me")
	echo.waitStderr("subscribed")
	for msg, want := range map[string]string{
		`{"a": [1, {"b": null}]}`: `{"a":[1,{"b":null}]}`,
		`hello there`:             `"hello there"`,
		`42`:                      `42`,
		`"ünïcödé ☃"`:             `"ünïcödé ☃"`,
	} {
		if got := reqOK(t, "-a", addr, "echo.me", msg); got != want+"\n" {
			t.Errorf("req echo.me %s printed %q, want %q", msg, got, want+"\n")
		}
	}
	if got := reqOK(t, "-a", addr, "echo.me"); got != "null\n" {
		t.Errorf("req without MESSAGE printed %q, want null", got)
	}
	echo.signal(syscall.SIGINT)
	echo.expectExit(exitOK)
}

func TestReplyCommand(t *testing.T) {
	addr, _ := startHub(t)
	upper := startCLI(t, nil, "reply", "-a", addr, "upper", "--", "tr", "a-z", "A-Z")
	upper.waitStderr("subscribed")
	text := startCLI(t, nil, "reply", "-a", addr, "text", "--", "sh", "-c", `read -r x; echo "got $x"`)
	text.waitStderr("subscribed")
	fail := startCLI(t, nil, "reply", "-a", addr, "fail", "--", "sh", "-c", `echo broken >&2; exit 3`)
	fail.waitStderr("subscribed")

	// stdout that is JSON is answered as JSON: "abc" -> "ABC"; {"k":"v"} -> {"K":"V"}.
	if got := reqOK(t, "-a", addr, "upper", `"abc"`); got != `"ABC"`+"\n" {
		t.Errorf("req upper printed %q, want %q", got, `"ABC"`)
	}
	if got := reqOK(t, "-a", addr, "upper", `{"k": "v"}`); got != `{"K":"V"}`+"\n" {
		t.Errorf("req upper printed %q, want %q", got, `{"K":"V"}`)
	}
	// stdout that is not JSON is answered as a string; stdin held the request as JSON.
	if got := reqOK(t, "-a", addr, "text", `[1, 2]`); got != `"got [1,2]"`+"\n" {
		t.Errorf("req text printed %q, want %q", got, `"got [1,2]"`)
	}
	// A failing COMMAND answers with an error: req exits 1 and says so.
	code, stdout, stderr := runCLI(t, nil, "req", "-a", addr, "fail", `1`)
	if code != exitFailure || stdout != "" || !strings.Contains(stderr, "answered with an error") || !strings.Contains(stderr, "exit status 3") {
		t.Errorf("req to a failing command: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	if !strings.Contains(fail.stderr.String(), "broken") {
		t.Errorf("the command's stderr did not reach reply's stderr: %q", fail.stderr)
	}
	for _, p := range []*cliProc{upper, text, fail} {
		p.signal(sigterm)
		p.expectExit(exitOK)
	}
}

func TestReplyMissingCommand(t *testing.T) {
	addr, _ := startHub(t)
	code, _, stderr := runCLI(t, nil, "reply", "-a", addr, "t", "--", "no-such-program-here")
	if code != exitFailure || !strings.Contains(stderr, "no-such-program-here") {
		t.Errorf("reply with a missing COMMAND: exit %d, stderr %q; want 1 naming it", code, stderr)
	}
}
