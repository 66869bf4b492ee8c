package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/switchboard-ipc/switchboard/channel"
)

var channelCmd = &command{
	name:    "channel",
	summary: "join a self-hosting channel: publish stdin lines, print what others publish",
	usage:   "[--topic T] [--stay] NAME",
	help: `
Joins the channel NAME. The first process to open a channel hosts it; the
others connect, and when the host goes away a survivor takes over without
losing a message (see docs/channel.md). The socket is
switchboard-ch-NAME.sock in $XDG_RUNTIME_DIR, else in a per-user 0700
directory under the temporary directory.

Each line of stdin is published on the topic (as JSON when it parses as JSON,
else as a string). Every message other members publish, on any topic, is
printed as one JSON line {"topic":..,"message":..,"from":..}, where from is
the publishing member's id; a member does not see its own messages.

On stderr, "hosting NAME" is printed each time this process becomes the
host, and "connected NAME" each time it connects to another process's host.

At the end of stdin the command waits until every line was acknowledged
(delivered to every member subscribed), then exits 0. With --stay it keeps
printing until SIGINT or SIGTERM, then leaves cleanly.`,
}

// channelLine is one printed message.
type channelLine struct {
	Topic   string          `json:"topic"`
	Message json.RawMessage `json:"message"`
	From    string          `json:"from"`
}

func init() {
	channelCmd.run = func(ctx context.Context, sio *stdio, args []string) int {
		c := channelCmd
		fs := newFlags(c, sio)
		topic := fs.String("topic", "message", "publish stdin lines on this `topic`")
		stay := fs.Bool("stay", false, "keep running after the end of stdin, until SIGINT or SIGTERM")
		if code, done := parseFlags(c, fs, sio, args); done {
			return code
		}
		if fs.NArg() != 1 {
			return usagef(c, sio, "want one channel NAME, got %d arguments", fs.NArg())
		}
		name := fs.Arg(0)
		if err := channel.ValidateName(name); err != nil {
			return usagef(c, sio, "%v", err)
		}
		if err := channel.ValidateTopic(*topic); err != nil {
			return usagef(c, sio, "%v", err)
		}
		// Hooks and handlers run on the channel's dispatcher; the Closed
		// state is the last thing it runs, so waiting for it means every
		// line they print is out before the command returns.
		closed := make(chan struct{})
		ch, err := channel.Open(name,
			channel.OnHost(func() { fmt.Fprintf(sio.err, "hosting %s\n", name) }),
			channel.OnConnect(func(hosting bool) {
				if !hosting {
					fmt.Fprintf(sio.err, "connected %s\n", name)
				}
			}),
			channel.OnStateChange(func(s channel.State) {
				if s == channel.Closed {
					close(closed)
				}
			}))
		if err != nil {
			return failf(c, sio, "%v", err)
		}
		defer func() {
			ch.Close()
			select {
			case <-closed:
			case <-time.After(2 * time.Second): // a handler blocked on its output
			}
		}()
		enc := json.NewEncoder(sio.out)
		// Handlers run one at a time, so lines never interleave.
		if _, err := ch.Subscribe(">", func(m *channel.Message) {
			enc.Encode(channelLine{Topic: m.Topic, Message: m.Data, From: m.From})
		}); err != nil {
			return failf(c, sio, "%v", err)
		}
		if err := ch.Connect(ctx); err != nil {
			if ctx.Err() != nil {
				return exitOK
			}
			return failf(c, sio, "joining %s: %v", name, err)
		}

		lines := make(chan []byte)
		readErr := make(chan error, 1)
		go func() {
			s := bufio.NewScanner(sio.in)
			s.Buffer(make([]byte, 64<<10), 16<<20)
			for s.Scan() {
				line := append([]byte(nil), s.Bytes()...)
				select {
				case lines <- line:
				case <-ctx.Done():
					return
				}
			}
			readErr <- s.Err()
		}()
	read:
		for {
			select {
			case <-ctx.Done():
				return leave(c, sio, ch)
			case err := <-readErr:
				if err != nil {
					return failf(c, sio, "reading stdin: %v", err)
				}
				break read
			case line := <-lines:
				var v any = string(line)
				if json.Valid(line) {
					v = json.RawMessage(line)
				}
				if err := ch.Publish(ctx, *topic, v); err != nil {
					if ctx.Err() != nil {
						return leave(c, sio, ch)
					}
					return failf(c, sio, "publishing: %v", err)
				}
			}
		}
		if err := ch.Flush(ctx); err != nil {
			if ctx.Err() != nil {
				return leave(c, sio, ch)
			}
			return failf(c, sio, "waiting for acknowledgements: %v", err)
		}
		if *stay {
			<-ctx.Done()
			return leave(c, sio, ch)
		}
		ch.Close()
		return exitOK
	}
}

// leave leaves the channel after a signal: it gives what is in flight a
// moment to be acknowledged, then closes.
func leave(c *command, sio *stdio, ch *channel.Channel) int {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := ch.Shutdown(ctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return failf(c, sio, "leaving: %v", err)
	}
	return exitOK
}
