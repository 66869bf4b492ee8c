package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/switchboard-ipc/switchboard/ipc"
)

var subCmd = &command{
	name:    "sub",
	summary: "print the messages on topics matching PATTERNs, one JSON line each",
	usage:   "[-a ADDR] [--wire native|socket-ipc] [-n COUNT] [--timeout DUR] PATTERN...",
	help: `
Subscribes to each PATTERN at the hub at ADDR and prints every matching
message as one line of JSON on stdout, flushed at once:

  {"topic":"greetings","message":"hello"}

A pattern is a topic with wildcards: "*" matches one dot-separated token,
a last ">" matches one or more (orders.* matches orders.new; orders.> also
matches orders.eu.new).

Once the subscription is active, sub prints "subscribed" on stderr: over the
native wire when the hub has confirmed every PATTERN, so a message published
after that line is delivered; over the socket-ipc wire once connected (a
socket-ipc client cannot subscribe: the hub sends it every message, and sub
prints those matching a PATTERN). The hub recognises a silent socket-ipc
connection after a short detection window (50 ms), so sub waits a little
longer than that before printing "subscribed".

With -n, sub exits 0 after COUNT messages. With --timeout, it exits 1 when
DUR passes first (without -n: when DUR passes). On SIGINT or SIGTERM it
exits 0, or 1 when -n was given and COUNT was not reached. If the hub goes
away, sub reconnects and subscribes again.

Examples:
  switchboard sub 'greetings.>'
  switchboard sub -n 1 --timeout 5s orders.new
`,
}

func init() {
	subCmd.run = func(ctx context.Context, sio *stdio, args []string) int {
		fs := newFlags(subCmd, sio)
		var cf clientFlags
		cf.register(fs, 0)
		count := fs.Int("n", 0, "exit 0 after `COUNT` messages (0: run until interrupted)")
		fs.DurationVar(&cf.timeout, "timeout", 0, "exit 1 if the messages have not all arrived after `DUR` (0: no limit)")
		if code, done := parseFlags(subCmd, fs, sio, args); done {
			return code
		}
		if err := cf.check(); err != nil {
			return usagef(subCmd, sio, "%v", err)
		}
		if *count < 0 {
			return usagef(subCmd, sio, "-n must not be negative, got %d", *count)
		}
		patterns := fs.Args()
		if len(patterns) == 0 {
			return usagef(subCmd, sio, "missing PATTERN")
		}
		for _, p := range patterns {
			if !ipc.ValidPattern(p) {
				return usagef(subCmd, sio, "bad PATTERN %q: want dot-separated tokens, where a token may be * and the last may be >", p)
			}
		}

		if cf.timeout > 0 {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, cf.timeout)
			defer cancel()
		}
		c, err := cf.dial(ctx)
		if err != nil {
			return failf(subCmd, sio, "%v", err)
		}
		defer c.Close()

		p := &printer{w: bufio.NewWriter(sio.out), limit: *count, done: make(chan struct{})}
		for i, pat := range patterns {
			// A message matching several patterns reaches each of their
			// handlers: only the first matching pattern's prints it.
			h := func(m *ipc.Message) {
				for _, earlier := range patterns[:i] {
					if ipc.MatchPattern(earlier, m.Topic) {
						return
					}
				}
				p.print(m)
			}
			if _, err := c.Subscribe(ctx, pat, h); err != nil {
				if errors.Is(ctx.Err(), context.DeadlineExceeded) {
					return failf(subCmd, sio, "timeout after %v before the subscription was active", cf.timeout)
				}
				return failf(subCmd, sio, "subscribing to %q: %v", pat, err)
			}
		}
		fmt.Fprintln(sio.err, "subscribed")

		// Connection losses are not fatal: the client reconnects and
		// subscribes again.
		select {
		case <-p.done:
		case <-ctx.Done():
		}
		got, complete := p.stop()
		if err := p.err(); err != nil {
			return failf(subCmd, sio, "%v", err)
		}
		if complete {
			return exitOK
		}
		if errors.Is(ctx.Err(), context.DeadlineExceeded) { // --timeout, not a signal
			if *count > 0 {
				return failf(subCmd, sio, "timeout after %v: received %d of %d messages", cf.timeout, got, *count)
			}
			return failf(subCmd, sio, "timeout after %v: received %d messages", cf.timeout, got)
		}
		if *count > 0 {
			return failf(subCmd, sio, "interrupted: received %d of %d messages", got, *count)
		}
		return exitOK
	}
}

// printer writes message lines, at most limit of them when limit > 0, and
// closes done after the last one or a write error.
type printer struct {
	mu       sync.Mutex
	w        *bufio.Writer
	limit    int
	n        int
	stopped  bool
	writeErr error
	done     chan struct{}
}

func (p *printer) print(m *ipc.Message) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stopped {
		return
	}
	p.w.Write(formatLine(m.Topic, m.Data))
	if err := p.w.Flush(); err != nil {
		p.writeErr = fmt.Errorf("writing stdout: %w", err)
		p.stopped = true
		close(p.done)
		return
	}
	p.n++
	if p.limit > 0 && p.n == p.limit {
		p.stopped = true
		close(p.done)
	}
}

// stop makes further messages be ignored. It returns how many were printed
// and whether that completed the count.
func (p *printer) stop() (n int, complete bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.stopped = true
	return p.n, p.limit > 0 && p.n == p.limit
}

func (p *printer) err() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.writeErr
}
