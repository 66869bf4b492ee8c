package channel

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/switchboard-ipc/switchboard/internal/testenv"
)

// Multi-process tests re-run the test binary as a channel member: with
// SB_CHANNEL_CHILD set, TestMain runs childMain instead of the tests.
//
// A child joins the channel SB_CHANNEL_NAME in SB_CHANNEL_DIR, reads
// commands on stdin and reports on stdout, one line each:
//
//	stdin                stdout
//	connect              joined true|false      (Connect; whether it hosts)
//	members N            members N              (once the host reports N members)
//	go                   -                      (publish 1, 2, 3... on "m", one per ms)
//	stop                 sent N                 (stop publishing, Flush; N = last published)
//	want ID N            got ID K               (wait up to 20 s until K >= N from ID)
//	count                count N                (messages received so far)
//	quit                 -                      (Close and exit 0)
//	                     id ID                  (at start)
//	                     host ID                (each time it becomes the host)
//	                     ping FROM              (a "ping" received; each member pings on connect)
//	                     err TEXT               (a message out of order or duplicated)
const childEnv = "SB_CHANNEL_CHILD"

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) != "" {
		os.Exit(childMain())
	}
	os.Exit(m.Run())
}

func childMain() int {
	var outMu sync.Mutex
	say := func(format string, args ...any) {
		outMu.Lock()
		fmt.Fprintf(os.Stdout, format+"\n", args...)
		outMu.Unlock()
	}
	opts := []Option{WithDir(os.Getenv("SB_CHANNEL_DIR")), WithQueue(1000)}
	if ttl, err := time.ParseDuration(os.Getenv("SB_CHANNEL_TTL")); err == nil {
		opts = append(opts, WithSessionTTL(ttl))
	}
	var c *Channel
	ready := make(chan struct{})
	opts = append(opts,
		OnHost(func() { say("host %s", c.ID()) }),
		OnConnect(func(bool) {
			<-ready
			c.Publish(context.Background(), "ping", c.ID())
		}))
	c, err := Open(os.Getenv("SB_CHANNEL_NAME"), opts...)
	if err != nil {
		say("err open: %v", err)
		return 1
	}
	close(ready)
	defer c.Close()
	say("id %s", c.ID())

	var mu sync.Mutex
	last := map[string]int{}
	total := 0
	changed := make(chan struct{}, 1)
	c.Subscribe("m", func(m *Message) {
		var n int
		m.Decode(&n)
		mu.Lock()
		if n != last[m.From]+1 {
			say("err from %s: got %d after %d", m.From, n, last[m.From])
		}
		last[m.From] = n
		total++
		mu.Unlock()
		select {
		case changed <- struct{}{}:
		default:
		}
	})
	c.Subscribe("ping", func(m *Message) { say("ping %s", m.From) })

	var pubStop chan struct{}
	var pubDone chan int
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		f := strings.Fields(in.Text())
		if len(f) == 0 {
			continue
		}
		switch f[0] {
		case "connect":
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			err := c.Connect(ctx)
			cancel()
			if err != nil {
				say("err connect: %v", err)
				continue
			}
			say("joined %v", c.Hosting())
		case "members":
			n, _ := strconv.Atoi(f[1])
			deadline := time.Now().Add(20 * time.Second)
			for len(c.Members()) != n && time.Now().Before(deadline) {
				time.Sleep(time.Millisecond) // polling with a deadline
			}
			if got := len(c.Members()); got != n {
				say("err members: %d, want %d", got, n)
				continue
			}
			say("members %d", n)
		case "go":
			pubStop, pubDone = make(chan struct{}), make(chan int, 1)
			go func(stop chan struct{}, done chan int) {
				t := time.NewTicker(time.Millisecond)
				defer t.Stop()
				n := 0
				for {
					select {
					case <-stop:
						done <- n
						return
					case <-t.C:
					}
					if err := c.Publish(context.Background(), "m", n+1); err != nil {
						say("err publish: %v", err)
						done <- n
						return
					}
					n++
				}
			}(pubStop, pubDone)
		case "stop":
			close(pubStop)
			n := <-pubDone
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			err := c.Flush(ctx)
			cancel()
			if err != nil {
				say("err flush: %v", err)
				continue
			}
			say("sent %d", n)
		case "want":
			n, _ := strconv.Atoi(f[2])
			deadline := time.After(20 * time.Second)
			for {
				mu.Lock()
				k := last[f[1]]
				mu.Unlock()
				if k >= n {
					break
				}
				select {
				case <-changed:
					continue
				case <-deadline:
				}
				break
			}
			mu.Lock()
			say("got %s %d", f[1], last[f[1]])
			mu.Unlock()
		case "count":
			mu.Lock()
			say("count %d", total)
			mu.Unlock()
		case "quit":
			return 0
		}
	}
	return 0
}

