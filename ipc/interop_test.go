package ipc_test

// Interop tests against the real Node package @crussell52/socket-ipc 0.4.0,
// installed into test/node/node_modules by scripts/test-deps.sh. Each test
// runs ipc/testdata/node/peer.js, which drives a socket-ipc Server or Client
// from JSON commands on its stdin and reports every event as a JSON line on
// its stdout. docs/socket-ipc.md maps each socket-ipc feature to its test.

import (
	"bufio"
	"bytes"
	"encoding/json"

	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-ipc/switchboard/internal/testenv"
)

// interopWait bounds every wait for a Node event. Node starts in ~50 ms; the
// bound only matters when something is broken.
const interopWait = 15 * time.Second

// nodeEvent is one line a Node peer printed.
type nodeEvent struct {
	Event     string          `json:"event"`
	Topic     string          `json:"topic"`
	Message   json.RawMessage `json:"message"`
	ClientID  string          `json:"clientId"`
	Name      string          `json:"name"` // error class
	Text      string          `json:"text"` // error message
	SentTopic string          `json:"sentTopic"`
	Op        string          `json:"op"`
}

func (e nodeEvent) String() string {
	msg := string(e.Message)
	if len(msg) > 80 {
		msg = msg[:80] + "..."
	}
	return fmt.Sprintf("{%s topic=%q message=%s client=%s %s %s}", e.Event, e.Topic, msg, e.ClientID, e.Name, e.Text)
}

// nodePeer is a running peer.js process.
type nodePeer struct {
	t     testing.TB
	role  string
	stdin io.WriteCloser

	mu     sync.Mutex
	queue  []nodeEvent   // printed but not yet taken by take
	seen   []nodeEvent   // everything printed, for failure messages
	notify chan struct{} // closed and replaced whenever queue grows or the peer exits
	exited bool
	stderr bytes.Buffer
}

// startNode starts "node peer.js role socket opts" and kills it when the test ends.
func startNode(t testing.TB, role, socket string, opts map[string]any) *nodePeer {
	t.Helper()
	node := testenv.Node(t)
	modules := testenv.NodeModules(t)
	args := []string{filepath.Join("testdata", "node", "peer.js"), role, socket}
	if opts != nil {
		b, err := json.Marshal(opts)
		if err != nil {
			t.Fatal(err)
		}
		args = append(args, string(b))
	}
	cmd := exec.Command(node, args...)
	cmd.Env = append(os.Environ(), "NODE_PATH="+modules)
	p := &nodePeer{t: t, role: role, notify: make(chan struct{})}
	cmd.Stderr = lockedWriter{&p.mu, &p.stderr}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting node: %v", err)
	}
	p.stdin = stdin
	readDone := make(chan struct{})
	go p.read(stdout, readDone)
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-readDone
		cmd.Wait()
	})
	return p
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (w lockedWriter) Write(b []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.w.Write(b)
}

func (p *nodePeer) read(stdout io.Reader, done chan<- struct{}) {
	defer close(done)
	br := bufio.NewReader(stdout)
	for {
		line, err := br.ReadBytes('\n')
		if len(bytes.TrimSpace(line)) > 0 {
			var ev nodeEvent
			if jerr := json.Unmarshal(line, &ev); jerr != nil {
				ev = nodeEvent{Event: "unparsable", Text: string(line)}
			}
			p.mu.Lock()
			p.queue = append(p.queue, ev)
			p.seen = append(p.seen, ev)
			close(p.notify)
			p.notify = make(chan struct{})
			p.mu.Unlock()
		}
		if err != nil {
			p.mu.Lock()
			p.exited = true
			close(p.notify)
			p.notify = make(chan struct{})
			p.mu.Unlock()
			return
		}
	}
}

// do sends one command to the peer and waits until the peer has carried it out.
func (p *nodePeer) do(cmd map[string]any) {
	p.t.Helper()
	b, err := json.Marshal(cmd)
	if err != nil {
		p.t.Fatal(err)
	}
	if _, err := p.stdin.Write(append(b, '\n')); err != nil {
		p.t.Fatalf("node %s: writing command: %v", p.role, err)
	}
	p.take(func(e nodeEvent) bool { return e.Event == "done" && e.Op == cmd["op"] })
}

