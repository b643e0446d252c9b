//go:build e2e

package e2e

import (
	"fmt"
	"os"
	"testing"
	"time"
)

// A store's query limits, set low enough that the alert history's 30-day
// range queries hit them: every measure that needed the refused query is
// unknown with the store's reason, never 0, and the rest still answer.
func TestQueryLimitsOnEveryBackend(t *testing.T) {
	shop := newWebshop(time.Now())
	history, rules := webshopHistory(t, shop)
	for _, b := range []struct {
		name   string
		start  func(t *testing.T) string
		reason string // the store's words for the limit
	}{
		{"prometheus-3 --query.max-samples", func(t *testing.T) string {
			dataDir := t.TempDir()
			backfillFile(t, history, dataDir)
			p := startPrometheus3With(t, dataDir, []string{"--query.max-samples=50"}, rules)
			p.waitRules(t, webshopRuleCount())
			return p.URL
		}, "too many samples"},
		{"victoriametrics -search.maxPointsPerTimeseries", func(t *testing.T) string {
			vm := startVictoriaMetrics(t, "-search.maxPointsPerTimeseries=5000")
			f, err := os.Open(history)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			vm.importOpenMetrics(t, f)
			return vm.URL
		}, "too many points"},
	} {
		t.Run(b.name, func(t *testing.T) {
			url := b.start(t)
			dir := t.TempDir()
			writeFile(t, dir, "rules.yml", webshopRules)
			st, _ := evaluateConfig(t, writeFile(t, dir, "config.yml", fmt.Sprintf(
				"rules_file: rules.yml\nsources:\n  prometheus:\n    url: %s\n    timeout: 20s\nfacts: {microservices: 6}\n", url)))
			// The 30-day alert history: 8,641 points per series at 5m.
			for _, signal := range []string{"incidents", "open_incidents", "incident_mttr", "incident_median", "alerts_per_day", "quiet_incidents"} {
				expectUnknown(t, st, signal, b.reason)
			}
			// Small queries still answer.
			cpuNow, _ := shop.requestsAt(shop.End)
			cpuThen, _ := shop.requestsAt(shop.End.Add(-30 * shopDay))
			expectNear(t, st, "cost_growth", cpuNow/cpuThen-1, 1e-9, "two instant samples")
			expectNear(t, st, "critical_firing", 1, 0, "one instant count")
			expectNear(t, st, "prometheus_reachable", 1, 0, "build info")
		})
	}
}
