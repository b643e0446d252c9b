package triggers

import (
	"slices"
	"testing"
	"time"
)

// With nothing reachable and nothing declared (deploy/config.yml before any
// source answers), every question the evaluation asks acts: declared, alone
// or with the other facts its decision asks, for some value, it changes the
// states possible for a capability it says it settles. A question that
// could not is not asked.
func TestEveryQuestionActs(t *testing.T) {
	r, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	at := time.Unix(0, 0)
	base := Evaluate(r, Snapshot{}, at)
	if len(base.Questions) == 0 {
		t.Fatal("no question asked with nothing declared")
	}
	possible := func(snap Snapshot, id string) []State {
		d, _ := Decide(r, id, snap)
		return d.Possible
	}
	// values are the values each fact can be declared as: both sides of
	// every threshold it is compared with.
	values := func(name string) []float64 {
		sig := r.Signal(name)
		var out []float64
		var ths []float64
		for _, c := range r.Capabilities {
			for _, cond := range []*Condition{c.Trigger, c.Structural, c.Must, c.Skip, c.Gate, c.Later, c.Now} {
				for _, l := range cond.Leaves() {
					if l.Signal == name {
						ths = append(ths, r.thresholdOf(l))
					}
				}
			}
		}
		for _, rg := range Ranges(sig.Type, ths, Value{}) {
			out = append(out, rg.Try)
		}
		return out
	}
	// q acts for id when, with the other facts id asks each left
	// undeclared or declared some way, declaring q changes id's possible
	// states: q itself makes the difference, not the others.
	actsFor := func(q Question, id string) bool {
		others := slices.DeleteFunc(slices.Clone(base.Decision(id).Asks), func(s string) bool { return s == q.Signal })
		// Those read in one condition with q first: "> 10 developers who
		// are not all Kubernetes experts" acts only with the count.
		together := siblings(r.Capability(id), q.Signal)
		for _, name := range base.Decision(id).SettleWith {
			if together[name] && name != q.Signal && !slices.Contains(others, name) {
				others = append(others, name)
			}
		}
		slices.SortStableFunc(others, func(a, b string) int {
			return boolRank(together[b]) - boolRank(together[a])
		})
		if len(others) > 3 {
			others = others[:3] // bounded: 3^3 assignments of the others at most
		}
		var try func(i int, snap Snapshot) bool
		try = func(i int, snap Snapshot) bool {
			if i == len(others) {
				without := possible(snap, id)
				for _, v := range values(q.Signal) {
					with := Snapshot{q.Signal: KnownValue(v, "fact")}
					for k, val := range snap {
						with[k] = val
					}
					if !slices.Equal(possible(with, id), without) {
						return true
					}
				}
				return false
			}
			if try(i+1, snap) { // left undeclared
				return true
			}
			for _, v := range values(others[i]) {
				next := Snapshot{others[i]: KnownValue(v, "fact")}
				for k, val := range snap {
					next[k] = val
				}
				if try(i+1, next) {
					return true
				}
			}
			return false
		}
		return try(0, Snapshot{})
	}
	for _, q := range base.Questions {
		if !slices.ContainsFunc(q.Settles, func(id string) bool { return actsFor(q, id) }) {
			t.Errorf("question %s (settles %v) changes no capability's possible states when declared", q.Fact, q.Settles)
		}
	}
	t.Logf("%d questions asked", len(base.Questions))
}

// A fact that settles a decision only together with a measure whose source
// is down is not asked: declared either way, nothing possible changes until
// the measure answers.
func TestQuestionHeldUpByADownSourceIsNotAsked(t *testing.T) {
	r := mustParse(t, `
signals:
  services: {help: Services., prometheus: {query: 'count(up)'}}
  complex: {help: Complex calls., type: bool, fact: complex}
capabilities:
  c:
    complexity: low
    trigger:
      any:
        - all: [services > 5, complex == true]
        - services > 10
`)
	down := Snapshot{"services": UnknownValue(CodeSourceDown, "source down", "prometheus")}
	d, _ := Decide(r, "c", down)
	if !slices.Equal(d.SettleWith, []string{"services", "complex"}) {
		t.Fatalf("settle with %q, want services and complex", d.SettleWith)
	}
	if len(d.Asks) != 0 {
		t.Errorf("asks %q while services is down, want nothing: complex changes nothing alone", d.Asks)
	}
	ev := Evaluate(r, down, time.Unix(0, 0))
	if len(ev.Questions) != 0 {
		t.Errorf("questions %+v, want none", ev.Questions)
	}
	// With 7 services measured, complex decides: it is asked.
	d, _ = Decide(r, "c", Snapshot{"services": KnownValue(7, "prometheus")})
	if !slices.Equal(d.Asks, []string{"complex"}) {
		t.Errorf("asks %q with 7 services, want complex", d.Asks)
	}
}

// siblings are the signals read in a condition of c together with name.
func siblings(c *Capability, name string) map[string]bool {
	out := map[string]bool{}
	if c == nil {
		return out
	}
	for _, cond := range []*Condition{c.Trigger, c.Structural, c.Must, c.Skip, c.Gate, c.Later, c.Now} {
		if cond == nil {
			continue
		}
		// The members of a top-level any or all, each read whole.
		parts := append(slices.Clone(cond.Any), cond.All...)
		if len(parts) == 0 {
			parts = []*Condition{cond}
		}
		for _, part := range parts {
			leaves := part.Leaves()
			if slices.ContainsFunc(leaves, func(l *Condition) bool { return l.Signal == name }) {
				for _, l := range leaves {
					out[l.Signal] = true
				}
			}
		}
	}
	return out
}

func boolRank(b bool) int {
	if b {
		return 1
	}
	return 0
}
