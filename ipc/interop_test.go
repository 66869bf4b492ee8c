package ipc_test

// Interop tests against the real Node package @crussell52/socket-ipc 0.4.0,
// installed into test/node/node_modules by scripts/test-deps.sh. Each test
// runs ipc/testdata/node/peer.js, which drives a socket-ipc Server or Client
// from JSON commands on its stdin and reports every event as a JSON line on
// its stdout. docs/socket-ipc.md maps each socket-ipc feature to its test.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"

	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-ipc/switchboard/codec"
	"github.com/switchboard-ipc/switchboard/internal/testenv"
	"github.com/switchboard-ipc/switchboard/ipc"
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
	stdin, stdout := testenv.StartPiped(t, cmd)
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

// --- a Node socket-ipc Client and a switchboard ipc.Server ---

// recvd is what a Go handler or hook saw.
type recvd struct {
	topic, from string
	data        []byte
}

// goServer is an ipc.Server with its hooks wired to channels.
type goServer struct {
	srv      *ipc.Server
	addr     string
	msgs     chan recvd // Handle(">")
	connects chan ipc.ClientInfo
	gone     chan string // OnDisconnect ids
	listens  chan net.Addr
	errs     chan error
	closed   chan struct{}
}

// startGoServer starts an ipc.Server (hub when hub is set) on a new socket.
// It is closed at the end of the test.
func startGoServer(t *testing.T, hub bool) *goServer {
	t.Helper()
	g := &goServer{
		addr:     filepath.Join(testenv.ShortDir(t), "s.sock"),
		msgs:     make(chan recvd, 1024),
		connects: make(chan ipc.ClientInfo, 16),
		gone:     make(chan string, 16),
		listens:  make(chan net.Addr, 4),
		errs:     make(chan error, 16),
		closed:   make(chan struct{}),
	}
	var once sync.Once
	srv, err := ipc.NewServer(ipc.ServerConfig{
		Hub:          hub,
		OnConnect:    func(ci ipc.ClientInfo) { g.connects <- ci },
		OnDisconnect: func(id string, _ error) { g.gone <- id },
		OnListening:  func(a net.Addr) { g.listens <- a },
		OnError:      func(err error) { g.errs <- err },
		OnClose:      func() { once.Do(func() { close(g.closed) }) },
	})
	if err != nil {
		t.Fatal(err)
	}
	srv.Handle(">", func(m *ipc.Message) {
		g.msgs <- recvd{topic: m.Topic, from: m.From, data: bytes.Clone(m.Data)}
	})
	g.srv = srv
	if err := srv.Listen(context.Background(), g.addr); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return g
}

// connected waits for the next OnConnect.
func (g *goServer) connected(t *testing.T) ipc.ClientInfo {
	t.Helper()
	select {
	case ci := <-g.connects:
		return ci
	case <-time.After(interopWait):
		t.Fatal("no client connected to the Go server")
		return ipc.ClientInfo{}
	}
}

// message waits for the next message the Go server's handler saw.
func (g *goServer) message(t *testing.T) recvd {
	t.Helper()
	select {
	case m := <-g.msgs:
		return m
	case err := <-g.errs:
		t.Fatalf("Go server error while waiting for a message: %v", err)
	case <-time.After(interopWait):
		t.Fatal("no message reached the Go server")
	}
	return recvd{}
}

func (g *goServer) error(t *testing.T) error {
	t.Helper()
	select {
	case err := <-g.errs:
		return err
	case <-time.After(interopWait):
		t.Fatal("the Go server reported no error")
		return nil
	}
}

var uuidV4 = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

