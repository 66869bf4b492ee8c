package endpoint_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/switchboard-ipc/switchboard/endpoint"
)

func ExampleParseAddr() {
	for _, s := range []string{
		"/run/app.sock",
		"unix:app.sock",
		"@app",
		"3000",
		"tcp:[0:0::1]:3000",
		"fd:3",
		"systemd:app",
		"localhost",
	} {
		a, err := endpoint.ParseAddr(s)
		if err != nil {
			fmt.Println(errors.Is(err, endpoint.ErrBadAddr), err)
			continue
		}
		fmt.Printf("%-18s %-9s %s\n", s, a.Kind, a)
	}
	// Output:
	// /run/app.sock      unix      /run/app.sock
	// unix:app.sock      unix      unix:app.sock
	// @app               abstract  @app
	// 3000               tcp       :3000
	// tcp:[0:0::1]:3000  tcp       [::1]:3000
	// fd:3               fd        fd:3
	// systemd:app        activated systemd:app
	// true endpoint: bad address "localhost": a TCP address needs a port (HOST:PORT, :PORT or PORT), and a path needs a '/' (./localhost); allowed forms are /path, ./path, unix:PATH, @name (Linux), tcp:HOST:PORT, HOST:PORT, :PORT, PORT, [IPv6]:PORT, fd:N, systemd:NAME, launchd:NAME and activation:NAME
}

func ExampleListen() {
	dir, err := os.MkdirTemp("", "example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	addr := filepath.Join(dir, "app.sock")
	ctx := context.Background()

	l, err := endpoint.Listen(ctx, addr)
	if err != nil {
		log.Fatal(err)
	}
	defer l.Close() // removes the socket file
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return // l was closed
			}
			peer, err := endpoint.PeerOf(c)
			if err == nil {
				fmt.Fprintf(c, "hello, uid %d\n", peer.UID)
			}
			c.Close()
		}
	}()

	// A second server on the same path is refused, not let in.
	if _, err := endpoint.Listen(ctx, addr); errors.Is(err, endpoint.ErrAddrInUse) {
		fmt.Println("second server: address in use")
	}

	c, err := endpoint.Dial(ctx, addr)
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		log.Fatal(err)
	}
	fmt.Print(line == fmt.Sprintf("hello, uid %d\n", os.Getuid()))
	fi, err := os.Stat(addr)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(" mode", fi.Mode().Perm())
	// Output:
	// second server: address in use
	// true mode -rw-------
}