// take waits for the first not yet taken event that match accepts, removes it
// from the queue and returns it. Events it passes over stay for later calls.
func (p *nodePeer) take(match func(nodeEvent) bool) nodeEvent {
	p.t.Helper()
	deadline := time.NewTimer(interopWait)
	defer deadline.Stop()
	for {
		p.mu.Lock()
		for i, e := range p.queue {
			if match(e) {
				p.queue = append(p.queue[:i:i], p.queue[i+1:]...)
				p.mu.Unlock()
				return e
			}
		}
		exited, notify := p.exited, p.notify
		p.mu.Unlock()
		if exited {
			p.t.Fatalf("node %s exited before the expected event\n%s", p.role, p.dump())
		}
		select {
		case <-notify:
		case <-deadline.C:
			p.t.Fatalf("node %s: expected event did not come within %v\n%s", p.role, interopWait, p.dump())
		}
	}
}

// event waits for the next event named name.
func (p *nodePeer) event(name string) nodeEvent {
	p.t.Helper()
	return p.take(func(e nodeEvent) bool { return e.Event == name })
}

// errorEvents returns the error events seen so far (taken or not).
func (p *nodePeer) errorEvents() []nodeEvent {
	p.mu.Lock()
	defer p.mu.Unlock()
	var errs []nodeEvent
	for _, e := range p.seen {
		if e.Event == "error" || e.Event == "thrown" || e.Event == "unparsable" {
			errs = append(errs, e)
		}
	}
	return errs
}

// noErrors fails the test when the peer reported an error.
func (p *nodePeer) noErrors() {
	p.t.Helper()
	if errs := p.errorEvents(); len(errs) > 0 {
		p.t.Errorf("node %s reported errors: %v\n%s", p.role, errs, p.dump())
	}
}

func (p *nodePeer) dump() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var b strings.Builder
	fmt.Fprintf(&b, "node %s events:\n", p.role)
	for _, e := range p.seen {
		fmt.Fprintf(&b, "  %v\n", e)
	}
	if p.stderr.Len() > 0 {
		fmt.Fprintf(&b, "node %s stderr:\n%s", p.role, p.stderr.String())
	}
	return b.String()
}

// jsonEqual reports whether two JSON texts hold the same value.
func jsonEqual(t testing.TB, a, b []byte) bool {
	t.Helper()
	var va, vb any
	if err := json.Unmarshal(a, &va); err != nil {
		t.Fatalf("invalid JSON %q: %v", a, err)
	}
	if err := json.Unmarshal(b, &vb); err != nil {
		t.Fatalf("invalid JSON %q: %v", b, err)
	}
	ja, _ := json.Marshal(va)
	jb, _ := json.Marshal(vb)
	return bytes.Equal(ja, jb)
}

// interopValues are the messages every direction carries: unicode, null,
// numbers, nested objects, and strings holding the bytes that matter to the
// framing (NUL, quotes, backslashes, newlines).
var interopValues = []string{
	`null`,
	`0`,
	`-12.5e-3`,
	`9007199254740991`,
	`true`,
	`"hello"`,
	`""`,
	`"héllo wörld ☃ 日本語 🎉"`,
	`"nul\u0000inside \u0000\u0000 twice"`,
	`"quote \" backslash \\ newline \n tab \t"`,
	`[]`,
	`{}`,
	`[1,"two",null,{"three":[3,{"four":4}]}]`,
	`{"a":{"b":{"c":{"d":[true,false,null]}}},"ü":"ñ"}`,
}

// --- wire level: hand-written socket-ipc frames against the Node package ---

// socketIPCFrame is a socket-ipc message as written by hand from the spec:
// {"topic":T,"message":M} followed by two NUL bytes.
func socketIPCFrame(topic string, message string) []byte {
	t, _ := json.Marshal(topic)
	return []byte(`{"topic":` + string(t) + `,"message":` + message + "}\x00\x00")
}