// TestInteropNodeClientGoServer: a Node socket-ipc Client sends to an
// ipc.Server every kind of value; the server sends and broadcasts them back.
func TestInteropNodeClientGoServer(t *testing.T) {
	g := startGoServer(t, false)
	node := startNode(t, "client", g.addr, map[string]any{"topics": []string{"down"}})
	node.event("connect")
	ci := g.connected(t)
	if !uuidV4.MatchString(ci.ID) || ci.Wire != ipc.SocketIPC || ci.Conn == nil {
		t.Errorf("OnConnect got %+v, want a UUID v4 id, the socket-ipc wire and the net.Conn", ci)
	}

	// client.send -> the server's handler, with the client's id.
	for _, v := range interopValues {
		node.do(map[string]any{"op": "send", "topic": "up", "message": json.RawMessage(v)})
	}
	for _, v := range interopValues {
		m := g.message(t)
		if m.topic != "up" || m.from != ci.ID || !jsonEqual(t, m.data, []byte(v)) {
			t.Errorf("Go server got %q from %s: %s, want up from %s: %s", m.topic, m.from, m.data, ci.ID, v)
		}
	}

	// server.Send and Broadcast -> 'message' and 'message.TOPIC' on the Node client.
	for i, v := range interopValues {
		var send func(string, any) error
		if i%2 == 0 {
			send = func(topic string, msg any) error { return g.srv.Send(ci.ID, topic, msg) }
		} else {
			send = g.srv.Broadcast
		}
		if err := send("down", json.RawMessage(v)); err != nil {
			t.Fatalf("sending %s: %v", v, err)
		}
		e := node.event("message")
		if e.Topic != "down" || !jsonEqual(t, e.Message, []byte(v)) {
			t.Errorf("Node got %v, want down %s", e, v)
		}
		if e := node.event("message.down"); !jsonEqual(t, e.Message, []byte(v)) {
			t.Errorf("Node 'message.down' got %v, want %s", e, v)
		}
	}
	// Go values encode with the JSON codec as Node expects.
	if err := g.srv.Send(ci.ID, "go", map[string]any{"n": 1.5, "s": []string{"a"}, "nil": nil}); err != nil {
		t.Fatal(err)
	}
	if e := node.event("message"); e.Topic != "go" || !jsonEqual(t, e.Message, []byte(`{"n":1.5,"s":["a"],"nil":null}`)) {
		t.Errorf("Node got %v for a Go map", e)
	}
	// An empty topic becomes "none", both ways.
	if err := g.srv.Send(ci.ID, "", 1); err != nil {
		t.Fatal(err)
	}
	if e := node.event("message"); e.Topic != "none" {
		t.Errorf("Node got topic %q for an empty topic, want none", e.Topic)
	}
	node.do(map[string]any{"op": "send", "topic": "", "message": 2})
	if m := g.message(t); m.topic != "none" {
		t.Errorf("Go server got topic %q for Node's empty topic, want none", m.topic)
	}
	node.noErrors()
}

// TestInteropNodeClientsBroadcast: Broadcast reaches every Node client; Send
// only the one addressed; unknown ids and sends after Close fail as in
// socket-ipc; Close disconnects the Node clients.
func TestInteropNodeClientsBroadcast(t *testing.T) {
	g := startGoServer(t, false)
	if err := g.srv.Broadcast("nobody", 1); err != nil {
		t.Errorf("Broadcast with no clients: %v, want nil", err)
	}
	a := startNode(t, "client", g.addr, nil)
	a.event("connect")
	idA := g.connected(t).ID
	b := startNode(t, "client", g.addr, nil)
	b.event("connect")
	idB := g.connected(t).ID
	if idA == idB {
		t.Fatalf("two clients share the id %s", idA)
	}

	if err := g.srv.Broadcast("all", "everyone"); err != nil {
		t.Fatal(err)
	}
	if err := g.srv.Send(idB, "one", "just b"); err != nil {
		t.Fatal(err)
	}
	for _, p := range []*nodePeer{a, b} {
		if e := p.event("message"); e.Topic != "all" || string(e.Message) != `"everyone"` {
			t.Errorf("node got %v, want the broadcast", e)
		}
	}
	if e := b.event("message"); e.Topic != "one" {
		t.Errorf("node b got %v, want its own message", e)
	}

	err := g.srv.Send("00000000-0000-4000-8000-000000000000", "t", 1)
	var bad *ipc.BadClientError
	if !errors.As(err, &bad) || !errors.Is(err, ipc.ErrBadClient) || bad.ClientID != "00000000-0000-4000-8000-000000000000" || bad.Topic != "t" {
		t.Errorf("Send to an unknown client: %v, want a *BadClientError with id and topic", err)
	}

	// A client that is gone is a bad client too.
	a.do(map[string]any{"op": "close"})
	a.event("close")
	select {
	case id := <-g.gone:
		if id != idA {
			t.Fatalf("OnDisconnect for %s, want %s", id, idA)
		}
	case <-time.After(interopWait):
		t.Fatal("no OnDisconnect after the Node client closed")
	}
	if err := g.srv.Send(idA, "t", 1); !errors.Is(err, ipc.ErrBadClient) {
		t.Errorf("Send to a client that left: %v, want ErrBadClient", err)
	}

	if err := g.srv.Close(); err != nil {
		t.Fatal(err)
	}
	b.event("disconnect") // socket-ipc's event for a connection it did not close
	select {
	case <-g.closed:
	case <-time.After(interopWait):
		t.Error("OnClose not called")
	}
	for _, err := range []error{g.srv.Send(idB, "t", 1), g.srv.Broadcast("t", 1)} {
		var sac *ipc.SendAfterCloseError
		if !errors.As(err, &sac) || !errors.Is(err, ipc.ErrSendAfterClose) || sac.Topic != "t" {
			t.Errorf("send after Close: %v, want a *SendAfterCloseError", err)
		}
	}
	if err := g.srv.Listen(context.Background(), g.addr); err == nil {
		t.Error("Listen after Close succeeded")
	}
	if c, err := net.Dial("unix", g.addr); err == nil {
		c.Close()
		t.Error("the server still accepts connections after Close")
	}
	a.noErrors()
	b.noErrors()
}

