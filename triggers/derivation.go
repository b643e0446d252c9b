package triggers

// Derivation kinds: the condition of a derive that a part belongs to.
const (
	KindTrueIf  = "true_if"
	KindFalseIf = "false_if"
)

// derivation evaluates the parts of a signal's derive on s, the snapshot
// the decisions read: each comparison of true_if, then of false_if, with
// the value it read. It is worked out for every derived signal, declared or
// not, so that a declared value can be set beside what the measures say.
// Nil for a signal without a derive.
func (r *Rules) derivation(s Snapshot, sig *Signal) []ConditionResult {
	d := sig.derive()
	if d == nil {
		return nil
	}
	e := evaluator{rules: r, snap: s}
	var out []ConditionResult
	for _, part := range []struct {
		kind string
		c    *Condition
	}{{KindTrueIf, d.TrueIf}, {KindFalseIf, d.FalseIf}} {
		if part.c == nil {
			continue
		}
		e.results = nil
		e.eval(part.c, part.kind, nil)
		out = append(out, e.results...)
	}
	return out
}
