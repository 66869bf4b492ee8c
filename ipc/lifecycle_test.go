package ipc

import (
	"context"
	"errors"
	"net"
	"os"
	"testing"
	"time"

	"github.com/switchboard-ipc/switchboard/endpoint"
)

// Shutdown writes what is queued, says GOAWAY, and ends every connection.
func TestServerShutdown(t *testing.T) {
	s, addr := testServer(t, ServerConfig{})
	got := newCollector()
	disc := make(chan error, 1)
	c := dialT(t, addr, WithFallback(got.handle), WithOnDisconnect(func(err error) {
		select {
		case disc <- err:
		default:
		}
	}), WithReconnectDelay(time.Hour, time.Hour))
	for i := range 100 {
		if err := s.Send(c.ID(), "last", i); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Shutdown(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	got.wait(t, 100)
	if err := <-disc; err == nil {
		t.Fatal("client saw no reason for the disconnect")
	}
	if err := s.Serve(nil); !errors.Is(err, ErrServerClosed) {
		t.Fatalf("Serve after Shutdown: %v", err)
	}
	if err := s.Shutdown(testCtx(t)); err != nil {
		t.Fatalf("second Shutdown: %v", err)
	}
}

func TestServerAuthorize(t *testing.T) {
	refuse := errors.New("not you")
	seen := make(chan endpoint.Peer, 1)
	s, addr := testServer(t, ServerConfig{Authorize: func(p endpoint.Peer) error {
		seen <- p
		return refuse
	}})
	c, err := net.Dial("unix", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Read(make([]byte, 1)); err == nil || isTimeout(err) {
		t.Fatalf("refused connection: read %v", err)
	}
	if p := <-seen; p.PID != os.Getpid() || p.UID != uint32(os.Getuid()) {
		t.Fatalf("Authorize saw %+v", p)
	}
	if len(s.Clients()) != 0 {
		t.Fatal("refused client listed")
	}
}

func TestServerIdleTimeout(t *testing.T) {
	disc := make(chan error, 1)
	_, addr := testServer(t, ServerConfig{IdleTimeout: 30 * time.Millisecond, OnDisconnect: func(id string, err error) { disc <- err }})
	c, err := net.Dial("unix", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write(nativeHello())
	if err := <-disc; !isTimeout(err) {
		t.Fatalf("idle connection ended with %v", err)
	}
}

func TestServerMaxConnections(t *testing.T) {
	s, addr := testServer(t, ServerConfig{MaxConnections: 1})
	dialT(t, addr)
	c, err := net.Dial("unix", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Read(make([]byte, 1)); err == nil || isTimeout(err) {
		t.Fatalf("connection over the limit: read %v", err)
	}
	if n := len(s.Clients()); n != 1 {
		t.Fatalf("%d clients", n)
	}
}

func TestClientFlushAndClose(t *testing.T) {
	s, addr := testServer(t, ServerConfig{})
	got := newCollector()
	s.Handle(">", got.handle)
	c := dialT(t, addr)
	for i := range 1000 {
		c.Send(testCtx(t), "t", i)
	}
	if err := c.Flush(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	if got.len() != 1000 {
		t.Fatalf("after Flush the server has %d of 1000", got.len())
	}
	c.Close()
	if err := c.Flush(context.Background()); !errors.Is(err, ErrClientClosed) {
		t.Fatalf("Flush after Close: %v", err)
	}
}
