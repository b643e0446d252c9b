package triggers

import (
	"reflect"
	"slices"
	"testing"
	"time"
)

// tracingRules is one capability with every kind of condition, two tools
// that adopt it and one required foundation component.
const tracingRules = `
signals:
  microservices: {help: Workloads a Service selects., kubernetes: microservices}
  mttr: {help: Mean time to resolve critical alerts., type: duration, fact: mttr}
  tenants: {help: Teams with their own namespaces., kubernetes: tenants}
  incidents: {help: Critical incidents over 30 days., prometheus: {alert_history: {selector: 'ALERTS{severity="critical"}', window: 30d, measure: incidents}}}
  team_size: {help: Platform engineers., fact: team_size}
  prometheus_up: {help: Prometheus answers., type: bool, prometheus: {reachable: true}}
tools:
  jaeger: {capability: distributed_tracing, crd_groups: [jaegertracing.io]}
  tempo: {capability: distributed_tracing, workloads: [tempo]}
  prometheus: {namespaces: [monitoring]}
foundations:
  prometheus:
    present: {any: [tool.prometheus == true, prometheus_up == true]}
capabilities:
  distributed_tracing:
    complexity: medium
    trigger: {any: [microservices > 5, mttr > 1h, tenants > 3]}
    skip: {if: microservices < 3, says: Fewer than 3 services}
    later: team_size < 2
    now: {any: [mttr > 4h, incidents > 10]}
    requires: [prometheus]
`

// nowSnapshot decides distributed_tracing `now` with every signal known.
func nowSnapshot() Snapshot {
	return Snapshot{
		"microservices":   KnownValue(10, "kubernetes"),
		"mttr":            KnownValue(5*3600, "fact"),
		"tenants":         KnownValue(1, "kubernetes"),
		"incidents":       KnownValue(2, "prometheus"),
		"team_size":       KnownValue(5, "fact"),
		"prometheus_up":   KnownValue(1, "prometheus"),
		"tool.jaeger":     KnownValue(0, "kubernetes"),
		"tool.tempo":      KnownValue(0, "kubernetes"),
		"tool.prometheus": KnownValue(1, "kubernetes"),
	}
}

// nowSnapshotWith is nowSnapshot with change set and drop left out.
func nowSnapshotWith(change Snapshot, drop []string) Snapshot {
	snap := nowSnapshot()
	for k, v := range change {
		snap[k] = v
	}
	for _, k := range drop {
		delete(snap, k)
	}
	return snap
}

func TestDecisionStates(t *testing.T) {
	r := mustParse(t, tracingRules)
	unknown := func(reason string) Value { return UnknownValue(CodeSourceDown, reason, "kubernetes") }
	tests := []struct {
		name      string
		change    Snapshot
		drop      []string // signals left out of the snapshot
		state     State
		decidedBy string
		probable  bool
		unknowns  []string
		blockedBy []string // only for unknown decisions
	}{
		{name: "now", state: StateNow, decidedBy: KindNow},
		{name: "adopted by one tool", change: Snapshot{"tool.tempo": KnownValue(1, "kubernetes")},
			state: StateAdopted, decidedBy: "adopted"},
		{name: "adopted outranks skip", change: Snapshot{"tool.jaeger": KnownValue(1, "kubernetes"), "microservices": KnownValue(1, "kubernetes")},
			state: StateAdopted, decidedBy: "adopted"},
		{name: "adopted with the other tool unknown", change: Snapshot{"tool.jaeger": KnownValue(1, "kubernetes")}, drop: []string{"tool.tempo"},
			state: StateAdopted, decidedBy: "adopted"},
		{name: "skip", change: Snapshot{"microservices": KnownValue(2, "kubernetes")},
			state: StateSkip, decidedBy: KindSkip},
		{name: "skip outranks later", change: Snapshot{"microservices": KnownValue(2, "kubernetes"), "team_size": KnownValue(1, "fact")},
			state: StateSkip, decidedBy: KindSkip},
		{name: "later by condition", change: Snapshot{"team_size": KnownValue(1, "fact")},
			state: StateLater, decidedBy: KindLater},
		// Foundations inform; a missing one never makes a capability wait.
		{name: "now with a missing foundation", change: Snapshot{"tool.prometheus": KnownValue(0, "kubernetes"), "prometheus_up": KnownValue(0, "prometheus")},
			state: StateNow, decidedBy: KindNow},
		{name: "later by condition with foundation unknown", change: Snapshot{"team_size": KnownValue(1, "fact"), "tool.prometheus": unknown("timeout"), "prometheus_up": KnownValue(0, "prometheus")},
			state: StateLater, decidedBy: KindLater},
		{name: "consider", change: Snapshot{"mttr": KnownValue(2*3600, "fact")},
			state: StateConsider, decidedBy: KindTrigger},
		{name: "not triggered", change: Snapshot{"microservices": KnownValue(4, "kubernetes"), "mttr": KnownValue(30*60, "fact")},
			state: StateNotTriggered, decidedBy: KindTrigger},
		{name: "not triggered with unknowns that cannot matter", change: Snapshot{"microservices": KnownValue(4, "kubernetes"), "mttr": KnownValue(30*60, "fact")}, drop: []string{"incidents"},
			state: StateNotTriggered, decidedBy: KindTrigger, unknowns: []string{"incidents"}},

		{name: "unknown tool detection", drop: []string{"tool.jaeger"},
			state: StateUnknown, unknowns: []string{"tool.jaeger"}, blockedBy: []string{"tool.jaeger"}},
		// Not detected, the skip decides; so both settle it.
		{name: "unknown tool detection with an unknown condition", change: Snapshot{"microservices": unknown("connection refused")}, drop: []string{"tool.jaeger"},
			state: StateUnknown, unknowns: []string{"microservices", "tool.jaeger"}, blockedBy: []string{"tool.jaeger", "microservices"}},
		{name: "unknown skip", change: Snapshot{"microservices": unknown("connection refused")},
			state: StateUnknown, unknowns: []string{"microservices"}, blockedBy: []string{"microservices"}},
		// team_size is the team's to declare: undeclared, the LATER bullet
		// that rests on it is not asserted, and the state is probable.
		{name: "unknown later", drop: []string{"team_size"},
			state: StateNow, decidedBy: KindNow, probable: true, unknowns: []string{"team_size"}},
		{name: "unknown foundation decides nothing", change: Snapshot{"tool.prometheus": unknown("forbidden"), "prometheus_up": KnownValue(0, "prometheus")},
			state: StateNow, decidedBy: KindNow},
		// A foundation known present settles nothing more, whatever of it is unknown.
		{name: "unknown later beside a present foundation with an unknown part", change: Snapshot{"tool.prometheus": unknown("forbidden")}, drop: []string{"team_size"},
			state: StateNow, decidedBy: KindNow, probable: true, unknowns: []string{"team_size"}},
		// incidents is measured: while it is unknown, no reading decides.
		{name: "unknown now with trigger true", drop: []string{"mttr", "incidents"},
			state: StateUnknown, unknowns: []string{"mttr", "incidents"}, blockedBy: []string{"mttr", "incidents"}},
		// The trigger holds through microservices, so tenants cannot matter;
		// mttr undeclared, the NOW bullet on it is not asserted.
		{name: "unknown now with an unknown in a trigger that holds", drop: []string{"mttr", "tenants"},
			state: StateConsider, decidedBy: KindTrigger, probable: true, unknowns: []string{"mttr", "tenants"}},
		{name: "unknown trigger", change: Snapshot{"microservices": KnownValue(4, "kubernetes"), "mttr": KnownValue(30*60, "fact")}, drop: []string{"tenants"},
			state: StateUnknown, unknowns: []string{"tenants"}, blockedBy: []string{"tenants"}},
		{name: "unknown trigger with now holding", change: Snapshot{"microservices": KnownValue(4, "kubernetes"), "mttr": KnownValue(30*60, "fact"), "incidents": KnownValue(20, "prometheus")}, drop: []string{"tenants"},
			state: StateUnknown, unknowns: []string{"tenants"}, blockedBy: []string{"tenants"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev := Evaluate(r, nowSnapshotWith(tt.change, tt.drop), time.Unix(1e9, 0))
			d := ev.Decision("distributed_tracing")
			if d == nil {
				t.Fatal("no decision for distributed_tracing")
			}
			if d.State != tt.state || d.DecidedBy != tt.decidedBy {
				t.Errorf("decision = %s decided by %s, want %s decided by %s (steps %v)", d.State, d.DecidedBy, tt.state, tt.decidedBy, d.Steps)
			}
			if !slices.Equal(d.UnknownSignals, tt.unknowns) {
				t.Errorf("unknown signals = %q, want %q", d.UnknownSignals, tt.unknowns)
			}
			if !slices.Equal(d.BlockedBy, tt.blockedBy) {
				t.Errorf("blocked by %q, want %q", d.BlockedBy, tt.blockedBy)
			}
			if d.Probable != tt.probable {
				t.Errorf("probable = %v, want %v", d.Probable, tt.probable)
			}
			if tt.state == StateUnknown && !slices.Equal(d.SettleWith, d.BlockedBy) {
				t.Errorf("settle with %q, blocked by %q", d.SettleWith, d.BlockedBy)
			}
			if settled := len(d.Possible) == 1; settled == (d.State == StateUnknown || d.Probable) {
				t.Errorf("possible %v for a %s decision (probable %v)", d.Possible, d.State, d.Probable)
			}
			for _, b := range d.BlockedBy {
				if !slices.Contains(d.UnknownSignals, b) {
					t.Errorf("%s blocks the decision but is not among its unknown signals %q", b, d.UnknownSignals)
				}
			}
			if want := tt.state == StateNow; d.Recommended != want || (ev.Recommended == "distributed_tracing") != want {
				t.Errorf("recommended = %v (evaluation says %q), want %v", d.Recommended, ev.Recommended, want)
			}
		})
	}
}

// Each leaf is recorded with its kind, the value it read and its truth, in
// the order trigger, skip, later, now.
func TestDecisionReasons(t *testing.T) {
	r := mustParse(t, tracingRules)
	snap := nowSnapshot()
	delete(snap, "incidents")
	snap["tenants"] = UnknownValue(CodeSourceDown, "tenants: connection refused", "kubernetes")
	ev := Evaluate(r, snap, time.Unix(1e9, 0))
	d := ev.Decision("distributed_tracing")
	type row struct {
		kind, expr string
		known      bool
		number     float64
		reason     string
		truth      Truth
	}
	want := []row{
		{KindTrigger, "microservices > 5", true, 10, "", True},
		{KindTrigger, "mttr > 1h", true, 5 * 3600, "", True},
		{KindTrigger, "tenants > 3", false, 0, "tenants: connection refused", Unknown},
		{KindSkip, "microservices < 3", true, 10, "", False},
		{KindLater, "team_size < 2", true, 5, "", False},
		{KindNow, "mttr > 4h", true, 5 * 3600, "", True},
		{KindNow, "incidents > 10", false, 0, "not collected", Unknown},
	}
	if len(d.Conditions) != len(want) {
		t.Fatalf("recorded %d conditions, want %d: %+v", len(d.Conditions), len(want), d.Conditions)
	}
	for i, w := range want {
		c := d.Conditions[i]
		got := row{c.Kind, c.Expr, c.Value.Known, c.Value.Number, c.Value.Reason, c.Truth}
		if got != w {
			t.Errorf("condition %d = %+v, want %+v", i, got, w)
		}
	}
	if c := d.Conditions[1]; c.Signal != "mttr" || c.Op != OpGT || c.Threshold != 3600 || c.Type != TypeDuration || c.Value.Source != "fact" {
		t.Errorf("mttr condition = %+v", c)
	}
	if c := d.Conditions[3]; c.Says != "Fewer than 3 services" {
		t.Errorf("skip condition says %q, want the framework's words", c.Says)
	}
	if d.State != StateNow || d.DecidedBy != KindNow {
		t.Errorf("decision = %s by %s, want now: an unknown that cannot change it does not matter", d.State, d.DecidedBy)
	}
	if want := []string{"tenants", "incidents"}; !slices.Equal(d.UnknownSignals, want) {
		t.Errorf("unknown signals = %q, want %q", d.UnknownSignals, want)
	}
	// Known steps name no unknowns, though tenants (trigger) and incidents
	// (now) are unknown: the trigger and the now condition hold without them.
	wantSteps := []StepResult{{StepAdopted, False, False, nil}, {KindStructural, False, False, nil}, {KindMust, False, False, nil},
		{KindSkip, False, False, nil}, {KindGate, False, False, nil}, {KindLater, False, False, nil}, {KindNow, True, True, nil},
		{KindTrigger, True, True, nil}}
	if !reflect.DeepEqual(d.Steps, wantSteps) {
		t.Errorf("steps = %v, want %v", d.Steps, wantSteps)
	}
	if d.Step("nonsense") != Unknown || d.StepOf("nonsense").Unknown != nil {
		t.Error("an unnamed step reads as known")
	}
	if d.BlockedBy != nil {
		t.Errorf("a known decision is blocked by %q", d.BlockedBy)
	}

	// Tools and foundations carry their own reasons.
	if len(d.Tools) != 2 || d.Tools[0].ID != "jaeger" || d.Tools[0].Detected != False || d.Tools[1].ID != "tempo" {
		t.Errorf("tools = %+v, want jaeger and tempo, not detected", d.Tools)
	}
	if len(d.Requires) != 1 || d.Requires[0].ID != "prometheus" || d.Requires[0].Present != True {
		t.Fatalf("requires = %+v, want prometheus present", d.Requires)
	}
	fc := d.Requires[0].Conditions
	if len(fc) != 2 || fc[0].Kind != "foundation" || fc[0].Signal != "tool.prometheus" || fc[0].Type != TypeBool || fc[0].Truth != True {
		t.Errorf("foundation conditions = %+v", fc)
	}
	if d.Title != "distributed_tracing" || d.Complexity != ComplexityMedium {
		t.Errorf("title %q complexity %v", d.Title, d.Complexity)
	}
}

func TestUnknownSignalsListedOnce(t *testing.T) {
	r := mustParse(t, tracingRules)
	snap := nowSnapshot()
	// microservices appears in trigger and skip; mttr in trigger and now.
	delete(snap, "microservices")
	delete(snap, "mttr")
	delete(snap, "tool.jaeger")
	d := Evaluate(r, snap, time.Time{}).Decision("distributed_tracing")
	if want := []string{"microservices", "mttr", "tool.jaeger"}; !slices.Equal(d.UnknownSignals, want) {
		t.Errorf("unknown signals = %q, want %q", d.UnknownSignals, want)
	}
	// Not detected, the skip on microservices decides; mttr (trigger and
	// now) cannot change it once microservices is known.
	if want := []string{"tool.jaeger", "microservices", "mttr"}; !slices.Equal(d.BlockedBy, want) {
		t.Errorf("blocked by %q, want %q", d.BlockedBy, want)
	}
	if d.State != StateUnknown {
		t.Errorf("decision = %s by %s, want unknown", d.State, d.DecidedBy)
	}
	if d.Tools[0].Detected != Unknown || d.Tools[0].Reason != "not collected" {
		t.Errorf("jaeger = %+v, want unknown, not collected", d.Tools[0])
	}
}

func TestSignalNotCollected(t *testing.T) {
	r := mustParse(t, tracingRules)
	ev := Evaluate(r, Snapshot{"microservices": KnownValue(7, "kubernetes")}, time.Time{})
	if len(ev.Signals) != len(r.Signals) {
		t.Fatalf("evaluation lists %d signals, want %d", len(ev.Signals), len(r.Signals))
	}
	for i, s := range ev.Signals {
		if s.Name != r.Signals[i].Name || s.Type != r.Signals[i].Type || s.Help != r.Signals[i].Help {
			t.Errorf("signal %d = %+v, want %s in file order", i, s, r.Signals[i].Name)
		}
		switch {
		case s.Name == "microservices":
			if s.Value != KnownValue(7, "kubernetes") {
				t.Errorf("microservices = %+v", s.Value)
			}
		case s.Value.Known || s.Value.Reason != "not collected":
			t.Errorf("%s = %+v, want unknown, not collected", s.Name, s.Value)
		}
	}
	for _, tr := range ev.Tools {
		if tr.Detected != Unknown || tr.Reason != "not collected" {
			t.Errorf("tool %s = %+v, want unknown, not collected", tr.ID, tr)
		}
	}
	if len(ev.Foundations) != 1 || ev.Foundations[0].Present != Unknown {
		t.Errorf("foundations = %+v, want prometheus unknown", ev.Foundations)
	}
	if ev.Decision("nonexistent") != nil {
		t.Error("Decision of an unknown capability is not nil")
	}
}

