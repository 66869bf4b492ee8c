package channel_test

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/switchboard-ipc/switchboard/channel"
)

// Two members of one channel; here in one process, normally in two.
func Example() {
	dir, _ := os.MkdirTemp("", "sb")
	defer os.RemoveAll(dir)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	a, _ := channel.Open("example", channel.WithDir(dir))
	defer a.Close()
	b, _ := channel.Open("example", channel.WithDir(dir))
	defer b.Close()

	got := make(chan *channel.Message, 1)
	b.Subscribe("greetings.*", func(m *channel.Message) { got <- m })

	b.Connect(ctx) // the first member: b hosts
	b.Flush(ctx)   // the host knows b's subscription

	a.Publish(ctx, "greetings.en", "hello") // queued: a is not connected yet
	a.Connect(ctx)
	fmt.Println("a hosts:", a.Hosting(), "b hosts:", b.Hosting())
	select {
	case m := <-got:
		var s string
		m.Decode(&s)
		fmt.Println(m.Topic, s)
	case <-ctx.Done():
		fmt.Println(ctx.Err())
	}
	// Output:
	// a hosts: false b hosts: true
	// greetings.en hello
}

func ExampleChannel_Request() {
	dir, _ := os.MkdirTemp("", "sb")
	defer os.RemoveAll(dir)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	server, _ := channel.Open("calc", channel.WithDir(dir))
	defer server.Close()
	server.Subscribe("add", func(m *channel.Message) {
		var xy [2]int
		m.Decode(&xy)
		m.Reply(xy[0] + xy[1])
	})
	server.Connect(ctx)
	server.Flush(ctx)

	client, _ := channel.Open("calc", channel.WithDir(dir))
	defer client.Close()
	client.Connect(ctx)
	reply, err := client.Request(ctx, "add", [2]int{2, 3})
	if err != nil {
		fmt.Println(err)
		return
	}
	var sum int
	reply.Decode(&sum)
	fmt.Println(sum)
	// Output: 5
}

// Server-side logic that runs in whichever member hosts, open-channel's
// connectionListener.
func ExampleWithHost() {
	dir, _ := os.MkdirTemp("", "sb")
	defer os.RemoveAll(dir)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	host := channel.WithHost(func(h *channel.Host) {
		h.Handle("whoami", func(m *channel.Message) { m.Reply("the host") })
	})
	a, _ := channel.Open("hosted", channel.WithDir(dir), host)
	defer a.Close()
	a.Connect(ctx)
	b, _ := channel.Open("hosted", channel.WithDir(dir), host)
	defer b.Close()
	b.Connect(ctx)

	r, _ := b.Request(ctx, "whoami", nil)
	var s string
	r.Decode(&s)
	fmt.Println(s)
	// Output: the host
}

func ExampleValidateName() {
	fmt.Println(channel.ValidateName("my-app.v2"))
	fmt.Println(channel.ValidateName("my app"))
	// Output:
	// <nil>
	// channel: bad channel name "my app": byte ' ' at 2 is not one of [A-Za-z0-9._-]
}
