package triggers

import (
	"math"
	"slices"
)

// Range is one stretch of a signal's values between the thresholds the rules
// compare it with, and a value inside it to try.
type Range struct {
	Lo, Hi         float64 // -Inf/+Inf when unbounded
	LoIncl, HiIncl bool
	Try            float64
}

// Ranges cuts the line at the thresholds: below the first, each threshold,
// between neighbours, above the last. A bool has just its two values.
// Ranges with no value a source could report are left out: between two
// whole thresholds of a plain number when nothing whole lies between them
// (counts), and below zero when the signal is not negative now.
func Ranges(t ValueType, thresholds []float64, current Value) []Range {
	if t == TypeBool {
		return []Range{{Lo: 0, Hi: 0, LoIncl: true, HiIncl: true, Try: 0}, {Lo: 1, Hi: 1, LoIncl: true, HiIncl: true, Try: 1}}
	}
	ts := slices.Clone(thresholds)
	slices.Sort(ts)
	ts = slices.Compact(ts)
	if len(ts) == 0 {
		return nil
	}
	whole := t == TypeNumber
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
	out := []Range{{Lo: math.Inf(-1), Hi: ts[0], Try: below}}
	for i, x := range ts {
		out = append(out, Range{Lo: x, Hi: x, LoIncl: true, HiIncl: true, Try: x})
		if i+1 < len(ts) && (!whole || ts[i+1]-x > 1) {
			out = append(out, Range{Lo: x, Hi: ts[i+1], Try: (x + ts[i+1]) / 2})
		}
	}
	out = append(out, Range{Lo: ts[len(ts)-1], Hi: math.Inf(1), Try: above})
	negativeNow := current.Known && current.Number < 0
	return slices.DeleteFunc(out, func(r Range) bool {
		return !negativeNow && (r.Hi < 0 || (r.Hi == 0 && !r.HiIncl))
	})
}

// Merge joins neighbouring ranges.
func (r Range) Merge(b Range) Range {
	return Range{Lo: r.Lo, LoIncl: r.LoIncl, Hi: b.Hi, HiIncl: b.HiIncl, Try: r.Try}
}

// Contains reports whether v lies in the range.
func (r Range) Contains(v float64) bool {
	return (v > r.Lo || r.LoIncl && v == r.Lo) && (v < r.Hi || r.HiIncl && v == r.Hi)
}
