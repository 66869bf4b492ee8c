package bench

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"runtime/trace"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Params are what a worker role is told on its command line.
type Params struct {
	Role     string        // registered role name
	Mode     string        // what the role does: sink, source, echo, ping, idle, sub, pub, reply, request
	Addr     string        // address to listen on (servers) or dial (clients)
	Size     int           // payload size in bytes
	Conns    int           // connections this process opens (clients) or waits for (servers)
	Duration time.Duration // how long a sender sends
	Topic    string        // topic (switchboard, NATS) for messages
	Subs     int           // extra idle subscriptions (scaling with patterns)
	Wire     string        // switchboard wire protocol: native or socket-ipc
	CPUProf  string        // write a CPU profile of this worker here
	Trace    string        // write an execution trace of this worker here
}

// Args returns p as worker command-line arguments, the inverse of
// ParseParams.
func (p Params) Args() []string {
	a := []string{"--role", p.Role, "--mode", p.Mode, "--addr", p.Addr,
		"--size", fmt.Sprint(p.Size), "--conns", fmt.Sprint(p.Conns),
		"--duration", p.Duration.String(), "--topic", p.Topic,
		"--subs", fmt.Sprint(p.Subs), "--wire", p.Wire}
	if p.CPUProf != "" {
		a = append(a, "--cpuprofile", p.CPUProf)
	}
	if p.Trace != "" {
		a = append(a, "--trace", p.Trace)
	}
	return a
}

