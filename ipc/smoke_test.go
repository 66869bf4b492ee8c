package ipc

import "testing"

func TestSmokeNative(t *testing.T) {
	got := newCollector()
	s, addr := testServer(t, ServerConfig{Hub: true})
	s.Handle(">", got.handle)
	sub := dialT(t, addr)
	subGot := newCollector()
	if _, err := sub.Subscribe(testCtx(t), "a.*", subGot.handle); err != nil {
		t.Fatal(err)
	}
	pub := dialT(t, addr)
	if err := pub.Send(testCtx(t), "a.b", map[string]int{"x": 1}); err != nil {
		t.Fatal(err)
	}
	if err := pub.Flush(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	m := got.wait(t, 1)[0]
	if m.Topic != "a.b" || string(m.Data) != `{"x":1}` || m.From != pub.ID() {
		t.Fatalf("server got %+v", m)
	}
	m = subGot.wait(t, 1)[0]
	if m.Topic != "a.b" || string(m.Data) != `{"x":1}` || m.From != pub.ID() || m.Seq != 1 {
		t.Fatalf("sub got %+v", m)
	}
}
