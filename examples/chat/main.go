// Command chat is a chat room over a self-hosting channel: run it in several
// terminals; the first one hosts the room, and when it quits (or is killed)
// another takes over without losing a line.
//
//	go run ./examples/chat -nick ann      # terminal 1
//	go run ./examples/chat -nick bob      # terminal 2
//
// Every line typed is sent to everyone else in the room.
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/switchboard-ipc/switchboard/channel"
)

// line is what a member publishes on the "chat" topic.
type line struct {
	Nick string `json:"nick"`
	Text string `json:"text"`
}

func main() {
	room := flag.String("room", "chat", "the channel `name` of the room")
	nick := flag.String("nick", os.Getenv("USER"), "your `name` in the room")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	ch, err := channel.Open(*room,
		channel.OnHost(func() { fmt.Fprintln(os.Stderr, "* you host the room") }),
		channel.OnConnect(func(hosting bool) {
			if !hosting {
				fmt.Fprintln(os.Stderr, "* joined the room")
			}
		}))
	if err != nil {
		fmt.Fprintln(os.Stderr, "chat:", err)
		os.Exit(2)
	}
	ch.Subscribe("chat", func(m *channel.Message) {
		var l line
		if m.Decode(&l) == nil {
			fmt.Printf("<%s> %s\n", l.Nick, l.Text)
		}
	})
	if err := ch.Connect(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "chat:", err)
		os.Exit(1)
	}

	lines := make(chan string)
	go func() {
		s := bufio.NewScanner(os.Stdin)
		for s.Scan() {
			lines <- s.Text()
		}
		close(lines)
	}()
	for {
		select {
		case <-ctx.Done():
			leave(ch)
			return
		case text, ok := <-lines:
			if !ok {
				leave(ch)
				return
			}
			if err := ch.Publish(ctx, "chat", line{Nick: *nick, Text: text}); err != nil {
				fmt.Fprintln(os.Stderr, "chat:", err)
			}
		}
	}
}

// leave waits a moment for what was typed to reach everyone, then leaves.
func leave(ch *channel.Channel) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	ch.Shutdown(ctx)
}
