package triggers

import "maps"

// The probable reading: what the measures point to before the team has
// answered every question. The framework reaches its webshop verdicts,
// "Probably YES" and "Probably NOT (now)", this way; the exporter does the
// same, and labels every answer it reaches so.
//
// In it, each judgment the team has not declared (a fact no source
// measures) takes the first of its presumptions whose measure holds, and
// otherwise is not asserted: a NOT bullet that rests on it does not hold,
// nor does a motive or an obligation. Unknown measures stay unknown, so a
// source that is down still leaves the answer unknown.

// A measure that can only undercount (a lower bound) or overcount (an upper
// bound) is read, in the probable reading only, as the value it measured:
// where it points one way and only its being a bound keeps the answer open
// ("one team label across every app namespace" is a single tenant,
// probably), the probable answer follows it and cites it as a presumption.
// A measure that is a proxy rather than a bound is presumed through a
// presumption's value_of (incidents that take two hours to resolve took long
// to debug, probably).

// probable returns s read that way, and the presumptions it used by signal.
// s is the settled snapshot, derived values worked out; it is not changed.
func (r *Rules) probable(s Snapshot) (Snapshot, map[string]Presumed) {
	out := maps.Clone(s)
	used := map[string]Presumed{}
	e := evaluator{rules: r, snap: out}
	for _, sig := range r.Signals {
		if v := out.get(sig.Name); v.Known && (v.LowerBound || v.UpperBound) {
			says := "measured at least " + FormatValue(sig.Type, v.Number) + ", and nothing measured shows more"
			if v.UpperBound {
				says = "measured at most " + FormatValue(sig.Type, v.Number) + ", and nothing measured shows less"
			}
			used[sig.Name] = Presumed{Signal: sig.Name, Type: sig.Type, Value: v.Number, Says: says,
				LowerBound: v.LowerBound, UpperBound: v.UpperBound}
			v.LowerBound, v.UpperBound, v.Source, v.Reason = false, false, "presumed", "presumed: "+says
			out[sig.Name] = v
			continue
		}
		if !sig.Judgment() || out.get(sig.Name).Known {
			continue
		}
		v := Value{Unasserted: true, Reason: "not declared", Code: CodeNotConfigured, Source: "fact"}
		if prev := out.get(sig.Name); prev.Code == CodeDeclaredUnknown {
			v.Reason, v.Code = prev.Reason, prev.Code
		}
		for _, pr := range sig.Presume {
			e.results = nil
			if t, _ := e.eval(pr.When, "presume", nil); t == True {
				n := pr.Value
				if pr.From != "" {
					from := out.get(pr.From)
					if !from.Known {
						continue
					}
					n = from.Number
				}
				says := r.Words(pr.Says)
				v = Value{Known: true, Number: n, Source: "presumed", Reason: "presumed: " + says}
				used[sig.Name] = Presumed{Signal: sig.Name, Type: sig.Type, Value: n, Says: says, From: pr.From}
				break
			}
		}
		out[sig.Name] = v
	}
	return out, used
}
