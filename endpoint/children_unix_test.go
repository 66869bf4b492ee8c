//go:build unix

package endpoint

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/switchboard-ipc/switchboard/internal/testenv"
)

// runChild runs one child role and returns the exit code. Children talk to
// the test on stdout, one line per event, and take orders on stdin.
func runChild(role string) int {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	addr := os.Getenv("SWB_ADDR")
	switch role {
	case "starter":
		// Wait for "go", race for the address, report, and serve our pid to
		// every connection until stdin closes.
		in := bufio.NewReader(os.Stdin)
		fmt.Println("ready")
		if line, err := in.ReadString('\n'); err != nil || line != "go\n" {
			fmt.Println("err no go:", err)
			return 1
		}
		l, err := Listen(ctx, addr)
		switch {
		case errors.Is(err, ErrAddrInUse):
			fmt.Println("inuse")
			return 0
		case err != nil:
			fmt.Println("err", err)
			return 1
		}
		fmt.Println("won")
		go servePID(l)
		io.Copy(io.Discard, in)
		l.Close()
		return 0
	case "fd":
		// Listen on the inherited descriptor 3 and serve one connection,
		// telling whether descriptor 3 itself was closed.
		l, err := Listen(ctx, "fd:3")
		if err != nil {
			fmt.Println("err", err)
			return 1
		}
		_, ferr := unix.FcntlInt(3, unix.F_GETFD, 0)
		fmt.Println("listening")
		c, err := l.Accept()
		if err != nil {
			fmt.Println("err", err)
			return 1
		}
		fmt.Fprintf(c, "pid=%d fd3closed=%v network=%s\n", os.Getpid(), ferr == unix.EBADF, l.Addr().Network())
		c.Close()
		l.Close()
		return 0
	case "activated-all", "activated-first":
		// Collect the sockets named "web" and serve our pid on them until
		// stdin closes.
		var ls []net.Listener
		if role == "activated-all" {
			var err error
			if ls, err = ListenAll(ctx, "systemd:web"); err != nil {
				fmt.Println("err", err)
				return 1
			}
			fmt.Println(len(ls), "listeners")
		} else {
			l, err := Listen(ctx, "systemd:web")
			if err != nil {
				fmt.Println("err", err)
				return 1
			}
			ls = []net.Listener{l}
			fmt.Println("1 listener")
		}
		for _, l := range ls {
			go servePID(l)
		}
		io.Copy(io.Discard, os.Stdin)
		return 0
	case "dialer":
		// Connect, then wait for the server to close the connection.
		c, err := Dial(ctx, addr)
		if err != nil {
			fmt.Println("err", err)
			return 1
		}
		io.Copy(io.Discard, c)
		return 0
	}
	fmt.Println("err unknown role", role)
	return 2
}

// servePID writes the process id to every connection and closes it.
func servePID(l net.Listener) {
	for {
		c, err := l.Accept()
		if err != nil {
			return
		}
		fmt.Fprintf(c, "%d\n", os.Getpid())
		c.Close()
	}
}

// child is a re-run of the test binary in some role.
type child struct {
	cmd   *exec.Cmd
	in    io.WriteCloser
	lines *bufio.Scanner
}

func startChild(t *testing.T, role string, env []string, extra ...*os.File) *child {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), append([]string{childEnv + "=" + role}, env...)...)
	return startCmd(t, cmd, extra...)
}

// startCmd starts cmd, a re-run of the test binary in some role, with extra
// descriptors from 3 on.
func startCmd(t *testing.T, cmd *exec.Cmd, extra ...*os.File) *child {
	t.Helper()
	cmd.ExtraFiles = extra
	in, out := testenv.StartPiped(t, cmd)
	c := &child{cmd: cmd, in: in, lines: bufio.NewScanner(out)}
	t.Cleanup(func() {
		c.in.Close()
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	})
	return c
}

// line returns the child's next line of output.
func (c *child) line(t *testing.T) string {
	t.Helper()
	if !c.lines.Scan() {
		t.Fatalf("child %d ended its output: %v", c.cmd.Process.Pid, c.lines.Err())
	}
	l := c.lines.Text()
	if strings.HasPrefix(l, "err") {
		t.Fatalf("child %d: %s", c.cmd.Process.Pid, l)
	}
	return l
}

// readPID connects to addr and returns the pid the server writes.
func readPID(t *testing.T, addr string) int {
	t.Helper()
	c, err := Dial(context.Background(), addr)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		t.Fatalf("read from %s: %v", addr, err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(line))
	if err != nil {
		t.Fatalf("server at %s wrote %q", addr, line)
	}
	return pid
}
