package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/switchboard-ipc/switchboard/endpoint"
	"github.com/switchboard-ipc/switchboard/ipc"
)

var serveCmd = &command{
	name:    "serve",
	summary: "run a hub that relays every published message to its subscribers",
	usage:   "[-l ADDR]... [--max-conns N] [--max-frame BYTES] [--grace DUR]",
	help: `
Runs a hub on each ADDR (default: $SWITCHBOARD_ADDR, else the per-user default
socket) and prints "listening on ADDR" on stderr for each once it accepts
connections. Native clients (pub, sub, req, reply, the Go ipc.Client) get the
messages on the topics they subscribed to; socket-ipc clients (the Node
package @crussell52/socket-ipc, or --wire socket-ipc) cannot subscribe and get
every message; what they send reaches the subscribers of its topic.

On SIGINT or SIGTERM the hub stops accepting, lets connections finish for up
to the --grace period, closes the rest, removes its socket files and exits 0.

Examples:
  switchboard serve
  switchboard serve -l /run/user/1000/app.sock -l tcp:127.0.0.1:7000
`,
}

func init() {
	serveCmd.run = func(ctx context.Context, sio *stdio, args []string) int {
		fs := newFlags(serveCmd, sio)
		var addrs stringList
		fs.Var(&addrs, "l", "listen on `ADDR` (repeatable; default $SWITCHBOARD_ADDR, else the per-user default socket)")
		maxConns := fs.Int("max-conns", 0, "accept at most `N` connections at once, closing any beyond (0: no limit)")
		maxFrame := fs.Int("max-frame", 0, "largest message frame in `BYTES` a client may send (0: the library default)")
		grace := fs.Duration("grace", 5*time.Second, "on shutdown, wait up to `DUR` for connections to finish")
		if code, done := parseFlags(serveCmd, fs, sio, args); done {
			return code
		}
		if fs.NArg() != 0 {
			return usagef(serveCmd, sio, "unexpected argument %q (listen addresses go after -l)", fs.Arg(0))
		}
		if *maxConns < 0 {
			return usagef(serveCmd, sio, "--max-conns must not be negative, got %d", *maxConns)
		}
		if *maxFrame < 0 {
			return usagef(serveCmd, sio, "--max-frame must not be negative, got %d", *maxFrame)
		}
		if *grace < 0 {
			return usagef(serveCmd, sio, "--grace must not be negative, got %v", *grace)
		}
		if len(addrs) == 0 {
			addrs = stringList{endpoint.DefaultAddr()}
		}
		for _, a := range addrs {
			if _, err := endpoint.ParseAddr(a); err != nil {
				return usagef(serveCmd, sio, "bad -l address: %v", err)
			}
		}

		srv, err := ipc.NewServer(ipc.ServerConfig{
			Hub:            true,
			MaxConnections: *maxConns,
			MaxFrame:       *maxFrame,
		})
		if err != nil {
			return failf(serveCmd, sio, "%v", err)
		}
		if err := srv.Listen(ctx, addrs...); err != nil {
			srv.Close()
			return failf(serveCmd, sio, "%v", err)
		}
		for _, a := range addrs {
			fmt.Fprintf(sio.err, "listening on %s\n", a)
		}

		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), *grace)
		defer cancel()
		if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
			return failf(serveCmd, sio, "shutting down: %v", err)
		}
		srv.Close()
		return exitOK
	}
}
