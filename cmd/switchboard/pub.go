package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/switchboard-ipc/switchboard/endpoint"
	"github.com/switchboard-ipc/switchboard/ipc"
)

var pubCmd = &command{
	name:    "pub",
	summary: "publish a message, or one message per line of stdin",
	usage:   "[-a ADDR] [--wire native|socket-ipc] [--timeout DUR] TOPIC [MESSAGE]",
	help: `
Publishes MESSAGE on TOPIC through the hub at ADDR. MESSAGE is a JSON value
(42, "hi", null, {"a":[1,2]}); text that is not JSON is sent as a JSON string,
so 'pub t hello' sends "hello". Without MESSAGE, every line of stdin is one
message, by the same rule (an empty line sends "").

pub exits 0 only once every message was accepted: over the native wire, once
the hub acknowledged each one; over the socket-ipc wire (which has no
acknowledgements), once each was written to the socket. Flags come before
TOPIC, so a MESSAGE such as -1 is read as a message, not a flag.

Examples:
  switchboard pub greetings '"hello"'
  switchboard pub orders.new '{"id":7}'
  seq 3 | switchboard pub --wire socket-ipc numbers
`,
}

func init() {
	pubCmd.run = func(ctx context.Context, sio *stdio, args []string) int {
		fs := newFlags(pubCmd, sio)
		var cf clientFlags
		cf.register(fs, defaultTimeout)
		if code, done := parseFlags(pubCmd, fs, sio, args); done {
			return code
		}
		if err := cf.check(); err != nil {
			return usagef(pubCmd, sio, "%v", err)
		}
		if cf.timeout == 0 {
			return usagef(pubCmd, sio, "--timeout must be positive")
		}
		var topic, message string
		switch fs.NArg() {
		case 1:
			topic = fs.Arg(0)
		case 2:
			topic, message = fs.Arg(0), fs.Arg(1)
		case 0:
			return usagef(pubCmd, sio, "missing TOPIC")
		default:
			return usagef(pubCmd, sio, "too many arguments: want TOPIC [MESSAGE], got %d arguments (quote a MESSAGE with spaces)", fs.NArg())
		}
		if err := checkTopic(topic); err != nil {
			return usagef(pubCmd, sio, "%v", err)
		}

		c, err := cf.dial(ctx)
		if err != nil {
			return failf(pubCmd, sio, "%v", err)
		}
		defer c.Close()

		send := func(msg json.RawMessage) error {
			sctx, cancel := context.WithTimeout(ctx, cf.timeout)
			defer cancel()
			return c.Send(sctx, topic, msg)
		}
		n := 0
		if fs.NArg() == 2 {
			if err := send(parseMessage(message)); err != nil {
				return failf(pubCmd, sio, "publishing on %q: %v", topic, err)
			}
			n = 1
		} else {
			br := bufio.NewReader(sio.in)
			for {
				line, rerr := br.ReadString('\n')
				if line != "" || rerr == nil {
					line = strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r")
					if err := send(parseMessage(line)); err != nil {
						return failf(pubCmd, sio, "publishing line %d on %q: %v", n+1, topic, err)
					}
					n++
				}
				if rerr == io.EOF {
					break
				}
				if rerr != nil {
					return failf(pubCmd, sio, "reading stdin: %v", rerr)
				}
			}
		}
		fctx, cancel := context.WithTimeout(ctx, cf.timeout)
		defer cancel()
		if err := c.Flush(fctx); err != nil {
			if errors.Is(err, context.DeadlineExceeded) {
				if cause := cf.connErr(); cause != nil {
					return failf(pubCmd, sio, "sent %d message(s), not all acknowledged by %s within %v (last connection error: %v)", n, cf.addr, cf.timeout, cause)
				}
				return failf(pubCmd, sio, "sent %d message(s), not all acknowledged by %s within %v", n, cf.addr, cf.timeout)
			}
			return failf(pubCmd, sio, "waiting for acknowledgements: %v", err)
		}
		return exitOK
	}
}

// defaultTimeout bounds connecting and waiting for acknowledgements or replies.
const defaultTimeout = 10 * time.Second

// clientFlags are the flags of the commands that connect to a hub, and what
// went wrong with the connection, to say why a command failed.
type clientFlags struct {
	addr    string
	wire    wireFlag
	timeout time.Duration

	mu      sync.Mutex
	lastErr error // the last failed connection attempt or disconnect
}

