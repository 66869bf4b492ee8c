// Package peerauth decides which local processes a switchboard server serves,
// by the credentials the kernel recorded for the other end of a Unix socket
// connection (endpoint.PeerOf: SO_PEERCRED on Linux, LOCAL_PEERCRED on darwin
// and the BSDs).
//
// A Policy admits a peer when every condition it states holds: its uid is
// in UIDs or its primary gid in GIDs (when either list is set), and Allow
// returns nil (when set). A Policy that states no condition admits nobody:
// the zero Policy fails closed. Every refusal is a *DeniedError, which
// matches ErrDenied and names the peer and the reason.
//
// SameUser admits only the server's own effective uid: the policy a server
// reachable by other users should apply by default (docs/security.md says why). Root is not admitted by it unless the server runs as root:
// root's processes include those of other containers sharing an abstract
// socket's network namespace, and a service that wants them lists uid 0.
// See docs/security.md for the threat model.
//
// Credentials are taken when the connection is made (connect(2)), not when
// it is checked: a process that drops privileges after connecting keeps the
// identity it connected with. GIDs match the peer's primary group only;
// supplementary groups are not carried by the socket.
//
// # Usage
//
//	pol := peerauth.SameUser()
//	srv := &netserver.Server{
//		Handler:   h,
//		Authorize: func(c *netserver.Conn) error { return pol.CheckConn(c) },
//	}
//	// or, for the message server:
//	msrv, err := ipc.NewServer(ipc.ServerConfig{Authorize: pol.Check})
package peerauth
