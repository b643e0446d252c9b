//go:build e2e

package e2e

import (
	"fmt"
	"maps"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/capability-exporter/capability_exporter/collector"
	"github.com/capability-exporter/capability_exporter/triggers"
)

// promBackend is a Prometheus-compatible store, and what the Prometheus
// source must say where the store differs from Prometheus.
type promBackend struct {
	name string
	// start starts the store holding the OpenMetrics history in the file
	// and, where the store evaluates rules, the rules file (of n rules),
	// and returns its URL.
	start func(t *testing.T, history, rules string, n int) string
	// unknown are the signals the store cannot answer as Prometheus does,
	// each with part of the reason the source must give: never a 0 read
	// from an API the store lacks.
	unknown map[string]string
}

// noRules are the signals a store without a rules API cannot answer:
// single-node VictoriaMetrics evaluates no rules (vmalert does), and its
// rules API answers an empty list rather than an error.
var noRules = map[string]string{
	"alerting_rules":                  "VictoriaMetrics without vmalert",
	"rules_without_severity":          "VictoriaMetrics without vmalert",
	"slo_rules":                       "VictoriaMetrics without vmalert",
	"alerting_rules_without_severity": "VictoriaMetrics without vmalert",
	"slo_recording_rules":             "VictoriaMetrics without vmalert",
}

var promBackends = []promBackend{
	{name: "prometheus-2.42", start: func(t *testing.T, history, rules string, n int) string {
		dataDir := t.TempDir()
		backfillFile(t, history, dataDir)
		p := startPrometheus(t, dataDir, rules)
		p.waitRules(t, n)
		return p.URL
	}},
	{name: "prometheus-3", start: func(t *testing.T, history, rules string, n int) string {
		dataDir := t.TempDir()
		backfillFile(t, history, dataDir)
		p := startPrometheus3(t, dataDir, rules)
		p.waitRules(t, n)
		return p.URL
	}},
	{name: "victoriametrics", start: func(t *testing.T, history, _ string, _ int) string {
		vm := startVictoriaMetrics(t)
		f, err := os.Open(history)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		vm.importOpenMetrics(t, f)
		return vm.URL
	}, unknown: merge(noRules, noNaN)},
	{name: "victoriametrics+vmalert", start: func(t *testing.T, history, rules string, n int) string {
		vm := startVictoriaMetricsWithVMAlert(t, rules)
		f, err := os.Open(history)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		vm.importOpenMetrics(t, f)
		(&prometheusServer{URL: vm.URL}).waitRules(t, n)
		return vm.URL
	}, unknown: noNaN},
}

// MetricsQL drops NaN from answers, so 0/0 is no series rather than NaN;
// unknown either way.
var noNaN = map[string]string{"idle_search": "returned no series"}

func merge(ms ...map[string]string) map[string]string {
	out := map[string]string{}
	for _, m := range ms {
		maps.Copy(out, m)
	}
	return out
}

// backfillFile turns an OpenMetrics file into TSDB blocks in dataDir, as
// backfill does for the webshop.
func backfillFile(t *testing.T, input, dataDir string) {
	t.Helper()
	promtool := requireBinary(t, "promtool", "PROMTOOL", "prometheus")
	if out, err := exec.Command(promtool, "tsdb", "create-blocks-from", "openmetrics", "--max-block-duration=960h", "--quiet", input, dataDir).CombinedOutput(); err != nil {
		t.Fatalf("promtool tsdb create-blocks-from openmetrics: %v\n%s", err, out)
	}
}

// webshopHistory writes w's history and Prometheus rules to files.
func webshopHistory(t *testing.T, w *webshop) (history, rules string) {
	t.Helper()
	dir := t.TempDir()
	history = filepath.Join(dir, "webshop.om")
	f, err := os.Create(history)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.WriteOpenMetrics(f); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return history, writeFile(t, dir, "webshop-rules.yml", webshopRulesYAML())
}