// TestInteropListenOnce: a second Listen is an error, as socket-ipc's second
// listen() is.
func TestInteropListenOnce(t *testing.T) {
	g := startGoServer(t, false)
	if a := waitChan(t, g.listens, "OnListening"); a.String() != g.addr {
		t.Errorf("OnListening(%v), want %s", a, g.addr)
	}
	err := g.srv.Listen(context.Background(), filepath.Join(testenv.ShortDir(t), "other.sock"))
	if !errors.Is(err, ipc.ErrAlreadyListening) {
		t.Errorf("second Listen: %v, want ErrAlreadyListening", err)
	}
	// Node's own behaviour, for the record: a second listen() throws.
	node := startNode(t, "server", filepath.Join(testenv.ShortDir(t), "n.sock"), nil)
	node.event("listening")
	node.do(map[string]any{"op": "listen"})
	if e := node.event("thrown"); !strings.Contains(e.Text, "twice") {
		t.Errorf("Node's second listen(): %v", e)
	}
}

// TestInteropFraming: what a Node client writes in pieces, many frames in one
// write, and 1 MiB messages, both ways.
func TestInteropFraming(t *testing.T) {
	g := startGoServer(t, false)
	node := startNode(t, "client", g.addr, nil)
	node.event("connect")
	id := g.connected(t).ID

	var frames []byte
	for _, v := range interopValues {
		frames = append(frames, socketIPCFrame("many", v)...)
	}
	// All in one write.
	node.do(map[string]any{"op": "raw", "chunks": [][]byte{frames}})
	for _, v := range interopValues {
		if m := g.message(t); m.topic != "many" || !jsonEqual(t, m.data, []byte(v)) {
			t.Errorf("one write: got %q %s, want many %s", m.topic, m.data, v)
		}
	}
	// Split everywhere: 1, 2 and 7 bytes per write, so a delimiter, a
	// multi-byte rune and an escape each end up across writes.
	for _, size := range []int{1, 2, 7} {
		var chunks [][]byte
		rest := frames
		for len(rest) > 0 {
			n := min(size, len(rest))
			chunks = append(chunks, rest[:n])
			rest = rest[n:]
		}
		node.do(map[string]any{"op": "raw", "chunks": chunks})
		for _, v := range interopValues {
			if m := g.message(t); m.topic != "many" || !jsonEqual(t, m.data, []byte(v)) {
				t.Errorf("%d-byte writes: got %q %s, want many %s", size, m.topic, m.data, v)
			}
		}
	}

	// 1 MiB from Node.
	const mib = 1 << 20
	node.do(map[string]any{"op": "big", "topic": "big", "size": mib})
	m := g.message(t)
	var s string
	if err := json.Unmarshal(m.data, &s); err != nil || m.topic != "big" || len(s) != mib || strings.Trim(s, "x") != "" {
		t.Errorf("1 MiB from Node: topic %q, %d bytes (%v)", m.topic, len(s), err)
	}
	// 1 MiB to Node, then a small message behind it.
	big := strings.Repeat("é", mib/2)
	if err := g.srv.Send(id, "big", big); err != nil {
		t.Fatal(err)
	}
	if err := g.srv.Send(id, "after", 1); err != nil {
		t.Fatal(err)
	}
	e := node.event("message")
	var got string
	if err := json.Unmarshal(e.Message, &got); err != nil || e.Topic != "big" || got != big {
		t.Errorf("1 MiB to Node: topic %q, %d bytes (%v)", e.Topic, len(got), err)
	}
	if e := node.event("message"); e.Topic != "after" {
		t.Errorf("after 1 MiB, Node got %v", e)
	}
	node.noErrors()
}

