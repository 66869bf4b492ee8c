package netserver_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/switchboard-ipc/switchboard/netserver"
)

// An echo server that stops gracefully: Shutdown cancels every handler's ctx,
// the handler closes its connection, and Shutdown returns once all are done.
func Example() {
	s := &netserver.Server{
		MaxConnections: 100,
		IdleTimeout:    time.Minute,
		Handler: netserver.HandlerFunc(func(ctx context.Context, c *netserver.Conn) {
			stop := context.AfterFunc(ctx, func() { c.Close() })
			defer stop()
			io.Copy(c, c)
		}),
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Println(err)
		return
	}
	served := make(chan error, 1)
	go func() { served <- s.Serve(l) }()

	c, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close()
	fmt.Fprintln(c, "hello")
	line, _ := bufio.NewReader(c).ReadString('\n')
	fmt.Print("echoed: ", line)

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	fmt.Println("shutdown:", s.Shutdown(ctx))
	fmt.Println("serve:", <-served)
	st := s.Stats()
	fmt.Println("accepted:", st.Accepted, "read:", st.BytesRead, "written:", st.BytesWritten, "open:", s.Connections())
	// Output:
	// echoed: hello
	// shutdown: <nil>
	// serve: netserver: server closed
	// accepted: 1 read: 6 written: 6 open: 0
}

// MaxConnections rejects connections beyond the limit at once and reports
// them to OnReject, as Node's 'drop' event does.
func ExampleServer_maxConnections() {
	rejected := make(chan error, 1)
	s := &netserver.Server{
		MaxConnections: 1,
		Handler: netserver.HandlerFunc(func(ctx context.Context, c *netserver.Conn) {
			io.WriteString(c, "welcome\n")
			<-ctx.Done()
		}),
		OnReject: func(_ net.Conn, err error) { rejected <- err },
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Println(err)
		return
	}
	go s.Serve(l)
	defer s.Close()

	first, _ := net.Dial("tcp", l.Addr().String())
	defer first.Close()
	line, _ := bufio.NewReader(first).ReadString('\n')
	fmt.Print("first: ", line)

	second, _ := net.Dial("tcp", l.Addr().String())
	defer second.Close()
	fmt.Println("second:", <-rejected)
	fmt.Println("open:", s.Connections(), "rejected:", s.Stats().Rejected)
	// Output:
	// first: welcome
	// second: netserver: too many connections
	// open: 1 rejected: 1
}