// The Prometheus source's measures (alert history, queries, the rules API)
// give the webshop's truth on every backend, or say why they cannot; and the
// default rules read the same values from each backend as from Prometheus
// 2.42. One history, ending now, is loaded into every store, and every
// store runs while the next one starts, so that the default rules compare
// answers over the same windows.
func TestPrometheusSourceOnEveryBackend(t *testing.T) {
	shop := newWebshop(time.Now())
	history, rules := webshopHistory(t, shop)
	urls := map[string]string{}
	for _, b := range promBackends {
		t0 := time.Now()
		urls[b.name] = b.start(t, history, rules, webshopRuleCount())
		t.Logf("%s holds the history after %s", b.name, time.Since(t0).Round(time.Millisecond))
	}
	for _, b := range promBackends {
		t.Run(b.name, func(t *testing.T) {
			url := urls[b.name]
			dir := t.TempDir()
			writeFile(t, dir, "rules.yml", webshopRules)
			cfg := writeFile(t, dir, "config.yml", fmt.Sprintf(
				"rules_file: rules.yml\nsources:\n  prometheus:\n    url: %s\n    timeout: 20s\nfacts: {microservices: 6}\n", url))
			st, _ := evaluateConfig(t, cfg)
			evalEnd := time.Now()
			if evalEnd.Sub(shop.End) > 4*time.Minute {
				t.Fatalf("evaluated %s after the history's end: its last samples left the lookback", evalEnd.Sub(shop.End))
			}

			windowEnd := evalEnd.Truncate(historyStep)
			crit := shop.incidents(isPaging, windowEnd, 30*shopDay)
			crit7 := shop.incidents(isPaging, windowEnd, 7*shopDay)
			all := shop.incidents(anySeverity, windowEnd, 30*shopDay)
			cpuNow, _ := shop.requestsAt(shop.End)
			cpuThen, _ := shop.requestsAt(shop.End.Add(-30 * shopDay))
			traffic := shop.requestIncrease(shop.End, shopDay)/shop.requestIncrease(shop.End.Add(-28*shopDay), shopDay) - 1
			alerting, withoutSeverity, slo := ruleCounts()

			known := []struct {
				signal    string
				want, tol float64
				why       string
			}{
				{"incidents", float64(crit.Incidents), 0, "contiguous firing runs"},
				{"open_incidents", float64(crit.Open), 0, "runs still firing now"},
				{"incident_mttr", crit.mean().Seconds(), historyTolSecs, "a step and an evaluation interval"},
				{"incident_median", crit.median().Seconds(), historyTolSecs, "a step and an evaluation interval"},
				{"critical_alerts_per_day", float64(crit7.Started) / 7, 0, "runs that started in 7 days"},
				{"alerts_per_day", float64(all.Started) / 30, 0, "runs of any severity that started in 30 days"},
				{"quiet_incidents", 0, 0, "ALERTS series in the window: an alert that never fired is a known 0"},
				{"cost_growth", cpuNow/cpuThen - 1, 1e-9, "requested cores now against 30 days ago"},
				{"traffic_growth", traffic, 1e-4, "rate over a day against four weeks ago"},
				{"error_ratio", errorShare, 1e-4, "5xx share of the day's requests"},
				{"critical_firing", 1, 0, "the alert still firing"},
				{"prometheus_reachable", 1, 0, "build info"},
				{"alerting_rules", float64(alerting), 0, "rules API"},
				{"rules_without_severity", float64(withoutSeverity), 0, "rules API"},
				{"slo_rules", float64(slo), 0, "rules API"},
			}
			for _, k := range known {
				if reason, differs := b.unknown[k.signal]; differs {
					expectUnknown(t, st, k.signal, reason)
					continue
				}
				expectNear(t, st, k.signal, k.want, k.tol, k.why)
			}
			for signal, reason := range map[string]string{
				"ingress_requests": "returned no series",
				"idle_search":      "returned NaN",
				"per_service_rate": "several_series",
				"broken_query":     "bad_query",
				"quiet_mttr":       "no incident resolved in the window",
			} {
				if r, differs := b.unknown[signal]; differs {
					reason = r
				}
				expectUnknown(t, st, signal, reason)
			}
			for _, k := range []collector.ErrorKey{{Source: "prometheus", Reason: "several_series"}, {Source: "prometheus", Reason: "bad_query"}} {
				if st.ErrorTotals[k] != 1 {
					t.Errorf("errors %v = %v, want 1", k, st.ErrorTotals[k])
				}
			}
			for _, s := range st.Sources {
				if s.Name == "prometheus" && !s.Up {
					t.Errorf("prometheus source not up: %v", s.Errors)
				}
			}
		})
	}

	t.Run("default rules agree", func(t *testing.T) {
		ref := promBackends[0]
		want := prometheusSignals(t, urls[ref.name])
		for _, b := range promBackends[1:] {
			got := prometheusSignals(t, urls[b.name])
			for name, w := range want {
				g := got[name]
				if reason, differs := b.unknown[name]; differs {
					if g.Known || !strings.Contains(g.Reason, reason) {
						t.Errorf("%s: %s = %+v, want unknown: %s", b.name, name, g, reason)
					}
					continue
				}
				switch {
				case g.Known != w.Known:
					t.Errorf("%s: %s known=%v (%s), %s: known=%v (%s)", b.name, name, g.Known, g.Reason, ref.name, w.Known, w.Reason)
				case g.Known && math.Abs(g.Number-w.Number) > 1e-3*math.Max(1, math.Abs(w.Number)):
					t.Errorf("%s: %s = %.6g, %s: %.6g", b.name, name, g.Number, ref.name, w.Number)
				}
			}
			t.Logf("%s: %d default-rule signals from the Prometheus source agree with %s", b.name, len(want), ref.name)
		}
	})
}

