package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"sort"
	"strings"
)

// Exit codes of every command.
const (
	exitOK      = 0 // success
	exitFailure = 1 // runtime error: the work could not be done
	exitUsage   = 2 // usage error: bad flags or arguments
)

// stdio is where a command reads and writes; tests pass buffers.
type stdio struct {
	in  io.Reader
	out io.Writer
	err io.Writer
}

// command is one subcommand of the CLI.
type command struct {
	name    string
	summary string // one line for "switchboard help"
	usage   string // the synopsis after "switchboard NAME"
	help    string // paragraphs printed by --help after the synopsis
	// run executes the command with its arguments (without the command name).
	// It returns an exit code; a *usageError returned through fail prints usage.
	run func(ctx context.Context, io *stdio, args []string) int
}

// commands lists every subcommand in the order "switchboard help" prints them.
// Each lives in its own file.
func commands() []*command {
	cmds := []*command{
		// Add a command here when its file is added.
		versionCmd,
		serveCmd, pubCmd, subCmd, reqCmd, replyCmd,
		benchCmd,
		channelCmd,
		activateCmd,
	}
	sort.SliceStable(cmds, func(i, j int) bool { return order(cmds[i].name) < order(cmds[j].name) })
	return cmds
}

var helpOrder = []string{"serve", "pub", "sub", "req", "reply", "channel", "activate", "bench", "version"}

func order(name string) int {
	for i, n := range helpOrder {
		if n == name {
			return i
		}
	}
	return len(helpOrder)
}

func lookup(name string) *command {
	for _, c := range commands() {
		if c.name == name {
			return c
		}
	}
	return nil
}

// run dispatches args (without the program name) and returns the exit code.
func run(ctx context.Context, args []string, io *stdio) int {
	if len(args) == 0 {
		printHelp(io.err)
		return exitUsage
	}
	name := args[0]
	switch name {
	case "help", "-h", "-help", "--help":
		if len(args) > 1 {
			if c := lookup(args[1]); c != nil {
				printCommandHelp(io.out, c, nil)
				return exitOK
			}
			fmt.Fprintf(io.err, "switchboard: unknown command %q\n", args[1])
			return exitUsage
		}
		printHelp(io.out)
		return exitOK
	case "-version", "--version":
		name = "version"
	}
	c := lookup(name)
	if c == nil {
		fmt.Fprintf(io.err, "switchboard: unknown command %q; run \"switchboard help\"\n", name)
		return exitUsage
	}
	return c.run(ctx, io, args[1:])
}

func printHelp(w io.Writer) {
	fmt.Fprintln(w, "switchboard: processes on one machine find each other and talk.")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Usage: switchboard COMMAND [FLAGS] [ARGS]")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Commands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-9s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "  help      print this help, or a command's: switchboard help COMMAND")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Addresses: /path.sock, unix:/path, @abstract, tcp:HOST:PORT, :PORT, PORT, fd:N,")
	fmt.Fprintln(w, "systemd:NAME, launchd:NAME, activation:NAME. Default: $SWITCHBOARD_ADDR, else")
	fmt.Fprintln(w, "$XDG_RUNTIME_DIR/switchboard.sock, else a per-user directory under the temp dir.")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Exit codes: 0 success, 1 runtime error, 2 usage error.")
}

func printCommandHelp(w io.Writer, c *command, fs *flag.FlagSet) {
	fmt.Fprintf(w, "Usage: switchboard %s %s\n\n%s\n", c.name, c.usage, c.summary)
	if c.help != "" {
		fmt.Fprintf(w, "\n%s\n", strings.TrimSpace(c.help))
	}
	if fs != nil {
		var has bool
		fs.VisitAll(func(*flag.Flag) { has = true })
		if has {
			fmt.Fprintln(w, "\nFlags:")
			fs.SetOutput(w)
			fs.PrintDefaults()
		}
	}
}

// newFlags returns a flag set for c whose -h/--help prints c's help on out
// and whose errors go to errw.
func newFlags(c *command, io *stdio) *flag.FlagSet {
	fs := flag.NewFlagSet("switchboard "+c.name, flag.ContinueOnError)
	fs.SetOutput(io.err)
	fs.Usage = func() { printCommandHelp(io.err, c, fs) }
	return fs
}

// parseFlags parses args into fs. It returns done=true with the exit code when
// the command must stop: exitOK after --help, exitUsage after a bad flag.
func parseFlags(c *command, fs *flag.FlagSet, sio *stdio, args []string) (code int, done bool) {
	fs.Usage = func() {}
	fs.SetOutput(io.Discard)
	err := fs.Parse(args)
	switch {
	case err == nil:
		return 0, false
	case errors.Is(err, flag.ErrHelp):
		printCommandHelp(sio.out, c, fs)
		return exitOK, true
	default:
		fmt.Fprintf(sio.err, "switchboard %s: %v\nRun \"switchboard %s --help\" for usage.\n", c.name, err, c.name)
		return exitUsage, true
	}
}

// usagef reports a usage error for c and returns exitUsage.
func usagef(c *command, io *stdio, format string, args ...any) int {
	fmt.Fprintf(io.err, "switchboard %s: %s\nRun \"switchboard %s --help\" for usage.\n", c.name, fmt.Sprintf(format, args...), c.name)
	return exitUsage
}

// failf reports a runtime error for c and returns exitFailure.
func failf(c *command, io *stdio, format string, args ...any) int {
	fmt.Fprintf(io.err, "switchboard %s: %s\n", c.name, fmt.Sprintf(format, args...))
	return exitFailure
}

// stringList is a repeatable string flag (-l A -l B).
type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }
