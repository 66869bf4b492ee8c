package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"time"
)

// Config says what to measure and how to start worker processes.
type Config struct {
	// Scenarios to run, by name; empty means DefaultScenarios.
	Scenarios []string
	// Duration of each measurement's sending phase (default 2s).
	Duration time.Duration
	// Runs per measurement; reported figures are medians (default 3).
	Runs int
	// Against lists the peers to measure: NATS and/or Node. Scenarios that
	// need a peer not listed are reported as not measured.
	Against []string
	// Worker returns the command that runs a worker of this program with the
	// given worker arguments (ParseParams reads them). Required.
	Worker func(args []string) *exec.Cmd
	// NodeModules is the node_modules directory holding
	// @crussell52/socket-ipc, for the Node peer.
	NodeModules string
	// CPUProfileDir, when set, makes every switchboard worker write a CPU
	// profile there, named after the measurement and its role.
	CPUProfileDir string
	// TraceDir, when set, makes every switchboard worker write an
	// execution trace (runtime/trace) there, named like the profiles with
	// ".trace": the scheduler's view of each process, for go tool trace.
	TraceDir string
	// Takeovers is how many times one run of the channel takeover scenario
	// kills the channel's host (default 20); its p99 is over these.
	Takeovers int
	// Progress, when set, receives one line per measurement run.
	Progress io.Writer
}

// Result is one scenario's outcome. Its JSON form is what --json prints.
type Result struct {
	Scenario     string    `json:"scenario"`
	About        string    `json:"about"`
	Value        float64   `json:"value"`
	Unit         string    `json:"unit"`
	Baseline     float64   `json:"baseline"`
	BaselineName string    `json:"baseline_name"`
	Ratio        float64   `json:"ratio"`     // value / baseline
	Target       float64   `json:"target"`    // 0: no target
	TargetOf     string    `json:"target_of"` // "ratio" or "value"
	Better       string    `json:"better"`    // "higher" or "lower"
	Met          bool      `json:"met"`
	Measured     bool      `json:"measured"`
	Runs         int       `json:"runs"`
	Values       []float64 `json:"values"`          // per run
	Baselines    []float64 `json:"baseline_values"` // per run
	Note         string    `json:"note,omitempty"`
	Group        string    `json:"group"` // the chart's section: what the ratio compares
}

// HasTarget reports whether the scenario has a target to meet.
func (r *Result) HasTarget() bool { return r.Target > 0 }

// judge fills Ratio and Met from Value, Baseline and the target.
func (r *Result) judge() {
	if r.Baseline > 0 {
		r.Ratio = r.Value / r.Baseline
	}
	if !r.HasTarget() || !r.Measured {
		return
	}
	x := r.Ratio
	if r.TargetOf == OfValue {
		x = r.Value
	}
	if r.Better == Higher {
		r.Met = x >= r.Target
	} else {
		r.Met = x > 0 && x <= r.Target
	}
}

func (c *Config) fill() error {
	if c.Duration <= 0 {
		c.Duration = 2 * time.Second
	}
	if c.Runs <= 0 {
		c.Runs = 3
	}
	if c.Takeovers <= 0 {
		c.Takeovers = 20
	}
	if len(c.Scenarios) == 0 {
		c.Scenarios = DefaultScenarios
	}
	if c.Worker == nil {
		return errors.New("bench: Config.Worker is required")
	}
	for _, a := range c.Against {
		if a != NATS && a != Node {
			return fmt.Errorf("bench: unknown peer %q (nats or node)", a)
		}
	}
	return nil
}

func (c *Config) against(peer string) bool {
	for _, a := range c.Against {
		if a == peer {
			return true
		}
	}
	return false
}

