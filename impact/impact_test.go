package impact

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/capability-exporter/capability_exporter/triggers"
)

const day = 24 * time.Hour

// fakeStore answers from tables: a query's points by window end, and an
// alert selector's summary by window.
type fakeStore struct {
	values    map[string]func(at time.Time) (float64, bool)
	summaries func(w Window) AlertSummary
	alertErr  error
	ranges    int
	instants  int
}

func (f *fakeStore) ValueAt(_ context.Context, q string, at time.Time) (float64, bool, error) {
	f.instants++
	fn, ok := f.values[q]
	if !ok {
		return 0, false, nil
	}
	v, found := fn(at)
	return v, found, nil
}

func (f *fakeStore) AlertHistory(_ context.Context, _ string, _ []string, ws []Window) ([]AlertSummary, []error) {
	f.ranges++
	out, errs := make([]AlertSummary, len(ws)), make([]error, len(ws))
	for i, w := range ws {
		if f.alertErr != nil {
			errs[i] = f.alertErr
			continue
		}
		out[i] = f.summaries(w)
	}
	return out, errs
}

func (f *fakeStore) Created(context.Context, []*triggers.Tool, time.Duration) (time.Time, error) {
	return time.Time{}, nil
}

type medians map[string]float64

func (m medians) Measure(name string) (float64, error) {
	v, ok := m[name]
	if !ok {
		return 0, errors.New("no incident resolved in the window")
	}
	return v, nil
}