// TestInteropDecodeError: bad bytes from one Node client close that
// connection with a DecodeError naming it; another client is unaffected.
func TestInteropDecodeError(t *testing.T) {
	g := startGoServer(t, false)
	bad := startNode(t, "client", g.addr, map[string]any{"reconnectDelay": 60000})
	bad.event("connect")
	badID := g.connected(t).ID
	good := startNode(t, "client", g.addr, nil)
	good.event("connect")
	goodID := g.connected(t).ID

	bad.do(map[string]any{"op": "raw", "chunks": [][]byte{[]byte("{not json}\x00\x00")}})
	err := g.error(t)
	var de *ipc.DecodeError
	if !errors.As(err, &de) || !errors.Is(err, ipc.ErrDecode) || de.ClientID != badID {
		t.Errorf("bad bytes: error %v, want a *DecodeError for client %s", err, badID)
	}
	bad.event("disconnect")

	good.do(map[string]any{"op": "send", "topic": "still", "message": "here"})
	if m := g.message(t); m.topic != "still" || m.from != goodID {
		t.Errorf("after another client's bad bytes: got %q from %s", m.topic, m.from)
	}
	if err := g.srv.Send(goodID, "ok", true); err != nil {
		t.Fatal(err)
	}
	if e := good.event("message"); e.Topic != "ok" {
		t.Errorf("good client got %v", e)
	}
	good.noErrors()
}

// --- a switchboard ipc.Client on the socket-ipc wire and a Node socket-ipc Server ---

// goClient is an ipc.Client on the socket-ipc wire with its hooks wired to
// channels and a handler for every topic.
type goClient struct {
	c        *ipc.Client
	msgs     chan recvd
	connects chan struct{}
	gone     chan error
	errs     chan error
}

func newGoClient(t *testing.T, addr string, opts ...ipc.Option) *goClient {
	t.Helper()
	g := &goClient{
		msgs:     make(chan recvd, 1024),
		connects: make(chan struct{}, 16),
		gone:     make(chan error, 16),
		errs:     make(chan error, 1024),
	}
	opts = append([]ipc.Option{
		ipc.WithWire(ipc.SocketIPC),
		ipc.WithOnConnect(func() { g.connects <- struct{}{} }),
		ipc.WithOnDisconnect(func(err error) { g.gone <- err }),
		ipc.WithOnError(func(err error) {
			select {
			case g.errs <- err:
			default: // a long retry loop: keep the first ones
			}
		}),
	}, opts...)
	c, err := ipc.NewClient(addr, opts...)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Handle(">", func(m *ipc.Message) {
		g.msgs <- recvd{topic: m.Topic, from: m.From, data: bytes.Clone(m.Data)}
	}); err != nil {
		t.Fatal(err)
	}
	g.c = c
	t.Cleanup(func() { c.Close() })
	return g
}

func (g *goClient) connect(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), interopWait)
	defer cancel()
	if err := g.c.Connect(ctx); err != nil {
		t.Fatalf("Connect: %v", err)
	}
}

func (g *goClient) message(t *testing.T) recvd {
	t.Helper()
	select {
	case m := <-g.msgs:
		return m
	case <-time.After(interopWait):
		t.Fatal("no message reached the Go client")
		return recvd{}
	}
}

func waitChan[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(interopWait):
		t.Fatalf("timed out waiting for %s", what)
		var zero T
		return zero
	}
}

func (g *goClient) flush(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), interopWait)
	defer cancel()
	if err := g.c.Flush(ctx); err != nil {
		t.Fatalf("Flush: %v", err)
	}
}

