package ipc

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestValidPattern(t *testing.T) {
	good := []string{"a", "a.b", "a.*", "*.b", "a.>", ">", "*", "a.*.c.>"}
	bad := []string{"", ".", "a.", ".a", "a..b", "a.>.b", ">.a", "a*", "a.b>", "a.*b"}
	for _, p := range good {
		if !ValidPattern(p) {
			t.Errorf("ValidPattern(%q) = false", p)
		}
	}
	for _, p := range bad {
		if ValidPattern(p) {
			t.Errorf("ValidPattern(%q) = true", p)
		}
	}
}

func TestMatchPattern(t *testing.T) {
	cases := []struct {
		p, topic string
		want     bool
	}{
		{"a", "a", true}, {"a", "b", false}, {"a", "a.b", false},
		{"a.*", "a.b", true}, {"a.*", "a", false}, {"a.*", "a.b.c", false},
		{"a.>", "a.b", true}, {"a.>", "a.b.c", true}, {"a.>", "a", false},
		{">", "x", true}, {">", "x.y", true}, {"*", "x", true}, {"*", "x.y", false},
		{"*.b.*", "a.b.c", true}, {"*.b.*", "a.c.c", false},
	}
	for _, c := range cases {
		if got := MatchPattern(c.p, c.topic); got != c.want {
			t.Errorf("MatchPattern(%q, %q) = %v", c.p, c.topic, got)
		}
	}
}

// The index agrees with MatchPattern on random patterns and topics, through
// additions, removals and its cache.
func TestIndexMatchesBruteForce(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	toks := []string{"a", "b", "c"}
	randPattern := func() string {
		n := 1 + rng.IntN(3)
		var parts []string
		for i := range n {
			switch r := rng.IntN(6); {
			case r == 0:
				parts = append(parts, "*")
			case r == 1 && i == n-1:
				parts = append(parts, ">")
			default:
				parts = append(parts, toks[rng.IntN(len(toks))])
			}
		}
		return strings.Join(parts, ".")
	}
	type sub struct {
		owner int
		p     string
	}
	var x index[int]
	var subs []sub
	for round := range 300 {
		if i := rng.IntN(len(subs) + 1); i < len(subs) && subs[i].p != "" && rng.IntN(3) == 0 {
			if !x.remove(subs[i].p, subs[i].owner, uint64(i)) {
				t.Fatal("remove of a present pattern failed")
			}
			subs[i].p = "" // keep ids stable
		} else {
			s := sub{owner: rng.IntN(20), p: randPattern()}
			subs = append(subs, s)
			x.add(s.p, s.owner, uint64(len(subs)-1))
		}
		for range 5 {
			n := 1 + rng.IntN(4)
			var parts []string
			for range n {
				parts = append(parts, toks[rng.IntN(len(toks))])
			}
			topic := strings.Join(parts, ".")
			var want []int
			for _, s := range subs {
				if s.p != "" && MatchPattern(s.p, topic) && !slices.Contains(want, s.owner) {
					want = append(want, s.owner)
				}
			}
			got := slices.Clone(x.match(topic))
			slices.Sort(got)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Fatalf("round %d: match(%q) = %v, want %v", round, topic, got, want)
			}
		}
	}
}

