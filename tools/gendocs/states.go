package main

import (
	"fmt"
	"slices"
	"strings"

	"github.com/capability-exporter/capability_exporter/triggers"
)

// The state table is not written by hand: each row is a case decided by
// triggers.Decide on a capability made of one member per step, so the
// states, needs, timings and deciding steps printed are the engine's own.
//
// Motive a and the gate, LATER and NOW bullets read measures; motive b is a
// judgment presumed from a measure, and so is the NOT bullet that answers
// a. A row's probable variant leaves those judgments undeclared so that the
// same case is reached through a presumption.
const stateRules = `
signals:
  runs:       {help: Adoption evidence., type: bool, prometheus: {query: runs}}
  a:          {help: A measured motive., type: bool, prometheus: {query: a}}
  b_measure:  {help: A measure., type: bool, prometheus: {query: b_measure}}
  b:
    help: A judged motive.
    type: bool
    fact: b
    presume: [{value: "true", when: b_measure == true, says: the measure shows it}]
  nothing:    {help: Nothing to act on., type: bool, prometheus: {query: nothing}}
  obligation: {help: A declared obligation., type: bool, fact: obligation}
  na_measure: {help: A measure., type: bool, prometheus: {query: na_measure}}
  answer_a:
    help: A judgment that answers motive a.
    type: bool
    fact: answer_a
    presume: [{value: "true", when: na_measure == true, says: the measure shows it}]
  gate:       {help: Readiness., type: bool, prometheus: {query: gate}}
  later:      {help: A LATER bullet., type: bool, prometheus: {query: later}}
  now:        {help: A NOW bullet., type: bool, prometheus: {query: now}}
capabilities:
  c:
    complexity: low
    trigger:
      any:
        - {motive: a, if: a == true}
        - {motive: b, if: b == true}
    adopted_if: runs == true
    structural: nothing == true
    must: obligation == true
    skip:
      any:
        - {answers: [a], if: answer_a == true}
    gate: gate == true
    later: later == true
    now: now == true
`

// stateCase is one row: what holds, and the values that make it so.
type stateCase struct {
	need, timing string
	// settled declares or measures everything; probable, if set, reaches
	// the same case through a presumption.
	settled, probable map[string]float64
}

// timing values for the needed rows, applied over a needed base.
var (
	needed   = map[string]float64{"a": 1, "b": 0, "answer_a": 0, "nothing": 0}
	presumed = map[string]float64{"a": 0, "b_measure": 1, "answer_a": 0, "nothing": 0} // b undeclared
	quiet    = map[string]float64{"runs": 0, "obligation": 0, "gate": 0, "later": 0, "now": 0}
)

func with(maps ...map[string]float64) map[string]float64 {
	out := map[string]float64{}
	for _, m := range maps {
		for k, v := range m {
			out[k] = v
		}
	}
	return out
}

func without(m map[string]float64, drop ...string) map[string]float64 {
	out := with(m)
	for _, k := range drop {
		delete(out, k)
	}
	return out
}

var stateCases = []stateCase{
	{need: "any", timing: "the capability runs: a tool of it is detected, or its `adopted_if` holds",
		settled: with(needed, quiet, map[string]float64{"runs": 1, "gate": 1})},
	{timing: "a declared obligation (`must`) holds and no gate; a LATER bullet yields to it",
		settled: with(needed, quiet, map[string]float64{"obligation": 1, "later": 1})},
	{timing: "a NOW bullet holds; no gate, obligation or LATER bullet",
		settled: with(needed, quiet, map[string]float64{"now": 1}), probable: with(presumed, quiet, map[string]float64{"now": 1})},
	{timing: "a gate holds, even beside an obligation",
		settled: with(needed, quiet, map[string]float64{"gate": 1, "obligation": 1}), probable: with(presumed, quiet, map[string]float64{"gate": 1})},
	{timing: "a LATER bullet holds; no gate or obligation",
		settled: with(needed, quiet, map[string]float64{"later": 1, "now": 1}), probable: with(presumed, quiet, map[string]float64{"later": 1, "now": 1})},
	{timing: "neither: no gate, obligation, LATER or NOW bullet",
		settled: with(needed, quiet), probable: with(presumed, quiet)},
	{timing: "cannot be told: a gate, LATER or NOW bullet reads a measure that is unknown",
		settled: without(with(needed, quiet), "gate"), probable: without(with(presumed, quiet), "gate")},
	{timing: "– (a structural NOT case holds: nothing to act on, even with an obligation)",
		settled: with(needed, quiet, map[string]float64{"nothing": 1, "obligation": 1, "now": 1})},
	{timing: "– (a NOT bullet answers every motive that holds)",
		settled:  with(needed, quiet, map[string]float64{"answer_a": 1, "now": 1}),
		probable: without(with(needed, quiet, map[string]float64{"na_measure": 1, "now": 1}), "answer_a")},
	{timing: "– (no motive holds)",
		settled: with(needed, quiet, map[string]float64{"a": 0}), probable: without(with(needed, quiet, map[string]float64{"a": 0}), "b")},
	{timing: "– (a motive reads a measure that is unknown)",
		settled: without(with(needed, quiet, map[string]float64{"now": 1}), "a")},
}

func snapshot(values map[string]float64) triggers.Snapshot {
	s := triggers.Snapshot{}
	for k, v := range values {
		s[k] = triggers.KnownValue(v, "doc")
	}
	return s
}

// StateTable renders how the state derives from need and timing, each row
// decided by the engine. It fails where a row's variants disagree on the
// state or the step that decides it, or where an unknown row has fewer than
// two states possible.
func StateTable() (string, error) {
	r, err := triggers.Parse("state table", []byte(stateRules))
	if err != nil {
		return "", err
	}
	var b strings.Builder
	b.WriteString("| need | what holds | state | decided by |\n| --- | --- | --- | --- |\n")
	for _, sc := range stateCases {
		var needs []string
		var state, by string
		for i, values := range []map[string]float64{sc.settled, sc.probable} {
			if values == nil {
				continue
			}
			d, _ := triggers.Decide(r, "c", snapshot(values))
			s := code(string(d.State))
			if d.State == triggers.StateUnknown {
				if len(d.Possible) < 2 {
					return "", fmt.Errorf("%s: unknown with possible %v", sc.timing, d.Possible)
				}
				s += ", with `possible`"
			}
			// The probable variant reaches its need through a presumption,
			// and its state too where the state is decided.
			probable := d.Need == triggers.NeedProbably || d.Need == triggers.NeedProbablyNot
			if probable != (i == 1) || d.State != triggers.StateUnknown && d.Probable != (i == 1) {
				return "", fmt.Errorf("%s: variant %d need %s, probable %v", sc.timing, i, d.Need, d.Probable)
			}
			if i == 1 && (s != state || d.DecidedBy != by) {
				return "", fmt.Errorf("%s: probable variant %s by %s, settled %s by %s", sc.timing, s, d.DecidedBy, state, by)
			}
			state, by = s, d.DecidedBy
			if n := code(string(d.Need)); !slices.Contains(needs, n) {
				needs = append(needs, n)
			}
		}
		need := strings.Join(needs, " or ")
		if sc.need != "" {
			need = sc.need
		}
		if by == "" {
			by = "–"
		} else {
			by = code(by)
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", need, sc.timing, state, by)
	}
	return b.String(), nil
}
