package peerauth_test

import (
	"errors"
	"fmt"

	"github.com/switchboard-ipc/switchboard/endpoint"
	"github.com/switchboard-ipc/switchboard/peerauth"
)

// A policy for a service shared by two users and one group; Allow adds a
// condition of its own.
func ExamplePolicy() {
	pol := peerauth.Policy{
		UIDs: []uint32{1000, 1001},
		GIDs: []uint32{50},
		Allow: func(p endpoint.Peer) error {
			if p.PID == 0 {
				return errors.New("pid unknown")
			}
			return nil
		},
	}
	for _, p := range []endpoint.Peer{
		{UID: 1001, GID: 1001, PID: 300},
		{UID: 2000, GID: 50, PID: 301},
		{UID: 2000, GID: 2000, PID: 302},
		{UID: 1000, GID: 1000, PID: 0},
	} {
		fmt.Println(p.UID, pol.Check(p) == nil)
	}
	// Output:
	// 1001 true
	// 2000 true
	// 2000 false
	// 1000 false
}

func ExampleDeniedError() {
	err := peerauth.Policy{UIDs: []uint32{1000}}.Check(endpoint.Peer{UID: 65534, GID: 65534, PID: 77})
	var de *peerauth.DeniedError
	if errors.As(err, &de) {
		fmt.Println(errors.Is(err, peerauth.ErrDenied), de.Peer.UID)
	}
	fmt.Println(err)
	// Output:
	// true 65534
	// peerauth: peer denied: uid 65534 gid 65534 pid 77: uid 65534 and gid 65534 not allowed
}
