// Package bench is the harness behind "switchboard bench": it measures
// switchboard's messaging in real separate processes, side by side with a raw
// Unix-socket baseline taken in the same run with the same payloads and the
// same process layout, and with peers (NATS, Node socket-ipc) when asked.
//
// # Process model
//
// Every measurement runs as a small set of worker processes: usually a server
// and one or two client processes, talking over a Unix socket in a fresh
// temporary directory. The parent never carries messages itself; it starts the
// workers (the switchboard binary re-executed in a hidden worker mode, or node
// for the Node peer), and drives them over a line protocol:
//
//	worker -> parent (stdout, one JSON object per line)
//	    {"event":"ready","addr":"..."}    listening, or connected and subscribed
//	    {"event":"rss","rss":N}           answer to "rss"
//	    {"event":"result",...}            final figures (see Report)
//	parent -> worker (stdin, one word per line)
//	    go     start sending / start measuring
//	    stop   report and exit (stdin EOF means the same)
//	    rss    report resident memory now, after a GC
//	    mark N a point in time, unix ns (the channel takeover's SIGKILL)
//
// Senders run for the measurement's duration and then report on their own;
// receivers count what arrives and report when told to stop. A receiver's rate
// is taken over the window in which messages actually arrived, sampled every
// few milliseconds, so start-up and tear-down never count.
//
// # Ratios and targets
//
// Each scenario compares a value with a baseline measured in the same run:
// ratio = value / baseline, for throughput and latency alike. A throughput
// target is met when ratio >= target ("at least half of raw"); a latency or
// memory target is met when ratio <= target ("at most 1.5x raw ping-pong"),
// or, for targets on the value itself (bytes per idle connection), when
// value <= target. Result.Better and Result.TargetOf say which applies.
//
// Reported values are medians over Config.Runs runs. Every run measures a
// scenario's figure within a few seconds of its baseline (a baseline that
// several scenarios share is measured again where needed), so that
// background load, which changes over seconds, hits both alike.
package bench