func (cf *clientFlags) setErr(err error) {
	cf.mu.Lock()
	cf.lastErr = err
	cf.mu.Unlock()
}

// connErr returns the last failed connection attempt or disconnect, or nil.
func (cf *clientFlags) connErr() error {
	cf.mu.Lock()
	defer cf.mu.Unlock()
	return cf.lastErr
}

// register adds -a, and --wire and --timeout where the command has them
// (timeout > 0 registers --timeout with that default).
func (cf *clientFlags) register(fs *flag.FlagSet, timeout time.Duration) {
	fs.StringVar(&cf.addr, "a", "", addrUsage)
	fs.Var(&cf.wire, "wire", "speak the `native|socket-ipc` wire (default native)")
	cf.timeout = timeout
	if timeout > 0 {
		fs.DurationVar(&cf.timeout, "timeout", timeout, "give up connecting or waiting for acknowledgements after `DUR`")
	}
}

// registerNoWire is register for commands that need the native wire.
func (cf *clientFlags) registerNoWire(fs *flag.FlagSet) {
	fs.StringVar(&cf.addr, "a", "", addrUsage)
}

const addrUsage = "connect to the hub at `ADDR` (default $SWITCHBOARD_ADDR, else the per-user default socket)"

// check validates the flags and fills in the default address.
func (cf *clientFlags) check() error {
	if cf.addr == "" {
		cf.addr = endpoint.DefaultAddr()
	}
	if _, err := endpoint.ParseAddr(cf.addr); err != nil {
		return fmt.Errorf("bad -a address: %w", err)
	}
	if cf.timeout < 0 {
		return fmt.Errorf("--timeout must not be negative, got %v", cf.timeout)
	}
	return nil
}

// dial connects to the hub, bounded by the timeout (or defaultTimeout when the
// command has none).
func (cf *clientFlags) dial(ctx context.Context) (*ipc.Client, error) {
	d := cf.timeout
	if d <= 0 {
		d = defaultTimeout
	}
	dctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	opts := []ipc.Option{
		ipc.WithRetryDelay(100*time.Millisecond, 300*time.Millisecond),
		ipc.WithOnError(func(err error) {
			var ce *ipc.ConnectError
			if errors.As(err, &ce) {
				cf.setErr(err)
			}
		}),
		ipc.WithOnDisconnect(func(err error) {
			if err == nil {
				err = errors.New("the hub closed the connection")
			}
			cf.setErr(err)
		}),
	}
	if cf.wire.socketIPC {
		opts = append(opts, ipc.WithWire(ipc.SocketIPC))
	} else {
		// Keep what is not acknowledged and send it again after a
		// reconnect (the hub drops duplicates): a hub restart in the middle
		// of a stream costs no message.
		opts = append(opts, ipc.WithQueue(0, 0))
	}
	c, err := ipc.Dial(dctx, cf.addr, opts...)
	if err != nil {
		cause := cf.connErr()
		if errors.Is(err, context.DeadlineExceeded) && cause != nil {
			return nil, fmt.Errorf("cannot connect to %s within %v (is \"switchboard serve\" running there?): %w", cf.addr, d, cause)
		}
		if errors.Is(err, context.DeadlineExceeded) {
			return nil, fmt.Errorf("cannot connect to %s within %v (is \"switchboard serve\" running there?)", cf.addr, d)
		}
		return nil, fmt.Errorf("cannot connect to %s: %w", cf.addr, err)
	}
	return c, nil
}

// wireFlag is the value of --wire.
type wireFlag struct{ socketIPC bool }

func (w *wireFlag) String() string {
	if w != nil && w.socketIPC {
		return "socket-ipc"
	}
	return "native"
}

func (w *wireFlag) Set(s string) error {
	switch s {
	case "native":
		w.socketIPC = false
	case "socket-ipc":
		w.socketIPC = true
	default:
		return fmt.Errorf("want native or socket-ipc, got %q", s)
	}
	return nil
}

// checkTopic rejects topics the hub cannot route.
func checkTopic(topic string) error {
	if topic == "" {
		return errors.New("empty TOPIC")
	}
	if !ipc.ValidPattern(topic) || strings.ContainsAny(topic, "*>") {
		return fmt.Errorf("bad TOPIC %q: want non-empty dot-separated tokens without '*' or '>'", topic)
	}
	return nil
}