func rules(t *testing.T) *triggers.Rules {
	t.Helper()
	r, err := triggers.Parse("rules.yml", []byte(`
signals:
  mttr:
    help: Median time to resolve.
    type: duration
    prometheus:
      alert_history: {selector: 'ALERTS{severity="critical"}', window: 30d, measure: median_resolution}
  incidents:
    help: Critical incidents.
    prometheus:
      alert_history: {selector: 'ALERTS{severity="critical"}', window: 30d, measure: incidents}
  cost_growth:
    help: Cost growth a month.
    type: ratio
    prometheus: {query: 'cost_growth'}
  limited:
    help: Containers with limits.
    type: ratio
    kubernetes: limited_container_ratio
tools:
  jaeger: {title: Jaeger, capability: tracing, workloads: [jaeger], exit: 'Remove the instrumentation exporter, then Jaeger'}
  opencost: {title: OpenCost, capability: cost, workloads: [opencost], exit: Uninstall OpenCost}
capabilities:
  tracing:
    title: Distributed Tracing
    complexity: medium
    trigger: {any: [mttr > 1h, incidents > 3]}
    impact: [mttr, incidents]
  cost:
    title: Cost Visibility
    complexity: low
    trigger: {any: [cost_growth > 20%, limited < 50%]}
    impact: [cost_growth, limited]
`))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestAdopted(t *testing.T) {
	d, k, s := time.Unix(3000, 0), time.Unix(2000, 0), time.Unix(1000, 0)
	for _, tc := range []struct {
		declared, cluster, store time.Time
		want                     Adoption
		ok                       bool
	}{
		{d, k, s, Adoption{d, FromDeclared}, true},
		{time.Time{}, k, s, Adoption{s, FromStore}, true},
		{time.Time{}, s, k, Adoption{s, FromKubernetes}, true},
		{time.Time{}, k, time.Time{}, Adoption{k, FromKubernetes}, true},
		{time.Time{}, time.Time{}, time.Time{}, Adoption{}, false},
	} {
		got, ok := Adopted(tc.declared, tc.cluster, tc.store)
		if got != tc.want || ok != tc.ok {
			t.Errorf("Adopted(%v, %v, %v) = %v %v, want %v %v", tc.declared, tc.cluster, tc.store, got, ok, tc.want, tc.ok)
		}
	}
}

// Tracing adopted 20 days ago: 2h30m to resolve before, 40m since. Both
// alert history signals are read with one range query over both windows.
func TestJudgeTracing(t *testing.T) {
	r := rules(t)
	now := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	adopted := now.Add(-20 * day)
	store := &fakeStore{summaries: func(w Window) AlertSummary {
		if w.End.After(adopted) {
			return medians{"median_resolution": (40 * time.Minute).Seconds(), "incidents": 4}
		}
		return medians{"median_resolution": (150 * time.Minute).Seconds(), "incidents": 5}
	}}
	res := Judge(context.Background(), store, r, r.Capability("tracing"), []*triggers.Tool{r.Tool("jaeger")}, Adoption{adopted, FromKubernetes}, now, DefaultOptions())
	if store.ranges != 1 {
		t.Errorf("%d range queries, want 1", store.ranges)
	}
	if res.Window != (20*day).Seconds() || !res.Before.End.Equal(adopted) || !res.Before.Start.Equal(adopted.Add(-20*day)) {
		t.Errorf("windows %v / %v over %vs", res.Before, res.After, res.Window)
	}
	mttr := res.Signals[0]
	if !mttr.RatioKnown || math.Abs(mttr.Ratio-40.0/150) > 1e-9 || !mttr.Improved || mttr.Better != triggers.BetterLower {
		t.Errorf("mttr = %+v, want ratio 0.267, improved", mttr)
	}
	if inc := res.Signals[1]; !inc.RatioKnown || inc.Ratio != 0.8 || !inc.Improved {
		t.Errorf("incidents = %+v, want 0.8, improved (-20%%)", inc)
	}
	if res.ExitQuestion != "" || res.TooEarly != "" {
		t.Errorf("exit %q, too early %q", res.ExitQuestion, res.TooEarly)
	}
}

// Cost visibility declared adopted 61 days ago, cost growth unchanged: no
// signal improved after the judging period raises the exit question with
// the tool's exit path. The Kubernetes-sourced signal is read from the
// exporter's own series; here the store holds none, so it is unknown.
func TestJudgeExitQuestion(t *testing.T) {
	r := rules(t)
	now := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	adopted := now.Add(-61 * day)
	store := &fakeStore{values: map[string]func(time.Time) (float64, bool){
		"cost_growth": func(time.Time) (float64, bool) { return 0.055, true },
	}}
	res := Judge(context.Background(), store, r, r.Capability("cost"), []*triggers.Tool{r.Tool("opencost")}, Adoption{adopted, FromDeclared}, now, DefaultOptions())
	if res.Window != MaxWindow.Seconds() {
		t.Errorf("window %vs, want 30 days", res.Window)
	}
	cg := res.Signals[0]
	if !cg.RatioKnown || cg.Ratio != 1 || cg.Improved {
		t.Errorf("cost growth = %+v, want ratio 1, not improved", cg)
	}
	if lim := res.Signals[1]; lim.Before.Known || !strings.Contains(lim.Before.Reason, "no data at adoption") || lim.Better != triggers.BetterHigher {
		t.Errorf("limited = %+v, want unknown (no data), better higher", lim)
	}
	if !strings.Contains(res.ExitQuestion, "can we go back if it does not work?") || len(res.Exit) != 1 || res.Exit[0].Exit != "Uninstall OpenCost" {
		t.Errorf("exit %q %+v", res.ExitQuestion, res.Exit)
	}
	// Within the judging period the question is not raised yet.
	res = Judge(context.Background(), store, r, r.Capability("cost"), nil, Adoption{now.Add(-59 * day), FromDeclared}, now, DefaultOptions())
	if res.ExitQuestion != "" {
		t.Errorf("exit question at 59 days: %q", res.ExitQuestion)
	}
}

func TestJudgeTooEarlyAndUnknown(t *testing.T) {
	r := rules(t)
	now := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	store := &fakeStore{}
	res := Judge(context.Background(), store, r, r.Capability("tracing"), nil, Adoption{now.Add(-3*day - time.Hour), FromKubernetes}, now, DefaultOptions())
	if res.TooEarly != "too early: 3 days since adoption" || store.ranges+store.instants != 0 || res.Signals[0].Before.Reason != res.TooEarly ||
		res.Signals[0].Before.Code != triggers.CodeTooYoung {
		t.Errorf("too early = %q (%d requests) %+v", res.TooEarly, store.ranges+store.instants, res.Signals[0])
	}
	// Data that does not reach back to adoption: unknown, saying so. The
	// query is read at adoption and W after it.
	adopted := now.Add(-20 * day)
	store = &fakeStore{values: map[string]func(time.Time) (float64, bool){
		"cost_growth": func(at time.Time) (float64, bool) { return 0.3, at.After(adopted) },
	}, alertErr: errors.New("the data does not reach back")}
	res = Judge(context.Background(), store, r, r.Capability("cost"), nil, Adoption{adopted, FromKubernetes}, now, DefaultOptions())
	if cg := res.Signals[0]; cg.Before.Known || !strings.Contains(cg.Before.Reason, "no data at adoption") || cg.Before.Code != triggers.CodeNoData || cg.RatioKnown || !cg.After.Known {
		t.Errorf("cost growth = %+v", cg)
	}
	res = Judge(context.Background(), store, r, r.Capability("tracing"), nil, Adoption{now.Add(-20 * day), FromKubernetes}, now, DefaultOptions())
	if m := res.Signals[0]; m.Before.Known || m.Before.Reason != "the data does not reach back" {
		t.Errorf("mttr = %+v", m)
	}
}

func TestQueries(t *testing.T) {
	r := rules(t)
	if got := Queries(r.Signal("limited")); len(got) != 1 || got[0] != `max(capability_signal_value{signal="limited"})` {
		t.Errorf("Queries(limited) = %q", got)
	}
}
