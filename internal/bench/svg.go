package bench

import (
	"fmt"
	"io"
	"math"
	"strings"
)

// Chart geometry, in SVG user units (pixels).
const (
	svgWidth    = 1040
	svgLabelX   = 16  // left edge of the scenario labels
	svgPlotX0   = 300 // x of ratio 0
	svgPlotX1   = 780 // x of the largest ratio drawn
	svgValueX   = 800 // left edge of the value column
	svgTop      = 96  // y of the first section
	svgGroupH   = 52  // a section's header: its name and its axis
	svgRowH     = 44
	svgBarH     = 20
	svgMaxScale = 10.0 // ratios beyond this are drawn to the edge
)

// Colours: met, missed, no target; chosen to be told apart by most people
// with a colour-vision deficiency as well (blue/orange rather than green/red).
const (
	colMet    = "#1f77b4"
	colMissed = "#e8710a"
	colNone   = "#8c96a0"
	colTarget = "#222222"
)

// WriteSVG draws results as a horizontal bar chart: one bar per scenario,
// its length the ratio to the baseline measured in the same run, the
// baseline (1x) as a dashed line and each target as a mark on its row. Rows
// are grouped by what they compare (Result.Group), each group on its own
// scale so that small ratios stay readable beside large ones.
func WriteSVG(w io.Writer, results []Result, title string) error {
	type group struct {
		name string
		rows []*Result
	}
	var groups []*group
	byName := map[string]*group{}
	for i := range results {
		r := &results[i]
		g := byName[r.Group]
		if g == nil {
			g = &group{name: r.Group}
			byName[r.Group] = g
			groups = append(groups, g)
		}
		g.rows = append(g.rows, r)
	}
	height := svgTop + len(results)*svgRowH + len(groups)*svgGroupH + 80

	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...); b.WriteByte('\n') }
	p(`<?xml version="1.0" encoding="UTF-8"?>`)
	p(`<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="DejaVu Sans, Helvetica, Arial, sans-serif">`,
		svgWidth, height, svgWidth, height)
	p(`<rect width="100%%" height="100%%" fill="#ffffff"/>`)
	p(`<text x="%d" y="32" font-size="20" font-weight="bold" fill="#111">%s</text>`, svgLabelX, xmlEscape(title))
	p(`<text x="%d" y="54" font-size="13" fill="#444">Each bar: switchboard ÷ its baseline, both measured in the same run (medians). The dashed line is the baseline (1×).</text>`, svgLabelX)

	// Legend, under the title.
	ly := 80
	p(`<rect x="%d" y="%d" width="18" height="14" fill="%s"/><text x="%d" y="%d" font-size="13" fill="#333">target met</text>`, svgLabelX, ly-11, colMet, svgLabelX+24, ly)
	p(`<rect x="%d" y="%d" width="18" height="14" fill="%s"/><text x="%d" y="%d" font-size="13" fill="#333">target missed</text>`, svgLabelX+130, ly-11, colMissed, svgLabelX+154, ly)
	p(`<rect x="%d" y="%d" width="18" height="14" fill="%s"/><text x="%d" y="%d" font-size="13" fill="#333">no target (reported)</text>`, svgLabelX+275, ly-11, colNone, svgLabelX+299, ly)
	p(`<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="%s" stroke-width="3"/><text x="%d" y="%d" font-size="13" fill="#333">target</text>`,
		svgLabelX+470, ly-13, svgLabelX+470, ly+3, colTarget, svgLabelX+480, ly)
	p(`<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#111" stroke-width="2" stroke-dasharray="6 4"/><text x="%d" y="%d" font-size="13" fill="#333">baseline (1×)</text>`,
		svgLabelX+560, ly-13, svgLabelX+560, ly+3, svgLabelX+570, ly)

	y := svgTop
	for _, g := range groups {
		scale := 1.0
		for _, r := range g.rows {
			if r.Measured {
				scale = math.Max(scale, plotRatio(r))
			}
			scale = math.Max(scale, targetRatio(r))
		}
		scale = niceCeil(math.Min(scale*1.12, svgMaxScale))
		x := func(ratio float64) float64 {
			return svgPlotX0 + (svgPlotX1-svgPlotX0)*math.Min(ratio, scale)/scale
		}

		// Section header: its name, then the axis of its scale.
		p(`<text x="%d" y="%d" font-size="15" font-weight="bold" fill="#0b3d91">%s</text>`, svgLabelX, y+22, xmlEscape(g.name))
		axisY := y + svgGroupH - 6
		top, bottom := y+svgGroupH, y+svgGroupH+svgRowH*len(g.rows)
		step := tickStep(scale)
		for t := 0.0; t <= scale+1e-9; t += step {
			xt := x(t)
			p(`<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#e4e7eb" stroke-width="1"/>`, xt, top, xt, bottom)
			p(`<text x="%.1f" y="%d" font-size="11" fill="#555" text-anchor="middle">%s×</text>`, xt, axisY, trimFloat(t))
		}
		y = top
		for i, r := range g.rows {
			drawRow(p, r, y, i, x, scale)
			y += svgRowH
		}
		hasBaseline := false
		for _, r := range g.rows {
			hasBaseline = hasBaseline || r.Baseline > 0
		}
		if hasBaseline {
			xb := x(1)
			p(`<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#111" stroke-width="2" stroke-dasharray="6 4"/>`, xb, top, xb, bottom)
		}
	}
	p(`<text x="%d" y="%d" font-size="12" fill="#555">Throughput: the bar must reach its target mark. Latency and memory: the bar must stay left of it.</text>`, svgLabelX, y+30)
	p(`</svg>`)
	_, err := io.WriteString(w, b.String())
	return err
}

