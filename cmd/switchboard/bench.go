package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/switchboard-ipc/switchboard/internal/bench"
)

var benchCmd = &command{
	name:    "bench",
	summary: "measure switchboard in separate processes against the raw socket and peers",
	usage:   "[--scenario NAME]... [--duration D] [--runs N] [--json] [--svg FILE] [--against nats|node]...",
	help: `
Each scenario runs in real separate processes (this program re-executed as
workers: a server and one or more clients on a Unix socket in a temporary
directory). The raw-socket baseline - a length-prefixed, buffered Unix stream
with the same payloads and the same process layout - is measured in the same
run, right before or after the switchboard figure, and every figure is the
median of --runs runs.

ratio = value / baseline. Throughput targets are met when ratio >= target;
latency targets when ratio <= target; the memory target bounds the value.

The table shows scenario, value, unit, baseline, ratio, target and met.
--json prints one JSON object per scenario per line instead, with at least
scenario, value, unit, baseline, ratio, target, target_of ("ratio" or
"value"), better ("higher" or "lower"), met and measured.

` + bench.ScenarioHelp,
}

// benchWorkerEnv is added to the environment of worker processes. Tests set
// it so that the re-executed test binary runs the CLI.
var benchWorkerEnv []string

// benchWorkerFlag, as the first argument, runs a worker process instead of
// the command. It is for the command's own use and not in --help.
const benchWorkerFlag = "--worker"

func init() {
	benchCmd.run = runBench
}

func runBench(ctx context.Context, sio *stdio, args []string) int {
	if len(args) > 0 && args[0] == benchWorkerFlag {
		return bench.RunWorker(ctx, args[1:], sio.in, sio.out, sio.err)
	}
	fs := newFlags(benchCmd, sio)
	var scenarios, against stringList
	fs.Var(&scenarios, "scenario", "run the scenario `NAME` (repeatable; default: every target of issue 6)")
	duration := fs.Duration("duration", 2*time.Second, "how long each measurement sends")
	runs := fs.Int("runs", 3, "runs per measurement; figures are medians")
	jsonOut := fs.Bool("json", false, "print one JSON object per scenario per line instead of the table")
	svg := fs.String("svg", "", "draw the results as an SVG bar chart into `FILE`")
	fs.Var(&against, "against", "also measure the peer `PEER`: nats or node (repeatable)")
	cpuprofile := fs.String("cpuprofile", "", "write a CPU profile of every switchboard worker into `DIR`")
	traceDir := fs.String("trace", "", "write an execution trace of every switchboard worker into `DIR`")
	nodeModules := fs.String("node-modules", "", "node_modules `DIR` holding @crussell52/socket-ipc (default: test/node/node_modules found upwards)")
	quiet := fs.Bool("q", false, "do not print progress on stderr")
	takeovers := fs.Int("takeovers", 20, "host kills per run of the channel takeover scenarios")
	list := fs.Bool("list", false, "list the default scenarios and exit")
	from := fs.String("from", "", "measure nothing: read results printed by --json from `FILE` and print or draw them")
	if code, done := parseFlags(benchCmd, fs, sio, args); done {
		return code
	}
	if fs.NArg() != 0 {
		return usagef(benchCmd, sio, "unexpected argument %q", fs.Arg(0))
	}
	if *list {
		for _, name := range bench.DefaultScenarios {
			s, err := bench.Lookup(name)
			if err != nil {
				return failf(benchCmd, sio, "%v", err)
			}
			fmt.Fprintf(sio.out, "%-22s %s\n", name, s.About)
		}
		return exitOK
	}
	if *duration <= 0 || *runs <= 0 || *takeovers <= 0 {
		return usagef(benchCmd, sio, "--duration, --runs and --takeovers must be positive")
	}
	for _, a := range against {
		if a != bench.NATS && a != bench.Node {
			return usagef(benchCmd, sio, "--against %q: want nats or node", a)
		}
	}
	if _, err := bench.Scenarios(scenarios); err != nil {
		return usagef(benchCmd, sio, "%v", err)
	}
	exe, err := os.Executable()
	if err != nil {
		return failf(benchCmd, sio, "locating this program to run its workers: %v", err)
	}
	for _, dir := range []*string{cpuprofile, traceDir} {
		if *dir == "" {
			continue
		}
		if err := os.MkdirAll(*dir, 0o755); err != nil {
			return failf(benchCmd, sio, "%v", err)
		}
		if *dir, err = filepath.Abs(*dir); err != nil {
			return failf(benchCmd, sio, "%v", err)
		}
	}
	cfg := bench.Config{
		Scenarios:     scenarios,
		Duration:      *duration,
		Runs:          *runs,
		Against:       against,
		NodeModules:   *nodeModules,
		CPUProfileDir: *cpuprofile,
		TraceDir:      *traceDir,
		Takeovers:     *takeovers,
		Worker: func(args []string) *exec.Cmd {
			cmd := exec.Command(exe, append([]string{"bench", benchWorkerFlag}, args...)...)
			cmd.Env = append(os.Environ(), benchWorkerEnv...)
			return cmd
		},
	}
	if cfg.NodeModules == "" {
		cfg.NodeModules = findNodeModules()
	}
	if !*quiet {
		cfg.Progress = sio.err
	}
	started := time.Now()
	var results []bench.Result
	var runErr error
	if *from != "" {
		if results, err = readResults(*from); err != nil {
			return failf(benchCmd, sio, "%v", err)
		}
		if fi, err := os.Stat(*from); err == nil {
			started = fi.ModTime()
		}
	} else if results, runErr = bench.Run(ctx, cfg); results == nil {
		return failf(benchCmd, sio, "%v", runErr)
	}
	if *jsonOut {
		err = bench.WriteJSON(sio.out, results)
	} else {
		err = bench.WriteTable(sio.out, results)
	}
	if err != nil {
		return failf(benchCmd, sio, "%v", err)
	}
	if *svg != "" {
		if err := writeBenchSVG(*svg, results, started); err != nil {
			return failf(benchCmd, sio, "%v", err)
		}
	}
	if runErr != nil {
		return failf(benchCmd, sio, "%v", runErr)
	}
	return exitOK
}

func writeBenchSVG(path string, results []bench.Result, started time.Time) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	title := fmt.Sprintf("switchboard bench · %s · %s/%s, %d CPUs", started.UTC().Format("2006-01-02 15:04 MST"),
		runtime.GOOS, runtime.GOARCH, runtime.NumCPU())
	if err := bench.WriteSVG(f, results, title); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// readResults reads the JSON lines --json printed.
func readResults(path string) ([]bench.Result, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var out []bench.Result
	dec := json.NewDecoder(bytes.NewReader(b))
	for dec.More() {
		var r bench.Result
		if err := dec.Decode(&r); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		out = append(out, r)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no results", path)
	}
	return out, nil
}

// findNodeModules looks for test/node/node_modules above the working
// directory, then above the directory this file was built from.
func findNodeModules() string {
	if wd, err := os.Getwd(); err == nil {
		if m := bench.FindNodeModules(wd); m != "" {
			return m
		}
	}
	if _, file, _, ok := runtime.Caller(0); ok && !strings.HasPrefix(file, "_") {
		return bench.FindNodeModules(filepath.Dir(file))
	}
	return ""
}
