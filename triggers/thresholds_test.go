package triggers

import (
	"strings"
	"testing"
	"time"
)

// namedRules compare one ratio and one count with named thresholds, the ratio
// twice (a trigger and a now) and the count on both sides.
const namedRules = `
thresholds:
  cost_growth_per_month:
    value: 20%
    help: Costs rising unexpectedly (more than this per month).
  many_services:
    value: 5
    help: More than this many microservices; fewer is a simple system.
signals:
  cost_growth_ratio: {help: Month-on-month cost growth., type: ratio, fact: cost_growth}
  microservices: {help: Workloads a Service selects., kubernetes: microservices}
capabilities:
  cost_visibility:
    complexity: low
    trigger:
      any:
        - {motive: cost, if: 'cost_growth_ratio > {cost_growth_per_month}', says: 'Costs rising more than {cost_growth_per_month} a month'}
        - {motive: scale, if: 'microservices > {many_services}'}
    skip: {if: 'microservices < {many_services}', says: 'Fewer than {many_services} services'}
`

func TestThresholdsParse(t *testing.T) {
	r, err := Parse("cost.yml", []byte(namedRules))
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Thresholds) != 2 {
		t.Fatalf("%d thresholds, want 2", len(r.Thresholds))
	}
	cg := r.Threshold("cost_growth_per_month")
	if cg == nil || cg.Type != TypeRatio || cg.Default != 0.2 || cg.Value != 0.2 || cg.Own || cg.Line != 3 || cg.File != "cost.yml" {
		t.Errorf("cost_growth_per_month = %+v", cg)
	}
	if ms := r.Threshold("many_services"); ms == nil || ms.Type != TypeNumber || ms.Value != 5 {
		t.Errorf("many_services = %+v", ms)
	}
	leaf := r.Capability("cost_visibility").Trigger.Any[0]
	if leaf.Expr != "cost_growth_ratio > {cost_growth_per_month}" || leaf.ThresholdName != "cost_growth_per_month" || leaf.Threshold != 0.2 {
		t.Errorf("leaf = %+v", leaf)
	}
}

func TestThresholdsOverride(t *testing.T) {
	r, err := Parse("cost.yml", []byte(namedRules))
	if err != nil {
		t.Fatal(err)
	}
	snap := Snapshot{"cost_growth_ratio": KnownValue(0.17, "fact"), "microservices": KnownValue(5, "kubernetes")}
	now := time.Unix(0, 0)
	if d := Evaluate(r, snap, now).Decision("cost_visibility"); d.Step(KindTrigger) != False {
		t.Fatalf("17%% growth with the framework's 20%%: trigger %v, want false", d.Step(KindTrigger))
	}
	own := r.WithThresholds(map[string]float64{"cost_growth_per_month": 0.15})
	if r.Threshold("cost_growth_per_month").Value != 0.2 || r.Threshold("cost_growth_per_month").Own {
		t.Error("WithThresholds changed the rules it was given")
	}
	th := own.Threshold("cost_growth_per_month")
	if !th.Own || th.Value != 0.15 || th.Default != 0.2 || th.ValueText() != "15%" || th.DefaultText() != "20%" {
		t.Errorf("overridden threshold = %+v", th)
	}
	d := Evaluate(own, snap, now).Decision("cost_visibility")
	if d.Step(KindTrigger) != True {
		t.Fatalf("17%% growth with the organisation's 15%%: trigger %v, want true", d.Step(KindTrigger))
	}
	var found bool
	for _, c := range d.Conditions {
		if c.ThresholdName != "cost_growth_per_month" {
			continue
		}
		found = true
		// The condition's text, and so its label, names the threshold;
		// its value and words follow the override.
		if c.Expr != "cost_growth_ratio > {cost_growth_per_month}" || c.Threshold != 0.15 || c.Says != "Costs rising more than 15% a month" {
			t.Errorf("condition = %+v", c)
		}
	}
	if !found {
		t.Error("no condition result names cost_growth_per_month")
	}
	if got := own.Words("{many_services} or {unknown_name}"); got != "5 or {unknown_name}" {
		t.Errorf("Words = %q", got)
	}
}

// The walk over unknown signals cuts them at the threshold in force: with
// cost growth unknown, the decision at 15% is reachable only below 20%.
func TestThresholdsSpaceFollowsOverride(t *testing.T) {
	r, err := Parse("cost.yml", []byte(namedRules))
	if err != nil {
		t.Fatal(err)
	}
	own := r.WithThresholds(map[string]float64{"cost_growth_per_month": 0.15})
	snap := Snapshot{"microservices": KnownValue(3, "kubernetes")}
	sp := own.newSpace(own.Capability("cost_visibility"), shapeOf(own.Capability("cost_visibility")), nil, snap)
	var cuts []float64
	for _, o := range sp.ops["cost_growth_ratio"] {
		cuts = append(cuts, o.threshold)
	}
	if len(cuts) != 1 || cuts[0] != 0.15 {
		t.Errorf("cost_growth_ratio is cut at %v, want [0.15]", cuts)
	}
}