// TestInteropGoClientNodeServer: an ipc.Client on the socket-ipc wire sends
// every kind of value to a Node socket-ipc Server, which sends and
// broadcasts them back.
func TestInteropGoClientNodeServer(t *testing.T) {
	sock := filepath.Join(testenv.ShortDir(t), "n.sock")
	node := startNode(t, "server", sock, map[string]any{"topics": []string{"up"}})
	node.event("listening")
	g := newGoClient(t, sock)
	g.connect(t)
	id := node.event("connection").ClientID

	for _, v := range interopValues {
		if err := g.c.Send(context.Background(), "up", json.RawMessage(v)); err != nil {
			t.Fatal(err)
		}
	}
	g.flush(t)
	for _, v := range interopValues {
		e := node.event("message")
		if e.Topic != "up" || e.ClientID != id || !jsonEqual(t, e.Message, []byte(v)) {
			t.Errorf("Node server got %v, want up %s from %s", e, v, id)
		}
		if e := node.event("message.up"); e.ClientID != id || !jsonEqual(t, e.Message, []byte(v)) {
			t.Errorf("Node server 'message.up' got %v, want %s", e, v)
		}
	}
	if err := g.c.Send(context.Background(), "", map[string]any{"go": []int{1, 2}}); err != nil {
		t.Fatal(err)
	}
	if e := node.event("message"); e.Topic != "none" || !jsonEqual(t, e.Message, []byte(`{"go":[1,2]}`)) {
		t.Errorf("Node server got %v for an empty topic and a Go map, want none {\"go\":[1,2]}", e)
	}

	// A second Go client, for broadcast, with a handler for one topic too
	// (socket-ipc's 'message.TOPIC').
	g2 := newGoClient(t, sock)
	onlyMsgs := make(chan recvd, 4)
	if err := g2.c.Handle("only", func(m *ipc.Message) { onlyMsgs <- recvd{topic: m.Topic, data: bytes.Clone(m.Data)} }); err != nil {
		t.Fatal(err)
	}
	g2.connect(t)
	id2 := node.event("connection").ClientID
	for i, v := range interopValues {
		if i%2 == 0 {
			node.do(map[string]any{"op": "send", "topic": "down", "message": json.RawMessage(v), "clientId": id})
		} else {
			node.do(map[string]any{"op": "broadcast", "topic": "down", "message": json.RawMessage(v)})
		}
	}
	for i, v := range interopValues {
		if m := g.message(t); m.topic != "down" || m.from != "" || !jsonEqual(t, m.data, []byte(v)) {
			t.Errorf("Go client got %q from %q: %s, want down %s", m.topic, m.from, m.data, v)
		}
		if i%2 == 1 {
			if m := g2.message(t); m.topic != "down" || !jsonEqual(t, m.data, []byte(v)) {
				t.Errorf("second Go client got %q %s, want the broadcast %s", m.topic, m.data, v)
			}
		}
	}
	node.do(map[string]any{"op": "send", "topic": "only", "message": 2, "clientId": id2})
	if m := g2.message(t); m.topic != "only" || string(m.data) != "2" {
		t.Errorf("second Go client got %q %s, want only 2", m.topic, m.data)
	}
	// Node sends an empty topic as it is; the Go client reads it as "none".
	node.do(map[string]any{"op": "send", "topic": "", "message": 3, "clientId": id2})
	if m := g2.message(t); m.topic != "none" || string(m.data) != "3" {
		t.Errorf("second Go client got %q %s for an empty topic, want none 3", m.topic, m.data)
	}
	if m := waitChan(t, onlyMsgs, "the 'only' handler"); m.topic != "only" || string(m.data) != "2" {
		t.Errorf("the 'only' handler got %q %s", m.topic, m.data)
	}
	if n := len(onlyMsgs); n != 0 {
		t.Errorf("the 'only' handler got %d messages on other topics", n)
	}
	if n := len(g.msgs); n != 0 {
		t.Errorf("the first Go client got %d messages sent to the second", n)
	}
	node.noErrors()
}

// TestInteropGoClientFraming: a Node server's frames in one write, split at
// every byte, and 1 MiB messages both ways.
func TestInteropGoClientFraming(t *testing.T) {
	sock := filepath.Join(testenv.ShortDir(t), "n.sock")
	node := startNode(t, "server", sock, nil)
	node.event("listening")
	g := newGoClient(t, sock)
	g.connect(t)
	id := node.event("connection").ClientID

	var frames []byte
	for _, v := range interopValues {
		frames = append(frames, socketIPCFrame("many", v)...)
	}
	writes := map[string][][]byte{"one write": {frames}}
	for _, size := range []int{1, 3} {
		var chunks [][]byte
		for rest := frames; len(rest) > 0; {
			n := min(size, len(rest))
			chunks, rest = append(chunks, rest[:n]), rest[n:]
		}
		writes[fmt.Sprintf("%d-byte writes", size)] = chunks
	}
	for name, chunks := range writes {
		node.do(map[string]any{"op": "raw", "clientId": id, "chunks": chunks})
		for _, v := range interopValues {
			if m := g.message(t); m.topic != "many" || !jsonEqual(t, m.data, []byte(v)) {
				t.Errorf("%s: Go client got %q %s, want many %s", name, m.topic, m.data, v)
			}
		}
	}

	const mib = 1 << 20
	node.do(map[string]any{"op": "big", "topic": "big", "size": mib, "clientId": id})
	m := g.message(t)
	var s string
	if err := json.Unmarshal(m.data, &s); err != nil || m.topic != "big" || len(s) != mib || strings.Trim(s, "x") != "" {
		t.Errorf("1 MiB from the Node server: topic %q, %d bytes (%v)", m.topic, len(s), err)
	}
	big := strings.Repeat("ü", mib/2)
	if err := g.c.Send(context.Background(), "big", big); err != nil {
		t.Fatal(err)
	}
	e := node.event("message")
	var got string
	if err := json.Unmarshal(e.Message, &got); err != nil || e.Topic != "big" || got != big {
		t.Errorf("1 MiB to the Node server: topic %q, %d bytes (%v)", e.Topic, len(got), err)
	}
	node.noErrors()
}