// drawRow draws one scenario's row at y: its label, bar, ratio, target mark
// and figures.
func drawRow(p func(string, ...any), r *Result, y, i int, x func(float64) float64, scale float64) {
	mid := y + svgRowH/2
	if i%2 == 0 {
		p(`<rect x="0" y="%d" width="%d" height="%d" fill="#f4f6f8"/>`, y, svgWidth, svgRowH)
	}
	p(`<text x="%d" y="%d" font-size="14" font-weight="bold" fill="#111">%s</text>`, svgLabelX, mid-3, xmlEscape(r.Scenario))
	if r.BaselineName != "" {
		p(`<text x="%d" y="%d" font-size="11" fill="#666">vs %s</text>`, svgLabelX, mid+13, xmlEscape(clip(r.BaselineName, 40)))
	}
	if !r.Measured {
		p(`<text x="%d" y="%d" font-size="13" font-style="italic" fill="#777">not measured</text>`, svgPlotX0+8, mid+5)
		p(`<rect class="bar" data-scenario="%s" x="%d" y="%d" width="0" height="%d" fill="none"/>`,
			xmlEscape(r.Scenario), svgPlotX0, mid-svgBarH/2, svgBarH)
		if r.HasTarget() {
			p(`<text x="%d" y="%d" font-size="11" fill="#666">target %s</text>`, svgValueX, mid+5, xmlEscape(r.TargetText()))
		}
		return
	}
	col := colNone
	if r.HasTarget() {
		col = colMissed
		if r.Met {
			col = colMet
		}
	}
	ratio := plotRatio(r)
	xe := x(ratio)
	p(`<rect class="bar" data-scenario="%s" x="%d" y="%d" width="%.1f" height="%d" rx="2" fill="%s"/>`,
		xmlEscape(r.Scenario), svgPlotX0, mid-svgBarH/2, xe-svgPlotX0, svgBarH, col)
	labelX := xe
	if t := targetRatio(r); t > 0 {
		xt := x(t)
		p(`<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="%s" stroke-width="3"/>`, xt, mid-svgBarH/2-5, xt, mid+svgBarH/2+5, colTarget)
		if xt >= xe && xt-xe < 44 {
			labelX = xt // keep the label clear of the mark
		}
	}
	label := fmt.Sprintf("%.2f×", ratio)
	if r.Baseline <= 0 {
		label = fmt.Sprintf("%.0f%% of target", 100*ratio)
	}
	if ratio > scale {
		label += " ▶"
	}
	if width := 8 * float64(len([]rune(label))); labelX+7+width > svgPlotX1+12 {
		// No room after the bar: write the label inside its end.
		p(`<text x="%.1f" y="%d" font-size="13" font-weight="bold" fill="#fff" text-anchor="end">%s</text>`, xe-6, mid+5, label)
	} else {
		p(`<text x="%.1f" y="%d" font-size="13" font-weight="bold" fill="#111">%s</text>`, labelX+7, mid+5, label)
	}
	p(`<text x="%d" y="%d" font-size="13" fill="#111">%s</text>`, svgValueX, mid-2, xmlEscape(withUnit(r.Value, r.Unit)))
	if r.Baseline > 0 {
		p(`<text x="%d" y="%d" font-size="11" fill="#666">baseline %s · target %s</text>`, svgValueX, mid+13, xmlEscape(withUnit(r.Baseline, r.Unit)), xmlEscape(r.TargetText()))
	} else {
		p(`<text x="%d" y="%d" font-size="11" fill="#666">no baseline · target %s</text>`, svgValueX, mid+13, xmlEscape(r.TargetText()))
	}
}

// withUnit writes v with its unit for the chart: "6.37M msg/s", "20.1 µs",
// "19.0 KiB/conn".
func withUnit(v float64, unit string) string {
	if unit == "B/conn" {
		return fmt.Sprintf("%.1f KiB/conn", v/1024)
	}
	return FormatValue(v, unit) + " " + displayUnit(unit)
}

// clip shortens s to n characters with an ellipsis.
func clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

// plotRatio is the length of r's bar: its ratio to the baseline or, for a
// scenario without a baseline, to its target.
func plotRatio(r *Result) float64 {
	if r.Baseline <= 0 && r.HasTarget() {
		return r.Value / r.Target
	}
	return r.Ratio
}

// targetRatio returns r's target on the scale of plotRatio, or 0 for none.
func targetRatio(r *Result) float64 {
	switch {
	case !r.HasTarget():
		return 0
	case r.Baseline <= 0:
		return 1
	case r.TargetOf == OfValue:
		if r.Baseline <= 0 {
			return 0
		}
		return r.Target / r.Baseline
	}
	return r.Target
}

// niceCeil rounds v up to 1, 1.5, 2, 2.5, 3, 4, 5, 6, 8 or 10.
func niceCeil(v float64) float64 {
	for _, n := range []float64{1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10} {
		if v <= n {
			return n
		}
	}
	return math.Ceil(v)
}

// tickStep picks the spacing of the grid lines for a scale.
func tickStep(scale float64) float64 {
	switch {
	case scale <= 2:
		return 0.25
	case scale <= 5:
		return 0.5
	}
	return 1
}

func trimFloat(v float64) string {
	return strings.TrimSuffix(strings.TrimRight(fmt.Sprintf("%.2f", v), "0"), ".")
}
