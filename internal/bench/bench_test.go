package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-ipc/switchboard/internal/testenv"
)

// envWorker, set in a child's environment, makes the test binary run a bench
// worker with its arguments instead of the tests.
const envWorker = "SWITCHBOARD_BENCH_TEST_WORKER"

func TestMain(m *testing.M) {
	if os.Getenv(envWorker) == "1" {
		// The harness's tests stand raw roles in for switchboard's, which
		// the CLI registers: the harness is what is under test here.
		Register("sb-server", rawServer)
		Register("sb-client", rawClient)
		os.Exit(RunWorker(context.Background(), os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

// testWorker starts workers as the test binary re-executed.
func testWorker(t *testing.T) func(args []string) *exec.Cmd {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return func(args []string) *exec.Cmd {
		cmd := exec.Command(exe, args...)
		cmd.Env = append(os.Environ(), envWorker+"=1")
		return cmd
	}
}

func testConfig(t *testing.T, scenarios ...string) Config {
	return Config{
		Scenarios: scenarios,
		Duration:  200 * time.Millisecond,
		Runs:      1,
		Worker:    testWorker(t),
	}
}

func TestBenchRawMeasurements(t *testing.T) {
	cfg := testConfig(t)
	if err := cfg.fill(); err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	for _, tc := range []struct {
		spec   Spec
		metric string
	}{
		{Spec{Layout: LayoutStream, Transport: Raw, Dir: "c2s", Size: 64, Conns: 1}, MetricRate},
		{Spec{Layout: LayoutStream, Transport: Raw, Dir: "s2c", Size: 1024, Conns: 1}, MetricRate},
		{Spec{Layout: LayoutStream, Transport: Raw, Dir: "c2s", Size: 1 << 20, Conns: 1}, MetricRate},
		{Spec{Layout: LayoutStream, Transport: Raw, Dir: "c2s", Size: 64, Conns: 20}, MetricRate},
		{Spec{Layout: LayoutFanout, Transport: Raw, Size: 64, Conns: 10}, MetricRate},
		{Spec{Layout: LayoutPingPong, Transport: Raw, Size: 64, Conns: 1}, MetricP50},
		// The raw relay: a third process between two raw clients.
		{Spec{Layout: LayoutPubSub, Transport: Raw, Size: 64, Conns: 1}, MetricRate},
		{Spec{Layout: LayoutRequest, Transport: Raw, Size: 64, Conns: 1}, MetricP50},
		{Spec{Layout: LayoutIdle, Transport: Raw, Conns: 200}, MetricPerConn},
	} {
		t.Run(tc.spec.String(), func(t *testing.T) {
			m, err := measure(ctx, &cfg, tc.spec, "run1")
			if err != nil {
				t.Fatal(err)
			}
			if v := m[tc.metric]; !(v > 0) || math.IsInf(v, 0) {
				t.Fatalf("%s = %v, want a positive figure (all: %v)", tc.metric, v, m)
			}
			if tc.metric == MetricP50 && m[MetricP99] < m[MetricP50] {
				t.Fatalf("p99 %v below p50 %v", m[MetricP99], m[MetricP50])
			}
		})
	}
}

func TestBenchRunEndToEnd(t *testing.T) {
	cfg := testConfig(t, "direct-c2s-64", "reqrep-direct-p50", "hub-pubsub-64-nats")
	var progress bytes.Buffer
	cfg.Progress = &progress
	results, err := Run(t.Context(), cfg)
	if err != nil {
		t.Fatalf("Run: %v\nprogress:\n%s", err, progress.String())
	}
	if len(results) != 3 {
		t.Fatalf("got %d results, want 3", len(results))
	}
	for _, r := range results[:2] {
		if !r.Measured || r.Value <= 0 || r.Baseline <= 0 {
			t.Fatalf("%s: measured=%v value=%v baseline=%v note=%q", r.Scenario, r.Measured, r.Value, r.Baseline, r.Note)
		}
		if got, want := r.Ratio, r.Value/r.Baseline; math.Abs(got-want) > 1e-9*want {
			t.Errorf("%s: ratio %v, want value/baseline = %v", r.Scenario, got, want)
		}
		if r.Runs != 1 || len(r.Values) != 1 || len(r.Baselines) != 1 {
			t.Errorf("%s: runs %d values %v baselines %v, want one each", r.Scenario, r.Runs, r.Values, r.Baselines)
		}
	}
	if r := results[2]; r.Measured || !strings.Contains(r.Note, "--against nats") {
		t.Errorf("NATS comparison without --against: measured=%v note=%q", r.Measured, r.Note)
	}
	// The two measured scenarios share nothing but each needs a baseline
	// and a figure: four measurement lines.
	if n := strings.Count(progress.String(), "run 1/1"); n != 4 {
		t.Errorf("progress shows %d measurements, want 4:\n%s", n, progress.String())
	}

	var table bytes.Buffer
	if err := WriteTable(&table, results); err != nil {
		t.Fatal(err)
	}
	for _, r := range results {
		if !strings.Contains(table.String(), r.Scenario) {
			t.Errorf("table lacks %s:\n%s", r.Scenario, table.String())
		}
	}
	checkJSON(t, results)
	checkSVG(t, results)
}

func checkJSON(t *testing.T, results []Result) {
	t.Helper()
	var buf bytes.Buffer
	if err := WriteJSON(&buf, results); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != len(results) {
		t.Fatalf("%d JSON lines for %d results", len(lines), len(results))
	}
	for i, l := range lines {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("line %d: %v: %s", i, err, l)
		}
		for _, f := range []string{"scenario", "value", "unit", "baseline", "ratio", "target", "met", "measured"} {
			if _, ok := m[f]; !ok {
				t.Errorf("line %d lacks %q: %s", i, f, l)
			}
		}
		if m["scenario"] != results[i].Scenario {
			t.Errorf("line %d is %v, want %s", i, m["scenario"], results[i].Scenario)
		}
	}
}

// checkSVG parses the chart as XML and finds one bar per result.
func checkSVG(t *testing.T, results []Result) {
	t.Helper()
	var buf bytes.Buffer
	if err := WriteSVG(&buf, results, "test chart"); err != nil {
		t.Fatal(err)
	}
	dec := xml.NewDecoder(&buf)
	bars := map[string]int{}
	var root string
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("chart is not well-formed XML: %v", err)
		}
		se, ok := tok.(xml.StartElement)
		if !ok {
			continue
		}
		if root == "" {
			root = se.Name.Local
		}
		if se.Name.Local != "rect" {
			continue
		}
		var class, scen string
		for _, a := range se.Attr {
			switch a.Name.Local {
			case "class":
				class = a.Value
			case "data-scenario":
				scen = a.Value
			}
		}
		if class == "bar" {
			bars[scen]++
		}
	}
	if root != "svg" {
		t.Fatalf("root element %q, want svg", root)
	}
	for _, r := range results {
		if bars[r.Scenario] != 1 {
			t.Errorf("%d bars for %s, want 1", bars[r.Scenario], r.Scenario)
		}
	}
}

func TestBenchJudge(t *testing.T) {
	for _, tc := range []struct {
		r    Result
		met  bool
		want float64
	}{
		{Result{Value: 60, Baseline: 100, Target: 0.5, TargetOf: OfRatio, Better: Higher, Measured: true}, true, 0.6},
		{Result{Value: 40, Baseline: 100, Target: 0.5, TargetOf: OfRatio, Better: Higher, Measured: true}, false, 0.4},
		{Result{Value: 30, Baseline: 20, Target: 1.5, TargetOf: OfRatio, Better: Lower, Measured: true}, true, 1.5},
		{Result{Value: 31, Baseline: 20, Target: 1.5, TargetOf: OfRatio, Better: Lower, Measured: true}, false, 1.55},
		{Result{Value: 9000, Baseline: 6000, Target: 16384, TargetOf: OfValue, Better: Lower, Measured: true}, true, 1.5},
		{Result{Value: 20000, Baseline: 6000, Target: 16384, TargetOf: OfValue, Better: Lower, Measured: true}, false, 20000.0 / 6000},
		{Result{Value: 5, Baseline: 10, Measured: true}, false, 0.5}, // no target: never "met"
	} {
		r := tc.r
		r.judge()
		if r.Met != tc.met || math.Abs(r.Ratio-tc.want) > 1e-9 {
			t.Errorf("%+v: met %v ratio %v, want %v %v", tc.r, r.Met, r.Ratio, tc.met, tc.want)
		}
	}
}

func TestBenchLookup(t *testing.T) {
	for _, name := range DefaultScenarios {
		s, err := Lookup(name)
		if err != nil {
			t.Fatalf("default scenario %s: %v", name, err)
		}
		if s.Name != name || s.Unit == "" || s.Better == "" {
			t.Errorf("%s: incomplete %+v", name, s)
		}
	}
	for name, size := range map[string]int{"direct-c2s-64": 64, "direct-s2c-1k": 1024, "direct-c2s-1m": 1 << 20, "hub-pubsub-16k": 16 << 10} {
		s, err := Lookup(name)
		if err != nil || s.Measure.Size != size || s.Baseline.Size != size {
			t.Errorf("%s: %+v %v, want size %d", name, s, err, size)
		}
	}
	if s, _ := Lookup("connected-1000"); s.Measure.Idle != 999 || s.Measure.Conns != 1 || s.Baseline.Idle != 0 {
		t.Errorf("connected-1000: measure %+v baseline %+v, want 1 sender and 999 idle against 1 sender", s.Measure, s.Baseline)
	}
	if s, _ := Lookup("reqrep-hub-relay-p99"); s.Metric != MetricP99 || s.Measure.Transport != SB ||
		s.Baseline != (Spec{Layout: LayoutRequest, Transport: Raw, Size: 64, Conns: 1}) || s.Target != 0 {
		t.Errorf("reqrep-hub-relay-p99: %+v, want the hub's p99 against the raw relay's, reported", s)
	}
	for name, want := range map[string]Spec{
		"hub-pubsub-64-nats":  {Layout: LayoutPubSub, Transport: NATS, Size: 64, Conns: 1},
		"hub-pubsub-64-relay": {Layout: LayoutPubSub, Transport: Raw, Size: 64, Conns: 1},
	} {
		if s, _ := Lookup(name); s.Baseline != want || s.Measure.Transport != SB || (s.Target == 3) != (want.Transport == NATS) {
			t.Errorf("%s: %+v, want the hub against %+v (target 3x against NATS only)", name, s, want)
		}
	}
	if s, _ := Lookup("direct-c2s-1k"); s.Target != 0.8 {
		t.Errorf("direct-c2s-1k target %v, want 0.8", s.Target)
	}
	for _, bad := range []string{"", "direct-c2s", "direct-c2s-0", "direct-x-64", "broadcast-x", "idle--1", "nope"} {
		if _, err := Lookup(bad); err == nil {
			t.Errorf("Lookup(%q) succeeded", bad)
		}
	}
}

func TestBenchScenarioSets(t *testing.T) {
	got, err := Scenarios([]string{"direct-c2s-64", "targets", "scale"})
	if err != nil {
		t.Fatal(err)
	}
	want := len(DefaultScenarios)
	for _, n := range ScaleScenarios {
		if !slices.Contains(DefaultScenarios, n) {
			want++
		}
	}
	if len(got) != want || got[0].Name != "direct-c2s-64" {
		t.Errorf("%d scenarios starting with %q, want %d (each once) starting with direct-c2s-64", len(got), got[0].Name, want)
	}
	if _, err := Scenarios([]string{"scale", "bogus"}); err == nil {
		t.Error("an unknown name after a set was accepted")
	}
}

// A run measures every scenario's figure within a few slots of its
// baseline, measuring a shared baseline again where its last measurement
// is further back, and each measurement only as often as that needs.
func TestBenchPlanKeepsPairsTogether(t *testing.T) {
	scens, err := Scenarios([]string{"targets", "scale"})
	if err != nil {
		t.Fatal(err)
	}
	pairs := make([]pair, len(scens))
	distinct := map[Spec]bool{}
	for i, s := range scens {
		pairs[i] = pair{s.Measure, s.Baseline}
		distinct[s.Measure] = true
		if s.Baseline != (Spec{}) {
			distinct[s.Baseline] = true
		}
	}
	slots, at := planRun(pairs)
	for i, s := range scens {
		m, b := at[i].measure, at[i].baseline
		if slots[m] != s.Measure {
			t.Errorf("%s: slot %d holds %v, want its measurement %v", s.Name, m, slots[m], s.Measure)
		}
		if s.Baseline == (Spec{}) {
			if b != -1 {
				t.Errorf("%s has no baseline but was given slot %d", s.Name, b)
			}
			continue
		}
		if slots[b] != s.Baseline {
			t.Errorf("%s: slot %d holds %v, want its baseline %v", s.Name, b, slots[b], s.Baseline)
		}
		if d := max(m-b, b-m); d >= nearby {
			t.Errorf("%s: figure and baseline %d slots apart, want fewer than %d", s.Name, d, nearby)
		}
	}
	if len(slots) > len(distinct)*3/2 {
		t.Errorf("%d measurements per run for %d distinct ones: too many repeats", len(slots), len(distinct))
	}

	// The raw stream shared by four scenarios is measured again once two
	// others came between; a pair planned before (a p99 row after its
	// p50) takes the same slots.
	raw, a, b, c, d := Spec{Transport: Raw, Size: 1}, Spec{Size: 2}, Spec{Size: 3}, Spec{Size: 4}, Spec{Size: 5}
	slots, _ = planRun([]pair{{a, raw}, {b, raw}, {Spec{}, raw}, {c, raw}, {d, raw}, {a, raw}})
	if want := []Spec{raw, a, b, raw, c, d}; !slices.Equal(slots, want) {
		t.Errorf("slots %v, want %v", slots, want)
	}
}

func TestBenchStats(t *testing.T) {
	if m := median([]float64{3, 1, 2}); m != 2 {
		t.Errorf("median = %v, want 2", m)
	}
	if m := median([]float64{4, 1, 2, 3}); m != 2.5 {
		t.Errorf("median = %v, want 2.5", m)
	}
	var l Latencies
	for i := 100; i >= 1; i-- {
		l.Add(time.Duration(i) * time.Microsecond)
	}
	r := l.Report()
	if r.P50 != int64(50*time.Microsecond) || r.P99 != int64(99*time.Microsecond) || r.Samples != 100 {
		t.Errorf("p50 %v p99 %v n %d, want 50µs 99µs 100", time.Duration(r.P50), time.Duration(r.P99), r.Samples)
	}
	if _, err := rateOf([]Report{{Count: 0}}); err == nil {
		t.Error("rateOf with nothing counted succeeded")
	}
	rate, err := rateOf([]Report{{Count: 100, First: 1e9, Last: 2e9}, {Count: 300, First: 1.5e9, Last: 3e9}})
	if err != nil || rate != 200 {
		t.Errorf("rateOf = %v, %v; want 200 over [1s,3s]", rate, err)
	}
}

func TestBenchParamsRoundTrip(t *testing.T) {
	p := Params{Role: "raw-client", Mode: "source", Addr: "/tmp/x.sock", Size: 1024, Conns: 7,
		Duration: 1500 * time.Millisecond, Topic: "a.b", Subs: 3, Wire: "socket-ipc", CPUProf: "/tmp/p", Trace: "/tmp/t"}
	got, err := ParseParams(p.Args())
	if err != nil || got != p {
		t.Fatalf("ParseParams(Args()) = %+v, %v; want %+v", got, err, p)
	}
	if _, err := ParseParams([]string{"--mode", "x"}); err == nil {
		t.Error("ParseParams without --role succeeded")
	}
}

func TestBenchWorkerFailureIsReported(t *testing.T) {
	cfg := testConfig(t)
	if err := cfg.fill(); err != nil {
		t.Fatal(err)
	}
	// A mode no role knows: the worker fails and the parent says why.
	_, err := measure(t.Context(), &cfg, Spec{Layout: "nope", Transport: Raw}, "run1")
	if err == nil {
		t.Fatal("unknown layout measured")
	}
	cmd := testWorker(t)([]string{"--role", "raw-server", "--mode", "nope", "--addr", testenv.ShortDir(t) + "/s"})
	p, err := startProc("bad", cmd)
	if err != nil {
		t.Fatal(err)
	}
	defer p.kill()
	if _, err := p.await(t.Context(), "ready", 10*time.Second); err == nil || !strings.Contains(err.Error(), "unknown mode") {
		t.Fatalf("await = %v, want the worker's unknown-mode error", err)
	}
}

// With CPUProfileDir and TraceDir, every worker of a measurement writes a
// CPU profile and an execution trace, named alike.
func TestBenchProfilesAndTraces(t *testing.T) {
	cfg := testConfig(t, "direct-c2s-64")
	cfg.CPUProfileDir, cfg.TraceDir = t.TempDir(), t.TempDir()
	if _, err := Run(t.Context(), cfg); err != nil {
		t.Fatal(err)
	}
	profs, _ := filepath.Glob(filepath.Join(cfg.CPUProfileDir, "*.prof"))
	traces, _ := filepath.Glob(filepath.Join(cfg.TraceDir, "*.trace"))
	// A baseline and a measurement, a server and a client each.
	if len(profs) != 4 || len(traces) != 4 {
		t.Fatalf("%d profiles, %d traces; want 4 each:\n%v\n%v", len(profs), len(traces), profs, traces)
	}
	for i, tr := range traces {
		if got, want := strings.TrimSuffix(filepath.Base(tr), ".trace"), strings.TrimSuffix(filepath.Base(profs[i]), ".prof"); got != want {
			t.Errorf("trace %s named unlike profile %s", got, want)
		}
		b, err := os.ReadFile(tr)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.HasPrefix(b, []byte("go 1.")) {
			t.Errorf("%s is not an execution trace (starts %q)", tr, b[:min(len(b), 16)])
		}
	}
}
