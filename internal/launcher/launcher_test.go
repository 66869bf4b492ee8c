//go:build unix

package launcher_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-ipc/switchboard/activation"
	"github.com/switchboard-ipc/switchboard/internal/launcher"
	"github.com/switchboard-ipc/switchboard/internal/testenv"
)

// childEnv switches the test binary into a child the launcher starts.
const childEnv = "LAUNCHER_TEST_CHILD"

func TestMain(m *testing.M) {
	launcher.ExecShim() // the launcher starts its children through this binary
	if mode := os.Getenv(childEnv); mode != "" {
		os.Exit(runChild(mode))
	}
	os.Exit(m.Run())
}

// runChild is a socket-activated program written with package activation.
func runChild(mode string) int {
	switch mode {
	case "names": // print what each name holds
		for _, name := range []string{"a", "unknown", "b"} {
			fs, err := activation.Files(name)
			if err != nil {
				fmt.Printf("%s: %v\n", name, errors.Is(err, activation.ErrNoSuchSocket))
				continue
			}
			fmt.Printf("%s: %d\n", name, len(fs))
		}
		return 3
	case "dgram": // echo datagrams until killed
		pcs, err := activation.PacketConns("dg")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		buf := make([]byte, 100)
		for {
			n, from, err := pcs[0].ReadFrom(buf)
			if err != nil {
				return 1
			}
			pcs[0].WriteTo(fmt.Appendf(nil, "echo %s", buf[:n]), from)
		}
	case "conn": // --accept: answer the one message of the connection on fd 3
		fs, err := activation.Files("connection")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		c, err := net.FileConn(fs[0])
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		buf := make([]byte, 100)
		n, _ := c.Read(buf)
		fmt.Fprintf(c, "pid %d: %s", os.Getpid(), buf[:n])
		c.Close()
		return 0
	case "seqpacket": // answer one message per connection until killed
		ls, err := activation.Listeners("sp")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		for {
			c, err := ls[0].Accept()
			if err != nil {
				return 1
			}
			buf := make([]byte, 100)
			n, _ := c.Read(buf)
			fmt.Fprintf(c, "echo %s", buf[:n])
			c.Close()
		}
	}
	return 2
}

func exe(t *testing.T) string {
	t.Helper()
	p, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

type syncBuf struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestNowNamesAndStatus(t *testing.T) {
	dir := testenv.ShortDir(t)
	var out syncBuf
	code, err := launcher.Run(context.Background(), launcher.Config{
		Addrs:   []string{filepath.Join(dir, "1.sock"), filepath.Join(dir, "2.sock"), filepath.Join(dir, "3.sock")},
		FDNames: []string{"a", "b"}, // the third descriptor is "unknown"
		Now:     true,
		Env:     []string{childEnv + "=names"},
		Command: []string{exe(t)},
		Stdout:  &out,
	})
	if err != nil {
		t.Fatal(err)
	}
	if code != 3 {
		t.Errorf("exit code %d, want the child's 3", code)
	}
	if want := "a: 1\nunknown: 1\nb: 1\n"; out.String() != want {
		t.Errorf("child printed %q, want %q", out.String(), want)
	}
	for _, p := range []string{"1.sock", "2.sock", "3.sock"} {
		if _, err := os.Stat(filepath.Join(dir, p)); !os.IsNotExist(err) {
			t.Errorf("%s not removed at exit: %v", p, err)
		}
	}
}

// runAsync runs the launcher until the test ends, then checks it stopped.
func runAsync(t *testing.T, cfg launcher.Config) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	type result struct {
		code int
		err  error
	}
	done := make(chan result, 1)
	go func() {
		code, err := launcher.Run(ctx, cfg)
		done <- result{code, err}
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case r := <-done:
			// The child dies of the SIGTERM sent on cancel: 128+15.
			if r.err != nil || r.code != 143 {
				t.Errorf("Run = %d, %v; want 143, nil", r.code, r.err)
			}
		case <-time.After(20 * time.Second):
			t.Error("Run did not return after cancel")
		}
	})
}

