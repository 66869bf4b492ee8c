package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"sync"
	"time"

	"github.com/switchboard-ipc/switchboard/ipc"
)

var replyCmd = &command{
	name:    "reply",
	summary: "answer requests on TOPIC by echoing them or by running a command",
	usage:   "[-a ADDR] [--timeout DUR] TOPIC [-- COMMAND [ARGS]]",
	help: `
Answers the requests sent on TOPIC (by "switchboard req" or ipc.Client.Request)
through the hub at ADDR, until SIGINT or SIGTERM (then it exits 0). It prints
"subscribed" on stderr once the hub routes TOPIC's requests to it.

Without COMMAND it answers each request with the request's own message. With
COMMAND it runs COMMAND ARGS once per request, concurrently, with the request's
message as one line of JSON on stdin, and answers with what COMMAND wrote on
stdout (without its final newline): the JSON value when it is JSON, else the
text as a JSON string. COMMAND's stderr goes to reply's stderr. When COMMAND
exits with a failure status, or runs longer than --timeout, the requester gets
an error instead of an answer. Messages published on TOPIC that are not
requests are ignored.

Examples:
  switchboard reply echo.me
  switchboard reply time.now -- date -u +%s
  switchboard reply upper -- sh -c 'tr a-z A-Z'
`,
}

func init() {
	replyCmd.run = func(ctx context.Context, sio *stdio, args []string) int {
		fs := newFlags(replyCmd, sio)
		var cf clientFlags
		cf.registerNoWire(fs)
		cmdTimeout := fs.Duration("timeout", 30*time.Second, "stop COMMAND and answer with an error after `DUR`")
		if code, done := parseFlags(replyCmd, fs, sio, args); done {
			return code
		}
		if err := cf.check(); err != nil {
			return usagef(replyCmd, sio, "%v", err)
		}
		if *cmdTimeout <= 0 {
			return usagef(replyCmd, sio, "--timeout must be positive, got %v", *cmdTimeout)
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return usagef(replyCmd, sio, "missing TOPIC")
		}
		topic, rest := rest[0], rest[1:]
		if err := checkTopic(topic); err != nil {
			return usagef(replyCmd, sio, "%v", err)
		}
		var argv []string
		if len(rest) > 0 {
			if rest[0] != "--" {
				return usagef(replyCmd, sio, "unexpected argument %q: put -- before COMMAND", rest[0])
			}
			if argv = rest[1:]; len(argv) == 0 {
				return usagef(replyCmd, sio, "missing COMMAND after --")
			}
			if _, err := exec.LookPath(argv[0]); err != nil {
				return failf(replyCmd, sio, "COMMAND %q: %v", argv[0], err)
			}
		}

		c, err := cf.dial(ctx)
		if err != nil {
			return failf(replyCmd, sio, "%v", err)
		}
		defer c.Close()

		errw := &syncWriter{w: sio.err}
		var wg sync.WaitGroup
		defer wg.Wait() // before c.Close: in-flight answers go out first
		handle := func(m *ipc.Message) {
			if !m.IsRequest() {
				return
			}
			if argv == nil {
				if err := m.Respond(displayMessage(m.Data)); err != nil {
					fmt.Fprintf(errw, "switchboard reply: answering a request on %q: %v\n", m.Topic, err)
				}
				return
			}
			m = m.Clone()
			wg.Add(1)
			go func() {
				defer wg.Done()
				answer(ctx, m, argv, *cmdTimeout, errw)
			}()
		}
		if _, err := c.Subscribe(ctx, topic, handle); err != nil {
			if ctx.Err() != nil {
				return exitOK // interrupted while subscribing
			}
			return failf(replyCmd, sio, "subscribing to %q: %v", topic, err)
		}
		fmt.Fprintln(errw, "subscribed")
		<-ctx.Done()
		return exitOK
	}
}

// answer runs argv for the request m and responds with its output.
func answer(ctx context.Context, m *ipc.Message, argv []string, timeout time.Duration, errw io.Writer) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Stdin = bytes.NewReader(append([]byte(displayMessage(m.Data)), '\n'))
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = errw
	cmd.WaitDelay = time.Second // do not wait forever for a grandchild holding stdout
	err := cmd.Run()
	if err != nil {
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			err = fmt.Errorf("%s ran longer than %v", argv[0], timeout)
		} else {
			err = fmt.Errorf("%s: %w", argv[0], err)
		}
		fmt.Fprintf(errw, "switchboard reply: request on %q: %v\n", m.Topic, err)
		if rerr := m.RespondError(err); rerr != nil {
			fmt.Fprintf(errw, "switchboard reply: answering a request on %q: %v\n", m.Topic, rerr)
		}
		return
	}
	text := strings.TrimSuffix(strings.TrimSuffix(out.String(), "\n"), "\r")
	if err := m.Respond(parseMessage(text)); err != nil {
		fmt.Fprintf(errw, "switchboard reply: answering a request on %q: %v\n", m.Topic, err)
	}
}

// syncWriter serialises writes from concurrent commands and handlers.
type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(b []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(b)
}
