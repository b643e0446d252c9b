package triggers

import (
	"cmp"
	"maps"
	"slices"
	"strings"
)

// Values the rules work out before deciding: first_known alternatives
// resolved, lower bounds marked, derived facts derived and foundations'
// presence exposed as foundation.<id>.

// ResolveFirstKnown sets each first_known signal from the values answered
// under AlternativeKey: the first known exact alternative wins, wherever a
// bound is listed; with no exact one known, the largest known lower bound
// wins (each proves "at least", so the largest proves the most), or the
// smallest known upper bound (each proves "at most"). When none is known,
// the reason lists every alternative's. Derived alternatives are left to
// Evaluate, which works them out after overrides are applied.
func ResolveFirstKnown(r *Rules, values Snapshot) {
	for _, sig := range r.Signals {
		alts := sig.Source.Alternatives()
		if len(alts) < 2 {
			continue
		}
		var reasons []string
		var code ReasonCode // the first unknown alternative's
		var best Value
		for i, alt := range alts {
			key := AlternativeKey(sig.Name, i)
			v := values[key]
			delete(values, key)
			switch {
			case alt.Derive != nil:
				continue
			case best.Known && !best.LowerBound && !best.UpperBound:
				continue
			case !v.Known:
				// Two alternatives of one source that is down say it
				// once.
				if !slices.Contains(reasons, v.Reason) {
					reasons = append(reasons, v.Reason)
				}
				code = cmp.Or(code, v.Code, CodeNotCollected)
				continue
			}
			v.LowerBound, v.UpperBound = alt.LowerBound, alt.UpperBound
			// An exact value wins over any bound, wherever it is
			// listed: a bound listed first proves only "at least" or
			// "at most" of what a later fact or measure states.
			exact := !v.LowerBound && !v.UpperBound
			if !best.Known || exact || (v.LowerBound && v.Number > best.Number) || (v.UpperBound && v.Number < best.Number) {
				best = v
			}
		}
		if best.Known {
			values[sig.Name] = best
		} else {
			values[sig.Name] = UnknownValue(cmp.Or(code, CodeNotCollected), "no alternative known: "+strings.Join(reasons, "; "), "first_known")
		}
	}
}

// prepare returns s with what the rules derive from it: bounds marked on
// single-source measures, and each derived signal that no source, fact
// or override made known worked out from its conditions. s is not changed.
func (r *Rules) prepare(s Snapshot) Snapshot {
	out := maps.Clone(s)
	if out == nil {
		out = Snapshot{}
	}
	for _, sig := range r.Signals {
		// A single source, or a first_known of one, is answered under the
		// signal's own name; longer lists are marked by ResolveFirstKnown.
		alts := sig.Source.Alternatives()
		if len(alts) != 1 || (!alts[0].LowerBound && !alts[0].UpperBound) {
			continue
		}
		if v, ok := out[sig.Name]; ok && v.Known && v.Source != "override" && v.Source != "fact" {
			v.LowerBound = v.LowerBound || alts[0].LowerBound
			v.UpperBound = alts[0].UpperBound
			out[sig.Name] = v
		}
	}
	e := evaluator{rules: r, snap: out}
	for _, sig := range r.Signals {
		d := sig.derive()
		if d == nil || out.get(sig.Name).Known {
			continue
		}
		out[sig.Name] = e.derived(sig, d)
	}
	return out
}

// derive returns the signal's derived alternative, if it has one.
func (s *Signal) derive() *Derive {
	for _, alt := range s.Source.Alternatives() {
		if alt.Derive != nil {
			return alt.Derive
		}
	}
	return nil
}

func (e *evaluator) derived(sig *Signal, d *Derive) Value {
	e.results = nil
	t, _ := e.eval(d.TrueIf, "derive", nil)
	f, _ := e.eval(d.FalseIf, "derive", nil)
	var held []string
	for _, r := range e.results {
		if r.Truth == True {
			// With the value in force for a named threshold: the
			// reason is read beside the value it was derived from.
			held = append(held, e.rules.Words(r.Expr))
		}
	}
	switch {
	case t == True && f == True:
		// Declaring the fact settles what the measures contradict.
		return UnknownValue(CodeNotConfigured, "derived both true and false ("+strings.Join(held, ", ")+")", "derived")
	case t == True:
		return Value{Known: true, Number: 1, Source: "derived", Reason: "derived: " + strings.Join(held, ", ")}
	case f == True:
		return Value{Known: true, Number: 0, Source: "derived", Reason: "derived: " + strings.Join(held, ", ")}
	}
	// Unknown as declared or measured (a source down, say), the value
	// keeps why; a fact never declared is one not configured.
	prev := e.snap.get(sig.Name)
	if prev.Reason != "" && prev.Code != CodeNotCollected {
		return UnknownValue(cmp.Or(prev.Code, CodeNotConfigured), prev.Reason+"; the measures that could stand in for it do not settle it", "derived")
	}
	return UnknownValue(CodeNotConfigured, "not declared, and the measures that could stand in for it do not settle it", "derived")
}

