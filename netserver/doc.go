// Package netserver gives any net.Listener the semantics of Node's net.Server:
// an accept loop that runs a Handler per connection, exact connection
// tracking, a connection limit, handshake and idle timeouts, byte counters per
// connection and in total, and two ways to stop — Shutdown(ctx), which stops
// accepting and waits for connections to finish, and Close, which ends them
// now. It knows nothing of the protocol spoken on the connections.
//
//	s := &netserver.Server{
//		MaxConnections: 1000,
//		IdleTimeout:    5 * time.Minute,
//		Handler: netserver.HandlerFunc(func(ctx context.Context, c *netserver.Conn) {
//			// serve c until the peer leaves or ctx is cancelled
//		}),
//	}
//	go s.ListenAndServe(ctx, endpoint.DefaultAddr())
//	...
//	s.Shutdown(ctx) // stop accepting, cancel handlers' ctx, wait for them
//
// # Invariants
//
//   - Connections() is exact: a connection counts from the moment it is
//     accepted and admitted until its handler and OnClose have returned and it
//     is closed. Connections beyond MaxConnections, refused by Authorize or
//     accepted while the server stops are closed at once, never reach the
//     Handler, and are counted in Stats().Rejected and reported to OnReject.
//   - Stats().Accepted = Stats().Rejected + connections given to the Handler.
//     Byte counters are exact: every byte read or written through a *Conn is
//     counted once, in the Conn and in the server's totals.
//   - Each connection's goroutine is owned by the server: it is tracked from
//     its start to its end, Shutdown waits for all of them, and a panic in a
//     handler or hook is recovered and logged instead of ending the process.
//   - Once Shutdown or Close has started, no connection is admitted and every
//     Serve returns ErrServerClosed; Shutdown and Close may be called any
//     number of times, concurrently.
//   - Temporary accept errors (out of descriptors, aborted connections) are
//     retried after 5ms, doubling to 1s, as net/http does; other accept
//     errors end Serve with the error.
//
// The library is silent unless Server.Logger is set.
package netserver