// ParseParams parses worker arguments as written by Params.Args.
func ParseParams(args []string) (Params, error) {
	var p Params
	fs := flag.NewFlagSet("bench worker", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&p.Role, "role", "", "")
	fs.StringVar(&p.Mode, "mode", "", "")
	fs.StringVar(&p.Addr, "addr", "", "")
	fs.IntVar(&p.Size, "size", 64, "")
	fs.IntVar(&p.Conns, "conns", 1, "")
	fs.DurationVar(&p.Duration, "duration", 2*time.Second, "")
	fs.StringVar(&p.Topic, "topic", "bench", "")
	fs.IntVar(&p.Subs, "subs", 0, "")
	fs.StringVar(&p.Wire, "wire", "native", "")
	fs.StringVar(&p.CPUProf, "cpuprofile", "", "")
	fs.StringVar(&p.Trace, "trace", "", "")
	if err := fs.Parse(args); err != nil {
		return p, err
	}
	if fs.NArg() > 0 {
		return p, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if p.Role == "" {
		return p, errors.New("missing --role")
	}
	return p, nil
}

// Role is the body of a worker process. It signals readiness with w.Ready,
// waits for w.Go before it starts, and reports once with w.Report. It returns
// when its work is done or ctx (cancelled on "stop") ends.
type Role func(ctx context.Context, w *Worker, p Params) error

var (
	rolesMu sync.Mutex
	roles   = map[string]Role{}
)

// Register makes a role available to worker processes. Packages that add
// transports (the CLI registers NATS and the switchboard roles) call it from
// init. Registering a name twice panics: it is a programming error.
func Register(name string, r Role) {
	rolesMu.Lock()
	defer rolesMu.Unlock()
	if _, dup := roles[name]; dup {
		panic("bench: role registered twice: " + name)
	}
	roles[name] = r
}

// Roles returns the registered role names, sorted.
func Roles() []string {
	rolesMu.Lock()
	defer rolesMu.Unlock()
	names := make([]string, 0, len(roles))
	for n := range roles {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func lookupRole(name string) Role {
	rolesMu.Lock()
	defer rolesMu.Unlock()
	return roles[name]
}

// Report is what a worker sends back as its result line.
type Report struct {
	Event string `json:"event"` // "result"
	// Receivers: messages counted in the sampled window [First, Last].
	Count int64 `json:"count,omitempty"`
	First int64 `json:"first,omitempty"` // unix ns of the first sample that saw messages
	Last  int64 `json:"last,omitempty"`  // unix ns of the last sample in which the count grew
	// Senders: messages sent.
	Sent int64 `json:"sent,omitempty"`
	// Latency measurers: percentiles of the round trips, in ns.
	P50     int64 `json:"p50,omitempty"`
	P99     int64 `json:"p99,omitempty"`
	Samples int64 `json:"samples,omitempty"`
	// Resident set size of the worker in bytes, when asked.
	RSS int64 `json:"rss,omitempty"`
	// Err is set when the role failed.
	Err string `json:"err,omitempty"`
}

// line is any message a worker writes; the parent decodes every line into it.
type line struct {
	Event string `json:"event"`
	Addr  string `json:"addr,omitempty"`
	RSS   int64  `json:"rss,omitempty"`
	Report
}

// Worker is a role's connection to the parent process.
type Worker struct {
	outMu sync.Mutex
	out   *json.Encoder

	goCh     chan struct{} // closed on "go"
	stopCh   chan struct{} // closed on "stop" or stdin EOF
	rssCh    chan struct{} // one value per "rss"
	markCh   chan int64    // one value per "mark N"
	heapProf string        // prefix of heap profiles written by SendRSS; "" for none
	heapN    int
	reported bool
}

// Go is closed when the parent says go.
func (w *Worker) Go() <-chan struct{} { return w.goCh }

// Stopped is closed when the parent says stop or goes away.
func (w *Worker) Stopped() <-chan struct{} { return w.stopCh }

// RSSRequests delivers one value per "rss" command; a role that must answer
// them (servers of the memory scenarios) calls w.SendRSS for each.
func (w *Worker) RSSRequests() <-chan struct{} { return w.rssCh }

// Marks delivers the N of each "mark N" command: a point in time (unix ns)
// the parent tells a worker about, such as when it killed a process.
func (w *Worker) Marks() <-chan int64 { return w.markCh }

// Event tells the parent that something happened (a line {"event":name}).
func (w *Worker) Event(name string) { w.write(line{Event: name}) }

// Ready tells the parent the worker is listening at addr (servers) or
// connected and subscribed (clients; addr empty).
func (w *Worker) Ready(addr string) { w.write(line{Event: "ready", Addr: addr}) }

// SendRSS reports the worker's resident memory after a full GC. When the
// worker profiles (--cpuprofile), it also writes a heap profile beside the
// CPU profile, named after it with ".heapN" for the N-th report.
func (w *Worker) SendRSS() {
	runtime.GC()
	debug.FreeOSMemory()
	if w.heapProf != "" {
		if f, err := os.Create(fmt.Sprintf("%s.heap%d", w.heapProf, w.heapN)); err == nil {
			pprof.WriteHeapProfile(f)
			f.Close()
		}
		w.heapN++
	}
	w.write(line{Event: "rss", RSS: RSS()})
}

// Report sends the worker's result. Only the first call counts.
func (w *Worker) Report(r Report) {
	w.outMu.Lock()
	if w.reported {
		w.outMu.Unlock()
		return
	}
	w.reported = true
	w.outMu.Unlock()
	r.Event = "result"
	w.write(line{Event: "result", Report: r})
}

func (w *Worker) write(l line) {
	w.outMu.Lock()
	defer w.outMu.Unlock()
	w.out.Encode(l) // a broken stdout means the parent is gone; nothing to tell
}

func (w *Worker) readCommands(in io.Reader) {
	sc := bufio.NewScanner(in)
	var goOnce, stopOnce sync.Once
	defer stopOnce.Do(func() { close(w.stopCh) })
	for sc.Scan() {
		cmd := strings.TrimSpace(sc.Text())
		if v, ok := strings.CutPrefix(cmd, "mark "); ok {
			if n, err := strconv.ParseInt(v, 10, 64); err == nil {
				select {
				case w.markCh <- n:
				default:
				}
			}
			continue
		}
		switch cmd {
		case "go":
			goOnce.Do(func() { close(w.goCh) })
		case "stop":
			return
		case "rss":
			select {
			case w.rssCh <- struct{}{}:
			default:
			}
		}
	}
}

// RunWorker runs the worker process described by args (the arguments after
// the hidden worker flag), reading commands from in and writing results to
// out. It returns a process exit code: 0 when the role succeeded.
func RunWorker(ctx context.Context, args []string, in io.Reader, out io.Writer, errw io.Writer) int {
	p, err := ParseParams(args)
	if err != nil {
		fmt.Fprintf(errw, "bench worker: %v\n", err)
		return 2
	}
	role := lookupRole(p.Role)
	if role == nil {
		fmt.Fprintf(errw, "bench worker: unknown role %q (have %s)\n", p.Role, strings.Join(Roles(), ", "))
		return 2
	}
	raiseFileLimit()
	for _, r := range []struct {
		path  string
		start func(io.Writer) error
		stop  func()
	}{
		{p.CPUProf, pprof.StartCPUProfile, pprof.StopCPUProfile},
		{p.Trace, trace.Start, trace.Stop},
	} {
		stop, err := record(r.path, r.start, r.stop)
		if err != nil {
			fmt.Fprintf(errw, "bench worker: %v\n", err)
			return 1
		}
		defer stop()
	}
	w := &Worker{
		out:    json.NewEncoder(out),
		goCh:   make(chan struct{}),
		stopCh: make(chan struct{}),
		rssCh:  make(chan struct{}, 1),
		markCh: make(chan int64, 1),
	}
	w.heapProf = strings.TrimSuffix(p.CPUProf, ".prof")
	go w.readCommands(in)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-w.stopCh:
			cancel()
		case <-ctx.Done():
		}
	}()
	if err := role(ctx, w, p); err != nil {
		w.Report(Report{Err: err.Error()})
		fmt.Fprintf(errw, "bench worker %s/%s: %v\n", p.Role, p.Mode, err)
		return 1
	}
	return 0
}

// raiseFileLimit lifts the soft open-file limit to the hard limit, so the
// memory scenario's 10,000 connections fit in one process.
func raiseFileLimit() {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return
	}
	if lim.Cur < lim.Max {
		lim.Cur = lim.Max
		syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim) // best effort: the scenario reports the dial error
	}
}

// RSS returns the resident set size of this process in bytes (0 when the
// platform does not tell).
func RSS() int64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		var ru syscall.Rusage
		if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
			return ru.Maxrss * 1024 // peak, not current: the best portable figure
		}
		return 0
	}
	var size, resident int64
	if _, err := fmt.Sscan(string(b), &size, &resident); err != nil {
		return 0
	}
	return resident * int64(os.Getpagesize())
}

// record starts a recorder (a CPU profile, an execution trace) writing to
// a new file at path, and returns what stops it and closes the file. An
// empty path records nothing.
func record(path string, start func(io.Writer) error, stop func()) (func(), error) {
	if path == "" {
		return func() {}, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := start(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() { stop(); f.Close() }, nil
}