// TestInteropGoClientRetryReconnect: the Client retries until a Node server
// listens, reporting each failed attempt; after the server goes away it
// reports the disconnect, refuses sends (NoServerError) and reconnects to
// the next server; Close stops it for good.
func TestInteropGoClientRetryReconnect(t *testing.T) {
	sock := filepath.Join(testenv.ShortDir(t), "n.sock")
	g := newGoClient(t, sock,
		ipc.WithRetryDelay(10*time.Millisecond, 30*time.Millisecond),
		ipc.WithReconnectDelay(0, 0))
	connected := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), interopWait)
		defer cancel()
		connected <- g.c.Connect(ctx)
	}()
	// Nobody listens: attempts fail and are reported as connectError is.
	for attempt := 1; attempt <= 2; attempt++ {
		err := waitChan(t, g.errs, "a failed connection attempt")
		var ce *ipc.ConnectError
		if !errors.As(err, &ce) || ce.Attempt != attempt || ce.Addr != sock {
			t.Fatalf("failed attempt reported as %v, want a *ConnectError for attempt %d at %s", err, attempt, sock)
		}
	}
	if err := g.c.Send(context.Background(), "early", 1); !errors.Is(err, ipc.ErrNoServer) {
		t.Errorf("Send before connecting: %v, want ErrNoServer", err)
	}
	first := startNode(t, "server", sock, nil)
	first.event("listening")
	if err := waitChan(t, connected, "Connect"); err != nil {
		t.Fatalf("Connect: %v", err)
	}
	waitChan(t, g.connects, "the connect hook")
	first.event("connection")
	if err := g.c.Send(context.Background(), "one", 1); err != nil {
		t.Fatal(err)
	}
	first.event("message")

	// The server goes away: the disconnect is reported, sends fail.
	first.do(map[string]any{"op": "close"})
	waitChan(t, g.gone, "the disconnect hook")
	err := g.c.Send(context.Background(), "lost", 2)
	var ns *ipc.NoServerError
	if !errors.As(err, &ns) || ns.Topic != "lost" {
		t.Errorf("Send while disconnected: %v, want a *NoServerError for topic lost", err)
	}
	// A new server on the same path: the client reconnects by itself.
	second := startNode(t, "server", sock, nil)
	second.event("listening")
	waitChan(t, g.connects, "the connect hook after reconnecting")
	second.event("connection")
	if err := g.c.Send(context.Background(), "two", 2); err != nil {
		t.Fatal(err)
	}
	if e := second.event("message"); e.Topic != "two" {
		t.Errorf("after reconnecting the Node server got %v", e)
	}

	// Connect once; Close stops everything; sends after Close fail.
	if err := g.c.Connect(context.Background()); !errors.Is(err, ipc.ErrConnectCalled) {
		t.Errorf("second Connect: %v, want ErrConnectCalled", err)
	}
	if err := g.c.Close(); err != nil {
		t.Fatal(err)
	}
	if e := second.event("socketClose"); e.ClientID == "" {
		t.Errorf("socket close event without a client id: %v", e)
	}
	var sac *ipc.SendAfterCloseError
	if err := g.c.Send(context.Background(), "late", 3); !errors.As(err, &sac) || sac.Topic != "late" {
		t.Errorf("Send after Close: %v, want a *SendAfterCloseError for topic late", err)
	}
	select {
	case <-g.c.Done():
	default:
		t.Error("Done not closed after Close returned")
	}

	// Close also ends a retry loop that never connected.
	lonely := newGoClient(t, filepath.Join(testenv.ShortDir(t), "nobody.sock"), ipc.WithRetryDelay(time.Millisecond, time.Millisecond))
	go lonely.c.Connect(context.Background())
	waitChan(t, lonely.errs, "a failed connection attempt")
	closed := make(chan error, 1)
	go func() { closed <- lonely.c.Close() }()
	if err := waitChan(t, closed, "Close of a retrying client"); err != nil {
		t.Error(err)
	}
	first.noErrors()
	second.noErrors()
}