func TestHubRoutesByPattern(t *testing.T) {
	s, addr := testServer(t, ServerConfig{Hub: true})
	s.Handle("sync", func(m *Message) { m.Respond(nil) })
	patterns := []string{"a.*", "a.>", "a.b", "x"}
	cols := make([]*collector, len(patterns))
	clients := make([]*Client, len(patterns))
	for i, p := range patterns {
		cols[i] = newCollector()
		clients[i] = dialT(t, addr)
		if _, err := clients[i].Subscribe(testCtx(t), p, cols[i].handle); err != nil {
			t.Fatal(err)
		}
	}
	pubCol := newCollector()
	pub := dialT(t, addr)
	if _, err := pub.Subscribe(testCtx(t), ">", pubCol.handle); err != nil {
		t.Fatal(err)
	}
	topics := []string{"a.b", "a.c", "a.b.c", "x", "y", "a"}
	for _, tp := range topics {
		if err := pub.Send(testCtx(t), tp, tp); err != nil {
			t.Fatal(err)
		}
	}
	if err := pub.Flush(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	// Flush returned: the hub has routed everything. A reply on each
	// subscriber's connection comes after what was routed to it, so once
	// it is back every delivery has been handled.
	for _, c := range append(clients, pub) {
		if _, err := c.Request(testCtx(t), "sync", nil); err != nil {
			t.Fatal(err)
		}
	}
	want := map[string][]string{"a.*": {"a.b", "a.c"}, "a.>": {"a.b", "a.c", "a.b.c"}, "a.b": {"a.b"}, "x": {"x"}}
	for i, p := range patterns {
		cols[i].mu.Lock()
		got := cols[i].msgs
		cols[i].mu.Unlock()
		var ts []string
		for _, m := range got {
			ts = append(ts, m.Topic)
			if m.From != pub.ID() {
				t.Fatalf("From = %q, want publisher %q", m.From, pub.ID())
			}
		}
		if !slices.Equal(ts, want[p]) {
			t.Fatalf("%s got %v, want %v", p, ts, want[p])
		}
	}
	if n := pubCol.len(); n != 0 {
		t.Fatalf("publisher received %d of its own messages", n)
	}
}

func TestHubSocketIPCClientsGetEveryPublish(t *testing.T) {
	s, addr := testServer(t, ServerConfig{Hub: true})
	native := newCollector()
	n := dialT(t, addr)
	if _, err := n.Subscribe(testCtx(t), "from.sock", native.handle); err != nil {
		t.Fatal(err)
	}
	sockCol := newCollector()
	sock := dialT(t, addr, WithWire(SocketIPC), WithFallback(sockCol.handle))
	other := newCollector()
	dialT(t, addr, WithWire(SocketIPC), WithFallback(other.handle))
	eventually(t, "3 clients", func() bool { return len(s.Clients()) == 3 })
	// socket-ipc -> native subscriber and the other socket-ipc client
	if err := sock.Send(testCtx(t), "from.sock", map[string]int{"v": 1}); err != nil {
		t.Fatal(err)
	}
	m := native.wait(t, 1)[0]
	if string(m.Data) != `{"v":1}` || m.Topic != "from.sock" || !uuidV4.MatchString(m.From) {
		t.Fatalf("native subscriber got %+v", m)
	}
	if m := other.wait(t, 1)[0]; string(m.Data) != `{"v":1}` {
		t.Fatalf("other socket-ipc client got %s", m.Data)
	}
	// native publish on any topic -> every socket-ipc client
	if err := n.Send(testCtx(t), "anything.at.all", "hello"); err != nil {
		t.Fatal(err)
	}
	if m := sockCol.wait(t, 1)[0]; m.Topic != "anything.at.all" || string(m.Data) != `"hello"` {
		t.Fatalf("socket-ipc client got %q %s", m.Topic, m.Data)
	}
	if sockCol.len() != 1 {
		t.Fatal("socket-ipc publisher got its own message back")
	}
}

func TestRequestReplyServerHandler(t *testing.T) {
	s, addr := testServer(t, ServerConfig{})
	s.Handle("math.double", func(m *Message) {
		var n int
		if err := m.Decode(&n); err != nil {
			m.RespondError(err)
			return
		}
		m.Respond(2 * n)
	})
	c := dialT(t, addr)
	r, err := c.Request(testCtx(t), "math.double", 21)
	if err != nil {
		t.Fatal(err)
	}
	var n int
	if err := r.Decode(&n); err != nil || n != 42 {
		t.Fatalf("reply %s, %v", r.Data, err)
	}
	_, err = c.Request(testCtx(t), "math.double", "x")
	var re *RemoteError
	if !errors.As(err, &re) || !errors.Is(err, ErrRemote) {
		t.Fatalf("bad input: %v", err)
	}
	if _, err := c.Request(testCtx(t), "nobody", 1); !errors.Is(err, ErrNoResponders) {
		t.Fatalf("no handler: %v", err)
	}
}

func TestRequestReplyHubRoundRobin(t *testing.T) {
	_, addr := testServer(t, ServerConfig{Hub: true})
	var counts [3]atomic.Int32
	for i := range counts {
		c := dialT(t, addr)
		if _, err := c.Subscribe(testCtx(t), "svc.*", func(m *Message) {
			counts[i].Add(1)
			m.Respond(fmt.Sprintf("%d:%s", i, m.Topic))
		}); err != nil {
			t.Fatal(err)
		}
	}
	req := dialT(t, addr)
	for k := range 30 {
		r, err := req.Request(testCtx(t), "svc.echo", k)
		if err != nil {
			t.Fatal(err)
		}
		var s string
		if err := r.Decode(&s); err != nil || !strings.HasSuffix(s, ":svc.echo") {
			t.Fatalf("reply %q %v", s, err)
		}
	}
	for i := range counts {
		if n := counts[i].Load(); n != 10 {
			t.Fatalf("responder %d answered %d of 30", i, n)
		}
	}
	if _, err := req.Request(testCtx(t), "other", 1); !errors.Is(err, ErrNoResponders) {
		t.Fatalf("no subscriber: %v", err)
	}
}

func TestRequestDeadline(t *testing.T) {
	_, addr := testServer(t, ServerConfig{Hub: true})
	silent := dialT(t, addr)
	if _, err := silent.Subscribe(testCtx(t), "slow", func(m *Message) {}); err != nil {
		t.Fatal(err)
	}
	c := dialT(t, addr)
	ctx, cancel := context.WithTimeout(testCtx(t), 30*time.Millisecond)
	defer cancel()
	if _, err := c.Request(ctx, "slow", 1); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Request: %v", err)
	}
	if _, err := (&Client{o: clientOptions{wire: SocketIPC}}).Request(ctx, "x", 1); !errors.Is(err, ErrUnsupported) {
		t.Fatalf("socket-ipc Request: %v", err)
	}
}