// child is a member process run by a test.
type child struct {
	t     testing.TB
	ev    *events
	id    string
	cmd   *exec.Cmd
	stdin io.WriteCloser
	lines chan string // stdout lines that are not events
	dead  chan struct{}
}

// events collects the asynchronous lines of every child of a test.
type events struct {
	deadline time.Time // no wait of the test goes beyond it

	mu    sync.Mutex
	hosts []string // ids, in the order "host" lines arrived
	pings []ping
	errs  []string
	wake  chan struct{}
}

type ping struct {
	at       time.Time
	from, to string
}

// newEvents bounds every wait of the test to d from now.
func newEvents(d time.Duration) *events {
	return &events{deadline: time.Now().Add(d), wake: make(chan struct{}, 1)}
}

// until returns a timer channel for d, or for the test's deadline if sooner.
func (e *events) until(d time.Duration) <-chan time.Time {
	return time.After(min(d, time.Until(e.deadline)))
}

func (e *events) kick() {
	select {
	case e.wake <- struct{}{}:
	default:
	}
}

// waitFor polls cond (called with e.mu held) until it is true or the
// deadline passes.
func (e *events) waitFor(t testing.TB, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := e.until(d)
	for {
		e.mu.Lock()
		ok := cond()
		errs := append([]string(nil), e.errs...)
		e.mu.Unlock()
		if len(errs) > 0 {
			t.Fatalf("children reported errors: %q", errs)
		}
		if ok {
			return
		}
		select {
		case <-e.wake:
		case <-deadline:
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// startChild runs the test binary as a member of name in dir.
func startChild(t testing.TB, ev *events, dir, name string, env ...string) *child {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"=1", "SB_CHANNEL_DIR="+dir, "SB_CHANNEL_NAME="+name)
	cmd.Env = append(cmd.Env, env...)
	stdin, stdout := testenv.StartPiped(t, cmd)
	c := &child{t: t, ev: ev, cmd: cmd, stdin: stdin, lines: make(chan string, 64), dead: make(chan struct{})}
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-c.dead
	})
	idc := make(chan string, 1)
	go func() {
		defer close(c.dead)
		defer cmd.Wait()
		s := bufio.NewScanner(stdout)
		for s.Scan() {
			line := s.Text()
			now := time.Now()
			kind, rest, _ := strings.Cut(line, " ")
			switch kind {
			case "id":
				idc <- rest
			case "host":
				ev.mu.Lock()
				ev.hosts = append(ev.hosts, rest)
				ev.mu.Unlock()
				ev.kick()
			case "ping":
				ev.mu.Lock()
				ev.pings = append(ev.pings, ping{at: now, from: rest, to: c.id})
				ev.mu.Unlock()
				ev.kick()
			case "err":
				ev.mu.Lock()
				ev.errs = append(ev.errs, line)
				ev.mu.Unlock()
				ev.kick()
			default:
				c.lines <- line
			}
		}
	}()
	select {
	case c.id = <-idc:
	case <-ev.until(20 * time.Second):
		t.Fatal("child did not start")
	}
	return c
}

// send writes a command to the child.
func (c *child) send(cmd string) {
	c.t.Helper()
	if _, err := io.WriteString(c.stdin, cmd+"\n"); err != nil {
		c.t.Fatalf("child %s: %v", c.id, err)
	}
}

// expect reads the child's next reply line and checks its first word.
func (c *child) expect(word string) []string {
	c.t.Helper()
	select {
	case line := <-c.lines:
		f := strings.Fields(line)
		if len(f) == 0 || f[0] != word {
			c.t.Fatalf("child %s said %q, want %q", c.id, line, word)
		}
		return f
	case <-c.dead:
		c.t.Fatalf("child %s exited waiting for %q", c.id, word)
	case <-c.ev.until(30 * time.Second):
		c.t.Fatalf("child %s: no %q", c.id, word)
	}
	return nil
}

