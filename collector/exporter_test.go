package collector

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"math"
	"os"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/common/expfmt"

	"github.com/capability-exporter/capability_exporter/collector/source"
	"github.com/capability-exporter/capability_exporter/triggers"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

// deterministic lists the metrics whose values do not depend on the clock.
var deterministic = []string{
	"capability_info", "capability_decision", "capability_need", "capability_decision_possible", "capability_recommended_next", "capability_trigger",
	"capability_trigger_known", "capability_condition", "capability_condition_threshold",
	"capability_signal_value", "capability_signal_known", "capability_tool_detected",
	"capability_foundation_present", "capability_exporter_source_up", "capability_exporter_source_configured", "capability_exporter_source_errors_total",
	"capability_exporter_config_last_reload_successful",
	"capability_decision_pending", "capability_decision_pending_seconds", "capability_decision_stale",
	"capability_decision_changes_total",
}

func goldenEnv(t *testing.T) (*testEnv, *prometheus.Registry) {
	t.Helper()
	cfg := `
sources:
  prometheus: {url: http://127.0.0.1:1}
  loki: {url: http://127.0.0.1:1}
  kubernetes: {}
facts:
  compliance_required: true
`
	env := newTestEnv(t, cfg, map[string]func(context.Context, source.Request) source.Result{
		"prometheus": answer(7200),
		"loki": func(context.Context, source.Request) source.Result {
			return source.Result{Errors: []source.Error{{Reason: "unreachable", Err: errors.New("connection refused")}}}
		},
		"kubernetes": answer(8),
	})
	env.sched.Evaluate(context.Background())
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(NewExporter(env.sched))
	return env, reg
}

func TestExpositionGolden(t *testing.T) {
	_, reg := goldenEnv(t)
	const golden = "testdata/exposition.golden"
	if *update {
		var b strings.Builder
		mfs, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		for _, mf := range mfs {
			for _, name := range deterministic {
				if mf.GetName() == name {
					if _, err := expfmt.MetricFamilyToText(&b, mf); err != nil {
						t.Fatal(err)
					}
				}
			}
		}
		if err := os.WriteFile(golden, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	f, err := os.Open(golden)
	if err != nil {
		t.Fatalf("%v (run with -update)", err)
	}
	defer f.Close()
	if err := testutil.GatherAndCompare(reg, f, deterministic...); err != nil {
		t.Error(err)
	}
}

func TestExpositionIsLintClean(t *testing.T) {
	_, reg := goldenEnv(t)
	problems, err := testutil.GatherAndLint(reg)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("promlint: %s: %s", p.Metric, p.Text)
	}
}

// Unknown must be distinguishable from false in every truth-valued metric:
// each signal, condition and tool of the evaluation has its series, NaN
// exactly when it is unknown. A missing series fails, as does an
// evaluation without anything unknown to check.
func TestUnknownIsNaNNotZero(t *testing.T) {
	env, reg := goldenEnv(t)
	st := env.sched.Current()
	if d := st.Evaluation.Decision("policy_enforcement"); d.State != triggers.StateNow || !d.Recommended {
		t.Fatalf("policy_enforcement = %s recommended=%v, want the recommended now", d.State, d.Recommended)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	series := map[string]float64{} // name{label=value,...} in label order
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			var labels []string
			for _, l := range m.GetLabel() {
				labels = append(labels, l.GetName()+"="+l.GetValue())
			}
			series[mf.GetName()+"{"+strings.Join(labels, ",")+"}"] = m.GetGauge().GetValue()
		}
	}
	unknowns := 0
	check := func(key string, unknown bool) {
		t.Helper()
		v, ok := series[key]
		switch {
		case !ok:
			t.Errorf("%s is missing", key)
		case unknown != math.IsNaN(v):
			t.Errorf("%s = %v, want NaN exactly when unknown (unknown: %v)", key, v, unknown)
		}
		if unknown {
			unknowns++
		}
	}
	for _, s := range st.Evaluation.Signals {
		check("capability_signal_value{signal="+s.Name+"}", !s.Value.Known)
		if v, ok := series["capability_signal_known{signal="+s.Name+"}"]; !ok || v != boolFloat(s.Value.Known) {
			t.Errorf("capability_signal_known{signal=%s} = %v (present %v), want %v", s.Name, v, ok, boolFloat(s.Value.Known))
		}
	}
	for _, d := range st.Evaluation.Decisions {
		for _, c := range d.Conditions {
			check(fmt.Sprintf("capability_condition{capability=%s,condition=%s,kind=%s,signal=%s}", d.Capability, c.Expr, c.Kind, c.Signal), c.Truth == triggers.Unknown)
		}
	}
	for _, tool := range st.Evaluation.Tools {
		capability := cmp.Or(tool.Capability, "foundation")
		check(fmt.Sprintf("capability_tool_detected{capability=%s,tool=%s}", capability, tool.ID), tool.Detected == triggers.Unknown)
	}
	for _, f := range st.Evaluation.Foundations {
		check("capability_foundation_present{component="+f.ID+"}", f.Present == triggers.Unknown)
	}
	t.Logf("%d series checked unknown", unknowns)
	if unknowns == 0 {
		t.Fatal("nothing unknown in the evaluation: the test checks nothing (the loki source is down in goldenEnv)")
	}
}

func TestNoCapabilityMetricsBeforeFirstEvaluation(t *testing.T) {
	env := newTestEnv(t, "facts: {}", nil)
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(NewExporter(env.sched))
	n, err := testutil.GatherAndCount(reg, "capability_decision")
	if err != nil || n != 0 {
		t.Errorf("capability_decision series before any evaluation: %d (%v)", n, err)
	}
	if n, _ := testutil.GatherAndCount(reg, "capability_exporter_config_last_reload_successful"); n != 1 {
		t.Error("reload status must be exported from the start")
	}
}

// Metrics are built once per published State; a new evaluation must show.
func TestScrapeFollowsNewEvaluations(t *testing.T) {
	env := newTestEnv(t, "facts: {compliance_required: false}", nil)
	env.sched.Evaluate(context.Background())
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(NewExporter(env.sched))
	now := func() float64 {
		t.Helper()
		mfs, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		for _, mf := range mfs {
			if mf.GetName() != "capability_decision" {
				continue
			}
			for _, m := range mf.GetMetric() {
				var c, s string
				for _, l := range m.GetLabel() {
					switch l.GetName() {
					case "capability":
						c = l.GetValue()
					case "state":
						s = l.GetValue()
					}
				}
				if c == "policy_enforcement" && s == "now" {
					return m.GetGauge().GetValue()
				}
			}
		}
		t.Fatal("no policy_enforcement now series")
		return 0
	}
	for range 2 { // the second scrape reads the metrics the first one built
		if now() != 0 {
			t.Fatal("policy_enforcement must not be now without compliance")
		}
	}
	env.sched.Reload(loadConfig(t, "facts: {compliance_required: true}"))
	env.sched.Evaluate(context.Background())
	if now() != 1 {
		t.Error("a scrape after a new evaluation still shows the old decision")
	}
}
