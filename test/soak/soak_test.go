package soak

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/switchboard-ipc/switchboard/internal/testenv"
	"github.com/switchboard-ipc/switchboard/ipc"
	"github.com/switchboard-ipc/switchboard/wire"
)

var soakFor = flag.Duration("soak", 0, "run the long soak: 10,000 held connections and this much churn (0: the short CI version)")

func TestMain(m *testing.M) {
	if os.Getenv(envChild) == "" {
		flag.Parse()
		os.Exit(m.Run())
	}
	go func() {
		sc := bufio.NewScanner(os.Stdin)
		for sc.Scan() {
			commands <- sc.Text()
		}
		os.Exit(0)
	}()
	n, _ := strconv.Atoi(os.Getenv(envCount))
	if err := holder(os.Getenv(envAddr), n); err != nil {
		say("error %v", err)
		os.Exit(1)
	}
	os.Exit(0)
}

// The bounds on growth, from before the connections were made to after they
// all ended, with the hub still running. The heap keeps a high-water mark
// that is not a leak: the Go runtime never frees goroutine descriptors (two
// goroutines per connection, about 400 bytes each, reused by later
// goroutines), and maps keep the buckets they grew to (the hub's session
// and connection maps). Hence an allowance per connection at the peak, on
// top of a fixed one; churn at a steady number of connections must add
// nothing to it.
const (
	goroutineSlack = 5       // goroutines
	fdSlack        = 2       // descriptors
	heapSlackFixed = 4 << 20 // bytes
	heapSlackConn  = 2048    // bytes per connection at the peak
)

type usage struct {
	goroutines, fds int
	heap            uint64
}

func measure(t *testing.T) usage {
	t.Helper()
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return usage{goroutines: runtime.NumGoroutine(), fds: len(ents), heap: ms.HeapAlloc}
}

func (u usage) String() string {
	return fmt.Sprintf("goroutines %d, fds %d, heap %.1f MiB", u.goroutines, u.fds, float64(u.heap)/(1<<20))
}

