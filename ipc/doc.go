// Package ipc is switchboard's message layer: a Server that local processes
// connect to, and a Client that connects, reconnects and resends.
//
// Messages carry a topic and a payload encoded by a codec (JSON by default).
// A Server sends to one client (Send), to every client (Broadcast) or to the
// subscribers of a topic (Publish), and calls its handlers for what clients
// send; in hub mode (ServerConfig.Hub) it relays every message a client
// sends to the subscribers of its topic, and routes requests to one
// subscriber. A Client sends (Send), asks (Request), and subscribes
// (Subscribe, Handle) with NATS-style patterns: "a.*" matches one token,
// "a.>" one or more trailing tokens.
//
// Two wires share every listening socket; the server tells them apart by a
// connection's first bytes:
//
//   - socket-ipc: JSON {"topic":..,"message":..} + "\0\0", compatible both
//     ways with @crussell52/socket-ipc 0.4. Such clients have no handshake,
//     cannot subscribe (on a hub they receive every published message) and
//     get no acknowledgements.
//   - native: binary frames (docs/protocol.md) with sessions, subscriptions,
//     requests, sequence numbers and acknowledgements.
//
// # Invariants
//
//   - Every client has a UUID v4 id; a native client keeps it across
//     reconnects (its session lives ServerConfig.SessionTTL after a
//     disconnect), so Server.Send(id, ...) still reaches it.
//   - A native client numbers its messages; the server acknowledges them
//     cumulatively and drops the ones it has seen, so with a queue
//     (WithQueue) a message is processed once even across reconnects and
//     server restarts that share a SessionStore. Deliveries to native
//     clients are numbered and acknowledged the same way.
//   - Per connection there is one reading goroutine, which calls handlers
//     inline and in order, and one writing goroutine, which writes whatever
//     was queued since its last write in one call. No goroutine or channel
//     hand-off per message; a message to many receivers is encoded once.
//   - Every outbound queue is bounded (ServerConfig.QueueBytes); what
//     happens to a client that does not keep up is ServerConfig.SlowConsumer.
//   - Bad bytes from a peer close that connection only, with a *DecodeError
//     reported to the error hook; nothing else is affected.
//
// docs/messaging.md describes the semantics in full.
//
// # Usage
//
//	srv, _ := ipc.NewServer(ipc.ServerConfig{Hub: true})
//	srv.Listen(ctx, "/run/app.sock")
//	defer srv.Close()
//
//	c, _ := ipc.Dial(ctx, "/run/app.sock")
//	c.Subscribe(ctx, "orders.>", func(m *ipc.Message) {
//		var o Order
//		m.Decode(&o)
//	})
//	c.Send(ctx, "orders.new", Order{ID: 7})
package ipc
