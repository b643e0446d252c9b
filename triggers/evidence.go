package triggers

// The probable reading answers only where a measure speaks (DESIGN: "no
// probable answer from nothing"). With every judgment undeclared and no
// measure among the conditions that decide the need, "probably not
// triggered" would be the sound of nothing holding, not a reading of the
// platform: the need stays unknown and the questions ask.

// measured says whether v comes from a measure: a source, an override
// standing in for one, or a value derived from one. A declared fact is the
// team's word, and an undeclared judgment is nothing at all.
func measured(v Value) bool {
	return v.Known && !v.Unasserted && v.Source != "fact" && v.Source != "presumed"
}

// backedByMeasure says whether the probable reading of c rests on a measure:
// a presumption (each cites its measure) of a signal the decision reads, or
// a known, measured leaf among the conditions that decide the need: the
// motives, the obligation, the structural NOT case and the NOT bullets.
func (e *evaluator) backedByMeasure(c *Capability, sh *shape, reads []string) bool {
	for _, name := range reads {
		if _, ok := e.presumed[name]; ok {
			return true
		}
	}
	parts := append([]*Condition{c.Structural, c.Must}, sh.motives...)
	parts = append(parts, sh.skips...)
	for _, part := range parts {
		for _, leaf := range part.Leaves() {
			if e.measuredLeaf(leaf.Signal) {
				return true
			}
		}
	}
	return false
}

// measuredLeaf says whether the signal is measured, or is derivable from a
// measure that was read (budget_concern from the cost growth): a measure
// that did not derive the judgment still spoke to it.
func (e *evaluator) measuredLeaf(name string) bool {
	if measured(e.prob.get(name)) {
		return true
	}
	sig := e.rules.Signal(name)
	if sig == nil {
		return false
	}
	d := sig.derive()
	if d == nil {
		return false
	}
	for _, c := range []*Condition{d.TrueIf, d.FalseIf} {
		for _, leaf := range c.Leaves() {
			if measured(e.prob.get(leaf.Signal)) {
				return true
			}
		}
	}
	return false
}
