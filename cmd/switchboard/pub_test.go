package main

import (
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/switchboard-ipc/switchboard/internal/testenv"
)

// pubOK runs "switchboard pub args..." and fails the test unless it exits 0.
func pubOK(t testing.TB, args ...string) {
	t.Helper()
	code, stdout, stderr := runCLI(t, nil, append([]string{"pub"}, args...)...)
	if code != exitOK {
		t.Fatalf("pub %q: exit %d\nstdout: %s\nstderr: %s", args, code, stdout, stderr)
	}
}

// expectLines fails unless p printed exactly want on stdout.
func expectLines(t testing.TB, p *cliProc, want ...string) {
	t.Helper()
	if got := p.stdout.lines(); !slices.Equal(got, want) {
		t.Errorf("%s printed\n  %s\nwant\n  %s\nstderr:\n%s", p.name, strings.Join(got, "\n  "), strings.Join(want, "\n  "), p.stderr)
	}
}

func TestPubSubNative(t *testing.T) {
	addr, _ := startHub(t)
	sub := startCLI(t, nil, "sub", "-a", addr, "-n", "4", "--timeout", "20s", "greetings.*", "other")
	sub.waitStderr("subscribed")
	pubOK(t, "-a", addr, "greetings.world", `"hello"`)
	pubOK(t, "-a", addr, "unrelated", `1`) // no subscriber: accepted, never printed
	pubOK(t, "-a", addr, "other", `{"a": [1, 2], "b": {"c": null}}`)
	pubOK(t, "-a", addr, "--wire", "native", "greetings.text", `plain text & <tags>`)
	pubOK(t, "-a", addr, "greetings.n", `-1.5`) // a negative number after TOPIC is a message, not a flag
	sub.expectExit(exitOK)
	expectLines(t, sub,
		`{"topic":"greetings.world","message":"hello"}`,
		`{"topic":"other","message":{"a":[1,2],"b":{"c":null}}}`,
		`{"topic":"greetings.text","message":"plain text & <tags>"}`,
		`{"topic":"greetings.n","message":-1.5}`,
	)
}

func TestPubStdinLines(t *testing.T) {
	addr, _ := startHub(t)
	sub := startCLI(t, nil, "sub", "-a", addr, "-n", "6", "--timeout", "20s", "lines")
	sub.waitStderr("subscribed")
	stdin := "1\nhello world\r\n{\"x\": null}\n\n\"quoted\"\nlast line without newline"
	code, stdout, stderr := runCLI(t, strings.NewReader(stdin), "pub", "-a", addr, "lines")
	if code != exitOK || stdout != "" {
		t.Fatalf("pub from stdin: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	sub.expectExit(exitOK)
	expectLines(t, sub,
		`{"topic":"lines","message":1}`,
		`{"topic":"lines","message":"hello world"}`,
		`{"topic":"lines","message":{"x":null}}`,
		`{"topic":"lines","message":""}`,
		`{"topic":"lines","message":"quoted"}`,
		`{"topic":"lines","message":"last line without newline"}`,
	)
}

func TestPubSocketIPCWire(t *testing.T) {
	addr, _ := startHub(t)
	native := startCLI(t, nil, "sub", "-a", addr, "-n", "2", "--timeout", "20s", "from.>")
	native.waitStderr("subscribed")
	sock := startCLI(t, nil, "sub", "-a", addr, "--wire", "socket-ipc", "-n", "3", "--timeout", "20s", "from.>")
	sock.waitStderr("subscribed")

	pubOK(t, "-a", addr, "--wire", "socket-ipc", "from.node.like", `{"hello":"wörld"}`)
	pubOK(t, "-a", addr, "--wire", "socket-ipc", "elsewhere", `2`) // the socket-ipc sub filters it out
	pubOK(t, "-a", addr, "from.native", `[null]`)
	pubOK(t, "-a", addr, "--wire", "socket-ipc", "from.third", `"three"`)
	native.expectExit(exitOK)
	sock.expectExit(exitOK)
	expectLines(t, native,
		`{"topic":"from.node.like","message":{"hello":"wörld"}}`,
		`{"topic":"from.native","message":[null]}`,
	)
	expectLines(t, sock,
		`{"topic":"from.node.like","message":{"hello":"wörld"}}`,
		`{"topic":"from.native","message":[null]}`,
		`{"topic":"from.third","message":"three"}`,
	)
}

func TestPubNoHub(t *testing.T) {
	missing := filepath.Join(testenv.ShortDir(t), "nobody.sock")
	for _, wire := range []string{"native", "socket-ipc"} {
		code, _, stderr := runCLI(t, nil, "pub", "-a", missing, "--wire", wire, "--timeout", "1s", "t", "1")
		if code != exitFailure || !strings.Contains(stderr, "cannot connect") || !strings.Contains(stderr, missing) {
			t.Errorf("pub --wire %s to no hub: exit %d, stderr %q; want 1 and a message naming the address", wire, code, stderr)
		}
	}
}

// TestPubSubNodeClient: a real Node socket-ipc client (the harness of the ipc
// interop tests) on "switchboard serve": what it sends reaches "switchboard
// sub", and what "switchboard pub" sends reaches it.
func TestPubSubNodeClient(t *testing.T) {
	addr, _ := startHub(t)
	sub := startCLI(t, nil, "sub", "-a", addr, "-n", "1", "--timeout", "20s", "from.node")
	sub.waitStderr("subscribed")

	cmd := exec.Command(testenv.Node(t), filepath.Join(testenv.ModuleRoot(t), "ipc", "testdata", "node", "peer.js"), "client", addr)
	cmd.Env = append(os.Environ(), "NODE_PATH="+testenv.NodeModules(t))
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	node := &cliProc{t: t, name: "node peer.js client", stdout: newLineBuf(), stderr: newLineBuf(), done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = node.stdout, node.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	node.proc = cmd.Process
	go func() {
		cmd.Wait()
		node.stdout.close()
		node.stderr.close()
		close(node.done)
	}()
	t.Cleanup(func() {
		node.proc.Kill()
		<-node.done
	})
	node.waitLine(node.stdout, `{"event":"connect"}`)

	// Node -> sub. Sending also makes the hub know the Node client as a
	// socket-ipc client at once.
	if _, err := io.WriteString(stdin, `{"op":"send","topic":"from.node","message":{"hi":"from Node ☃"}}`+"\n"); err != nil {
		t.Fatal(err)
	}
	sub.expectExit(exitOK)
	expectLines(t, sub, `{"topic":"from.node","message":{"hi":"from Node ☃"}}`)

	// pub -> Node, on a topic nobody subscribed to: socket-ipc clients get everything.
	pubOK(t, "-a", addr, "to.node", `[1, "two", null]`)
	line := node.waitLine(node.stdout, `{"event":"message"`)
	if want := `{"event":"message","topic":"to.node","message":[1,"two",null]}`; line != want {
		t.Errorf("the Node client got %s, want %s", line, want)
	}
}