// readSocketIPCFrames reads n frames from r, splitting on the delimiter, and
// returns their topics and raw messages.
func readSocketIPCFrames(t testing.TB, c net.Conn, n int) (topics []string, messages []json.RawMessage) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(interopWait))
	br := bufio.NewReader(c)
	var frame []byte
	for len(topics) < n {
		b, err := br.ReadBytes(0)
		if err != nil {
			t.Fatalf("reading socket-ipc frames: %v (got %d of %d)", err, len(topics), n)
		}
		frame = append(frame, b...)
		if !bytes.HasSuffix(frame, []byte("\x00\x00")) {
			continue
		}
		var m struct {
			Topic   string          `json:"topic"`
			Message json.RawMessage `json:"message"`
		}
		if err := json.Unmarshal(frame[:len(frame)-2], &m); err != nil {
			t.Fatalf("frame %q: %v", frame, err)
		}
		topics = append(topics, m.Topic)
		messages = append(messages, m.Message)
		frame = frame[:0]
	}
	return topics, messages
}

// TestInteropWireNodeClient checks the framing itself against a Node
// socket-ipc Client, with a Go listener speaking hand-written frames: Node's
// frames parse as documented, and Node decodes frames that arrive in pieces
// and many to a read.
func TestInteropWireNodeClient(t *testing.T) {
	sock := filepath.Join(testenv.ShortDir(t), "w.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	node := startNode(t, "client", sock, nil)
	l.(*net.UnixListener).SetDeadline(time.Now().Add(interopWait))
	c, err := l.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	node.event("connect")

	for _, v := range interopValues {
		node.do(map[string]any{"op": "send", "topic": "up", "message": json.RawMessage(v)})
	}
	topics, messages := readSocketIPCFrames(t, c, len(interopValues))
	for i, v := range interopValues {
		if topics[i] != "up" || !jsonEqual(t, messages[i], []byte(v)) {
			t.Errorf("frame %d from Node = %q %s, want %q %s", i, topics[i], messages[i], "up", v)
		}
	}

	// Many frames in one write, then one frame a byte at a time.
	var all []byte
	for _, v := range interopValues {
		all = append(all, socketIPCFrame("down", v)...)
	}
	if _, err := c.Write(all); err != nil {
		t.Fatal(err)
	}
	for _, b := range socketIPCFrame("bytewise", `{"k":"√"}`) {
		if _, err := c.Write([]byte{b}); err != nil {
			t.Fatal(err)
		}
	}
	for _, v := range interopValues {
		e := node.event("message")
		if e.Topic != "down" || !jsonEqual(t, e.Message, []byte(v)) {
			t.Errorf("Node received %v, want topic down message %s", e, v)
		}
	}
	if e := node.event("message"); e.Topic != "bytewise" || !jsonEqual(t, e.Message, []byte(`{"k":"√"}`)) {
		t.Errorf("Node received %v, want the byte-by-byte frame", e)
	}
	node.noErrors()
}

// TestInteropWireNodeServer checks the framing against a Node socket-ipc
// Server with a hand-written Go client.
func TestInteropWireNodeServer(t *testing.T) {
	sock := filepath.Join(testenv.ShortDir(t), "w.sock")
	node := startNode(t, "server", sock, nil)
	node.event("listening")
	c, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	id := node.event("connection").ClientID

	if _, err := c.Write(socketIPCFrame("hello", `{"n":1}`)); err != nil {
		t.Fatal(err)
	}
	if e := node.event("message"); e.Topic != "hello" || e.ClientID != id || !jsonEqual(t, e.Message, []byte(`{"n":1}`)) {
		t.Errorf("Node server received %v, want hello {\"n\":1} from %s", e, id)
	}
	node.do(map[string]any{"op": "send", "topic": "to-one", "message": "x", "clientId": id})
	node.do(map[string]any{"op": "broadcast", "topic": "to-all", "message": []int{1, 2}})
	topics, messages := readSocketIPCFrames(t, c, 2)
	if topics[0] != "to-one" || string(messages[0]) != `"x"` || topics[1] != "to-all" || string(messages[1]) != `[1,2]` {
		t.Errorf("from Node server: %q %s, want to-one \"x\", to-all [1,2]", topics, messages)
	}
	node.noErrors()
}