func TestUnsubscribe(t *testing.T) {
	s, addr := testServer(t, ServerConfig{})
	got := newCollector()
	c := dialT(t, addr)
	sub, err := c.Subscribe(testCtx(t), "t", got.handle)
	if err != nil {
		t.Fatal(err)
	}
	s.Publish("t", 1)
	got.wait(t, 1)
	sub.Unsubscribe()
	// After the UNSUB, a request round trip orders the server past it.
	s.Handle("sync", func(m *Message) { m.Respond(nil) })
	if _, err := c.Request(testCtx(t), "sync", nil); err != nil {
		t.Fatal(err)
	}
	s.Publish("t", 2)
	if _, err := c.Request(testCtx(t), "sync", nil); err != nil {
		t.Fatal(err)
	}
	if got.len() != 1 {
		t.Fatalf("got %d messages after Unsubscribe", got.len())
	}
	if _, err := c.Subscribe(testCtx(t), "a..b", got.handle); !errors.Is(err, ErrBadPattern) {
		t.Fatalf("bad pattern: %v", err)
	}
}

// A native client keeps its id across reconnects, and Server.Send to it
// while it is away is delivered when it is back.
func TestNativeSessionResume(t *testing.T) {
	conns := make(chan ClientInfo, 4)
	s, addr := testServer(t, ServerConfig{OnConnect: func(ci ClientInfo) { conns <- ci }})
	gate := make(chan struct{})
	got := newCollector()
	var dials atomic.Int32
	c := dialT(t, addr, WithFallback(got.handle), WithDialer(func(ctx context.Context) (netConn, error) {
		if dials.Add(1) > 1 {
			select {
			case <-gate:
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
		return dialUnix(ctx, addr)
	}))
	first := <-conns
	first.Conn.Close()
	eventually(t, "client reconnecting", func() bool { return c.State() == StateReconnecting })
	if err := s.Send(first.ID, "while.away", 1); err != nil {
		t.Fatalf("Send to a detached session: %v", err)
	}
	close(gate)
	second := <-conns
	if second.ID != first.ID || !second.Resumed || c.ID() != first.ID {
		t.Fatalf("ids %q %q %q resumed %v", first.ID, second.ID, c.ID(), second.Resumed)
	}
	if m := got.wait(t, 1)[0]; m.Topic != "while.away" {
		t.Fatalf("got %q", m.Topic)
	}
}

func TestNativeSessionExpires(t *testing.T) {
	gone := make(chan string, 1)
	s, addr := testServer(t, ServerConfig{SessionTTL: 20 * time.Millisecond, OnDisconnect: func(id string, err error) { gone <- id }})
	c := dialT(t, addr)
	id := c.ID()
	c.Close()
	<-gone
	if err := s.Send(id, "t", 1); err != nil {
		t.Fatalf("Send within the TTL: %v", err)
	}
	eventually(t, "session expiry", func() bool { return errors.Is(s.Send(id, "t", 1), ErrBadClient) })
}

// A hub queues consecutive publications for the same subscribers together;
// a publication relayed alone before (to socket-ipc clients too) is not
// relayed again with them, and the subscriber gets each message once, in
// order.
func TestHubRunAfterSingleRelay(t *testing.T) {
	s, addr := testServer(t, ServerConfig{Hub: true})
	col := newCollector()
	sub := dialT(t, addr)
	if _, err := sub.Subscribe(testCtx(t), "t", col.handle); err != nil {
		t.Fatal(err)
	}
	sockCol := newCollector()
	sock := dialT(t, addr, WithWire(SocketIPC), WithFallback(sockCol.handle))
	pub := dialT(t, addr)
	eventually(t, "3 clients", func() bool { return len(s.Clients()) == 3 })
	if err := pub.Send(testCtx(t), "t", "a"); err != nil { // to the subscriber and the socket-ipc client
		t.Fatal(err)
	}
	sockCol.wait(t, 1)
	sock.Close()
	eventually(t, "the socket-ipc client gone", func() bool { return len(s.Clients()) == 2 })
	for _, v := range []string{"b", "c"} { // to the subscriber alone: a run
		if err := pub.Send(testCtx(t), "t", v); err != nil {
			t.Fatal(err)
		}
	}
	got := col.wait(t, 3)
	var vals []string
	for _, m := range got {
		var v string
		m.Decode(&v)
		vals = append(vals, v)
	}
	if !slices.Equal(vals, []string{"a", "b", "c"}) {
		t.Fatalf("subscriber got %q, want [a b c]", vals)
	}
}

// Publications read in one go are delivered in order, each to the
// subscribers it matched when it was read: a subscription that changes in
// the middle of a run of publications to the same topic splits the run.
func TestHubRunFollowsSubscriptionChanges(t *testing.T) {
	s, addr := testServer(t, ServerConfig{Hub: true})
	early, late := newCollector(), newCollector()
	a := dialT(t, addr)
	if _, err := a.Subscribe(testCtx(t), "x.>", early.handle); err != nil {
		t.Fatal(err)
	}
	b := dialT(t, addr)
	pub := dialT(t, addr)
	eventually(t, "3 clients", func() bool { return len(s.Clients()) == 3 })
	const n = 2000
	sent := make(chan error, 1)
	ctx := testCtx(t)
	go func() {
		for i := range n {
			if err := pub.Send(ctx, "x.y", i); err != nil {
				sent <- err
				return
			}
		}
		sent <- nil
	}()
	if _, err := b.Subscribe(testCtx(t), "x.y", late.handle); err != nil {
		t.Fatal(err)
	}
	if err := <-sent; err != nil {
		t.Fatal(err)
	}
	if err := pub.Flush(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	all := early.wait(t, n)
	for i, m := range all {
		var v int
		m.Decode(&v)
		if v != i {
			t.Fatalf("message %d of the first subscriber is %d: lost, repeated or reordered", i, v)
		}
	}
	// The late subscriber gets a suffix of the stream, in order, once each.
	eventually(t, "the last message at the late subscriber", func() bool {
		ms := late.snapshot()
		if len(ms) == 0 {
			return false
		}
		var v int
		ms[len(ms)-1].Decode(&v)
		return v == n-1
	})
	ms := late.snapshot()
	var first int
	ms[0].Decode(&first)
	for i, m := range ms {
		var v int
		m.Decode(&v)
		if v != first+i {
			t.Fatalf("late subscriber: message %d is %d, want %d", i, v, first+i)
		}
	}
}
