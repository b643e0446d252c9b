package report

import (
	"math"

	"github.com/capability-exporter/capability_exporter/triggers"
)

// rangeWords says a range of values: "below 3", "at least 1h", "exactly 2",
// "above 10% and below 50%".
func rangeWords(r triggers.Range, t triggers.ValueType) string {
	h := func(v float64) string { return Human(t, v) }
	switch {
	case t == triggers.TypeBool:
		return h(r.Lo)
	case r.Lo == r.Hi:
		return "exactly " + h(r.Lo)
	case math.IsInf(r.Lo, -1) && r.HiIncl:
		return "at most " + h(r.Hi)
	case math.IsInf(r.Lo, -1):
		return "below " + h(r.Hi)
	case math.IsInf(r.Hi, 1) && r.LoIncl:
		return "at least " + h(r.Lo)
	case math.IsInf(r.Hi, 1):
		return "above " + h(r.Lo)
	}
	lo, hi := "above "+h(r.Lo), "below "+h(r.Hi)
	if r.LoIncl {
		lo = "at least " + h(r.Lo)
	}
	if r.HiIncl {
		hi = "at most " + h(r.Hi)
	}
	return lo + " and " + hi
}
