package ipc_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/switchboard-ipc/switchboard/ipc"
)

// sockPath returns a socket path in a new temporary directory.
func sockPath() (string, func()) {
	dir, err := os.MkdirTemp("", "sbx")
	if err != nil {
		panic(err)
	}
	return filepath.Join(dir, "app.sock"), func() { os.RemoveAll(dir) }
}

// A server that greets every client that says hello.
func Example() {
	addr, cleanup := sockPath()
	defer cleanup()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	srv, _ := ipc.NewServer(ipc.ServerConfig{})
	srv.Handle("hello", func(m *ipc.Message) {
		var name string
		m.Decode(&name)
		srv.Send(m.From, "greeting", "hello, "+name)
	})
	if err := srv.Listen(ctx, addr); err != nil {
		fmt.Println(err)
		return
	}
	defer srv.Close()

	got := make(chan string)
	c, err := ipc.Dial(ctx, addr)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close()
	c.Handle("greeting", func(m *ipc.Message) {
		var s string
		m.Decode(&s)
		got <- s
	})
	c.Send(ctx, "hello", "gopher")
	fmt.Println(<-got)
	// Output: hello, gopher
}

// A hub relays what clients publish to the subscribers of each topic.
func Example_hub() {
	addr, cleanup := sockPath()
	defer cleanup()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	hub, _ := ipc.NewServer(ipc.ServerConfig{Hub: true})
	if err := hub.Listen(ctx, addr); err != nil {
		fmt.Println(err)
		return
	}
	defer hub.Close()

	sub, _ := ipc.Dial(ctx, addr)
	defer sub.Close()
	got := make(chan string)
	// Subscribe returns once the hub routes orders.* to this client.
	sub.Subscribe(ctx, "orders.*", func(m *ipc.Message) {
		var qty int
		m.Decode(&qty)
		got <- fmt.Sprintf("%s: %d", m.Topic, qty)
	})

	pub, _ := ipc.Dial(ctx, addr)
	defer pub.Close()
	pub.Send(ctx, "orders.new", 3)
	pub.Send(ctx, "stock.low", 1) // no subscriber: nobody gets it
	pub.Send(ctx, "orders.cancel", 1)
	fmt.Println(<-got)
	fmt.Println(<-got)
	// Output:
	// orders.new: 3
	// orders.cancel: 1
}

// Request waits for the reply of one responder, or fails fast when there is
// none.
func ExampleClient_Request() {
	addr, cleanup := sockPath()
	defer cleanup()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	hub, _ := ipc.NewServer(ipc.ServerConfig{Hub: true})
	if err := hub.Listen(ctx, addr); err != nil {
		fmt.Println(err)
		return
	}
	defer hub.Close()

	svc, _ := ipc.Dial(ctx, addr)
	defer svc.Close()
	svc.Subscribe(ctx, "math.square", func(m *ipc.Message) {
		var n int
		m.Decode(&n)
		m.Respond(n * n)
	})

	c, _ := ipc.Dial(ctx, addr)
	defer c.Close()
	reply, err := c.Request(ctx, "math.square", 12)
	if err != nil {
		fmt.Println(err)
		return
	}
	var n int
	reply.Decode(&n)
	fmt.Println(n)

	_, err = c.Request(ctx, "math.cube", 3)
	fmt.Println(err)
	// Output:
	// 144
	// ipc: no responders: math.cube
}
