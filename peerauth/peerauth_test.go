package peerauth_test

import (
	"errors"
	"net"
	"os"
	"path/filepath"
	"testing"

	"github.com/switchboard-ipc/switchboard/endpoint"
	"github.com/switchboard-ipc/switchboard/internal/testenv"
	"github.com/switchboard-ipc/switchboard/peerauth"
)

func TestCheck(t *testing.T) {
	errNoPID := errors.New("pid not allowed")
	allowPID := func(p endpoint.Peer) error {
		if p.PID != 42 {
			return errNoPID
		}
		return nil
	}
	me := uint32(os.Geteuid())
	tests := []struct {
		name  string
		pol   peerauth.Policy
		peer  endpoint.Peer
		admit bool
	}{
		{"zero policy admits nobody", peerauth.Policy{}, endpoint.Peer{UID: me, GID: 0, PID: 1}, false},
		{"same user", peerauth.SameUser(), endpoint.Peer{UID: me, GID: 7}, true},
		{"other user", peerauth.SameUser(), endpoint.Peer{UID: me + 1, GID: 7}, false},
		{"uid listed", peerauth.Policy{UIDs: []uint32{5, 1001}}, endpoint.Peer{UID: 1001}, true},
		{"gid listed", peerauth.Policy{UIDs: []uint32{5}, GIDs: []uint32{100}}, endpoint.Peer{UID: 9, GID: 100}, true},
		{"neither listed", peerauth.Policy{UIDs: []uint32{5}, GIDs: []uint32{100}}, endpoint.Peer{UID: 9, GID: 101}, false},
		{"allow alone admits", peerauth.Policy{Allow: allowPID}, endpoint.Peer{UID: 9, PID: 42}, true},
		{"allow alone refuses", peerauth.Policy{Allow: allowPID}, endpoint.Peer{UID: 9, PID: 43}, false},
		{"list and allow both hold", peerauth.Policy{UIDs: []uint32{9}, Allow: allowPID}, endpoint.Peer{UID: 9, PID: 42}, true},
		{"allow refuses a listed uid", peerauth.Policy{UIDs: []uint32{9}, Allow: allowPID}, endpoint.Peer{UID: 9, PID: 1}, false},
		{"allow never asked for an unlisted uid", peerauth.Policy{UIDs: []uint32{9}, Allow: func(endpoint.Peer) error { panic("asked") }}, endpoint.Peer{UID: 8}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.pol.Check(tt.peer)
			if tt.admit {
				if err != nil {
					t.Fatalf("Check(%+v) = %v, want nil", tt.peer, err)
				}
				return
			}
			var de *peerauth.DeniedError
			if !errors.Is(err, peerauth.ErrDenied) || !errors.As(err, &de) {
				t.Fatalf("Check(%+v) = %v, want a *DeniedError matching ErrDenied", tt.peer, err)
			}
			if de.Peer != tt.peer || de.Reason == "" {
				t.Errorf("DeniedError = %+v, want Peer %+v and a reason", de, tt.peer)
			}
		})
	}
}

func TestAllowErrorIsWrapped(t *testing.T) {
	errNo := errors.New("not in the app's cgroup")
	pol := peerauth.Policy{Allow: func(endpoint.Peer) error { return errNo }}
	err := pol.Check(endpoint.Peer{UID: 1})
	if !errors.Is(err, errNo) || !errors.Is(err, peerauth.ErrDenied) {
		t.Fatalf("Check = %v, want it to match both ErrDenied and Allow's error", err)
	}
}

func TestSameUserIsEffectiveUID(t *testing.T) {
	pol := peerauth.SameUser()
	if len(pol.UIDs) != 1 || pol.UIDs[0] != uint32(os.Geteuid()) || len(pol.GIDs) != 0 || pol.Allow != nil {
		t.Fatalf("SameUser() = %+v, want only uid %d", pol, os.Geteuid())
	}
}

func TestCheckConnUnix(t *testing.T) {
	dir := testenv.ShortDir(t)
	l, err := net.Listen("unix", filepath.Join(dir, "s"))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := l.Accept()
		if err != nil {
			close(accepted)
			return
		}
		accepted <- c
	}()
	cc, err := net.Dial("unix", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	sc, ok := <-accepted
	if !ok {
		t.Fatal("accept failed")
	}
	defer sc.Close()
	if err := peerauth.SameUser().CheckConn(sc); err != nil {
		t.Errorf("SameUser().CheckConn(own connection) = %v, want nil", err)
	}
	other := peerauth.Policy{UIDs: []uint32{uint32(os.Geteuid()) + 1}}
	var de *peerauth.DeniedError
	if err := other.CheckConn(sc); !errors.As(err, &de) || de.Peer.UID != uint32(os.Geteuid()) || de.Peer.PID != os.Getpid() {
		t.Errorf("CheckConn with another uid listed = %v, want a *DeniedError naming this process", err)
	}
}

func TestCheckConnTCPRefused(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := l.Accept()
		if err != nil {
			close(accepted)
			return
		}
		accepted <- c
	}()
	cc, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	sc, ok := <-accepted
	if !ok {
		t.Fatal("accept failed")
	}
	defer sc.Close()
	err = peerauth.SameUser().CheckConn(sc)
	if !errors.Is(err, peerauth.ErrDenied) || !errors.Is(err, endpoint.ErrNotSupported) {
		t.Fatalf("CheckConn(TCP) = %v, want ErrDenied wrapping endpoint.ErrNotSupported", err)
	}
}
