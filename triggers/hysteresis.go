package triggers

import (
	"math"
	"strings"
)

// Hysteresis is a signal's band around the thresholds it is compared with.
// A comparison that held stops holding only once the signal is past the
// threshold by the band; one that did not hold starts only past it by the
// band on the other side. A signal hovering at a threshold (cost growth at
// 19–21% against "> 20%") then keeps its truth instead of flipping it at
// every evaluation.
type Hysteresis struct {
	// Band is the absolute band in the signal's base unit, when Set.
	Band float64
	Set  bool
}

// DefaultHysteresis is the band, as a fraction of each threshold, of ratio
// and duration signals that do not declare one: measures of a window
// (growth month over month, time to resolve) drift by a few percent between
// evaluations. Counts and declared booleans move in whole steps and get none.
const DefaultHysteresis = 0.1

// Width returns the band around threshold for a signal of type t.
func (h Hysteresis) Width(t ValueType, threshold float64) float64 {
	switch {
	case h.Set:
		return h.Band
	case t == TypeRatio || t == TypeDuration:
		return DefaultHysteresis * math.Abs(threshold)
	}
	return 0
}

// Truths holds comparisons' last known truths by expression (Condition.Expr,
// `<signal> <op> <literal>`): a comparison's truth depends on nothing but
// its signal, so one expression has one truth wherever it is written.
type Truths map[string]Truth

// Truths returns the truths of ev's comparisons that are known.
func (ev *Evaluation) Truths() Truths {
	out := Truths{}
	add := func(rs []ConditionResult) {
		for _, r := range rs {
			if r.Truth != Unknown && r.Expr != "" {
				out[r.Expr] = r.Truth
			}
		}
	}
	for _, f := range ev.Foundations {
		add(f.Conditions)
	}
	for _, d := range ev.Decisions {
		add(d.Conditions)
	}
	return out
}

// shift moves threshold by the band in the direction that keeps the
// previous truth: toward the signal while it held, away while it did not.
// An unknown previous truth (the first evaluation) reads the bare threshold.
func (e *evaluator) shift(s *Signal, op Op, threshold float64, prev Truth) float64 {
	band := s.Hysteresis.Width(s.Type, threshold)
	if band == 0 || prev == Unknown {
		return threshold
	}
	var sign float64
	switch op {
	case OpGT, OpGE:
		sign = 1
	case OpLT, OpLE:
		sign = -1
	default:
		return threshold // an equality has no side to lean to
	}
	if prev == True {
		sign = -sign
	}
	return threshold + sign*band
}

// pastBand is the value to try for a move of s from was into r: r.Try, or,
// where the move crosses a threshold with a band, twice the band past that
// threshold while that stays in r. A comparison keeps its last truth within
// the band (the live exporter's, and a what-if asked of it), so a value just
// past the threshold would not move the decision there. A signal the rules
// do not define (a tool's detection), an unknown was, and a crossing of no
// finite threshold keep r.Try.
func (s *Signal) pastBand(r Range, was Value) float64 {
	if s == nil || !was.Known {
		return r.Try
	}
	switch {
	case was.Number < r.Lo && !math.IsInf(r.Lo, 0):
		if v := r.Lo + 2*s.Hysteresis.Width(s.Type, r.Lo); v > r.Try && r.Contains(v) {
			return v
		}
	case was.Number > r.Hi && !math.IsInf(r.Hi, 0):
		if v := r.Hi - 2*s.Hysteresis.Width(s.Type, r.Hi); v < r.Try && r.Contains(v) {
			return v
		}
	}
	return r.Try
}

// prevOfKnown is prev limited to the comparisons of signals known in the
// snapshot. The walk over the values an unknown signal could take compares
// them with bare thresholds, so that every state they reach is found.
// The snapshot and prev are fixed for an evaluator's life, and every
// capability's walks and change search read it, so it is made once; its
// readers never change it.
func (e *evaluator) prevOfKnown() Truths {
	if e.prevKnownMade || len(e.prev) == 0 {
		return e.prevKnown
	}
	e.prevKnown = make(Truths, len(e.prev))
	for expr, t := range e.prev {
		if signal, _, ok := strings.Cut(expr, " "); ok && e.snap.get(signal).Known {
			e.prevKnown[expr] = t
		}
	}
	e.prevKnownMade = true
	return e.prevKnown
}
