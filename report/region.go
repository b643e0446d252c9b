package report

import (
	"math"
	"slices"

	"github.com/capability-exporter/capability_exporter/triggers"
)

// region is one stretch of a signal's values between thresholds, with a value
// inside it to try.
type region struct {
	lo, hi         float64 // -Inf/+Inf when unbounded
	loIncl, hiIncl bool
	try            float64
}

// regions cuts the line at the thresholds: below the first, each threshold,
// between neighbours, above the last. A bool has just its two values.
// Regions with no value a source could report are left out: between two
// whole thresholds of a plain number when nothing whole lies between them
// (counts), and below zero when the signal is not negative now.
func regions(t triggers.ValueType, thresholds []float64, current triggers.Value) []region {
	if t == triggers.TypeBool {
		return []region{{lo: 0, hi: 0, loIncl: true, hiIncl: true, try: 0}, {lo: 1, hi: 1, loIncl: true, hiIncl: true, try: 1}}
	}
	ts := slices.Clone(thresholds)
	slices.Sort(ts)
	ts = slices.Compact(ts)
	if len(ts) == 0 {
		return nil
	}
	whole := t == triggers.TypeNumber
	for _, x := range ts {
		whole = whole && x == math.Trunc(x)
	}
	below := ts[0] - 1
	if ts[0] > 0 {
		below = ts[0] / 2
	}
	above := ts[len(ts)-1] + 1
	if ts[len(ts)-1] > 0 {
		above = ts[len(ts)-1] * 2
	}
	out := []region{{lo: math.Inf(-1), hi: ts[0], try: below}}
	for i, x := range ts {
		out = append(out, region{lo: x, hi: x, loIncl: true, hiIncl: true, try: x})
		if i+1 < len(ts) && !(whole && ts[i+1]-x <= 1) {
			out = append(out, region{lo: x, hi: ts[i+1], try: (x + ts[i+1]) / 2})
		}
	}
	out = append(out, region{lo: ts[len(ts)-1], hi: math.Inf(1), try: above})
	negativeNow := current.Known && current.Number < 0
	return slices.DeleteFunc(out, func(r region) bool {
		return !negativeNow && (r.hi < 0 || (r.hi == 0 && !r.hiIncl))
	})
}

// words says a range of values: "below 3", "at least 1h", "exactly 2",
// "above 10% and below 50%".
func (r region) words(t triggers.ValueType) string {
	h := func(v float64) string { return Human(t, v) }
	switch {
	case t == triggers.TypeBool:
		return h(r.lo)
	case r.lo == r.hi:
		return "exactly " + h(r.lo)
	case math.IsInf(r.lo, -1) && r.hiIncl:
		return "at most " + h(r.hi)
	case math.IsInf(r.lo, -1):
		return "below " + h(r.hi)
	case math.IsInf(r.hi, 1) && r.loIncl:
		return "at least " + h(r.lo)
	case math.IsInf(r.hi, 1):
		return "above " + h(r.lo)
	}
	lo, hi := "above "+h(r.lo), "below "+h(r.hi)
	if r.loIncl {
		lo = "at least " + h(r.lo)
	}
	if r.hiIncl {
		hi = "at most " + h(r.hi)
	}
	return lo + " and " + hi
}

// merge joins neighbouring regions.
func merge(a, b region) region {
	return region{lo: a.lo, loIncl: a.loIncl, hi: b.hi, hiIncl: b.hiIncl, try: a.try}
}

func (r region) contains(v float64) bool {
	return (v > r.lo || r.loIncl && v == r.lo) && (v < r.hi || r.hiIncl && v == r.hi)
}