// Steps are the ladder Evaluate walked, with what each step read: later
// with the foundations, now with the trigger, and the conditions alone
// beside them; each names what could settle it while it is unknown.
func TestLadderSteps(t *testing.T) {
	r := mustParse(t, tracingRules)
	type step struct {
		truth, condition Truth
		unknown          []string
	}
	tests := []struct {
		name   string
		change Snapshot
		drop   []string
		want   map[string]step
	}{
		{name: "a missing foundation leaves later alone",
			change: Snapshot{"tool.prometheus": KnownValue(0, "kubernetes"), "prometheus_up": KnownValue(0, "prometheus")},
			want:   map[string]step{KindLater: {False, False, nil}}},
		{name: "now condition and trigger hold",
			change: Snapshot{"microservices": KnownValue(4, "kubernetes"), "mttr": KnownValue(5*3600, "fact"), "incidents": KnownValue(20, "prometheus")},
			want:   map[string]step{KindNow: {True, True, nil}, KindTrigger: {True, True, nil}}},
		{name: "the now step is its own condition, whatever the trigger",
			change: Snapshot{"microservices": KnownValue(4, "kubernetes"), "mttr": KnownValue(30*60, "fact"), "incidents": KnownValue(20, "prometheus")},
			want:   map[string]step{KindNow: {True, True, nil}, KindTrigger: {False, False, nil}}},
		{name: "unknown tools and foundation",
			drop: []string{"tool.jaeger", "tool.tempo", "tool.prometheus", "prometheus_up"},
			want: map[string]step{StepAdopted: {Unknown, Unknown, []string{"tool.jaeger", "tool.tempo"}},
				KindLater: {False, False, nil}}},
		{name: "unknown trigger and now condition",
			change: Snapshot{"microservices": KnownValue(4, "kubernetes")}, drop: []string{"mttr", "incidents"},
			want: map[string]step{KindNow: {Unknown, Unknown, []string{"mttr", "incidents"}},
				KindTrigger: {Unknown, Unknown, []string{"mttr"}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := Evaluate(r, nowSnapshotWith(tt.change, tt.drop), time.Time{}).Decision("distributed_tracing")
			var kinds []string
			for _, s := range d.Steps {
				kinds = append(kinds, s.Kind)
			}
			if !slices.Equal(kinds, Ladder()) {
				t.Fatalf("steps %q, want the ladder %q", kinds, Ladder())
			}
			for kind, w := range tt.want {
				s := d.StepOf(kind)
				if got := (step{s.Truth, s.Condition, s.Unknown}); !reflect.DeepEqual(got, w) {
					t.Errorf("%s = %+v, want %+v", kind, got, w)
				}
			}
		})
	}
}

// A capability with no tool is never adopted, and one with no skip, later or
// now conditions reads each as false rather than unknown.
func TestDecisionWithoutOptionalParts(t *testing.T) {
	r := mustParse(t, `
signals:
  nodes: {help: Nodes., kubernetes: nodes}
capabilities:
  chaos_engineering:
    complexity: medium_high
    trigger: nodes > 3
`)
	for _, tt := range []struct {
		snap  Snapshot
		state State
	}{
		{Snapshot{"nodes": KnownValue(5, "kubernetes")}, StateConsider},
		{Snapshot{"nodes": KnownValue(1, "kubernetes")}, StateNotTriggered},
		{Snapshot{}, StateUnknown},
	} {
		d := Evaluate(r, tt.snap, time.Time{}).Decision("chaos_engineering")
		if d.State != tt.state {
			t.Errorf("%v: state %s, want %s (steps %v)", tt.snap, d.State, tt.state, d.Steps)
		}
		if d.Tools != nil || d.Requires != nil {
			t.Errorf("tools %v requires %v, want none", d.Tools, d.Requires)
		}
	}
}

const recommendRules = `
signals:
  x: {help: X., kubernetes: nodes}
  y: {help: Y., kubernetes: zones}
capabilities:
  high_one:     {complexity: high,   trigger: x > 0, now: {any: [x > 0, y > 0]}}
  medium_one:   {complexity: medium, trigger: x > 0, now: x > 0}
  medium_two:   {complexity: medium, trigger: x > 0, now: {any: [x > 0, y > 0]}}
  medium_three: {complexity: medium, trigger: x > 0, now: {any: [x > 0, y > 0]}}
  low_later:    {complexity: low,    trigger: x > 0, now: x > 0, later: y > 0}
`

func TestRecommended(t *testing.T) {
	r := mustParse(t, recommendRules)
	tests := []struct {
		name string
		snap Snapshot
		want string
	}{
		// low_later waits; of the rest, medium beats high even though high
		// holds two now-conditions; among mediums, two holding beat one,
		// and of the two with two, the first in the file wins.
		{"complexity, then conditions holding, then file order",
			Snapshot{"x": KnownValue(1, ""), "y": KnownValue(1, "")}, "medium_two"},
		{"lowest complexity", Snapshot{"x": KnownValue(1, ""), "y": KnownValue(0, "")}, "low_later"},
		// y unknown: low_later is unknown, and an unknown now-condition does
		// not count as holding, so the mediums tie and file order decides.
		{"unknown does not count as holding", Snapshot{"x": KnownValue(1, "")}, "medium_one"},
		{"nothing now", Snapshot{"x": KnownValue(0, ""), "y": KnownValue(1, "")}, ""},
		{"nothing known", Snapshot{}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev := Evaluate(r, tt.snap, time.Time{})
			if ev.Recommended != tt.want {
				t.Errorf("recommended = %q, want %q", ev.Recommended, tt.want)
			}
			var marked []string
			for _, d := range ev.Decisions {
				if d.Recommended {
					marked = append(marked, d.Capability)
					if d.State != StateNow {
						t.Errorf("%s is recommended in state %s", d.Capability, d.State)
					}
				}
			}
			want := []string{}
			if tt.want != "" {
				want = []string{tt.want}
			}
			if len(marked) != len(want) || (len(want) == 1 && marked[0] != want[0]) {
				t.Errorf("decisions marked recommended: %q, want %q", marked, want)
			}
		})
	}
}

