package triggers

import (
	"cmp"
	"slices"
)

// questions ranks the undeclared facts by how many decisions knowing them
// would help settle: those named in a decision's Asks, which can change
// what is possible. A fact that no decision asks is not a question, however
// many SettleWith lists name it: while a source is down, declaring it
// changes nothing. A fact the team answers is worth more the more decisions
// it settles; ties keep the rules' order.
func questions(r *Rules, s Snapshot, ds []Decision) []Question {
	var out []Question
	for _, sig := range r.Signals {
		if !sig.Judgment() || s.get(sig.Name).Known {
			continue
		}
		var fact string
		for _, alt := range sig.Source.Alternatives() {
			if alt.Fact != "" {
				fact = alt.Fact
				break
			}
		}
		q := Question{Fact: fact, Signal: sig.Name, Type: sig.Type, Help: sig.Help}
		for _, d := range ds {
			if slices.Contains(d.Asks, sig.Name) {
				q.Settles = append(q.Settles, d.Capability)
			}
		}
		if len(q.Settles) > 0 {
			out = append(out, q)
		}
	}
	slices.SortStableFunc(out, func(a, b Question) int { return cmp.Compare(len(b.Settles), len(a.Settles)) })
	return out
}
