// Package channel is a self-hosting message channel for the processes of one
// application on one machine: every process opens the same named channel,
// the first to get there hosts it, the others connect, and when the host
// goes away a survivor takes over. No separate server process runs.
//
// It is the Go counterpart of the Node library open-channel, with an
// election by bind under a lock instead of a process-table scan, a hub with
// subscription patterns and request/reply by default, and failover that
// loses no message.
//
// # Election
//
// A member dials the channel's socket, switchboard-ch-NAME.sock in the
// per-user runtime directory (mode 0600 in a 0700 directory). When nothing
// listens (the file is missing or the connection is refused), it calls
// endpoint.Listen on that path, which holds an exclusive flock on the
// sibling .lock file across probing, removing a stale socket and binding: of
// any number of members racing, exactly one binds and hosts; the others see
// endpoint.ErrAddrInUse and connect to it. The host's own member connects
// over the socket like every other, so all members are alike when the host
// fails. Every lost connection starts a new election.
//
// # The guarantee
//
// Every message published by a member that stays alive is delivered to every
// other member that stays alive and is subscribed to its topic exactly once,
// in the order it was published, across any number of host failures
// (SIGKILL included). It holds because:
//
//   - each member numbers its publications and keeps them until the host
//     acknowledges them, and resends the unacknowledged ones, in order, to
//     whichever host it connects to next;
//   - the host acknowledges a publication only once every member session it
//     was routed to acknowledged receiving it (or expired);
//   - the host keeps the member list with each member's patterns and sends
//     it to every member whenever it changes, so a new host adopts a session
//     for every known member before it accepts anyone, and messages routed to
//     a member that has not reconnected yet wait for it;
//   - receivers drop a message whose (origin, sequence number) is not above
//     the last one delivered from that origin.
//
// Limits: a member that dies loses what it had not yet handed to the host,
// and of its publications the host had not yet delivered everywhere, each
// other member receives a prefix. A session of a member that does not
// reconnect within the session TTL (WithSessionTTL, default 2 s) is dropped,
// and so is what waited for it. A member sees messages published after its
// subscription reached the host (Flush waits for that). See docs/channel.md.
//
// # Usage
//
//	ch, err := channel.Open("myapp")
//	if err != nil { ... }
//	defer ch.Close()
//	ch.Subscribe("jobs.>", func(m *channel.Message) {
//		var job Job
//		m.Decode(&job)
//		...
//	})
//	ch.Publish(ctx, "jobs.new", job) // queued until connected
//	if err := ch.Connect(ctx); err != nil { ... }
//	ch.Flush(ctx) // everything published so far was delivered
package channel