// Scenarios resolves names (and the set names "targets" and "scale") into
// scenarios, each once, failing on the first unknown name.
func Scenarios(names []string) ([]Scenario, error) {
	var out []Scenario
	seen := map[string]bool{}
	for _, n := range names {
		expanded := []string{n}
		if set, ok := scenarioSets[n]; ok {
			expanded = set
		}
		for _, name := range expanded {
			if seen[name] {
				continue
			}
			seen[name] = true
			s, err := Lookup(name)
			if err != nil {
				return nil, err
			}
			out = append(out, s)
		}
	}
	return out, nil
}

// Run measures every scenario of cfg and returns one result per scenario, in
// order. A measurement that fails is reported in its scenarios' Note and as
// the returned error; the others still run.
func Run(ctx context.Context, cfg Config) ([]Result, error) {
	if err := cfg.fill(); err != nil {
		return nil, err
	}
	scens, err := Scenarios(cfg.Scenarios)
	if err != nil {
		return nil, err
	}
	results := make([]Result, len(scens))
	pairs := make([]pair, len(scens)) // zero Measure: not measured
	for i := range scens {
		s := &scens[i]
		results[i] = Result{
			Scenario: s.Name, About: s.About, Unit: s.Unit, BaselineName: s.BaselineName, Group: s.group(),
			Target: s.Target, TargetOf: s.TargetOf, Better: s.Better,
			Values: []float64{}, Baselines: []float64{},
		}
		switch peer := s.needs(); {
		case s.NotMeasured != "":
			results[i].Note = "not measured: " + s.NotMeasured
			continue
		case peer != "" && !cfg.against(peer):
			results[i].Note = "not measured: run with --against " + peer
			continue
		}
		pairs[i] = pair{s.Measure, s.Baseline}
	}
	slots, at := planRun(pairs)

	// Every run measures the same slots in the same order; a figure and its
	// baseline are next to each other in it, so that load from elsewhere on
	// the machine, which changes over seconds, falls on both alike.
	failed := map[Spec]error{}
	samples := make([][]map[string]float64, cfg.Runs) // per run, per slot; nil when it failed
	for run := range cfg.Runs {
		samples[run] = make([]map[string]float64, len(slots))
		for j, sp := range slots {
			if failed[sp] != nil {
				continue
			}
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			label := fmt.Sprintf("run%d", run+1)
			if k := repeat(slots, j); k > 1 {
				label += fmt.Sprintf("-%d", k)
			}
			start := time.Now()
			m, err := measure(ctx, &cfg, sp, label)
			if err != nil {
				failed[sp] = fmt.Errorf("%v: %w", sp, err)
				if cfg.Progress != nil {
					fmt.Fprintf(cfg.Progress, "run %d/%d  %-36v  FAILED: %v\n", run+1, cfg.Runs, sp, err)
				}
				continue
			}
			samples[run][j] = m
			if cfg.Progress != nil {
				fmt.Fprintf(cfg.Progress, "run %d/%d  %-36v  %s  (%.1fs)\n", run+1, cfg.Runs, sp, formatMetrics(sp, m), time.Since(start).Seconds())
			}
		}
	}

	var errs []error
	for i := range scens {
		s, r := &scens[i], &results[i]
		if r.Note != "" {
			continue
		}
		if err := errors.Join(failed[s.Baseline], failed[s.Measure]); err != nil {
			r.Note = "failed: " + err.Error()
			errs = append(errs, fmt.Errorf("%s: %w", s.Name, err))
			continue
		}
		for run := range cfg.Runs {
			r.Values = append(r.Values, samples[run][at[i].measure][s.Metric])
			if at[i].baseline >= 0 {
				r.Baselines = append(r.Baselines, samples[run][at[i].baseline][s.Metric])
			}
		}
		r.Value, r.Baseline = median(r.Values), median(r.Baselines)
		r.Runs = len(r.Values)
		r.Measured = r.Value > 0 && (r.Baseline > 0 || s.Baseline == Spec{})
		if !r.Measured {
			r.Note = "failed: nothing was measured (no messages arrived)"
			errs = append(errs, fmt.Errorf("%s: nothing measured", s.Name))
		}
		r.judge()
	}
	return results, errors.Join(dedupe(errs)...)
}