// withFoundations adds foundation.<id> for each evaluated foundation.
func withFoundations(s Snapshot, frs []FoundationResult) {
	for _, fr := range frs {
		v := Value{Source: "foundation"}
		if fr.Present != Unknown {
			v.Known, v.Number = true, 0
			if fr.Present == True {
				v.Number = 1
			}
		} else {
			v.Reason = "presence unknown: " + strings.Join(fr.Unknown, ", ")
			v.Code = fr.code()
		}
		s[FoundationSignalPrefix+fr.ID] = v
	}
}

// compare is a leaf's truth for v. A lower bound proves only that the real
// value is at least v.Number: it settles "more than" and refutes "fewer
// than", and leaves the rest unknown. An upper bound, that it is at most
// v.Number, the other way round.
func compare(op Op, v Value, threshold float64) Truth {
	if v.Unasserted {
		return Truthf(op == OpNE)
	}
	if !v.Known {
		return Unknown
	}
	if v.UpperBound {
		return compareUpper(op, v.Number, threshold)
	}
	if !v.LowerBound {
		return Truthf(op.Compare(v.Number, threshold))
	}
	switch op {
	case OpGT, OpGE:
		if op.Compare(v.Number, threshold) {
			return True
		}
	case OpLT, OpLE, OpEQ:
		if !OpLE.Compare(v.Number, threshold) || (op == OpLT && v.Number >= threshold) {
			return False
		}
	case OpNE:
		if v.Number > threshold {
			return True
		}
	}
	return Unknown
}

// compareUpper is a leaf's truth for a value known to be at most bound: it
// settles "fewer than" and refutes "more than", and leaves the rest unknown.
func compareUpper(op Op, bound, threshold float64) Truth {
	switch op {
	case OpLT, OpLE:
		if op.Compare(bound, threshold) {
			return True
		}
	case OpGT, OpGE, OpEQ:
		if !OpGE.Compare(bound, threshold) || (op == OpGT && bound <= threshold) {
			return False
		}
	case OpNE:
		if bound < threshold {
			return True
		}
	}
	return Unknown
}

// DecisionLeaves lists the comparisons a capability's decision reads, in
// the order of its ladder: its own conditions, then, for each foundation.<id>
// they read, the foundation's, and for each derived signal, the conditions it
// is derived from. Foundations the capability only builds on (Requires) are
// not among them: they inform and decide nothing.
func (r *Rules) DecisionLeaves(c *Capability) []*Condition {
	var out []*Condition
	seen := map[string]bool{}
	var add func(leaves []*Condition)
	add = func(leaves []*Condition) {
		for _, l := range leaves {
			out = append(out, l)
			if seen[l.Signal] {
				continue
			}
			seen[l.Signal] = true
			if id, ok := strings.CutPrefix(l.Signal, FoundationSignalPrefix); ok {
				if f := r.Foundation(id); f != nil {
					add(f.Present.Leaves())
				}
			}
			if s := r.Signal(l.Signal); s != nil {
				if d := s.derive(); d != nil {
					add(append(d.TrueIf.Leaves(), d.FalseIf.Leaves()...))
				}
			}
		}
	}
	for _, cond := range []*Condition{c.AdoptedIf, c.Gate, c.Must, c.Skip, c.Later, c.Now, c.Trigger} {
		add(cond.Leaves())
	}
	return out
}

// code is why a foundation's presence is unknown: the code of the first of
// its conditions that is unknown.
func (fr FoundationResult) code() ReasonCode {
	for _, c := range fr.Conditions {
		switch {
		case c.Truth != Unknown:
		case !c.Value.Known && c.Value.Code != "":
			return c.Value.Code
		case c.Value.Known && c.Value.LowerBound:
			return CodeLowerBound
		case c.Value.Known && c.Value.UpperBound:
			return CodeUpperBound
		}
	}
	return CodeNotCollected
}
