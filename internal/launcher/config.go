package launcher

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"
)

// SocketType is the type of socket the launcher binds.
type SocketType int

// The socket types, as systemd-socket-activate's --datagram and --seqpacket
// choose them.
const (
	Stream    SocketType = iota // SOCK_STREAM: Unix, abstract or TCP (the default)
	Datagram                    // SOCK_DGRAM: Unix, abstract or UDP
	SeqPacket                   // SOCK_SEQPACKET: Unix or abstract
)

// DefaultRestartDelay is the pause before a child is started again when
// Config.RestartDelay is 0; systemd's RestartSec= default.
const DefaultRestartDelay = 100 * time.Millisecond

// Config says what to bind and what to start. The zero value is not enough:
// Addrs and Command must be set.
type Config struct {
	// Addrs are the addresses to bind, in the order their descriptors are
	// passed (3, 4, ...), in any form package endpoint accepts.
	Addrs []string

	// FDNames are the names of the descriptors, in order (LISTEN_FDNAMES).
	// One name names every descriptor, as with systemd-socket-activate;
	// otherwise descriptors beyond the names given are named "unknown", and
	// more names than addresses is an error (systemd-socket-activate only
	// warns and passes a LISTEN_FDNAMES that sd_listen_fds_with_names
	// rejects). With no names, LISTEN_FDNAMES is not set.
	FDNames []string

	// Env adds variables to the child's environment: "NAME=VALUE", or "NAME"
	// to pass the launcher's own value of NAME.
	Env []string

	// Type is the socket type to bind (Stream by default).
	Type SocketType

	// Accept starts one child per connection, with the connection as fd 3
	// (LISTEN_FDS=1, LISTEN_FDNAMES=connection), as systemd's Accept=yes.
	Accept bool

	// Inetd passes each connection on stdin and stdout instead, with no
	// LISTEN_* variables. It implies Accept.
	Inetd bool

	// Now starts the child at once instead of on the first connection.
	Now bool

	// Restart starts the child again, on the next connection, whenever it
	// exits, until the launcher is stopped. The sockets stay open meanwhile.
	Restart bool

	// RestartDelay is the pause after a child exits before it may be started
	// again; 0 means DefaultRestartDelay.
	RestartDelay time.Duration

	// Command is the program to start and its arguments.
	Command []string

	// Stdin, Stdout and Stderr are the child's; nil means the launcher's own.
	Stdin          io.Reader
	Stdout, Stderr io.Writer

	// Signals delivers the signals to forward to the children (SIGINT,
	// SIGTERM). The first one also stops the launcher: it waits for the
	// children to exit and returns. nil: none.
	Signals <-chan os.Signal

	// Logf, when set, receives one line per event (socket bound, child
	// started or exited).
	Logf func(format string, args ...any)

	// Shim is the program started in front of Command to set LISTEN_PID (see
	// ExecShim); "" means this program (os.Executable).
	Shim string
}

// ErrBadConfig is wrapped by the errors of Run for a Config that cannot work
// (no address, no command, --datagram with --accept, ...).
var ErrBadConfig = errors.New("launcher: invalid configuration")

func (c *Config) validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", ErrBadConfig, fmt.Sprintf(format, args...))
	}
	if len(c.Command) == 0 || c.Command[0] == "" {
		return bad("no command to start")
	}
	if len(c.Addrs) == 0 {
		return bad("no address to listen on")
	}
	if len(c.FDNames) > len(c.Addrs) {
		return bad("%d descriptor names for %d addresses", len(c.FDNames), len(c.Addrs))
	}
	for _, n := range c.FDNames {
		if n == "" || strings.ContainsAny(n, ":\x00") || len(n) > 255 {
			return bad("invalid descriptor name %q (1 to 255 characters, no ':')", n)
		}
	}
	for _, e := range c.Env {
		if name, _, _ := strings.Cut(e, "="); name == "" {
			return bad("invalid environment variable %q", e)
		}
	}
	accept := c.Accept || c.Inetd
	switch {
	case accept && c.Type == Datagram:
		return bad("datagram sockets do not accept connections: --datagram and --accept (or --inetd) exclude each other")
	case accept && c.Now:
		return bad("--now starts one child at once; with --accept a child starts per connection")
	case accept && c.Restart:
		return bad("--restart keeps one child running; with --accept a child starts per connection")
	case c.Type < Stream || c.Type > SeqPacket:
		return bad("unknown socket type %d", c.Type)
	}
	return nil
}