func TestDatagram(t *testing.T) {
	dir := testenv.ShortDir(t)
	p := filepath.Join(dir, "dg.sock")
	runAsync(t, launcher.Config{
		Addrs:   []string{p},
		FDNames: []string{"dg"},
		Type:    launcher.Datagram,
		Env:     []string{childEnv + "=dgram"},
		Command: []string{exe(t)},
	})
	me, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: filepath.Join(dir, "me.sock"), Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer me.Close()
	to := &net.UnixAddr{Name: p, Net: "unixgram"}
	deadline := time.Now().Add(10 * time.Second)
	for { // the launcher binds in its goroutine: poll for it, with a deadline
		if _, err = me.WriteTo([]byte("ping"), to); err == nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err != nil {
		t.Fatal(err)
	}
	me.SetReadDeadline(time.Now().Add(10 * time.Second))
	buf := make([]byte, 100)
	n, _, err := me.ReadFrom(buf)
	if err != nil {
		t.Fatal(err)
	}
	if got := string(buf[:n]); got != "echo ping" {
		t.Errorf("answer %q, want %q", got, "echo ping")
	}
}

func TestDatagramUDP(t *testing.T) {
	free, err := net.ListenPacket("udp", "127.0.0.1:0") // a free port, released for the launcher
	if err != nil {
		t.Fatal(err)
	}
	addr := free.LocalAddr().String()
	free.Close()
	runAsync(t, launcher.Config{
		Addrs:   []string{addr},
		FDNames: []string{"dg"},
		Type:    launcher.Datagram,
		Env:     []string{childEnv + "=dgram"},
		Command: []string{exe(t)},
	})
	me, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer me.Close()
	to, err := net.ResolveUDPAddr("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 100)
	// UDP gives no error before the launcher binds: resend until answered,
	// with a deadline.
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := me.WriteTo([]byte("ping"), to); err != nil {
			t.Fatal(err)
		}
		me.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
		n, _, err := me.ReadFrom(buf)
		if err == nil {
			if got := string(buf[:n]); got != "echo ping" {
				t.Errorf("answer %q, want %q", got, "echo ping")
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no answer over UDP: %v", err)
		}
	}
}

func TestSeqPacket(t *testing.T) {
	p := filepath.Join(testenv.ShortDir(t), "sp.sock")
	runAsync(t, launcher.Config{
		Addrs:   []string{p},
		FDNames: []string{"sp"},
		Type:    launcher.SeqPacket,
		Env:     []string{childEnv + "=seqpacket"},
		Command: []string{exe(t)},
	})
	var c net.Conn
	var err error
	deadline := time.Now().Add(10 * time.Second)
	for { // the launcher binds in its goroutine: poll for it, with a deadline
		if c, err = net.Dial("unixpacket", p); err == nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	c.Write([]byte("hello"))
	buf := make([]byte, 100)
	n, err := c.Read(buf)
	if err != nil {
		t.Fatal(err)
	}
	if got := string(buf[:n]); got != "echo hello" {
		t.Errorf("answer %q, want %q", got, "echo hello")
	}
}

func TestAcceptSeqPacket(t *testing.T) {
	p := filepath.Join(testenv.ShortDir(t), "as.sock")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		code, err := launcher.Run(ctx, launcher.Config{
			Addrs:   []string{p},
			Type:    launcher.SeqPacket,
			Accept:  true,
			Env:     []string{childEnv + "=conn"},
			Command: []string{exe(t)},
		})
		if err == nil && code != 0 {
			err = fmt.Errorf("exit code %d, want 0", code)
		}
		done <- err
	}()
	var answers []string
	for i := range 2 {
		var c net.Conn
		var err error
		deadline := time.Now().Add(10 * time.Second)
		for { // the launcher binds in its goroutine: poll for it, with a deadline
			if c, err = net.Dial("unixpacket", p); err == nil || time.Now().After(deadline) {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(10 * time.Second))
		fmt.Fprintf(c, "msg%d", i)
		buf := make([]byte, 100)
		n, err := c.Read(buf)
		c.Close()
		if err != nil {
			t.Fatal(err)
		}
		answers = append(answers, string(buf[:n]))
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	a, b := strings.Fields(answers[0]), strings.Fields(answers[1])
	if len(a) != 3 || len(b) != 3 || a[2] != "msg0" || b[2] != "msg1" || a[1] == b[1] {
		t.Errorf("answers %q: want one child (pid) per connection, each answering its own message", answers)
	}
}

func TestBadConfig(t *testing.T) {
	ok := launcher.Config{Addrs: []string{"/tmp/x.sock"}, Command: []string{"true"}}
	for name, mod := range map[string]func(*launcher.Config){
		"no command":      func(c *launcher.Config) { c.Command = nil },
		"empty command":   func(c *launcher.Config) { c.Command = []string{""} },
		"no address":      func(c *launcher.Config) { c.Addrs = nil },
		"too many names":  func(c *launcher.Config) { c.FDNames = []string{"a", "b"} },
		"name with colon": func(c *launcher.Config) { c.FDNames = []string{"a:b"} },
		"empty name":      func(c *launcher.Config) { c.FDNames = []string{""} },
		"bad env":         func(c *launcher.Config) { c.Env = []string{"=x"} },
		"datagram accept": func(c *launcher.Config) { c.Type, c.Accept = launcher.Datagram, true },
		"datagram inetd":  func(c *launcher.Config) { c.Type, c.Inetd = launcher.Datagram, true },
		"now accept":      func(c *launcher.Config) { c.Now, c.Accept = true, true },
		"restart accept":  func(c *launcher.Config) { c.Restart, c.Accept = true, true },
		"unknown type":    func(c *launcher.Config) { c.Type = 9 },
	} {
		cfg := ok
		mod(&cfg)
		if _, err := launcher.Run(context.Background(), cfg); !errors.Is(err, launcher.ErrBadConfig) {
			t.Errorf("%s: Run error %v, want ErrBadConfig", name, err)
		}
	}
}

func TestBindErrors(t *testing.T) {
	dir := testenv.ShortDir(t)
	for name, cfg := range map[string]launcher.Config{
		"seqpacket over tcp": {Addrs: []string{"127.0.0.1:0"}, Type: launcher.SeqPacket},
		"datagram fd":        {Addrs: []string{"fd:3"}, Type: launcher.Datagram},
		"not a directory":    {Addrs: []string{filepath.Join(exe(t), "x.sock")}},
		"second fails":       {Addrs: []string{filepath.Join(dir, "ok.sock"), "tcp:bad host:1"}},
	} {
		cfg.Command = []string{"true"}
		_, err := launcher.Run(context.Background(), cfg)
		if err == nil || errors.Is(err, launcher.ErrBadConfig) || !strings.Contains(err.Error(), "cannot listen on") {
			t.Errorf("%s: Run error %v, want a bind error", name, err)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "ok.sock")); !os.IsNotExist(err) {
		t.Errorf("the address bound before the failing one was not released: %v", err)
	}
}
