package collector

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/capability-exporter/capability_exporter/collector/source"
	"github.com/capability-exporter/capability_exporter/config"
	"github.com/capability-exporter/capability_exporter/impact"
	"github.com/capability-exporter/capability_exporter/triggers"
)

const impactRules = `
signals:
  mttr:
    help: Median time to resolve critical incidents.
    type: duration
    prometheus:
      alert_history: {selector: 'ALERTS{severity="critical"}', window: 30d, measure: median_resolution}
  incidents:
    help: Critical incidents.
    prometheus:
      alert_history: {selector: 'ALERTS{severity="critical"}', window: 30d, measure: incidents}
tools:
  jaeger: {title: Jaeger, capability: tracing, workloads: [jaeger]}
  tempo: {title: Tempo, capability: retries, workloads: [tempo]}
capabilities:
  tracing:
    title: Distributed Tracing
    complexity: medium
    trigger: {any: [mttr > 1h, incidents > 3]}
    impact: [mttr, incidents]
  retries:
    title: Retries
    complexity: low
    trigger: {any: [incidents > 3]}
    impact: [incidents]
`

// An adopted capability's impact costs at most one range query per slow
// interval, however many evaluations run and however many of its impact
// signals read the alert history; its adoption time is the cluster's
// earliest workload of the detected tool. Two capabilities are adopted, so
// their impacts are judged concurrently (which -race checks) and come back
// in the rules' order.
func TestImpactOnSlowInterval(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	ranges := map[string]int{}
	prom := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		q := r.Form.Get("query")
		w.Header().Set("Content-Type", "application/json")
		switch {
		case strings.HasSuffix(r.URL.Path, "/query_range"):
			mu.Lock()
			ranges[q]++
			mu.Unlock()
			fmt.Fprint(w, `{"status":"success","data":{"resultType":"matrix","result":[]}}`)
		case strings.HasPrefix(q, "count(count_over_time(up"):
			fmt.Fprint(w, `{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1773151651,"1"]}]}}`)
		case strings.HasSuffix(r.URL.Path, "/query"):
			fmt.Fprint(w, `{"status":"success","data":{"resultType":"vector","result":[]}}`)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(prom.Close)

	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "rules.yml"), []byte(impactRules), 0o644); err != nil {
		t.Fatal(err)
	}
	configText := fmt.Sprintf("rules_file: %s\nsources:\n  prometheus: {url: %s, timeout: 1s}\n  kubernetes: {}\n",
		filepath.Join(dir, "rules.yml"), prom.URL)
	cfg, err := config.Parse(filepath.Join(dir, "config.yml"), []byte(configText))
	if err != nil {
		t.Fatal(err)
	}
	since := time.Now().Add(-20 * 24 * time.Hour).Truncate(time.Second)
	var jaegerMu sync.Mutex
	jaegerSince := since // moved below
	fs := map[string]factory{"fact": factories["fact"], "prometheus": factories["prometheus"],
		"kubernetes": {section: func(c *config.Config) (any, bool) { return c.Sources.Kubernetes, c.Sources.Kubernetes != nil },
			build: func(any, *slog.Logger, sourceOptions) (source.Source, error) {
				return &scripted{collect: func(_ context.Context, req source.Request) source.Result {
					res := source.Result{Up: true, Values: map[string]triggers.Value{}}
					jaegerMu.Lock()
					defer jaegerMu.Unlock()
					for _, tl := range req.Tools {
						v := triggers.KnownValue(1, "kubernetes")
						v.Since = since
						if tl.ID == "jaeger" {
							v.Since = jaegerSince
						}
						res.Values[tl.SignalName()] = v
					}
					return res
				}}, nil
			}, detectsTools: true}}
	sched := newScheduler(cfg, 5*time.Second, slog.New(slog.DiscardHandler), fs, WithSlowInterval(time.Hour))
	defer sched.Close()
	var st *State
	for range 3 {
		st = sched.Evaluate(context.Background())
	}
	mu.Lock()
	defer mu.Unlock()
	impactRanges, total := 0, 0
	for q, n := range ranges {
		total += n
		if strings.Contains(q, "impact_edge") {
			impactRanges += n
		}
	}
	if impactRanges != 2 || total != 3 {
		t.Errorf("range queries over 3 evaluations: %d for impact, %d in all (%v); want 2 (one per adopted capability) and 3", impactRanges, total, ranges)
	}
	if len(st.Impact) != 2 || st.Impact[0].Capability != "tracing" || st.Impact[1].Capability != "retries" {
		t.Fatalf("impact = %+v; want tracing then retries", st.Impact)
	}
	for _, r := range st.Impact {
		if !r.Adopted.Time.Equal(since) || r.Adopted.From != "kubernetes" {
			t.Errorf("%s adopted %v from %q; want %v from kubernetes", r.Capability, r.Adopted.Time, r.Adopted.From, since)
		}
	}
	// Nothing fired in either window: no incident resolved, so the median
	// is unknown on both sides, with the reason.
	if s := st.Impact[0].Signals[0]; s.Before.Known || !strings.Contains(s.Before.Reason, "no incident resolved") {
		t.Errorf("mttr = %+v", s)
	}
	if o := st.Impact[0].Options; o != impact.DefaultOptions() {
		t.Errorf("judged with %+v; want the defaults", o)
	}

	// An older Jaeger workload turns up: tracing is judged again while
	// retries' result is reused, the case where the reused one is collected
	// while the other's judge runs.
	jaegerMu.Lock()
	jaegerSince = since.Add(-24 * time.Hour)
	jaegerMu.Unlock()
	st = sched.Evaluate(context.Background())
	if len(st.Impact) != 2 || !st.Impact[0].Adopted.Time.Equal(since.Add(-24*time.Hour)) || !st.Impact[1].Adopted.Time.Equal(since) {
		t.Errorf("after an older Jaeger: %+v", st.Impact)
	}

	// The config's impact settings take effect on reload: with a minimum
	// window of 30 days, 20 days since adoption is too early to judge.
	cfg, err = config.Parse(filepath.Join(dir, "config.yml"), []byte(configText+"impact: {min_window: 30d, margin: 25%}\n"))
	if err != nil {
		t.Fatal(err)
	}
	sched.Reload(cfg)
	st = sched.Evaluate(context.Background())
	if len(st.Impact) != 2 || st.Impact[1].TooEarly != "too early: 20 days since adoption" || st.Impact[1].Options.Margin != 0.25 {
		t.Errorf("after reload: too early %q, margin %v; want too early at 20 days, margin 0.25", st.Impact[1].TooEarly, st.Impact[1].Options.Margin)
	}
}

