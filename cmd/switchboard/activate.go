package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/switchboard-ipc/switchboard/internal/launcher"
)

// The shim: "switchboard activate" starts its command through this program
// again, which sets LISTEN_PID to its own pid and execs the command (see
// launcher.ExecShim). It must run before anything else.
func init() { launcher.ExecShim() }

var activateCmd = &command{
	name:    "activate",
	summary: "bind sockets and start a program with them, as systemd socket activation does",
	usage:   "[-l ADDR]... [--fdname NAME[:NAME...]] [-E NAME[=VALUE]]... [-a|--accept] [--inetd] [-d|--datagram] [--seqpacket] [--now] [--restart] -- COMMAND [ARGS]",
	help: `
Binds every ADDR (any switchboard address form: /path.sock, @name, HOST:PORT, ...),
waits for the first connection, then starts COMMAND with the sockets as
descriptors 3, 4, ... and LISTEN_FDS, LISTEN_PID (the child's own pid),
LISTEN_FDNAMES and the -E variables set, as systemd does for a socket-activated
service. The flags mean what they mean to systemd-socket-activate(1), so the
same program runs under either, and under systemd itself.

--accept starts one child per connection, with the connection as fd 3
(LISTEN_FDS=1, LISTEN_FDNAMES=connection); --inetd passes it on stdin and
stdout instead, with no LISTEN_* variables. --now starts the child at once.
--restart starts it again on the next connection whenever it exits; the sockets
stay open meanwhile, so clients are never refused.

SIGINT and SIGTERM are forwarded to the child (which runs in its own process
group), and the child's exit status becomes this command's (128+N when signal
N killed it). Stopped while no child runs, it exits 0.

Example: switchboard activate -l /tmp/app.sock --fdname app -- node app.js`,
}

func init() {
	activateCmd.run = func(ctx context.Context, io *stdio, args []string) int {
		fs := newFlags(activateCmd, io)
		var addrs, names, env stringList
		fs.Var(&addrs, "l", "listen on ADDR (repeatable)")
		fs.Var(&addrs, "listen", "same as -l")
		fs.Var(&names, "fdname", "names of the descriptors, in order, colon-separated (repeatable)")
		fs.Var(&env, "E", "pass NAME=VALUE, or NAME with this process's value, to the child (repeatable)")
		fs.Var(&env, "setenv", "same as -E")
		accept := fs.Bool("accept", false, "start one child per connection, the connection as fd 3")
		fs.BoolVar(accept, "a", false, "same as --accept")
		inetd := fs.Bool("inetd", false, "with --accept: the connection on stdin and stdout, no LISTEN_* variables")
		datagram := fs.Bool("datagram", false, "bind datagram sockets (Unix or UDP)")
		fs.BoolVar(datagram, "d", false, "same as --datagram")
		seqpacket := fs.Bool("seqpacket", false, "bind SOCK_SEQPACKET Unix sockets")
		now := fs.Bool("now", false, "start the child at once, not on the first connection")
		restart := fs.Bool("restart", false, "start the child again on the next connection whenever it exits")
		if code, done := parseFlags(activateCmd, fs, io, args); done {
			return code
		}
		cmdArgs := fs.Args()
		if len(cmdArgs) == 0 {
			return usagef(activateCmd, io, "missing COMMAND to start (after --)")
		}
		if len(addrs) == 0 {
			return usagef(activateCmd, io, "no address to listen on: give -l ADDR")
		}
		if *datagram && *seqpacket {
			return usagef(activateCmd, io, "--datagram and --seqpacket exclude each other")
		}
		cfg := launcher.Config{
			Addrs:   addrs,
			Env:     env,
			Accept:  *accept,
			Inetd:   *inetd,
			Now:     *now,
			Restart: *restart,
			Command: cmdArgs,
			Stdin:   io.in,
			Stdout:  io.out,
			Stderr:  io.err,
			Logf: func(format string, args ...any) {
				fmt.Fprintf(io.err, "switchboard activate: "+format+"\n", args...)
			},
		}
		for _, n := range names {
			cfg.FDNames = append(cfg.FDNames, strings.Split(n, ":")...)
		}
		switch {
		case *datagram:
			cfg.Type = launcher.Datagram
		case *seqpacket:
			cfg.Type = launcher.SeqPacket
		}
		if f, ok := io.in.(*os.File); ok && f == os.Stdin {
			cfg.Stdin = nil // the child gets the real stdin, not a copy through a pipe
		}
		sigs := make(chan os.Signal, 1)
		signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
		defer signal.Stop(sigs)
		cfg.Signals = sigs
		// Signals stop the launcher through cfg.Signals, which forwards them;
		// the command's ctx is cancelled by the same signals and must not
		// stop it a second time.
		code, err := launcher.Run(context.WithoutCancel(ctx), cfg)
		switch {
		case errors.Is(err, launcher.ErrBadConfig):
			return usagef(activateCmd, io, "%s", strings.TrimPrefix(err.Error(), launcher.ErrBadConfig.Error()+": "))
		case err != nil:
			return failf(activateCmd, io, "%s", strings.TrimPrefix(err.Error(), "launcher: "))
		}
		return code
	}
}
