package triggers

import (
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

// dayOne is the webshop measured with no fact declared: what a team sees
// the first time it runs the exporter with the shipped config.
func dayOne() Snapshot {
	s := webshop()
	r, _ := Default()
	for _, sig := range r.Signals {
		if sig.Judgment() {
			delete(s, sig.Name)
		}
	}
	return s
}

// The seed's verdict for the webshop, "Probably YES" and "Probably NOT
// (now)", reached from measures alone.
func TestDayOneNeedsAreTheSeedsWebshopVerdict(t *testing.T) {
	r, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	ev := Evaluate(r, dayOne(), time.Unix(0, 0))
	want := map[string]Need{
		"distributed_tracing": NeedProbably, "cost_visibility": NeedProbably, "policy_enforcement": NeedProbably,
		"service_mesh": NeedProbablyNot, "multi_region": NeedProbablyNot,
	}
	for id, need := range want {
		if d := ev.Decision(id); d.Need != need {
			t.Errorf("%s need %s (state %s, settle with %q), want %s", id, d.Need, d.State, d.SettleWith, need)
		}
	}
	d := ev.Decision("chaos_engineering")
	waits := d.State == StateLater && d.DecidedBy == KindGate
	skips := d.State == StateSkip && !d.Need.Needed()
	if !waits && !skips {
		t.Errorf("chaos engineering %s by %s (need %s), want later for the HA setup, or skip", d.State, d.DecidedBy, d.Need)
	}
	for _, d := range ev.Decisions {
		// No measure speaks to security auditing's motives (compliance,
		// a security team, break-glass, a SIEM): it asks.
		if d.Capability == "security_auditing" {
			if d.Need != NeedUnknown || d.Probable {
				t.Errorf("security auditing need %s (probable %v) with nothing declared, want unknown", d.Need, d.Probable)
			}
			continue
		}
		if d.State == StateUnknown {
			t.Errorf("%s unknown with every measure known (settle with %q)", d.Capability, d.SettleWith)
		}
	}
	if len(ev.Questions) == 0 || len(ev.Questions[0].Settles) < len(ev.Questions[len(ev.Questions)-1].Settles) {
		t.Errorf("questions %+v, want them ranked by the decisions they settle", ev.Questions)
	}
}

// SettleWith is minimal: without any one of its signals, the rest no
// longer decide the state, so it names nothing that cannot change it.
func TestSettleWithIsMinimal(t *testing.T) {
	r, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	for _, snap := range []Snapshot{dayOne(), webshopWith(nil, "microservices", "platform_team_capacity", "mtls_required"), {}} {
		s := r.prepare(snap)
		e := evaluator{rules: r, snap: s}
		var frs []FoundationResult
		for _, f := range r.Foundations {
			frs = append(frs, e.foundation(f))
		}
		withFoundations(s, frs)
		for _, c := range r.Capabilities {
			d, _ := Decide(r, c.ID, snap)
			if len(d.Possible) == 1 {
				if len(d.SettleWith) != 0 {
					t.Errorf("%s settled as %s, yet settle with %q", c.ID, d.State, d.SettleWith)
				}
				continue
			}
			var tools []string
			for _, tl := range r.Tools {
				if tl.Capability == c.ID {
					tools = append(tools, tl.SignalName())
				}
			}
			sp := r.newSpace(c, shapeOf(c), tools, s)
			sp.walk()
			index := func(names []string) []int {
				var out []int
				for _, n := range names {
					out = append(out, slices.IndexFunc(sp.vars, func(v variable) bool { return v.name == n }))
				}
				return out
			}
			set := index(d.SettleWith)
			if slices.Contains(set, -1) {
				continue // beyond the walk: named because nothing walked settles it
			}
			if !sp.settles(set) {
				t.Errorf("%s: %q does not settle it", c.ID, d.SettleWith)
			}
			for i := range set {
				if sp.settles(slices.Delete(slices.Clone(set), i, i+1)) {
					t.Errorf("%s: %q settles it without %s", c.ID, d.SettleWith, d.SettleWith[i])
				}
			}
		}
	}
}

// BenchmarkEvaluateDayOne measures an evaluation with no fact declared, the
// widest space of unknowns the default rules walk.
func BenchmarkEvaluateDayOne(b *testing.B) {
	r, err := Default()
	if err != nil {
		b.Fatal(err)
	}
	snap := dayOne()
	b.ReportAllocs()
	for b.Loop() {
		Evaluate(r, snap, time.Unix(0, 0))
	}
}

// Decide decides one capability exactly as Evaluate decides them all; over
// snapshots with values on both sides of every threshold, and some unknown.
func TestDecideAgreesWithEvaluate(t *testing.T) {
	r, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	thresholds := map[string][]float64{}
	var names []string
	for _, c := range r.Capabilities {
		for _, tl := range r.Tools {
			if tl.Capability == c.ID && !slices.Contains(names, tl.SignalName()) {
				names = append(names, tl.SignalName())
			}
		}
		for _, leaf := range r.DecisionLeaves(c) {
			thresholds[leaf.Signal] = append(thresholds[leaf.Signal], leaf.Threshold)
			if !slices.Contains(names, leaf.Signal) && !strings.HasPrefix(leaf.Signal, FoundationSignalPrefix) {
				names = append(names, leaf.Signal)
			}
		}
	}
	seen := map[State]bool{}
	for seed := range 40 {
		snap := randomReading(r, names, thresholds, rand.New(rand.NewPCG(uint64(seed), 1)), 8)
		ev := Evaluate(r, snap, time.Unix(0, 0))
		for _, want := range ev.Decisions {
			seen[want.State] = true
			got, ok := Decide(r, want.Capability, snap)
			if !ok || got.State != want.State || got.DecidedBy != want.DecidedBy || got.Need != want.Need ||
				!slices.Equal(got.SettleWith, want.SettleWith) {
				t.Fatalf("%s (seed %d): Decide = %s by %s (need %s), Evaluate = %s by %s (need %s)", want.Capability, seed,
					got.State, got.DecidedBy, got.Need, want.State, want.DecidedBy, want.Need)
			}
		}
	}
	if len(seen) < 5 {
		t.Errorf("the snapshots reached only the states %v; they test too little", seen)
	}
}

// A probable state is one of the states still possible: with nothing
// declared and no region measured, multi-region and auditing read no NOT
// bullet and no motive, which no declared value gives.
func TestProbableStateIsPossible(t *testing.T) {
	r, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	snap := dayOne()
	delete(snap, "node_regions")
	for _, d := range Evaluate(r, snap, time.Unix(0, 0)).Decisions {
		if d.State != StateUnknown && !slices.Contains(d.Possible, d.State) {
			t.Errorf("%s is %s (probable %v), not among the possible %v", d.Capability, d.State, d.Probable, d.Possible)
		}
		// "Probably" needs a measure behind it; none speaks to auditing.
		if d.Capability == "security_auditing" && d.Need != NeedUnknown {
			t.Errorf("security auditing need %s with nothing declared, want unknown", d.Need)
		}
	}
}

// A space copies only the signals its capability's decision can read; over
// random snapshots, with every signal of the rules set or left unknown, the
// evaluation is the same as with the whole reading copied. A signal a
// decision reads and spaceReadsOf misses would read "not collected" in the
// walk and change a decision, a change or a question here.
func TestSpaceReadsAreComplete(t *testing.T) {
	r, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	whole := *r
	whole.spaceReads = nil // every space copies the whole reading
	var names []string
	thresholds := map[string][]float64{}
	for _, s := range r.Signals {
		names = append(names, s.Name)
	}
	for _, tl := range r.Tools {
		names = append(names, tl.SignalName())
	}
	for _, c := range r.Capabilities {
		for _, leaf := range r.DecisionLeaves(c) {
			thresholds[leaf.Signal] = append(thresholds[leaf.Signal], leaf.Threshold)
		}
	}
	for seed := range 30 {
		snap := randomReading(r, names, thresholds, rand.New(rand.NewPCG(uint64(seed), 2)), 3)
		got, want := Evaluate(r, snap, time.Unix(0, 0)), Evaluate(&whole, snap, time.Unix(0, 0))
		for i := range want.Decisions {
			if !reflect.DeepEqual(got.Decisions[i], want.Decisions[i]) {
				t.Fatalf("seed %d: %s differs when a space copies only what spaceReadsOf lists:\n got %+v\nwant %+v",
					seed, want.Decisions[i].Capability, got.Decisions[i], want.Decisions[i])
			}
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("seed %d: the evaluation differs when a space copies only what spaceReadsOf lists", seed)
		}
	}
}

// randomReading gives each named signal a value from one of the ranges its
// thresholds cut, or none one time in unknownOneIn; a tool is detected one
// time in ten.
func randomReading(r *Rules, names []string, thresholds map[string][]float64, rnd *rand.Rand, unknownOneIn int) Snapshot {
	snap := Snapshot{}
	for _, name := range names {
		typ := TypeBool
		if s := r.Signal(name); s != nil {
			typ = s.Type
		}
		rs := Ranges(typ, thresholds[name], Value{})
		switch {
		case rnd.IntN(unknownOneIn) == 0: // unknown
		case strings.HasPrefix(name, ToolSignalPrefix): // tools are rare
			v := 0.0
			if rnd.IntN(10) == 0 {
				v = 1
			}
			snap[name] = KnownValue(v, "test")
		case len(rs) > 0:
			snap[name] = KnownValue(rs[rnd.IntN(len(rs))].Try, "test")
		}
	}
	return snap
}
