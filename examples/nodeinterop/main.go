// Command nodeinterop is the Go side of a Go <-> Node conversation: a
// switchboard hub that a Node program using @crussell52/socket-ipc connects
// to as if it were a socket-ipc server, and a Go subscriber on the same hub.
//
//	go run ./examples/nodeinterop                                  # terminal 1: the hub
//	NODE_PATH=test/node/node_modules node examples/nodeinterop/client.js   # terminal 2
//
// (scripts/test-deps.sh installs the Node package into test/node/node_modules.)
//
// Both ways:
//
//   - Node to Go: client.js sends node.hello when it connects, and node.say
//     for every line typed into it. The hub relays them to its subscribers;
//     the Go subscriber (an ipc.Client subscribed to "node.>") prints each
//     one and answers on go.reply.
//   - Go to Node: every line typed into this program is published by the hub
//     on go.say. A socket-ipc client cannot subscribe, so the hub sends it
//     every message, and client.js prints what it receives.
//
// Nothing on the Node side knows it talks to Go: the hub detects the
// socket-ipc wire (JSON + "\0\0") on the first bytes of the connection.
// socket-ipc speaks over Unix socket files only, so the address is a path;
// by default nodeinterop.sock in the runtime directory ($XDG_RUNTIME_DIR),
// which client.js finds the same way. Give another path to both with -a and
// as client.js's first argument.
package main

import (
	"bufio"
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
	"github.com/switchboard-ipc/switchboard/ipc"
)

// The topics of the conversation.
const (
	topicFromNode = "node.>"   // what client.js sends: node.hello, node.say
	topicReply    = "go.reply" // the Go subscriber's answer to each of them
	topicSay      = "go.say"   // the lines typed into this program
)

// shutdownGrace bounds the graceful part of a shutdown.
const shutdownGrace = 5 * time.Second

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdin, os.Stdout)
	stop()
	switch {
	case errors.Is(err, flag.ErrHelp):
	case err != nil:
		fmt.Fprintln(os.Stderr, "nodeinterop:", err)
		os.Exit(1)
	}
}

// run serves the hub on the address from args until ctx is cancelled,
// publishing every line read from stdin and printing the conversation on
// stdout (which must be safe for concurrent use: the subscriber's handler
// and the hub's hooks print from their own goroutines).
func run(ctx context.Context, args []string, stdin io.Reader, stdout io.Writer) error {
	fs := flag.NewFlagSet("nodeinterop", flag.ContinueOnError)
	addr := fs.String("a", "", "the socket `path` (default: nodeinterop.sock in the runtime directory)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if *addr == "" {
		dir, err := endpoint.RuntimeDir()
		if err != nil {
			return err
		}
		*addr = filepath.Join(dir, "nodeinterop.sock")
	}

	// The hub: relays what clients send to the subscribers of its topic and
	// to every socket-ipc client.
	hub, err := ipc.NewServer(ipc.ServerConfig{
		Hub: true,
		OnConnect: func(c ipc.ClientInfo) {
			fmt.Fprintf(stdout, "%s client %s connected\n", c.Wire, c.ID)
		},
		OnDisconnect: func(id string, err error) {
			fmt.Fprintf(stdout, "client %s disconnected\n", id)
		},
	})
	if err != nil {
		return err
	}
	defer hub.Close()
	if err := hub.Listen(ctx, *addr); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "listening on %s\n", *addr)

	// The Go subscriber: a client of the hub, like the Node one, but on the
	// native wire, so it subscribes and the hub routes to it only what
	// matches.
	sub, err := ipc.Dial(ctx, *addr)
	if err != nil {
		return err
	}
	defer sub.Close()
	_, err = sub.Subscribe(ctx, topicFromNode, func(m *ipc.Message) {
		fmt.Fprintf(stdout, "go subscriber got %s: %s\n", m.Topic, m.Data)
		var said struct {
			From string `json:"from"`
		}
		m.Decode(&said)
		if err := sub.Send(ctx, topicReply, fmt.Sprintf("hello %s, Go got your %s", said.From, m.Topic)); err != nil {
			fmt.Fprintf(stdout, "go subscriber cannot reply: %v\n", err)
		}
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "go subscriber listening on %s\n", topicFromNode)

	// Lines typed here go to every Node client.
	go func() {
		s := bufio.NewScanner(stdin)
		for s.Scan() {
			if err := hub.Publish(topicSay, s.Text()); err != nil {
				fmt.Fprintf(stdout, "publish: %v\n", err)
			}
		}
	}()

	<-ctx.Done()
	sub.Close()
	sctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	return hub.Shutdown(sctx)
}