// A now condition's members that hold count, not its true comparisons: under
// `not` a true comparison means the member does not hold.
func TestRecommendedCountsHoldingMembers(t *testing.T) {
	r := mustParse(t, `
signals:
  x: {help: X., kubernetes: nodes}
  y: {help: Y., kubernetes: zones}
  z: {help: Z., kubernetes: tenants}
capabilities:
  first:  {complexity: medium, trigger: x > 0, now: {any: [x > 0, {not: y > 0}]}}
  second: {complexity: medium, trigger: x > 0, now: {any: [x > 0, z > 0]}}
  third:  {complexity: medium, trigger: x > 0, now: {all: [x > 0, {not: z > 5}]}}
`)
	// first holds one member (two true comparisons), second two, third two:
	// second wins on members holding, then on file order over third.
	ev := Evaluate(r, Snapshot{"x": KnownValue(1, ""), "y": KnownValue(1, ""), "z": KnownValue(1, "")}, time.Time{})
	if ev.Recommended != "second" {
		t.Errorf("recommended %q, want second", ev.Recommended)
	}
	for id, want := range map[string]int{"first": 1, "second": 2, "third": 2} {
		if got := ev.Decision(id).nowHolding; got != want {
			t.Errorf("%s: %d now members hold, want %d", id, got, want)
		}
	}
}

// The recommendation does not depend on the order decisions are compared in:
// whichever capability is listed first, the same one wins.
func TestRecommendedOrderIndependent(t *testing.T) {
	r := mustParse(t, recommendRules)
	ev := Evaluate(r, Snapshot{"x": KnownValue(1, ""), "y": KnownValue(1, "")}, time.Time{})
	ds := slices.Clone(ev.Decisions)
	for i := range ds {
		rotated := append(slices.Clone(ds[i:]), ds[:i]...)
		if got := recommend(r, rotated); got != "medium_two" {
			t.Errorf("rotation %d: recommended %q, want medium_two", i, got)
		}
	}
}

func TestStates(t *testing.T) {
	if s := States(); len(s) != 7 || s[0] != StateAdopted || s[len(s)-1] != StateUnknown {
		t.Errorf("States = %v", s)
	}
}
