package triggers

import "testing"

// An exact value wins over a bound whatever the order of a first_known
// list: a bound listed first (an extending rules file may list it so)
// proves only "at least" or "at most" of what a later fact or measure
// states. With no exact value known, the tightest bound still wins.
func TestResolveFirstKnownExactBeatsEarlierBound(t *testing.T) {
	r := mustParse(t, `
signals:
  developers:
    help: People.
    first_known:
      - {kubernetes: rbac_human_subjects, lower_bound: true}
      - {loki: {query: 'count(x)'}, lower_bound: true}
      - fact: developers
  debugging:
    help: Time to debug.
    type: duration
    first_known:
      - {prometheus: {query: 'a'}, upper_bound: true}
      - {prometheus: {query: 'b'}}
capabilities:
  c: {complexity: low, trigger: {any: [developers > 10, debugging > 1h]}}
`)
	snap := Snapshot{AlternativeKey("developers", 0): KnownValue(12, "kubernetes"), AlternativeKey("developers", 1): KnownValue(15, "loki"),
		AlternativeKey("developers", 2): KnownValue(4, "fact"),
		AlternativeKey("debugging", 0):  KnownValue(7200, "prometheus"), AlternativeKey("debugging", 1): KnownValue(1800, "prometheus")}
	ResolveFirstKnown(r, snap)
	if v := snap["developers"]; !v.Known || v.Number != 4 || v.LowerBound || v.Source != "fact" {
		t.Errorf("developers = %+v, want the declared 4, exact, over the bounds listed before it", v)
	}
	if v := snap["debugging"]; !v.Known || v.Number != 1800 || v.UpperBound {
		t.Errorf("debugging = %+v, want the exact 30m over the bound listed before it", v)
	}
	if len(snap) != 2 {
		t.Errorf("alternative keys left behind: %v", snap)
	}

	// The fact not declared: the largest lower bound.
	snap = Snapshot{AlternativeKey("developers", 0): KnownValue(12, "kubernetes"), AlternativeKey("developers", 1): KnownValue(15, "loki"),
		AlternativeKey("developers", 2): UnknownValue(CodeNotConfigured, "not declared", "fact")}
	ResolveFirstKnown(r, snap)
	if v := snap["developers"]; !v.Known || v.Number != 15 || !v.LowerBound || v.Source != "loki" {
		t.Errorf("developers = %+v, want at least 15 from loki", v)
	}
}
