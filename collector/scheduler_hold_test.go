package collector

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/capability-exporter/capability_exporter/collector/source"
	"github.com/capability-exporter/capability_exporter/triggers"
)

// A changed decision is published once it has held for the hold; a reload
// publishes what the new config decides at once.
func TestSchedulerHoldsAChangedDecision(t *testing.T) {
	var services atomic.Int64
	services.Store(3)
	kube := func(ctx context.Context, req source.Request) source.Result {
		res := answer(float64(services.Load()))(ctx, req)
		for _, tool := range req.Tools {
			res.Values[tool.SignalName()] = triggers.KnownValue(0, "")
		}
		return res
	}
	env := newTestEnv(t, "sources: {prometheus: {url: 'http://x'}, kubernetes: {}}\nfacts: {}\n",
		map[string]func(context.Context, source.Request) source.Result{"kubernetes": kube, "prometheus": answer(7200)})
	WithHold(3)(env.sched)
	state := func(st *State) triggers.State { return st.Evaluation.Decision("service_mesh").State }

	first := env.sched.Evaluate(context.Background())
	if s := state(first); s != triggers.StateNotTriggered {
		t.Fatalf("first evaluation published %s, want not_triggered at once", s)
	}
	services.Store(10)
	for i := range 2 {
		st := env.sched.Evaluate(context.Background())
		hs, _ := st.History.Status("service_mesh")
		if s := state(st); s != triggers.StateNotTriggered || hs.Pending == nil || hs.Pending.State != triggers.StateNow || hs.Pending.Left != 2-i {
			t.Fatalf("evaluation %d: published %s, pending %+v; want not_triggered with now pending, %d left", i+2, s, hs.Pending, 2-i)
		}
		if !st.LastChange["service_mesh"].Equal(first.Evaluation.Time) {
			t.Errorf("last change moved to %v while the change was pending", st.LastChange["service_mesh"])
		}
	}
	st := env.sched.Evaluate(context.Background())
	if s := state(st); s != triggers.StateNow {
		t.Fatalf("fourth evaluation published %s, want now", s)
	}
	if ch := st.History.Changes(); len(ch) != 1 || ch[0].Signals[0].String() != "microservices 3 → 10 (kubernetes)" {
		t.Fatalf("changes %+v, want one naming microservices 3 → 10", ch)
	}
	if !st.LastChange["service_mesh"].Equal(st.Evaluation.Time) {
		t.Errorf("last change %v, want the publishing evaluation", st.LastChange["service_mesh"])
	}

	services.Store(3)
	env.sched.Reload(loadConfig(t, "sources: {prometheus: {url: 'http://x'}, kubernetes: {}}\nfacts: {}\n"))
	if s := state(env.sched.Evaluate(context.Background())); s != triggers.StateNotTriggered {
		t.Errorf("after a reload published %s, want not_triggered at once", s)
	}
}

// The published change is exported with its states as labels, and only
// those: the fleet dashboard's "changes this week" table reads it.
func TestPublishedChangeIsExportedWithItsStates(t *testing.T) {
	var services atomic.Int64
	services.Store(3)
	kube := func(ctx context.Context, req source.Request) source.Result {
		return answer(float64(services.Load()))(ctx, req)
	}
	env := newTestEnv(t, "sources: {prometheus: {url: 'http://x'}, kubernetes: {}}\nfacts: {}\n",
		map[string]func(context.Context, source.Request) source.Result{"kubernetes": kube, "prometheus": answer(7200)})
	env.sched.Evaluate(context.Background())
	services.Store(10)
	st := env.sched.Evaluate(context.Background())
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(NewExporter(env.sched))
	want := fmt.Sprintf(`# HELP capability_decision_change_timestamp_seconds When the capability's published decision last changed from one state to another, as a Unix timestamp, for each pair of states among the changes kept since start. Labels are states only; the causes are on the status page and /api/v1/changes.
# TYPE capability_decision_change_timestamp_seconds gauge
capability_decision_change_timestamp_seconds{capability="service_mesh",from="not_triggered",to="now"} %d
# HELP capability_decision_changes_total Published changes of the capability's decision since the exporter started.
# TYPE capability_decision_changes_total counter
capability_decision_changes_total{capability="policy_enforcement"} 0
capability_decision_changes_total{capability="service_mesh"} 1
`, st.Evaluation.Time.Unix())
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "capability_decision_change_timestamp_seconds", "capability_decision_changes_total"); err != nil {
		t.Error(err)
	}
}
