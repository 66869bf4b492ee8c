// Package endpoint gives switchboard one address syntax for servers and
// clients, and Unix sockets that behave.
//
// # Addresses
//
// One string names a place, the same for Listen and Dial, flags, environment
// variables and configuration files:
//
//	/run/app.sock, ./app.sock, unix:app.sock   Unix stream socket at a path
//	@app                                       Linux abstract socket
//	tcp:127.0.0.1:3000, 127.0.0.1:3000, [::1]:3000, :3000, 3000
//	                                           TCP (a bare number is a port)
//	fd:3                                       an inherited listening descriptor
//	systemd:app, launchd:app, activation:app   sockets handed over by a service manager
//
// ParseAddr returns the parsed form, Addr.String the canonical one, and
// ParseAddr(a.String()) == a for every Addr ParseAddr returns. DefaultAddr is
// $SWITCHBOARD_ADDR, else $XDG_RUNTIME_DIR/switchboard.sock, else
// switchboard.sock in a private per-user directory under the temporary
// directory.
//
// # Unix-socket hygiene
//
// Listen on a Unix socket path keeps these invariants:
//
//   - A socket file is only ever removed when it is a socket, connecting to it
//     is refused (nobody accepts on it), and the path still names the file
//     that was probed. A running server's socket is never taken: Listen
//     returns an error matching ErrAddrInUse. A path holding anything else is
//     left alone (ErrNotSocket).
//   - Processes starting on one path at once are serialised by an exclusive
//     flock on the sibling file PATH.lock, held from before the bind until
//     the socket listens: exactly one of them gets the listener.
//   - The socket file gets ListenConfig.SocketMode (0600 by default) before it
//     listens, so it is never reachable with a wider mode; a missing parent
//     directory is created with mode 0700.
//   - Close removes the socket file only when the path still names the socket
//     this listener created (same device and inode). Abstract, fd: and
//     activated sockets are never removed.
//   - A path longer than the platform's sun_path (108 bytes on Linux, 104 on
//     darwin and the BSDs, including the terminating NUL) is a
//     *PathTooLongError naming the limit, not a bare EINVAL.
//
// Abstract sockets (@name, Linux only) have no file and no permissions: any
// process in the same network namespace can connect. Authorise their peers
// by PeerOf, which gives the uid, gid and pid of the process at the other end
// of any Unix connection.
//
// # Usage
//
//	l, err := endpoint.Listen(ctx, endpoint.DefaultAddr())
//	if errors.Is(err, endpoint.ErrAddrInUse) {
//		// another server is running: connect to it instead
//		conn, err := endpoint.Dial(ctx, endpoint.DefaultAddr())
//		...
//	}
//	defer l.Close() // removes the socket file, if it is still ours
//	for {
//		c, err := l.Accept()
//		...
//		peer, err := endpoint.PeerOf(c)
//		...
//	}
package endpoint
