package channel

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-ipc/switchboard/internal/testenv"
)

// open opens name in dir and registers Close as cleanup.
func open(t *testing.T, dir, name string, opts ...Option) *Channel {
	t.Helper()
	c, err := Open(name, append([]Option{WithDir(dir)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func connect(t *testing.T, c *Channel) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.Connect(ctx); err != nil {
		t.Fatalf("Connect: %v", err)
	}
}

func flush(t *testing.T, c *Channel) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.Flush(ctx); err != nil {
		t.Fatalf("Flush: %v", err)
	}
}

// collector gathers messages delivered to a handler.
type collector struct {
	mu   sync.Mutex
	msgs []*Message
	ch   chan struct{}
}

func newCollector() *collector { return &collector{ch: make(chan struct{}, 1)} }

func (k *collector) handle(m *Message) {
	k.mu.Lock()
	k.msgs = append(k.msgs, m)
	k.mu.Unlock()
	select {
	case k.ch <- struct{}{}:
	default:
	}
}

// waitN waits until n messages arrived and returns them.
func (k *collector) waitN(t *testing.T, n int) []*Message {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		k.mu.Lock()
		got := len(k.msgs)
		msgs := append([]*Message(nil), k.msgs...)
		k.mu.Unlock()
		if got >= n {
			return msgs
		}
		select {
		case <-k.ch:
		case <-deadline:
			t.Fatalf("got %d messages, want %d", got, n)
		}
	}
}

func TestValidateName(t *testing.T) {
	for _, name := range []string{"a", "app", "my-app_2.v1", "A" + strings.Repeat("b", MaxNameLen-1)} {
		if err := ValidateName(name); err != nil {
			t.Errorf("ValidateName(%q) = %v, want nil", name, err)
		}
	}
	for _, name := range []string{"", ".hidden", "-flag", "a/b", "a b", "ü", "a\x00", strings.Repeat("x", MaxNameLen+1), ".."} {
		err := ValidateName(name)
		var ne *NameError
		if !errors.Is(err, ErrBadName) || !errors.As(err, &ne) || ne.Name != name {
			t.Errorf("ValidateName(%q) = %v, want a *NameError wrapping ErrBadName", name, err)
		}
	}
}

func TestOpenBadName(t *testing.T) {
	_, err := Open("../escape", WithDir(testenv.ShortDir(t)))
	if !errors.Is(err, ErrBadName) {
		t.Fatalf("Open(../escape) = %v, want ErrBadName", err)
	}
}

func TestOpenPathTooLong(t *testing.T) {
	dir := "/" + strings.Repeat("d", 100)
	_, err := Open("name", WithDir(dir))
	var pe *PathError
	if !errors.Is(err, ErrPathTooLong) || !errors.As(err, &pe) || pe.Limit < 100 {
		t.Fatalf("Open in a long dir = %v, want *PathError wrapping ErrPathTooLong", err)
	}
}

func TestDefaultName(t *testing.T) {
	c, err := Open("", WithDir(testenv.ShortDir(t)))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if c.Name() != DefaultName() || ValidateName(c.Name()) != nil {
		t.Fatalf("Name() = %q, DefaultName() = %q", c.Name(), DefaultName())
	}
}

func TestSocketPathAndModes(t *testing.T) {
	dir := testenv.ShortDir(t) + "/rt"
	c := open(t, dir, "modes")
	if want := dir + "/switchboard-ch-modes.sock"; c.Path() != want {
		t.Fatalf("Path() = %q, want %q", c.Path(), want)
	}
	connect(t, c)
	fi, err := os.Stat(dir)
	if err != nil || fi.Mode().Perm() != 0o700 {
		t.Fatalf("dir mode = %v, %v; want 0700", fi.Mode(), err)
	}
	fi, err = os.Stat(c.Path())
	if err != nil || fi.Mode().Perm() != 0o600 || fi.Mode()&os.ModeSocket == 0 {
		t.Fatalf("socket mode = %v, %v; want a 0600 socket", fi.Mode(), err)
	}
}

func TestStateTransitions(t *testing.T) {
	dir := testenv.ShortDir(t)
	var mu sync.Mutex
	var seen []State
	ch := make(chan State, 16)
	c := open(t, dir, "states", OnStateChange(func(s State) {
		mu.Lock()
		seen = append(seen, s)
		mu.Unlock()
		ch <- s
	}))
	if c.State() != Initiated || c.Connected() {
		t.Fatalf("after Open: %v, connected %v", c.State(), c.Connected())
	}
	connect(t, c)
	if c.State() != Connected || !c.Connected() || !c.Hosting() {
		t.Fatalf("after Connect: %v, connected %v, hosting %v", c.State(), c.Connected(), c.Hosting())
	}
	c.Close()
	if c.State() != Closed || c.Connected() {
		t.Fatalf("after Close: %v", c.State())
	}
	want := []State{Connecting, Connected, Closed}
	for i, w := range want {
		select {
		case s := <-ch:
			if s != w {
				t.Fatalf("state change %d = %v, want %v (all: %v)", i, s, w, seen)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("state change %d missing", i)
		}
	}
	if err := c.Connect(context.Background()); !errors.Is(err, ErrClosed) {
		t.Fatalf("Connect after Close = %v, want ErrClosed", err)
	}
	if err := c.Publish(context.Background(), "t", 1); !errors.Is(err, ErrClosed) {
		t.Fatalf("Publish after Close = %v, want ErrClosed", err)
	}
	if c.Close() != nil {
		t.Fatal("second Close failed")
	}
}

func TestStateString(t *testing.T) {
	for s, want := range map[State]string{Initiated: "initiated", Connecting: "connecting", Connected: "connected", Closed: "closed", 9: "State(9)"} {
		if s.String() != want {
			t.Errorf("%d.String() = %q, want %q", int(s), s.String(), want)
		}
	}
}

func TestPublishSubscribe(t *testing.T) {
	dir := testenv.ShortDir(t)
	a := open(t, dir, "pubsub")
	b := open(t, dir, "pubsub")
	got := newCollector()
	if _, err := b.Subscribe("orders.*", got.handle); err != nil {
		t.Fatal(err)
	}
	connect(t, a)
	connect(t, b)
	flush(t, b)
	if !a.Hosting() || b.Hosting() {
		t.Fatalf("hosting: a %v, b %v; want a only", a.Hosting(), b.Hosting())
	}
	ctx := context.Background()
	for i := range 100 {
		if err := a.Publish(ctx, "orders.new", i); err != nil {
			t.Fatal(err)
		}
	}
	a.Publish(ctx, "other", "ignored")
	flush(t, a)
	msgs := got.waitN(t, 100)
	for i, m := range msgs {
		var v int
		if err := m.Decode(&v); err != nil || v != i || m.From != a.ID() || m.Topic != "orders.new" || m.Seq != uint64(i+1) {
			t.Fatalf("message %d = %+v (%v), want %d from %s", i, m, err, i, a.ID())
		}
	}
	if len(msgs) != 100 {
		t.Fatalf("got %d messages, want 100", len(msgs))
	}
}

// TestHostOwnSubscriptionsFromTheStart: what another member publishes to the
// host's patterns after the host serves, but before the host's own member
// connection attached, still reaches the host's handler and is
// acknowledged only then.
func TestHostOwnSubscriptionsFromTheStart(t *testing.T) {
	dir := testenv.ShortDir(t)
	a := open(t, dir, "early")
	got := newCollector()
	if _, err := a.Subscribe("news", got.handle); err != nil {
		t.Fatal(err)
	}
	var b *Channel
	routed := make(chan error, 1)
	var once sync.Once
	testHookHosting = func(h *hub) {
		once.Do(func() {
			// a's hub serves and a has not connected to it yet: b joins
			// and publishes now.
			b = open(t, dir, "early")
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := b.Connect(ctx); err != nil {
				routed <- err
				return
			}
			if err := b.Publish(ctx, "news", "early"); err != nil {
				routed <- err
				return
			}
			for {
				h.mu.Lock()
				n := len(h.lastRouted)
				h.mu.Unlock()
				if n > 0 {
					routed <- nil
					return
				}
				select {
				case <-ctx.Done():
					routed <- ctx.Err()
					return
				case <-time.After(time.Millisecond): // polling with a deadline
				}
			}
		})
	}
	t.Cleanup(func() { testHookHosting = nil })
	connect(t, a)
	if err := <-routed; err != nil {
		t.Fatal(err)
	}
	flush(t, b)
	msgs := got.waitN(t, 1)
	var v string
	if err := msgs[0].Decode(&v); err != nil || v != "early" || msgs[0].From != b.ID() {
		t.Fatalf("host got %+v (%v), want \"early\" from %s", msgs[0], err, b.ID())
	}
}

// TestHostForgetsMembersThatLeft: the host keeps the highest sequence
// number routed per publishing member only while that member may resend;
// one that said goodbye leaves nothing behind.
func TestHostForgetsMembersThatLeft(t *testing.T) {
	dir := testenv.ShortDir(t)
	a := open(t, dir, "forget")
	connect(t, a)
	for i := range 3 {
		b := open(t, dir, "forget")
		connect(t, b)
		if err := b.Publish(context.Background(), "news", i); err != nil {
			t.Fatal(err)
		}
		flush(t, b)
		id := b.ID()
		b.Close()
		// The host removes the session, then sends the member list
		// without it: once a has that list, the host's state is final.
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err := a.wait(ctx, func() bool {
			return !slices.ContainsFunc(a.members, func(m Member) bool { return m.ID == id })
		})
		cancel()
		if err != nil {
			t.Fatalf("member %d: still in the host's member list after Close: %v", i, err)
		}
		a.mu.Lock()
		h := a.hub
		a.mu.Unlock()
		h.mu.Lock()
		routed := 0
		for o := range h.lastRouted {
			if o.id == id {
				routed++
			}
		}
		h.mu.Unlock()
		if routed != 0 {
			t.Fatalf("member %d left; the host still keeps %d routing entries for it", i, routed)
		}
	}
}

// TestQueueBeforeConnect: publications made before Connect are sent, in
// order, once connected (open-channel's write before connect).
func TestQueueBeforeConnect(t *testing.T) {
	dir := testenv.ShortDir(t)
	b := open(t, dir, "queue")
	got := newCollector()
	b.Subscribe("q", got.handle)
	connect(t, b)
	flush(t, b)

	a := open(t, dir, "queue")
	ctx := context.Background()
	for i := range 50 {
		if err := a.Publish(ctx, "q", i); err != nil {
			t.Fatal(err)
		}
	}
	if a.State() != Initiated {
		t.Fatalf("state before Connect = %v", a.State())
	}
	connect(t, a)
	flush(t, a)
	for i, m := range got.waitN(t, 50) {
		var v int
		m.Decode(&v)
		if v != i {
			t.Fatalf("message %d = %d: order lost", i, v)
		}
	}
}

func TestRequestReply(t *testing.T) {
	dir := testenv.ShortDir(t)
	a := open(t, dir, "req")
	b := open(t, dir, "req")
	b.Subscribe("add", func(m *Message) {
		var xy [2]int
		m.Decode(&xy)
		m.Reply(xy[0] + xy[1])
	})
	connect(t, a)
	connect(t, b)
	flush(t, b)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	r, err := a.Request(ctx, "add", [2]int{2, 3})
	if err != nil {
		t.Fatal(err)
	}
	var sum int
	if err := r.Decode(&sum); err != nil || sum != 5 || r.From != b.ID() {
		t.Fatalf("reply = %s from %s (%v), want 5 from %s", r.Data, r.From, err, b.ID())
	}
	if _, err := a.Request(ctx, "nobody", 1); !errors.Is(err, ErrNoResponders) {
		t.Fatalf("Request to nobody = %v, want ErrNoResponders", err)
	}
}

func TestHostHandler(t *testing.T) {
	dir := testenv.ShortDir(t)
	hosted := make(chan struct{}, 1)
	var a *Channel
	a = open(t, dir, "hosth", WithHost(func(h *Host) {
		if len(h.Members()) != 0 || a.Name() != "hosth" || a.Hosting() {
			t.Errorf("fresh host: members %v, hosting %v", h.Members(), a.Hosting())
		}
		h.Handle("time", func(m *Message) { m.Reply("now") })
	}), OnHost(func() { hosted <- struct{}{} }))
	connect(t, a)
	select {
	case <-hosted:
	case <-time.After(10 * time.Second):
		t.Fatal("OnHost not called")
	}
	b := open(t, dir, "hosth")
	connect(t, b)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	r, err := b.Request(ctx, "time", nil)
	if err != nil {
		t.Fatal(err)
	}
	var s string
	if r.Decode(&s); s != "now" || r.From != "" {
		t.Fatalf("host reply = %s from %q", r.Data, r.From)
	}
}

func TestBadTopicAndPattern(t *testing.T) {
	c := open(t, testenv.ShortDir(t), "bad")
	for _, topic := range []string{"", "a.*", "a.>", "$sys.members", "a..b", ".a"} {
		if err := c.Publish(context.Background(), topic, 1); !errors.Is(err, ErrBadTopic) {
			t.Errorf("Publish(%q) = %v, want ErrBadTopic", topic, err)
		}
	}
	for _, p := range []string{"", "a.>.b", "a*", "a..b"} {
		if _, err := c.Subscribe(p, func(*Message) {}); !errors.Is(err, ErrBadPattern) {
			t.Errorf("Subscribe(%q) = %v, want ErrBadPattern", p, err)
		}
	}
	if err := c.Publish(context.Background(), "t", json.RawMessage("{bad")); err == nil {
		t.Error("Publish of invalid raw JSON succeeded")
	}
}

func TestMatch(t *testing.T) {
	for _, tc := range []struct {
		p, t string
		want bool
	}{
		{"a", "a", true}, {"a", "b", false}, {"a.*", "a.b", true}, {"a.*", "a", false},
		{"a.*", "a.b.c", false}, {"a.>", "a.b.c", true}, {"a.>", "a", false}, {">", "x.y", true},
		{"*.b", "a.b", true}, {"a.b", "a.b.c", false}, {"a.b.c", "a.b", false},
	} {
		if got := match(tc.p, tc.t); got != tc.want {
			t.Errorf("match(%q, %q) = %v, want %v", tc.p, tc.t, got, tc.want)
		}
	}
}

func TestConnectTimeout(t *testing.T) {
	dir := testenv.ShortDir(t)
	// A listener nobody serves: dial succeeds, the handshake never ends.
	path, _ := SocketPath(dir, "stuck")
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	c := open(t, dir, "stuck", WithConnectTimeout(50*time.Millisecond))
	err = c.Connect(context.Background())
	var ne net.Error
	if !errors.Is(err, ErrConnectTimeout) || !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("Connect = %v, want ErrConnectTimeout", err)
	}
	if c.State() != Connecting {
		t.Fatalf("state = %v, want connecting", c.State())
	}
}

// TestHostLeaves: when the host closes, another member takes over, and
// what was published meanwhile arrives.
func TestHostLeaves(t *testing.T) {
	dir := testenv.ShortDir(t)
	a := open(t, dir, "leave")
	connect(t, a)
	var mu sync.Mutex
	var bStates []State
	b := open(t, dir, "leave", OnStateChange(func(s State) {
		mu.Lock()
		bStates = append(bStates, s)
		mu.Unlock()
	}))
	c := open(t, dir, "leave")
	got := newCollector()
	c.Subscribe("x", got.handle)
	connect(t, b)
	connect(t, c)
	flush(t, c)
	ctx := context.Background()
	for i := range 10 {
		b.Publish(ctx, "x", i)
	}
	flush(t, b)
	a.Close()
	for i := 10; i < 20; i++ {
		b.Publish(ctx, "x", i)
	}
	flush(t, b)
	msgs := got.waitN(t, 20)
	for i, m := range msgs {
		var v int
		m.Decode(&v)
		if v != i {
			t.Fatalf("message %d = %d", i, v)
		}
	}
	if b.Hosting() == c.Hosting() {
		t.Fatalf("hosting: b %v, c %v; want exactly one", b.Hosting(), c.Hosting())
	}
	// b's hooks ran before its messages were delivered, so all are in.
	mu.Lock()
	defer mu.Unlock()
	if want := []State{Connecting, Connected, Connecting, Connected}; !slices.Equal(bStates, want) {
		t.Fatalf("b went through %v, want %v", bStates, want)
	}
}

func TestWithIDValidated(t *testing.T) {
	for _, id := range []string{"", "a.b", "a*", strings.Repeat("x", 129)} {
		if _, err := Open("ids", WithDir(testenv.ShortDir(t)), WithID(id)); !errors.Is(err, ErrBadOption) {
			t.Errorf("WithID(%q) = %v, want ErrBadOption", id, err)
		}
	}
	c := open(t, testenv.ShortDir(t), "ids", WithID("worker-1"))
	if c.ID() != "worker-1" {
		t.Fatalf("ID() = %q", c.ID())
	}
}

// TestHostSurvivesBadPeers: connections that send garbage, a frame that is
// too large, or no hello are closed; the members keep working.
func TestHostSurvivesBadPeers(t *testing.T) {
	dir := testenv.ShortDir(t)
	a := open(t, dir, "bad-peer")
	b := open(t, dir, "bad-peer")
	got := newCollector()
	b.Subscribe("x", got.handle)
	connect(t, a)
	connect(t, b)
	flush(t, b)
	for _, junk := range [][]byte{
		[]byte("GET / HTTP/1.1\r\n\r\n"),
		{0x7f, 0xff, 0xff, 0xff},
		appendFrame(nil, &frame{typ: framePub, id: "x", seq: 1, topic: "x"}), // pub before hello
	} {
		conn, err := net.Dial("unix", a.Path())
		if err != nil {
			t.Fatal(err)
		}
		conn.Write(junk)
		conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		if _, err := conn.Read(make([]byte, 1)); err == nil {
			t.Errorf("host answered %q", junk)
		} else if ne, ok := err.(net.Error); ok && ne.Timeout() {
			t.Errorf("host kept the connection that sent %q open", junk)
		}
		conn.Close()
	}
	a.Publish(context.Background(), "x", "still here")
	flush(t, a)
	if m := got.waitN(t, 1)[0]; string(m.Data) != `"still here"` {
		t.Fatalf("got %s", m.Data)
	}
}

// TestReusedID: a new process that reuses a member id starts its sequence
// numbers again; its messages are not taken for duplicates of the old one's.
func TestReusedID(t *testing.T) {
	dir := testenv.ShortDir(t)
	r := open(t, dir, "reuse")
	got := newCollector()
	r.Subscribe("x", got.handle)
	connect(t, r)
	flush(t, r)
	for i := range 2 {
		w := open(t, dir, "reuse", WithID("worker"))
		w.Publish(context.Background(), "x", i)
		connect(t, w)
		flush(t, w)
		w.Close()
	}
	msgs := got.waitN(t, 2)
	for i, m := range msgs {
		if m.From != "worker" || m.Seq != 1 || string(m.Data) != strconv.Itoa(i) {
			t.Fatalf("message %d = %+v", i, m)
		}
	}
}

func TestQueueFull(t *testing.T) {
	c := open(t, testenv.ShortDir(t), "full", WithQueue(2))
	for i := range 2 {
		if err := c.Publish(context.Background(), "x", i); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	err := c.Publish(ctx, "x", 3)
	if !errors.Is(err, ErrQueueFull) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Publish on a full queue = %v, want ErrQueueFull and DeadlineExceeded", err)
	}
	if d := defaultOptions().connectTimeout; d != 5*time.Second {
		t.Fatalf("default connect timeout = %v, want open-channel's 5 s", d)
	}
}