func TestThresholdsExtend(t *testing.T) {
	const ext = `
extends: default
thresholds:
  grpc_many:
    value: 3
    help: More gRPC services than this call for tracing.
signals:
  grpc_services: {help: Services that speak gRPC., fact: grpc_services}
add_conditions:
  distributed_tracing:
    trigger: {if: 'grpc_services > {grpc_many}', says: 'More than {grpc_many} gRPC services'}
`
	r, err := Parse("ext.yml", []byte(ext))
	if err != nil {
		t.Fatal(err)
	}
	def, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(r.Thresholds), len(def.Thresholds)+1; got != want {
		t.Errorf("%d thresholds, want the defaults' and one more: %d", got, want)
	}
	if th := r.Threshold("grpc_many"); th == nil || th.File != "ext.yml" || th.Value != 3 {
		t.Errorf("own threshold %+v", th)
	}
}

// An extending file may give a default threshold its own value, which the
// default conditions then compare with; the type stays the defaults'.
func TestThresholdsExtendReplacesDefault(t *testing.T) {
	r, err := Parse("ext.yml", []byte(`
extends: default
thresholds:
  cost_growth_per_month: {value: 10%, help: Our finance team flags 10% a month.}
`))
	if err != nil {
		t.Fatal(err)
	}
	th := r.Threshold("cost_growth_per_month")
	if th == nil || th.File != "ext.yml" || th.Value != 0.1 || th.Type != TypeRatio {
		t.Fatalf("replaced threshold %+v", th)
	}
	def, _ := Default()
	if len(r.Thresholds) != len(def.Thresholds) || def.Threshold("cost_growth_per_month").Value != 0.2 {
		t.Error("the replacement added a threshold or changed the defaults")
	}
	snap := Snapshot{"cost_growth_ratio": KnownValue(0.12, "prometheus")}
	if d := Evaluate(r, snap, time.Unix(0, 0)).Decision("cost_visibility"); d.Step(KindTrigger) != True {
		t.Errorf("12%% growth against the extending file's 10%%: trigger %v, want true", d.Step(KindTrigger))
	}

	_, err = Parse("ext.yml", []byte(`
extends: default
thresholds:
  cost_growth_per_month: {value: 2h, help: Not a ratio.}
`))
	if err == nil || !strings.Contains(err.Error(), "ext.yml:4: thresholds.cost_growth_per_month.value:") {
		t.Errorf("a duration for the defaults' ratio: %v", err)
	}
}

// The hysteresis band sits around the threshold in force: with the
// organisation's 15% (a band of 1.5%), growth that held at 17% keeps holding
// at 14%, and stops at 13%.
func TestThresholdsHysteresisFollowsOverride(t *testing.T) {
	r, err := Parse("cost.yml", []byte(namedRules))
	if err != nil {
		t.Fatal(err)
	}
	own := r.WithThresholds(map[string]float64{"cost_growth_per_month": 0.15})
	at := func(growth float64, prev Truths) (Truth, Truths) {
		ev := EvaluateFrom(own, Snapshot{"cost_growth_ratio": KnownValue(growth, "fact"), "microservices": KnownValue(5, "kubernetes")}, time.Unix(0, 0), prev)
		return ev.Decision("cost_visibility").Step(KindTrigger), ev.Truths()
	}
	held, prev := at(0.17, nil)
	if held != True {
		t.Fatalf("17%%: trigger %v", held)
	}
	if got, _ := at(0.14, prev); got != True {
		t.Errorf("14%% after 17%%: trigger %v, want true inside the band around 15%%", got)
	}
	if got, _ := at(0.13, prev); got != False {
		t.Errorf("13%% after 17%%: trigger %v, want false below the band", got)
	}
}

// TestThresholdsConcurrentLoads loads the default rules twice at once with
// different thresholds, as two configs reloaded together would, and
// evaluates each: under -race it shows that the loads share nothing one of
// them writes, and each renders its own value.
func TestThresholdsConcurrentLoads(t *testing.T) {
	const says = "You have more than {many_services} microservices"
	want := map[float64]string{3: "You have more than 3 microservices", 50: "You have more than 50 microservices"}
	type loaded struct {
		value float64
		words string
		err   error
	}
	done := make(chan loaded, len(want))
	for v := range want {
		go func() {
			r, err := Default()
			if err != nil {
				done <- loaded{value: v, err: err}
				return
			}
			r = r.WithThresholds(map[string]float64{"many_services": v})
			Evaluate(r, webshop(), time.Unix(0, 0))
			done <- loaded{value: v, words: r.Words(says)}
		}()
	}
	for range want {
		l := <-done
		if l.err != nil {
			t.Fatal(l.err)
		}
		if l.words != want[l.value] {
			t.Errorf("many_services %v renders %q, want %q", l.value, l.words, want[l.value])
		}
	}
	r, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	if w := r.Words(says); w != "You have more than 5 microservices" {
		t.Errorf("a later load renders %q, want the rules' 5", w)
	}
}
