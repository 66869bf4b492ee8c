package peerauth_test

import (
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/switchboard-ipc/switchboard/ipc"
	"github.com/switchboard-ipc/switchboard/peerauth"
)

// TestIPCDefaultRefusesOtherUID: an ipc.Server without Authorize serves
// only its own uid on a Unix socket, even one every user may connect to;
// the refusal is counted and reported. AllowAnyUser widens it.
func TestIPCDefaultRefusesOtherUID(t *testing.T) {
	dir, bin := sharedDir(t)
	l := listenOpen(t, dir)
	addr := l.Addr().String()
	var mu sync.Mutex
	var errs []error
	srv, err := ipc.NewServer(ipc.ServerConfig{OnError: func(err error) {
		mu.Lock()
		errs = append(errs, err)
		mu.Unlock()
	}})
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(l) }()
	defer func() {
		srv.Close()
		<-served
	}()

	if got := childAs(t, bin, "ipc", addr, true); !strings.HasPrefix(got, "refused") {
		t.Fatalf("ipc client as nobody against the default config: %q, want refused", got)
	}
	if n := len(srv.Clients()); n != 0 {
		t.Errorf("%d clients connected after the refusal, want 0", n)
	}
	if got := childAs(t, bin, "ipc", addr, false); !strings.HasPrefix(got, "served ") {
		t.Fatalf("ipc client as root against the default config: %q, want served", got)
	}
	if st := srv.Stats(); st.Unauthorized != 1 || st.Rejected != 1 || st.Accepted != 2 {
		t.Errorf("Stats %+v, want Accepted 2, Rejected 1, Unauthorized 1", st)
	}
	mu.Lock()
	defer mu.Unlock()
	var de *peerauth.DeniedError
	if len(errs) != 1 || !errors.Is(errs[0], ipc.ErrUnauthorized) || !errors.Is(errs[0], peerauth.ErrDenied) ||
		!errors.As(errs[0], &de) || de.Peer.UID != 65534 {
		t.Errorf("OnError got %v, want one error matching ErrUnauthorized and ErrDenied for uid 65534", errs)
	}
}

func TestIPCAllowAnyUserServesOtherUID(t *testing.T) {
	dir, bin := sharedDir(t)
	l := listenOpen(t, dir)
	srv, err := ipc.NewServer(ipc.ServerConfig{Authorize: ipc.AllowAnyUser})
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(l) }()
	defer func() {
		srv.Close()
		<-served
	}()
	if got := childAs(t, bin, "ipc", l.Addr().String(), true); !strings.HasPrefix(got, "served ") {
		t.Fatalf("ipc client as nobody with AllowAnyUser: %q, want served", got)
	}
}