// --- Node socket-ipc clients on a switchboard hub ---

// TestInteropNodeClientOnHub shows the rule docs/socket-ipc.md states: a
// socket-ipc client on a hub receives every message published there, whatever
// its topic — by native clients, by other socket-ipc clients, by the server —
// except its own; what it sends reaches the native subscribers of the topic
// (with its client id as From) and the server's handlers.
func TestInteropNodeClientOnHub(t *testing.T) {
	g := startGoServer(t, true)
	ctx, cancel := context.WithTimeout(context.Background(), interopWait)
	defer cancel()

	subMsgs := make(chan recvd, 64)
	sub, err := ipc.Dial(ctx, g.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	if _, err := sub.Subscribe(ctx, "orders.>", func(m *ipc.Message) {
		subMsgs <- recvd{topic: m.Topic, from: m.From, data: bytes.Clone(m.Data)}
	}); err != nil {
		t.Fatal(err)
	}
	g.connected(t) // the native subscriber
	pub, err := ipc.Dial(ctx, g.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Close()
	g.connected(t) // the native publisher

	a := startNode(t, "client", g.addr, nil)
	a.event("connect")
	idA := g.connected(t).ID // the hub knows it as socket-ipc from here on
	b := startNode(t, "client", g.addr, nil)
	b.event("connect")
	g.connected(t)

	// A publishes: the native subscriber of the topic, B and the server's
	// handler get it; A does not.
	a.do(map[string]any{"op": "send", "topic": "orders.new", "message": map[string]any{"id": 1, "item": "thé"}})
	m := waitChan(t, subMsgs, "the native subscriber's message")
	if m.topic != "orders.new" || m.from != idA || !jsonEqual(t, m.data, []byte(`{"id":1,"item":"thé"}`)) {
		t.Errorf("native subscriber got %q from %s: %s", m.topic, m.from, m.data)
	}
	if e := b.event("message"); e.Topic != "orders.new" || !jsonEqual(t, e.Message, []byte(`{"id":1,"item":"thé"}`)) {
		t.Errorf("Node client B got %v", e)
	}
	if m := g.message(t); m.topic != "orders.new" || m.from != idA {
		t.Errorf("the hub's handler got %q from %s", m.topic, m.from)
	}

	// A topic no native client subscribed to still reaches B.
	a.do(map[string]any{"op": "send", "topic": "chat", "message": "hi"})
	if e := b.event("message"); e.Topic != "chat" || string(e.Message) != `"hi"` {
		t.Errorf("Node client B got %v, want chat \"hi\"", e)
	}
	g.message(t)

	// A native publisher: A and B get every topic; the subscriber only its pattern.
	for _, topic := range []string{"orders.eu.new", "weather"} {
		if err := pub.Send(ctx, topic, []any{topic, nil, 1.5}); err != nil {
			t.Fatal(err)
		}
	}
	if err := pub.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	for _, p := range []*nodePeer{a, b} {
		for _, topic := range []string{"orders.eu.new", "weather"} {
			// For A these are its first messages: its own never came back.
			if e := p.event("message"); e.Topic != topic || !jsonEqual(t, e.Message, []byte(`["`+topic+`",null,1.5]`)) {
				t.Errorf("Node client got %v, want %s", e, topic)
			}
		}
	}
	if m := waitChan(t, subMsgs, "the native subscriber's message"); m.topic != "orders.eu.new" {
		t.Errorf("native subscriber got %q, want orders.eu.new", m.topic)
	}

	// The server's own Publish and a direct Send.
	if err := g.srv.Publish("orders.done", 7); err != nil {
		t.Fatal(err)
	}
	if err := g.srv.Send(idA, "direct", "just A"); err != nil {
		t.Fatal(err)
	}
	for _, p := range []*nodePeer{a, b} {
		if e := p.event("message"); e.Topic != "orders.done" || string(e.Message) != "7" {
			t.Errorf("Node client got %v, want the server's publish", e)
		}
	}
	if e := a.event("message"); e.Topic != "direct" {
		t.Errorf("Node client A got %v, want its direct message", e)
	}
	if m := waitChan(t, subMsgs, "the native subscriber's message"); m.topic != "orders.done" {
		t.Errorf("native subscriber got %q, want orders.done", m.topic)
	}
	// Nothing else arrived: "weather" never reached the native subscriber.
	if err := pub.Send(ctx, "orders.last", 0); err != nil {
		t.Fatal(err)
	}
	if m := waitChan(t, subMsgs, "the native subscriber's message"); m.topic != "orders.last" {
		t.Errorf("native subscriber got %q, want orders.last (and nothing on weather)", m.topic)
	}
	a.noErrors()
	b.noErrors()
}

// TestInteropGoClientDecodeError: bad bytes from a Node server close the Go
// client's connection with a DecodeError; the client reconnects and works.
func TestInteropGoClientDecodeError(t *testing.T) {
	sock := filepath.Join(testenv.ShortDir(t), "n.sock")
	node := startNode(t, "server", sock, nil)
	node.event("listening")
	g := newGoClient(t, sock, ipc.WithReconnectDelay(0, 0))
	g.connect(t)
	waitChan(t, g.connects, "the connect hook")
	id := node.event("connection").ClientID

	node.do(map[string]any{"op": "raw", "clientId": id, "chunks": [][]byte{[]byte("{\"topic\":oops}\x00\x00")}})
	err := waitChan(t, g.errs, "the decode error")
	if !errors.Is(err, ipc.ErrDecode) {
		t.Errorf("bad bytes from the server: %v, want ErrDecode", err)
	}
	if err := waitChan(t, g.gone, "the disconnect hook"); !errors.Is(err, ipc.ErrDecode) {
		t.Errorf("disconnect reason %v, want ErrDecode", err)
	}
	waitChan(t, g.connects, "the reconnect")
	id2 := node.event("connection").ClientID
	node.do(map[string]any{"op": "send", "topic": "fine", "message": true, "clientId": id2})
	if m := g.message(t); m.topic != "fine" || string(m.data) != "true" {
		t.Errorf("after reconnecting the Go client got %q %s", m.topic, m.data)
	}
}

// TestInteropCodec: socket-ipc's transcoder option is the Codec of the
// Server and Client; both ends of a native connection use the same one. The
// socket-ipc wire itself is JSON (as socket-ipc's default transcoder).
func TestInteropCodec(t *testing.T) {
	addr := filepath.Join(testenv.ShortDir(t), "c.sock")
	got := make(chan map[string]any, 1)
	srv, err := ipc.NewServer(ipc.ServerConfig{Codec: codec.CBOR})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	srv.Handle("t", func(m *ipc.Message) {
		var v map[string]any
		if err := m.Decode(&v); err != nil {
			t.Errorf("Decode: %v", err)
		}
		if json.Valid(m.Data) {
			t.Errorf("payload %q is JSON, want CBOR", m.Data)
		}
		got <- v
	})
	ctx, cancel := context.WithTimeout(context.Background(), interopWait)
	defer cancel()
	if err := srv.Listen(ctx, addr); err != nil {
		t.Fatal(err)
	}
	c, err := ipc.Dial(ctx, addr, ipc.WithCodec(codec.CBOR))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Send(ctx, "t", map[string]any{"k": "v"}); err != nil {
		t.Fatal(err)
	}
	if v := waitChan(t, got, "the CBOR message"); v["k"] != "v" {
		t.Errorf("server decoded %v", v)
	}
	if _, err := ipc.NewClient(addr, ipc.WithWire(ipc.SocketIPC), ipc.WithCodec(codec.CBOR)); err == nil {
		t.Error("a socket-ipc client with a non-JSON codec was accepted")
	}
}

// TestInteropDefaults: the documented socket-ipc defaults (retryDelay 1000 ms,
// reconnectDelay 100 ms as socket-ipc's docs say; its code uses 1000).
func TestInteropDefaults(t *testing.T) {
	if ipc.DefaultRetryDelay != time.Second || ipc.DefaultReconnectDelay != 100*time.Millisecond {
		t.Errorf("defaults: retry %v, reconnect %v; want 1s and 100ms", ipc.DefaultRetryDelay, ipc.DefaultReconnectDelay)
	}
}