// The adoption time and each impact ratio are exported; a ratio that is
// unknown is NaN, never 0.
func TestImpactMetrics(t *testing.T) {
	adopted := time.Unix(1_790_000_000, 0)
	st := &State{Evaluation: &triggers.Evaluation{Time: adopted.Add(time.Hour)}, Impact: []impact.Result{{
		Capability: "tracing", Adopted: impact.Adoption{Time: adopted, From: impact.FromStore},
		Signals: []impact.Signal{{Signal: "mttr", Ratio: 0.25, RatioKnown: true}, {Signal: "incidents"}},
	}}}
	got := map[string]float64{}
	for _, m := range stateMetrics(st) {
		var pb dto.Metric
		if err := m.Write(&pb); err != nil {
			t.Fatal(err)
		}
		name := m.Desc().String()
		for _, l := range pb.GetLabel() {
			name += "," + l.GetValue()
		}
		got[name] = pb.GetGauge().GetValue()
	}
	var adoptedSeen, mttr, incidents bool
	for name, v := range got {
		switch {
		case strings.Contains(name, "capability_adopted_timestamp_seconds") && strings.HasSuffix(name, ",tracing"):
			adoptedSeen = v == float64(adopted.Unix())
		case strings.Contains(name, "capability_impact_ratio") && strings.HasSuffix(name, ",tracing,mttr"):
			mttr = v == 0.25
		case strings.Contains(name, "capability_impact_ratio") && strings.HasSuffix(name, ",tracing,incidents"):
			incidents = math.IsNaN(v)
		}
	}
	if !adoptedSeen || !mttr || !incidents {
		t.Errorf("adopted %v, mttr 0.25 %v, incidents NaN %v in %v", adoptedSeen, mttr, incidents, got)
	}
}
