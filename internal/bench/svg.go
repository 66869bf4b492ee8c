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
	svgTop      = 104 // y of the first row
	svgRowH     = 46
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
// baseline (1x) as a line across the chart and each target as a mark on its
// row.
func WriteSVG(w io.Writer, results []Result, title string) error {
	scale := 1.0
	for i := range results {
		r := &results[i]
		if !r.Measured {
			continue
		}
		scale = math.Max(scale, r.Ratio)
		if t := targetRatio(r); t > 0 {
			scale = math.Max(scale, t)
		}
	}
	scale = niceCeil(math.Min(scale*1.08, svgMaxScale))
	x := func(ratio float64) float64 {
		return svgPlotX0 + (svgPlotX1-svgPlotX0)*math.Min(ratio, scale)/scale
	}
	height := svgTop + svgRowH*len(results) + 96

	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...); b.WriteByte('\n') }
	p(`<?xml version="1.0" encoding="UTF-8"?>`)
	p(`<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="DejaVu Sans, Helvetica, Arial, sans-serif">`,
		svgWidth, height, svgWidth, height)
	p(`<rect width="100%%" height="100%%" fill="#ffffff"/>`)
	p(`<text x="%d" y="32" font-size="20" font-weight="bold" fill="#111">%s</text>`, svgLabelX, xmlEscape(title))
	p(`<text x="%d" y="54" font-size="13" fill="#444">Each bar: switchboard ÷ its baseline, both measured in the same run (medians). Baseline = 1×.</text>`, svgLabelX)

	// Grid and axis labels.
	plotBottom := svgTop + svgRowH*len(results)
	step := tickStep(scale)
	for t := 0.0; t <= scale+1e-9; t += step {
		xt := x(t)
		p(`<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#e4e7eb" stroke-width="1"/>`, xt, svgTop-8, xt, plotBottom)
		p(`<text x="%.1f" y="%d" font-size="12" fill="#555" text-anchor="middle">%s×</text>`, xt, svgTop-14, trimFloat(t))
	}
	p(`<text x="%d" y="%d" font-size="12" font-weight="bold" fill="#555">value</text>`, svgValueX, svgTop-14)

	for i := range results {
		r := &results[i]
		y := svgTop + svgRowH*i
		mid := y + svgRowH/2
		if i%2 == 1 {
			p(`<rect x="0" y="%d" width="%d" height="%d" fill="#f6f8fa"/>`, y, svgWidth, svgRowH)
		}
		p(`<text x="%d" y="%d" font-size="14" font-weight="bold" fill="#111">%s</text>`, svgLabelX, mid-3, xmlEscape(r.Scenario))
		sub := r.BaselineName
		if r.Better == Lower {
			sub += " · lower is better"
		}
		if sub != "" {
			p(`<text x="%d" y="%d" font-size="11" fill="#666">vs %s</text>`, svgLabelX, mid+13, xmlEscape(sub))
		}
		if !r.Measured {
			p(`<text x="%d" y="%d" font-size="13" font-style="italic" fill="#777">not measured</text>`, svgPlotX0+8, mid+5)
			p(`<rect class="bar" data-scenario="%s" x="%d" y="%d" width="0" height="%d" fill="none"/>`,
				xmlEscape(r.Scenario), svgPlotX0, mid-svgBarH/2, svgBarH)
			continue
		}
		col := colNone
		if r.HasTarget() {
			col = colMissed
			if r.Met {
				col = colMet
			}
		}
		xe := x(r.Ratio)
		p(`<rect class="bar" data-scenario="%s" x="%d" y="%d" width="%.1f" height="%d" rx="2" fill="%s"/>`,
			xmlEscape(r.Scenario), svgPlotX0, mid-svgBarH/2, xe-svgPlotX0, svgBarH, col)
		label := fmt.Sprintf("%.2f×", r.Ratio)
		if r.Ratio > scale {
			label = "▶ " + label
		}
		p(`<text x="%.1f" y="%d" font-size="13" font-weight="bold" fill="#111">%s</text>`, math.Min(xe+6, svgPlotX1-40), mid+5, label)
		if t := targetRatio(r); t > 0 {
			xt := x(t)
			p(`<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="%s" stroke-width="3"/>`, xt, mid-svgBarH/2-5, xt, mid+svgBarH/2+5, colTarget)
			p(`<polygon points="%.1f,%d %.1f,%d %.1f,%d" fill="%s"/>`, xt-5, mid-svgBarH/2-10, xt+5, mid-svgBarH/2-10, xt, mid-svgBarH/2-4, colTarget)
		}
		p(`<text x="%d" y="%d" font-size="13" fill="#111">%s %s</text>`, svgValueX, mid-2, FormatValue(r.Value, r.Unit), xmlEscape(displayUnit(r.Unit)))
		p(`<text x="%d" y="%d" font-size="11" fill="#666">baseline %s · target %s</text>`, svgValueX, mid+13, FormatValue(r.Baseline, r.Unit), xmlEscape(r.TargetText()))
	}

	// The baseline line, on top of the bars.
	xb := x(1)
	p(`<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#111" stroke-width="2" stroke-dasharray="6 4"/>`, xb, svgTop-8, xb, plotBottom)
	p(`<text x="%.1f" y="%d" font-size="12" font-weight="bold" fill="#111" text-anchor="middle">baseline</text>`, xb, svgTop-30)

	// Legend.
	ly := plotBottom + 34
	p(`<rect x="%d" y="%d" width="18" height="14" fill="%s"/><text x="%d" y="%d" font-size="13" fill="#333">target met</text>`, svgLabelX, ly-11, colMet, svgLabelX+24, ly)
	p(`<rect x="%d" y="%d" width="18" height="14" fill="%s"/><text x="%d" y="%d" font-size="13" fill="#333">target missed</text>`, svgLabelX+130, ly-11, colMissed, svgLabelX+154, ly)
	p(`<rect x="%d" y="%d" width="18" height="14" fill="%s"/><text x="%d" y="%d" font-size="13" fill="#333">no target (reported)</text>`, svgLabelX+275, ly-11, colNone, svgLabelX+299, ly)
	p(`<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="%s" stroke-width="3"/><text x="%d" y="%d" font-size="13" fill="#333">target</text>`,
		svgLabelX+470, ly-13, svgLabelX+470, ly+3, colTarget, svgLabelX+480, ly)
	p(`<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#111" stroke-width="2" stroke-dasharray="6 4"/><text x="%d" y="%d" font-size="13" fill="#333">baseline (1×)</text>`,
		svgLabelX+560, ly-13, svgLabelX+560, ly+3, svgLabelX+570, ly)
	p(`<text x="%d" y="%d" font-size="12" fill="#555">Throughput: longer is better, bar must reach the mark. Latency and memory: shorter is better, bar must stay left of it.</text>`, svgLabelX, ly+28)
	p(`</svg>`)
	_, err := io.WriteString(w, b.String())
	return err
}

// targetRatio returns r's target as a ratio to its baseline, or 0 for none.
func targetRatio(r *Result) float64 {
	switch {
	case !r.HasTarget():
		return 0
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