// pair is what a scenario compares: its measurement and its baseline (zero
// for none).
type pair struct{ measure, baseline Spec }

// slotsOf says where a scenario's measurement and baseline are in a run's
// slots (baseline -1 for none).
type slotsOf struct{ measure, baseline int }

// nearby bounds how far apart in a run a scenario's figure and baseline
// are measured: fewer than nearby slots, a few seconds of a run that lasts
// minutes. A measurement further back is made again.
const nearby = 3

// planRun orders the measurements of one run for the scenarios' pairs
// (those with a zero measure are not measured): each scenario's baseline
// and then its measurement, reusing one measured close enough (see nearby)
// and measuring it again otherwise. A baseline shared by many scenarios
// (the raw stream, the one-client figure) is measured again next to each
// one that is far from the last measurement of it.
func planRun(pairs []pair) ([]Spec, []slotsOf) {
	var slots []Spec
	// place returns the last slot of sp from slot from on, appending one
	// when there is none.
	place := func(sp Spec, from int) int {
		for j := len(slots) - 1; j >= 0 && j >= from; j-- {
			if slots[j] == sp {
				return j
			}
		}
		slots = append(slots, sp)
		return len(slots) - 1
	}
	at := make([]slotsOf, len(pairs))
	planned := map[pair]slotsOf{} // the rows of one measurement (p50, p99) share it
	for i, p := range pairs {
		at[i] = slotsOf{-1, -1}
		if p.measure == (Spec{}) {
			continue
		}
		if sl, ok := planned[p]; ok {
			at[i] = sl
			continue
		}
		// The baseline within the last nearby-1 slots, the measurement
		// within nearby-1 of it: appended after it, or found close.
		near := len(slots) - (nearby - 1)
		if p.baseline != (Spec{}) {
			at[i].baseline = place(p.baseline, near)
			near = at[i].baseline - (nearby - 1)
		}
		at[i].measure = place(p.measure, near)
		planned[p] = at[i]
	}
	return slots, at
}

// repeat returns which measurement of slots[j] in its run slot j is: 1 for
// the first.
func repeat(slots []Spec, j int) int {
	k := 0
	for _, sp := range slots[:j+1] {
		if sp == slots[j] {
			k++
		}
	}
	return k
}

func dedupe(errs []error) []error {
	seen := map[string]bool{}
	var out []error
	for _, e := range errs {
		if !seen[e.Error()] {
			seen[e.Error()] = true
			out = append(out, e)
		}
	}
	return out
}

func formatMetrics(sp Spec, m map[string]float64) string {
	switch {
	case sp.Layout == LayoutTakeover:
		return fmt.Sprintf("p50 %.1f ms  p99 %.1f ms", m[MetricP50], m[MetricP99])
	case m[MetricRate] > 0:
		return fmt.Sprintf("%s msg/s", human(m[MetricRate]))
	case m[MetricP50] > 0:
		return fmt.Sprintf("p50 %.1f us  p99 %.1f us", m[MetricP50], m[MetricP99])
	case m[MetricPerConn] > 0:
		return fmt.Sprintf("%.0f B/conn", m[MetricPerConn])
	}
	return "nothing"
}

// tempDir returns a fresh directory with a short path for Unix sockets.
func tempDir() (string, error) {
	return os.MkdirTemp("", "sbb")
}

// profilePath names a CPU profile for a worker of spec sp.
func profilePath(dir string, sp Spec, label, role string) string {
	if dir == "" {
		return ""
	}
	name := fmt.Sprintf("%v-%s-%s.prof", sp, label, role)
	clean := make([]byte, 0, len(name))
	for _, c := range []byte(name) {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '.', c == '-':
			clean = append(clean, c)
		default:
			clean = append(clean, '_')
		}
	}
	return filepath.Join(dir, string(clean))
}