// TestSoak holds many connections to a hub, churns others, publishes to all
// held connections and makes requests, and checks that nothing was lost and
// that the hub is no bigger afterwards than before.
func TestSoak(t *testing.T) {
	conns, holders, churnFor, every := 1000, 1, 5*time.Second, 100*time.Millisecond
	if *soakFor > 0 {
		conns, holders, churnFor, every = 10000, 4, *soakFor, time.Second
	}
	if raceEnabled && conns > 2000 {
		t.Fatalf("run the long soak without -race: the race detector allows 8128 live goroutines and %d connections need more", conns)
	}
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	lim.Cur = lim.Max
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	if need := uint64(conns + 1000); lim.Cur < need {
		t.Fatalf("RLIMIT_NOFILE is %d; %d connections need %d (raise it with ulimit -n)", lim.Cur, conns, need)
	}
	// Setting up and tearing down take seconds; leave them a margin, and
	// shorten the churn rather than be killed by go test's -timeout
	// (default 10m: run a 10-minute soak with -timeout 15m).
	const margin = 2 * time.Minute
	if dl, ok := t.Deadline(); ok && time.Until(dl) < churnFor+margin {
		short := max(time.Until(dl)-margin, 5*time.Second)
		t.Logf("churning %v instead of %v to end before go test's -timeout; raise -timeout for the full run", short.Round(time.Second), churnFor)
		churnFor = short
	}
	ctx, cancel := context.WithTimeout(context.Background(), churnFor+margin)
	defer cancel()

	addr := filepath.Join(testenv.ShortDir(t), "hub.sock")
	store := ipc.NewSessionStore()
	var peerGone, misdetected atomic.Int64
	var hubErrMu sync.Mutex
	var hubErrs []error
	srv, err := ipc.NewServer(ipc.ServerConfig{Hub: true, Sessions: store, SessionTTL: 500 * time.Millisecond,
		OnError: func(err error) {
			// A churned client that closes while the hub writes to it
			// (an ack, a reply) is reported as a broken pipe or reset:
			// the peer left, nothing was lost on its account.
			if errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.ECONNRESET) {
				peerGone.Add(1)
				return
			}
			// On a loaded machine a native client's preface can come after
			// DetectTimeout: the hub takes it for a socket-ipc client and
			// fails it on the preface's NUL byte; the client retries and
			// nothing is lost. Counted apart until ipc tells a late
			// preface from JSON (see docs/security.md).
			if errors.Is(err, ipc.ErrDecode) && errors.Is(err, wire.ErrInvalidJSON) {
				misdetected.Add(1)
				return
			}
			hubErrMu.Lock()
			hubErrs = append(hubErrs, err)
			hubErrMu.Unlock()
		}})
	if err != nil {
		t.Fatal(err)
	}
	srv.Handle("req.server", func(m *ipc.Message) {
		var v int
		m.Decode(&v)
		m.Respond(v + 1)
	})
	if err := srv.Listen(ctx, addr); err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	dial := func() *ipc.Client {
		c, err := ipc.Dial(ctx, addr, ipc.WithRetryDelay(5*time.Millisecond, 50*time.Millisecond))
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	// Warm up every path once, so that lazily made things count as before.
	w := dial()
	if _, err := w.Request(ctx, "req.server", 1); err != nil {
		t.Fatal(err)
	}
	w.Close()
	waitFor(t, ctx, "warm-up client gone", func() bool { return len(srv.Clients()) == 0 && store.Len() == 0 })
	before := measure(t)

	// Hold conns connections from child processes.
	kids := make([]child, holders)
	for i := range kids {
		kids[i] = startChild(t, envChild+"=holder", envAddr+"="+addr, envCount+"="+strconv.Itoa(conns/holders))
	}
	for _, k := range kids {
		k.expect("ready ", 0, 2*time.Minute)
	}
	waitFor(t, ctx, "held connections", func() bool { return len(srv.Clients()) == conns })

	// A responder on the hub and a publisher that broadcasts to every held
	// connection while the churn runs.
	resp := dial()
	defer resp.Close()
	if _, err := resp.Subscribe(ctx, "req.hub", func(m *ipc.Message) {
		var v int
		m.Decode(&v)
		m.Respond(v * 2)
	}); err != nil {
		t.Fatal(err)
	}
	pub := dial() // broadcasts to the held connections
	defer pub.Close()
	cpub := dial() // publishes to the churned ones
	defer cpub.Close()

	var broadcasts, churned, requests atomic.Int64
	churnEnd := time.Now().Add(churnFor)
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	wg.Go(func() {
		for i := 0; time.Now().Before(churnEnd) && i < 100000; i++ {
			if err := pub.Send(ctx, "hold.all", i); err != nil {
				errs <- fmt.Errorf("broadcast %d: %w", i, err)
				return
			}
			broadcasts.Add(1)
			select {
			case <-time.After(every):
			case <-ctx.Done():
				return
			}
		}
	})
	for wk := range 4 {
		wg.Go(func() {
			for i := 0; time.Now().Before(churnEnd) && i < 1000000; i++ {
				if err := churnOnce(ctx, addr, cpub, wk, i); err != nil {
					errs <- fmt.Errorf("churn worker %d, round %d: %w", wk, i, err)
					return
				}
				churned.Add(1)
				requests.Add(2)
			}
		})
	}
	peak := 0
	for time.Now().Before(churnEnd) {
		peak = max(peak, len(srv.Clients()))
		select {
		case err := <-errs:
			t.Fatal(err)
		case <-time.After(50 * time.Millisecond):
		}
	}
	wg.Wait()
	select {
	case err := <-errs:
		t.Fatal(err)
	default:
	}
	if err := pub.Flush(ctx); err != nil {
		t.Fatal(err)
	}

	// Every held connection got every broadcast.
	b := broadcasts.Load()
	for i, k := range kids {
		want := int64(conns/holders) * b
		k.send(fmt.Sprintf("count %d", want))
		line, _ := k.expect("count ", 0, 2*time.Minute)
		if got, _ := strconv.ParseInt(strings.TrimPrefix(line, "count "), 10, 64); got != want {
			t.Errorf("holder %d: its %d clients received %d messages, want %d (%d broadcasts each)", i, conns/holders, got, want, b)
		}
	}
	hubErrMu.Lock()
	if len(hubErrs) != 0 {
		t.Errorf("%d errors reported by the hub: %v", len(hubErrs), hubErrs)
	}
	hubErrMu.Unlock()

	// Disconnect everything and compare.
	for _, k := range kids {
		k.send("close")
	}
	for _, k := range kids {
		k.expect("closed", 0, 2*time.Minute)
		k.kill()
	}
	resp.Close()
	pub.Close()
	cpub.Close()
	waitFor(t, ctx, "every client and session gone", func() bool { return len(srv.Clients()) == 0 && store.Len() == 0 })
	heapBound := before.heap + heapSlackFixed + uint64(heapSlackConn*peak)
	var after usage
	settleBy := time.Now().Add(30 * time.Second)
	for {
		after = measure(t)
		if after.goroutines <= before.goroutines+goroutineSlack && after.fds <= before.fds+fdSlack && after.heap <= heapBound {
			break
		}
		if time.Now().After(settleBy) {
			buf := make([]byte, 1<<16)
			buf = buf[:runtime.Stack(buf, true)]
			t.Fatalf("growth beyond the bounds: before %v; after %v (bounds: +%d goroutines, +%d fds, heap <= %.1f MiB)\n%s",
				before, after, goroutineSlack, fdSlack, float64(heapBound)/(1<<20), buf)
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("held %d connections (peak %d clients) for %v of churn: %d connect/disconnect cycles, %d requests, %d broadcasts (%d deliveries to held connections, 0 lost)",
		conns, peak, churnFor, churned.Load(), requests.Load(), b, b*int64(conns))
	t.Logf("before: %v; after: %v; %d writes to departed peers, %d native clients taken for socket-ipc (retried)", before, after, peerGone.Load(), misdetected.Load())
}

// churnOnce connects a client, subscribes, gets one message published to it
// through the hub, makes a request to the server and one through the hub,
// and disconnects.
func churnOnce(ctx context.Context, addr string, pub *ipc.Client, wk, i int) error {
	c, err := ipc.Dial(ctx, addr, ipc.WithRetryDelay(5*time.Millisecond, 50*time.Millisecond))
	if err != nil {
		return err
	}
	defer c.Close()
	topic := fmt.Sprintf("churn.%d", wk)
	got := make(chan int, 1)
	if _, err := c.Subscribe(ctx, topic, func(m *ipc.Message) {
		var v int
		m.Decode(&v)
		select {
		case got <- v:
		default:
		}
	}); err != nil {
		return err
	}
	if err := pub.Send(ctx, topic, i); err != nil {
		return err
	}
	select {
	case v := <-got:
		if v != i {
			return fmt.Errorf("got %d on %s, want %d", v, topic, i)
		}
	case <-time.After(10 * time.Second):
		return fmt.Errorf("nothing on %s within 10s", topic)
	}
	rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	for _, r := range []struct {
		topic string
		want  int
	}{{"req.server", i + 1}, {"req.hub", i * 2}} {
		m, err := c.Request(rctx, r.topic, i)
		if err != nil {
			return fmt.Errorf("request %s: %w", r.topic, err)
		}
		var v int
		if err := m.Decode(&v); err != nil || v != r.want {
			return fmt.Errorf("request %s: reply %d, %v; want %d", r.topic, v, err, r.want)
		}
	}
	return c.Close()
}

func waitFor(t *testing.T, ctx context.Context, what string, cond func() bool) {
	t.Helper()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatalf("%s: not before the test's deadline", what)
		case <-time.After(10 * time.Millisecond):
		}
	}
}
