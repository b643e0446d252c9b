package collector

import (
	"context"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/common/expfmt"

	"github.com/capability-exporter/capability_exporter/collector/source"
	"github.com/capability-exporter/capability_exporter/config"
	"github.com/capability-exporter/capability_exporter/triggers"
)

// costGrowth answers 17% for every alternative of cost_growth_ratio, and
// nothing else.
func costGrowth(_ context.Context, req source.Request) source.Result {
	res := source.Result{Up: true, Values: map[string]triggers.Value{}}
	for _, sr := range req.Signals {
		if strings.HasPrefix(sr.Key, "cost_growth_ratio") {
			res.Values[sr.Key] = triggers.KnownValue(0.17, "")
		}
	}
	return res
}

// A config's threshold decides through the default rules, as loaded and
// evaluated by the exporter: 17% cost growth is a budget concern, and so a
// motive for cost visibility, against 15% but not against the framework's
// 20%. The condition's series keeps its labels; its threshold follows.
func TestConfigThresholdDecides(t *testing.T) {
	for _, tt := range []struct {
		name, config string
		trigger      triggers.Truth
		threshold    string
	}{
		{"framework's 20%", "sources: {prometheus: {url: http://prometheus:9090}}\n", triggers.Unknown, "0.2"},
		{"own 15%", "sources: {prometheus: {url: http://prometheus:9090}}\nthresholds: {cost_growth_per_month: 15%}\n", triggers.True, "0.15"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := config.Parse("config.yml", []byte(tt.config))
			if err != nil {
				t.Fatal(err)
			}
			env := newTestEnvConfig(t, cfg, map[string]func(context.Context, source.Request) source.Result{"prometheus": costGrowth}, nil)
			st := env.sched.Evaluate(context.Background())
			if v := signal(t, st, "cost_growth_ratio"); !v.Known || v.Number != 0.17 {
				t.Fatalf("cost_growth_ratio = %+v", v)
			}
			d := st.Evaluation.Decision("cost_visibility")
			if got := d.Step(triggers.KindTrigger); got != tt.trigger {
				t.Errorf("trigger %v, want %v (budget_concern %+v)", got, tt.trigger, signal(t, st, "budget_concern"))
			}
			want := `capability_condition_threshold{capability="cost_visibility",condition="cost_growth_ratio > {cost_growth_per_month}",kind="now",signal="cost_growth_ratio"} ` + tt.threshold
			out, err := testutil.CollectAndFormat(NewExporter(env.sched), expfmt.TypeTextPlain, "capability_condition_threshold")
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(out), want+"\n") {
				t.Errorf("want the series\n%s\nin\n%s", want, out)
			}
		})
	}
}
