package main

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// runBenchCLI runs "switchboard bench args..." in this process; its workers
// are the test binary re-executed as the CLI (see TestMain).
func runBenchCLI(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	old := benchWorkerEnv
	benchWorkerEnv = []string{envRunMain + "=1"}
	t.Cleanup(func() { benchWorkerEnv = old })
	var out, errb bytes.Buffer
	code = run(t.Context(), append([]string{"bench"}, args...), &stdio{in: strings.NewReader(""), out: &out, err: &errb})
	return code, out.String(), errb.String()
}

// TestBenchEndToEnd runs one switchboard scenario with its raw baseline in
// real worker processes, briefly, and checks what --json and --svg produce.
// It asserts the shape of the results, never a speed.
func TestBenchEndToEnd(t *testing.T) {
	svg := filepath.Join(t.TempDir(), "bench.svg")
	code, stdout, stderr := runBenchCLI(t, "--scenario", "direct-c2s-64", "--scenario", "reqrep-direct-p50",
		"--duration", "200ms", "--runs", "1", "--json", "--svg", svg)
	if code != exitOK {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d JSON lines, want 2:\n%s", len(lines), stdout)
	}
	want := []string{"direct-c2s-64", "reqrep-direct-p50"}
	for i, l := range lines {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("line %d is not JSON: %v: %s", i, err, l)
		}
		for _, f := range []string{"scenario", "value", "unit", "baseline", "ratio", "target", "met"} {
			if _, ok := m[f]; !ok {
				t.Errorf("line %d lacks %q: %s", i, f, l)
			}
		}
		if m["scenario"] != want[i] {
			t.Errorf("line %d is scenario %v, want %s", i, m["scenario"], want[i])
		}
		value, _ := m["value"].(float64)
		baseline, _ := m["baseline"].(float64)
		ratio, _ := m["ratio"].(float64)
		if value <= 0 || baseline <= 0 {
			t.Errorf("%s: value %v baseline %v, want both positive", want[i], value, baseline)
			continue
		}
		// ratio = value / baseline, for throughput and latency alike.
		if math.Abs(ratio-value/baseline) > 1e-9*ratio {
			t.Errorf("%s: ratio %v, want value/baseline = %v", want[i], ratio, value/baseline)
		}
		if _, ok := m["met"].(bool); !ok {
			t.Errorf("%s: met is %T, want a boolean", want[i], m["met"])
		}
	}
	if !strings.Contains(stderr, "raw stream c2s 64 B") || !strings.Contains(stderr, "sb stream c2s 64 B") {
		t.Errorf("progress does not name both measurements:\n%s", stderr)
	}
	checkBenchSVG(t, svg, want)
}

// checkBenchSVG parses the chart and expects one bar per scenario.
func checkBenchSVG(t *testing.T, path string, scenarios []string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	dec := xml.NewDecoder(bytes.NewReader(b))
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
		var class, scen string
		for _, a := range se.Attr {
			switch a.Name.Local {
			case "class":
				class = a.Value
			case "data-scenario":
				scen = a.Value
			}
		}
		if se.Name.Local == "rect" && class == "bar" {
			bars[scen]++
		}
	}
	if root != "svg" {
		t.Fatalf("root element %q, want svg", root)
	}
	if len(bars) != len(scenarios) {
		t.Errorf("bars for %v, want one each for %v", bars, scenarios)
	}
	for _, s := range scenarios {
		if bars[s] != 1 {
			t.Errorf("%d bars for %s, want 1", bars[s], s)
		}
	}
}

func TestBenchUsage(t *testing.T) {
	for _, args := range [][]string{
		{"--scenario", "no-such-scenario"},
		{"--against", "zeromq"},
		{"--runs", "0"},
		{"extra"},
	} {
		code, _, stderr := runBenchCLI(t, args...)
		if code != exitUsage || !strings.Contains(stderr, "switchboard bench:") {
			t.Errorf("bench %v: exit %d, stderr %q; want usage error (2)", args, code, stderr)
		}
	}
	code, stdout, _ := runBenchCLI(t, "--list")
	if code != exitOK || !strings.Contains(stdout, "hub-pubsub-64-nats") || !strings.Contains(stdout, "idle-10000") {
		t.Errorf("--list: exit %d:\n%s", code, stdout)
	}
	code, _, stderr := runBenchCLI(t, "--worker", "--role", "no-such-role")
	if code != exitUsage || !strings.Contains(stderr, "unknown role") {
		t.Errorf("worker with unknown role: exit %d, stderr %q", code, stderr)
	}
}

// TestBenchFrom redraws results saved by --json without measuring.
func TestBenchFrom(t *testing.T) {
	dir := t.TempDir()
	saved := filepath.Join(dir, "r.json")
	data := `{"scenario":"direct-c2s-64","value":5e6,"unit":"msg/s","baseline":1e7,"baseline_name":"raw","ratio":0.5,"target":0.5,"target_of":"ratio","better":"higher","met":true,"measured":true,"runs":3,"group":"g"}
{"scenario":"channel-takeover-p50","value":0,"unit":"ms","baseline":0,"ratio":0,"target":100,"target_of":"value","better":"lower","met":false,"measured":false,"group":"h","note":"not measured: later"}
`
	if err := os.WriteFile(saved, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	svg := filepath.Join(dir, "c.svg")
	code, stdout, stderr := runBenchCLI(t, "--from", saved, "--svg", svg)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(stdout, "direct-c2s-64") || !strings.Contains(stdout, "0.50x") || !strings.Contains(stdout, "not measured: later") {
		t.Errorf("table:\n%s", stdout)
	}
	checkBenchSVG(t, svg, []string{"direct-c2s-64", "channel-takeover-p50"})
	if code, _, _ := runBenchCLI(t, "--from", filepath.Join(dir, "missing.json")); code != exitFailure {
		t.Errorf("--from a missing file: exit %d, want 1", code)
	}
}

// TestBenchTakeover measures the channel takeover once: members in real
// processes, the host SIGKILLed. No baseline: the target is on the value.
func TestBenchTakeover(t *testing.T) {
	code, stdout, stderr := runBenchCLI(t, "--scenario", "channel-takeover-p50", "--runs", "1", "--takeovers", "2", "--json")
	if code != exitOK {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	var r struct {
		Scenario string  `json:"scenario"`
		Value    float64 `json:"value"`
		Baseline float64 `json:"baseline"`
		Unit     string  `json:"unit"`
		TargetOf string  `json:"target_of"`
		Measured bool    `json:"measured"`
	}
	if err := json.Unmarshal([]byte(strings.TrimSpace(stdout)), &r); err != nil {
		t.Fatalf("%v: %s", err, stdout)
	}
	if !r.Measured || r.Value <= 0 || r.Baseline != 0 || r.Unit != "ms" || r.TargetOf != "value" {
		t.Errorf("takeover result %+v: want measured, a positive value in ms, no baseline, a target on the value", r)
	}
}