// prometheusSignals evaluates the default rules against url and returns the
// signals the Prometheus source answered or failed.
func prometheusSignals(t *testing.T, url string) map[string]triggers.Value {
	t.Helper()
	cfg := writeFile(t, t.TempDir(), "config.yml", fmt.Sprintf("sources:\n  prometheus:\n    url: %s\n    timeout: 20s\n", url))
	st, _ := evaluateConfig(t, cfg)
	out := map[string]triggers.Value{}
	for _, s := range st.Evaluation.Signals {
		if s.Value.Source == "prometheus" {
			out[s.Name] = s.Value
		}
	}
	if len(out) == 0 {
		t.Fatal("the default rules read nothing from Prometheus")
	}
	return out
}

// Scoped to one cluster of a store holding two (TestPrometheusScopedToOneCluster's
// history and rules), every backend counts that cluster's incidents and
// alerts only; a cluster the store does not hold is unknown, and without
// matchers the store sums both.
func TestPrometheusScopeOnEveryBackend(t *testing.T) {
	end := time.Now().Truncate(time.Minute)
	history := filepath.Join(t.TempDir(), "two-clusters.om")
	writeTwoClusters(t, history, end)
	rules := writeFile(t, t.TempDir(), "rules.yml", twoClusterRules)
	mins := func(n float64) float64 { return n * 60 }
	for _, b := range promBackends {
		t.Run(b.name, func(t *testing.T) {
			url := b.start(t, history, rules, 4)
			evaluate := func(matchers string) *collector.State {
				cfg := fmt.Sprintf("sources:\n  prometheus:\n    url: %s\n    timeout: 20s\n", url)
				if matchers != "" {
					cfg += "    matchers: [" + matchers + "]\n"
				}
				st, _ := evaluateConfig(t, writeFile(t, t.TempDir(), "config.yml", cfg))
				return st
			}
			expect := func(st *collector.State, signal string, want, tol float64, why string) {
				t.Helper()
				if reason, differs := b.unknown[signal]; differs {
					expectUnknown(t, st, signal, reason)
					return
				}
				expectNear(t, st, signal, want, tol, why)
			}
			for _, tc := range []struct {
				scope                     string
				incidents, median         float64
				perDay, share, noSeverity float64
			}{
				{`'cluster="a"'`, 2, mins(30), 1.0 / 7, 0.5, 0},
				{`'cluster="b"'`, 5, mins(180), 2.0 / 7, 1, 1},
			} {
				st := evaluate(tc.scope)
				expect(st, "critical_incidents", tc.incidents, 0, tc.scope+": this cluster's incidents only")
				expect(st, "incident_mttr_seconds", tc.median, historyTolSecs, tc.scope+": this cluster's incidents only")
				expect(st, "critical_alerts_per_day", tc.perDay, 1e-9, tc.scope+": this cluster's alerts over 7 days")
				expect(st, "paging_alert_share", tc.share, 1e-9, tc.scope+": this cluster's alert names")
				expect(st, "alerting_rules_without_severity", tc.noSeverity, 0, tc.scope+": this cluster's rules only")
				for _, sig := range st.Evaluation.Signals {
					if r := sig.Value.Reason; strings.Contains(r, "bad_query") || strings.Contains(r, "unscoped") {
						t.Errorf("%s: %s: %s", tc.scope, sig.Name, r)
					}
				}
			}
			st := evaluate(`'cluster="c"'`)
			for _, name := range []string{"critical_incidents", "incident_mttr_seconds", "paging_alert_share"} {
				if v := signalOf(t, st, name); v.Known {
					t.Errorf("%s = %v for a cluster the store does not hold, want unknown", name, v.Number)
				}
			}
			st = evaluate("")
			expect(st, "critical_incidents", 7, 0, "unscoped: both clusters")
			expect(st, "paging_alert_share", 2.0/3, 1e-9, "unscoped: both clusters' alert names")
		})
	}
}