func (c *child) kill() {
	c.cmd.Process.Signal(syscall.SIGKILL)
	<-c.dead
}

// TestElectionManyProcesses: ten processes open one channel at the same
// moment; exactly one hosts and all ten are members of that one host.
func TestElectionManyProcesses(t *testing.T) {
	dir := testenv.ShortDir(t)
	ev := newEvents(50 * time.Second)
	var kids []*child
	for range 10 {
		kids = append(kids, startChild(t, ev, dir, "elect"))
	}
	for _, k := range kids { // every child is up; now all connect at once
		k.send("connect")
	}
	hosting := 0
	for _, k := range kids {
		if k.expect("joined")[1] == "true" {
			hosting++
		}
	}
	if hosting != 1 {
		t.Fatalf("%d processes host, want exactly 1", hosting)
	}
	for _, k := range kids {
		k.send("members 10")
	}
	for _, k := range kids {
		k.expect("members")
	}
	ev.mu.Lock()
	defer ev.mu.Unlock()
	if len(ev.hosts) != 1 {
		t.Fatalf("host events: %q, want exactly one", ev.hosts)
	}
}

// TestChaosHostKilled: six members publish continuously while the host is
// killed with SIGKILL three times; each of the three survivors receives
// every message of every other survivor exactly once and in order (each
// child checks order and duplicates as messages arrive and reports "err"
// otherwise).
func TestChaosHostKilled(t *testing.T) {
	dir := testenv.ShortDir(t)
	ev := newEvents(55 * time.Second) // the whole test stays under a minute
	alive := map[string]*child{}
	var order []string
	for range 6 {
		k := startChild(t, ev, dir, "chaos", "SB_CHANNEL_TTL=2s")
		alive[k.id] = k
		order = append(order, k.id)
		k.send("connect")
		k.expect("joined")
	}
	for _, k := range alive {
		k.send("members 6")
	}
	for _, k := range alive {
		k.expect("members")
	}
	for _, k := range alive {
		k.send("go")
	}
	for kill := range 3 {
		ev.mu.Lock()
		host := ev.hosts[len(ev.hosts)-1]
		nhosts := len(ev.hosts)
		ev.mu.Unlock()
		victim := alive[host]
		if victim == nil {
			t.Fatalf("kill %d: host %s is not alive", kill, host)
		}
		waitTraffic(t, alive)
		victim.kill()
		delete(alive, host)
		ev.waitFor(t, "a new host", 20*time.Second, func() bool { return len(ev.hosts) > nhosts })
		waitTraffic(t, alive)
	}
	var survivors []*child
	for _, id := range order {
		if k := alive[id]; k != nil {
			survivors = append(survivors, k)
		}
	}
	if len(survivors) != 3 {
		t.Fatalf("%d survivors, want 3", len(survivors))
	}
	sent := map[string]int{}
	for _, k := range survivors {
		k.send("stop")
	}
	for _, k := range survivors {
		n, _ := strconv.Atoi(k.expect("sent")[1])
		if n == 0 {
			t.Fatalf("survivor %s published nothing", k.id)
		}
		sent[k.id] = n
	}
	for _, k := range survivors {
		for _, o := range survivors {
			if o != k {
				k.send(fmt.Sprintf("want %s %d", o.id, sent[o.id]))
				f := k.expect("got")
				if got, _ := strconv.Atoi(f[2]); f[1] != o.id || got != sent[o.id] {
					t.Errorf("%s received %s of %d messages from %s", k.id, f[2], sent[o.id], o.id)
				}
			}
		}
	}
	ev.mu.Lock()
	defer ev.mu.Unlock()
	if len(ev.errs) > 0 {
		t.Fatalf("children reported errors: %q", ev.errs)
	}
	t.Logf("survivors published %v messages; hosts in turn: %d", sent, len(ev.hosts))
}

// waitTraffic waits until every child in alive received at least 300 more
// messages than when called.
func waitTraffic(t *testing.T, alive map[string]*child) {
	t.Helper()
	for _, k := range alive {
		k.send("count")
		n0, _ := strconv.Atoi(k.expect("count")[1])
		deadline := time.Now().Add(min(20*time.Second, time.Until(k.ev.deadline)))
		for {
			k.send("count")
			n, _ := strconv.Atoi(k.expect("count")[1])
			if n >= n0+300 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("no traffic reaches %s", k.id)
			}
		}
	}
}
