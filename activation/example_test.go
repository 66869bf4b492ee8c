package activation_test

import (
	"errors"
	"fmt"
	"net"

	"github.com/switchboard-ipc/switchboard/activation"
)

// A server that runs socket-activated under systemd or launchd, and listens on
// its own when started by hand.
func ExampleListeners() {
	ls, err := activation.Listeners("app")
	switch {
	case errors.Is(err, activation.ErrNotActivated):
		fmt.Println("not activated: listening on our own")
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			fmt.Println(err)
			return
		}
		ls = []net.Listener{l}
	case err != nil:
		fmt.Println(err) // ErrNoSuchSocket, ErrAlreadyCollected, ...
		return
	}
	for _, l := range ls {
		l.Close() // a real server would serve on l
	}
	// Output: not activated: listening on our own
}

// Collecting from one manager only, and keeping the LISTEN_* variables for a
// child process that is meant to see them.
func ExampleCollector() {
	c := activation.Collector{Manager: activation.Systemd, KeepEnv: true}
	_, err := c.Files("hub")
	fmt.Println(errors.Is(err, activation.ErrNotActivated))
	// Output: true
}
