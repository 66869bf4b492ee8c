//go:build unix

package netserver_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/switchboard-ipc/switchboard/netserver"
)

// A server on a Unix socket that admits only processes of its own user,
// checked with the peer credentials the kernel recorded for the connection.
func ExampleServer_Authorize() {
	dir, err := os.MkdirTemp("", "sb")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "app.sock")

	s := &netserver.Server{
		Authorize: func(c *netserver.Conn) error {
			p, err := c.Peer()
			if err != nil {
				return err
			}
			if p.UID != uint32(os.Getuid()) {
				return errors.New("peer runs as another user")
			}
			return nil
		},
		Handler: netserver.HandlerFunc(func(ctx context.Context, c *netserver.Conn) {
			p, _ := c.Peer()
			fmt.Fprintf(c, "hello, same user: %v\n", p.UID == uint32(os.Getuid()))
		}),
	}
	served := make(chan error, 1)
	go func() { served <- s.ListenAndServe(context.Background(), path) }()

	var c net.Conn
	for c == nil { // wait until the socket accepts
		if c, err = net.Dial("unix", path); err != nil {
			select {
			case err := <-served:
				fmt.Println(err)
				return
			default:
				time.Sleep(time.Millisecond)
			}
		}
	}
	defer c.Close()
	line, _ := bufio.NewReader(c).ReadString('\n')
	fmt.Print(line)
	fmt.Println(s.Shutdown(context.Background()), <-served)
	// Output:
	// hello, same user: true
	// <nil> netserver: server closed
}
