package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strings"
	"text/tabwriter"
)

// human writes a rate with a k/M/G suffix and three significant digits.
func human(v float64) string {
	switch a := math.Abs(v); {
	case a >= 1e9:
		return fmt.Sprintf("%.3gG", v/1e9)
	case a >= 1e6:
		return fmt.Sprintf("%.3gM", v/1e6)
	case a >= 1e3:
		return fmt.Sprintf("%.3gk", v/1e3)
	}
	return fmt.Sprintf("%.3g", v)
}

// FormatValue writes v in unit for people.
func FormatValue(v float64, unit string) string {
	switch unit {
	case "us", "ms":
		return fmt.Sprintf("%.1f", v)
	case "B/conn":
		if v >= 1024 {
			return fmt.Sprintf("%.1f Ki", v/1024)
		}
		return fmt.Sprintf("%.0f", v)
	}
	return human(v)
}

// displayUnit is unit as the table and chart print it.
func displayUnit(unit string) string {
	if unit == "us" {
		return "µs"
	}
	return unit
}

// TargetText writes r's target for people: ">= 0.50x", "<= 1.5x",
// "<= 16 KiB", or "-" when there is none.
func (r *Result) TargetText() string {
	if !r.HasTarget() {
		return "-"
	}
	op := ">="
	if r.Better == Lower {
		op = "<="
	}
	if r.TargetOf == OfValue {
		if r.Unit == "B/conn" {
			return fmt.Sprintf("%s %g KiB", op, r.Target/1024)
		}
		return fmt.Sprintf("%s %g %s", op, r.Target, displayUnit(r.Unit))
	}
	return fmt.Sprintf("%s %.2gx", op, r.Target)
}

// MetText is "yes", "NO", "-" (no target) or "n/a" (not measured).
func (r *Result) MetText() string {
	switch {
	case !r.Measured:
		return "n/a"
	case !r.HasTarget():
		return "-"
	case r.Met:
		return "yes"
	}
	return "NO"
}

// WriteTable prints results as an aligned table with a line per scenario and
// the notes of the scenarios that were not measured below it.
func WriteTable(w io.Writer, results []Result) error {
	// Numbers read best right-aligned; names left-aligned, padded by hand.
	width := len("scenario")
	for i := range results {
		width = max(width, len(results[i].Scenario))
	}
	tw := tabwriter.NewWriter(w, 2, 8, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "%-*s\tvalue\tunit\tbaseline\tratio\ttarget\tmet\t\n", width, "scenario")
	var notes []string
	for i := range results {
		r := &results[i]
		if !r.Measured {
			fmt.Fprintf(tw, "%-*s\t-\t%s\t-\t-\t%s\t%s\t\n", width, r.Scenario, displayUnit(r.Unit), r.TargetText(), r.MetText())
			notes = append(notes, fmt.Sprintf("%s: %s", r.Scenario, r.Note))
			continue
		}
		baseline, ratio := "-", "-"
		if r.Baseline > 0 {
			baseline, ratio = FormatValue(r.Baseline, r.Unit), fmt.Sprintf("%.2fx", r.Ratio)
		}
		fmt.Fprintf(tw, "%-*s\t%s\t%s\t%s\t%s\t%s\t%s\t\n", width, r.Scenario,
			FormatValue(r.Value, r.Unit), displayUnit(r.Unit), baseline, ratio, r.TargetText(), r.MetText())
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(results) > 0 && results[0].Runs > 0 {
		fmt.Fprintf(w, "\nmedian of %d run(s); ratio = value / baseline (measured in the same run)\n", results[0].Runs)
	}
	for _, n := range notes {
		fmt.Fprintln(w, n)
	}
	return nil
}

// WriteBaselines prints what each baseline is.
func WriteBaselines(w io.Writer, results []Result) {
	seen := map[string]bool{}
	for _, r := range results {
		if r.Measured && r.Baseline > 0 && !seen[r.BaselineName] {
			seen[r.BaselineName] = true
			fmt.Fprintf(w, "  %-40s %s %s\n", r.BaselineName, FormatValue(r.Baseline, r.Unit), displayUnit(r.Unit))
		}
	}
}

// WriteJSON prints one JSON object per line per result.
func WriteJSON(w io.Writer, results []Result) error {
	enc := json.NewEncoder(w)
	for i := range results {
		if err := enc.Encode(&results[i]); err != nil {
			return err
		}
	}
	return nil
}

// xmlEscape escapes text for SVG.
func xmlEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;").Replace(s)
}
