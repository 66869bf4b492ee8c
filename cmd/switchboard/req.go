package main

import (
	"context"
	"errors"
	"time"

	"github.com/switchboard-ipc/switchboard/ipc"
)

var reqCmd = &command{
	name:    "req",
	summary: "send a request and print the reply",
	usage:   "[-a ADDR] [--timeout DUR] TOPIC [MESSAGE]",
	help: `
Sends a request with MESSAGE (default null) on TOPIC through the hub at ADDR
and prints the reply's message as one line of JSON on stdout. MESSAGE follows
the rule of pub: a JSON value, or text sent as a JSON string.

req exits 1 with a message on stderr when nobody answers TOPIC (no responders),
when the reply does not come within --timeout, or when the responder answered
with an error. Requests need the native wire.

Examples:
  switchboard req time.now
  switchboard req --timeout 2s prices.get '"apple"'
`,
}

func init() {
	reqCmd.run = func(ctx context.Context, sio *stdio, args []string) int {
		fs := newFlags(reqCmd, sio)
		var cf clientFlags
		cf.registerNoWire(fs)
		fs.DurationVar(&cf.timeout, "timeout", 5*time.Second, "give up when no reply came after `DUR`")
		if code, done := parseFlags(reqCmd, fs, sio, args); done {
			return code
		}
		if err := cf.check(); err != nil {
			return usagef(reqCmd, sio, "%v", err)
		}
		if cf.timeout == 0 {
			return usagef(reqCmd, sio, "--timeout must be positive")
		}
		var topic, message string
		switch fs.NArg() {
		case 1:
			topic, message = fs.Arg(0), "null"
		case 2:
			topic, message = fs.Arg(0), fs.Arg(1)
		case 0:
			return usagef(reqCmd, sio, "missing TOPIC")
		default:
			return usagef(reqCmd, sio, "too many arguments: want TOPIC [MESSAGE], got %d arguments (quote a MESSAGE with spaces)", fs.NArg())
		}
		if err := checkTopic(topic); err != nil {
			return usagef(reqCmd, sio, "%v", err)
		}

		ctx, cancel := context.WithTimeout(ctx, cf.timeout)
		defer cancel()
		c, err := cf.dial(ctx)
		if err != nil {
			return failf(reqCmd, sio, "%v", err)
		}
		defer c.Close()
		reply, err := c.Request(ctx, topic, parseMessage(message))
		var remote *ipc.RemoteError
		switch {
		case err == nil:
		case errors.Is(err, ipc.ErrNoResponders):
			return failf(reqCmd, sio, "no responders on %q", topic)
		case errors.Is(err, context.DeadlineExceeded):
			return failf(reqCmd, sio, "no reply on %q within %v", topic, cf.timeout)
		case errors.As(err, &remote):
			return failf(reqCmd, sio, "the responder on %q answered with an error: %s", topic, remote.Text)
		default:
			return failf(reqCmd, sio, "request on %q: %v", topic, err)
		}
		line := append([]byte(displayMessage(reply.Data)), '\n')
		if _, err := sio.out.Write(line); err != nil {
			return failf(reqCmd, sio, "writing stdout: %v", err)
		}
		return exitOK
	}
}
