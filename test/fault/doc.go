// Package fault holds switchboard's fault tests: black-box tests, through the
// public API only, of what the servers do when the world misbehaves — a
// server process killed with SIGKILL and restarted during a stream, a client
// killed in the middle of a frame, a peer that stops reading, a peer that
// trickles one byte at a time, the socket file deleted or replaced under a
// running server, and a process out of file descriptors.
//
// Every test is bounded in time, every child process (the test binary run
// again, see TestMain) is killed when its test ends, and each asserts what was
// lost: nothing. docs/security.md tabulates the results.
package fault
