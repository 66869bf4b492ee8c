// Command daemon is a small key-value store in the shape of most local
// daemons: one long-running process that owns the data, and a command-line
// client that talks to it over a Unix socket. Both live in this one program.
//
//	go run ./examples/daemon serve             # the daemon
//	go run ./examples/daemon set greeting hi   # another terminal
//	go run ./examples/daemon get greeting      # prints hi
//	go run ./examples/daemon watch '>'         # prints KEY=VALUE for every set
//
// It shows:
//
//   - socket activation with a fallback: the daemon serves the socket named
//     "kv" that systemd or "switchboard activate" handed over, and when it was
//     not activated (errors.Is(err, activation.ErrNotActivated)) it listens on
//     kv.sock in endpoint.RuntimeDir() itself;
//   - request/reply: the requests kv.get and kv.set are answered by the
//     daemon's handlers, a missing key as a remote error;
//   - publish/subscribe: every set publishes kv.changed.KEY, and watch
//     subscribes to kv.changed.PATTERN (NATS-style: "user.*", "user.>", ">");
//   - graceful shutdown: SIGTERM or SIGINT stops accepting, lets every client
//     go away cleanly and exits 0.
//
// Keys are dot-separated tokens, like topics ("color", "user.ann.email"), so
// that a watch pattern can select them. Values are strings.
//
// Under socket activation the daemon starts on the first connection:
//
//	go run ./cmd/switchboard activate -l ./kv.sock --fdname kv -- go run ./examples/daemon serve
//	go run ./examples/daemon -a ./kv.sock set greeting hi
//
// Exit status: 0 on success, 1 on a runtime error (including a missing key),
// 2 on a usage error.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/switchboard-ipc/switchboard/endpoint"
)

// The topics of the daemon's protocol.
const (
	topicGet     = "kv.get"      // request: key (string); reply: value (string)
	topicSet     = "kv.set"      // request: setRequest; reply: null
	topicChanged = "kv.changed." // + key: a change (published on every set)
)

// activationName is the name of the socket the daemon takes from a service
// manager (systemd FileDescriptorName=, switchboard activate --fdname).
const activationName = "kv"

// setRequest is the payload of a kv.set request.
type setRequest struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// change is the payload published on kv.changed.KEY.
type change struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// Exit statuses.
const (
	exitOK      = 0
	exitFailure = 1
	exitUsage   = 2
)

const usage = `usage:
  daemon [-a ADDR] serve              run the key-value daemon
  daemon [-a ADDR] get KEY            print the value of KEY
  daemon [-a ADDR] set KEY VALUE      set KEY to VALUE
  daemon [-a ADDR] [-n N] watch PATTERN
                                      print KEY=VALUE for every set of a key matching PATTERN
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run is the whole program: it parses args, runs the command until it is
// done or ctx is cancelled, and returns the exit status.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("daemon", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, usage, "\nflags:\n")
		fs.PrintDefaults()
	}
	addr := fs.String("a", "", "the daemon's `address` (default: the activated socket \"kv\", else kv.sock in the runtime directory)")
	timeout := fs.Duration("timeout", 5*time.Second, "how long get and set wait for the daemon")
	count := fs.Int("n", 0, "watch: exit after `N` changes (0: run until interrupted)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	cmd, rest := fs.Arg(0), fs.Args()[min(1, fs.NArg()):]
	want := map[string]int{"serve": 0, "get": 1, "set": 2, "watch": 1}
	n, ok := want[cmd]
	if !ok || len(rest) != n {
		fs.Usage()
		return exitUsage
	}

	var err error
	switch cmd {
	case "serve":
		err = serve(ctx, *addr, stdout, stderr)
	default:
		c := &cli{addr: *addr, timeout: *timeout, stdout: stdout}
		if c.addr == "" {
			if c.addr, err = defaultAddr(); err != nil {
				break
			}
		}
		switch cmd {
		case "get":
			err = c.get(ctx, rest[0])
		case "set":
			err = c.set(ctx, rest[0], rest[1])
		case "watch":
			err = c.watch(ctx, rest[0], *count, stderr)
		}
	}
	var uerr usageError
	switch {
	case errors.As(err, &uerr):
		fmt.Fprintln(stderr, "daemon:", err)
		return exitUsage
	case err != nil:
		fmt.Fprintln(stderr, "daemon:", err)
		return exitFailure
	}
	return exitOK
}

// usageError is an error in the command line.
type usageError string

func (e usageError) Error() string { return string(e) }

// defaultAddr is where the daemon listens when it was not socket-activated,
// and where the client looks for it: kv.sock in the runtime directory
// ($XDG_RUNTIME_DIR, else a private directory under the temporary directory).
func defaultAddr() (string, error) {
	dir, err := endpoint.RuntimeDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, "kv.sock"), nil
}
