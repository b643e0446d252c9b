//go:build e2e

package e2e

import (
	"bufio"
	"context"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/prometheus/client_golang/api"
	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"

	"github.com/capability-exporter/capability_exporter/collector"
)

// No data is not zero: a real Prometheus holding short or partial history,
// with and without alerting rules, against the default rules.

// shortHistory is a small synthetic history for promtool: up and
// kube-state-metrics' requests every scrape from its start to end, the
// apps' request counters, and the firing runs of some alerts.
type shortHistory struct {
	End            time.Time
	Length         time.Duration // of up and the counters
	RequestsLength time.Duration // of kube_pod_container_resource_requests; Length when 0
	Alerts         []firing
}

// firing is one ALERTS series firing from start for a while.
type firing struct {
	labels map[string]string
	start  time.Time
	d      time.Duration
}

func (h shortHistory) write(t *testing.T, path string) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	b := bufio.NewWriter(f)
	sample := func(series string, v float64, at time.Time) {
		fmt.Fprintf(b, "%s %s %d\n", series, strconv.FormatFloat(v, 'g', -1, 64), at.Unix())
	}
	start := h.End.Add(-h.Length)
	b.WriteString("# TYPE up gauge\n")
	for _, inst := range []string{"node-1", "node-2"} {
		for at := start; !at.After(h.End); at = at.Add(scrapeEvery) {
			sample(fmt.Sprintf(`up{job="node",instance=%q}`, inst), 1, at)
		}
	}
	b.WriteString("# TYPE kube_pod_container_resource_requests gauge\n")
	reqLength := h.RequestsLength
	if reqLength == 0 {
		reqLength = h.Length
	}
	for _, res := range []struct {
		name, unit string
		v          float64
	}{{"cpu", "core", 0.5}, {"memory", "byte", 512 << 20}} {
		for _, pod := range []string{"checkout-0", "checkout-1", "cart-0"} {
			series := fmt.Sprintf(`kube_pod_container_resource_requests{namespace="shop",pod=%q,container="app",resource=%q,unit=%q}`, pod, res.name, res.unit)
			for at := h.End.Add(-reqLength); !at.After(h.End); at = at.Add(scrapeEvery) {
				sample(series, res.v, at)
			}
		}
	}
	b.WriteString("# TYPE http_requests counter\n")
	for at, n := start, 0.0; !at.After(h.End); at, n = at.Add(scrapeEvery), n+300*10 {
		sample(`http_requests_total{namespace="shop",service="checkout",code="200"}`, n, at)
	}
	if len(h.Alerts) > 0 {
		b.WriteString("# TYPE ALERTS gauge\n")
		for _, a := range h.Alerts {
			a.labels["alertstate"] = "firing"
			series := "ALERTS" + labelString(a.labels)
			for at := a.start; at.Before(a.start.Add(a.d)); at = at.Add(alertEvalEvery) {
				sample(series, 1, at)
			}
		}
	}
	b.WriteString("# EOF\n")
	if err := b.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// startShortPrometheus backfills h and starts Prometheus on it with the
// rules files given.
func startShortPrometheus(t *testing.T, h shortHistory, ruleFiles ...string) *prometheusServer {
	t.Helper()
	promtool := requireBinary(t, "promtool", "PROMTOOL", "prometheus")
	input := filepath.Join(t.TempDir(), "history.om")
	h.write(t, input)
	dataDir := t.TempDir()
	if out, err := exec.Command(promtool, "tsdb", "create-blocks-from", "openmetrics", "--max-block-duration=960h", "--quiet", input, dataDir).CombinedOutput(); err != nil {
		t.Fatalf("promtool tsdb create-blocks-from openmetrics: %v\n%s", err, out)
	}
	return startPrometheus(t, dataDir, ruleFiles...)
}

// evaluateAgainst evaluates the default rules against p alone.
func evaluateAgainst(t *testing.T, p *prometheusServer) *collector.State {
	t.Helper()
	cfg := writeFile(t, t.TempDir(), "config.yml", fmt.Sprintf("sources:\n  prometheus:\n    url: %s\n    timeout: 20s\n", p.URL))
	st, _ := evaluateConfig(t, cfg)
	return st
}

func expectAtLeast(t *testing.T, st *collector.State, name string, want float64) {
	t.Helper()
	v := signalOf(t, st, name)
	if !v.Known || v.Number != want || !v.LowerBound {
		t.Errorf("%s = %+v, want a known lower bound of %v", name, v, want)
		return
	}
	t.Logf("%-32s at least %v", name, v.Number)
}

func expectUnknownLogged(t *testing.T, st *collector.State, name, reason string) {
	t.Helper()
	expectUnknown(t, st, name, reason)
	t.Logf("%-32s unknown: %s", name, signalOf(t, st, name).Reason)
}

const criticalRuleThatNeverFires = `groups:
- name: shop
  rules:
  - alert: CheckoutDown
    expr: up{job="checkout"} == 0
    for: 5m
    labels: {severity: critical}
    annotations: {summary: Checkout is down.}
`

// A Prometheus holding six days of data: with no alerting rule it cannot
// tell "no incident" from "no alerting"; with a critical rule that never
// fired, it can, for the six days it holds.
func TestNoDataIsUnknownNotZero(t *testing.T) {
	h := shortHistory{End: time.Now().Truncate(time.Minute), Length: 6 * shopDay}

	t.Run("no alerting rules", func(t *testing.T) {
		p := startShortPrometheus(t, h)
		t.Logf("%s, %s of data, no rule files", p.Version, h.Length)
		st := evaluateAgainst(t, p)
		blind := "cannot tell no incident from no alerting"
		expectUnknownLogged(t, st, "critical_incidents", blind)
		expectUnknownLogged(t, st, "critical_alerts_per_day", blind)
		expectUnknownLogged(t, st, "incident_mttr_seconds", blind)
		expectUnknownLogged(t, st, "cost_growth_ratio", "no alternative known")
		expectUnknownLogged(t, st, "traffic_growth_ratio", "no alternative known")
		expectUnknownLogged(t, st, "alerting_rules_without_severity", "lists no rule group")
		expectUnknownLogged(t, st, "slo_recording_rules", "lists no rule group")
	})

	t.Run("a critical rule that never fired", func(t *testing.T) {
		rules := writeFile(t, t.TempDir(), "rules.yml", criticalRuleThatNeverFires)
		p := startShortPrometheus(t, h, rules)
		p.waitRules(t, 1)
		st := evaluateAgainst(t, p)
		// Nothing fired in the six days held: 0 incidents, and no more can
		// be said of the 30-day window, so 0 is a lower bound.
		expectAtLeast(t, st, "critical_incidents", 0)
		expectAtLeast(t, st, "critical_alerts_per_day", 0)
		expectUnknownLogged(t, st, "incident_mttr_seconds", "does not reach back over the 30d window")
		expectNear(t, st, "alerting_rules_without_severity", 0, 0, "one rule, with a severity")
		expectNear(t, st, "slo_recording_rules", 0, 0, "rules served, none an SLO")
		expectUnknownLogged(t, st, "cost_growth_ratio", "no alternative known")
	})
}

// One node outage fires KubePodNotReady for five pods at once: one
// incident, from the first series firing to the last one resolving.
func TestOneOutageFiringFiveSeriesIsOneIncident(t *testing.T) {
	end := time.Now().Truncate(time.Minute)
	outage := end.Add(-3*shopDay - 5*time.Hour).Add(alertEvalOffset)
	var alerts []firing
	for i, d := range []time.Duration{40, 35, 45, 30, 38} {
		alerts = append(alerts, firing{
			labels: map[string]string{"alertname": "KubePodNotReady", "namespace": "shop", "severity": "critical", "pod": fmt.Sprintf("checkout-%d", i)},
			start:  outage.Add(time.Duration(i) * time.Minute), d: d * time.Minute})
	}
	// The Watchdog fires all the time by design; it is no incident.
	alerts = append(alerts, firing{labels: map[string]string{"alertname": "Watchdog", "severity": "none"}, start: end.Add(-20 * shopDay), d: 2 * time.Hour})
	h := shortHistory{End: end, Length: 32 * shopDay, Alerts: alerts}
	p := startShortPrometheus(t, h)
	st := evaluateAgainst(t, p)

	expectNear(t, st, "critical_incidents", 1, 0, "five series of one alertname and namespace")
	// From the first series' first firing sample to the last one's last.
	last := outage.Add(2*time.Minute + 45*time.Minute - time.Minute)
	expectNear(t, st, "incident_mttr_seconds", last.Sub(outage).Seconds(), historyTolSecs, "one merged run")
	if v := signalOf(t, st, "critical_incidents"); v.LowerBound {
		t.Errorf("critical_incidents is a lower bound over 32 days of data: %+v", v)
	}
}

// Month-over-month growth needs a month of data: a 10-day retention gives
// unknown growth, never a week's growth compounded; a window only partly
// retained gives unknown, never a sum shrunk by the missing hours.
func TestShortRetentionGivesUnknownGrowth(t *testing.T) {
	end := time.Now().Truncate(time.Minute)

	t.Run("ten days", func(t *testing.T) {
		p := startShortPrometheus(t, shortHistory{End: end, Length: 10 * shopDay})
		st := evaluateAgainst(t, p)
		expectUnknownLogged(t, st, "cost_growth_ratio", "no alternative known")
		expectUnknownLogged(t, st, "traffic_growth_ratio", "no alternative known")
	})

	t.Run("requests reach back thirty days and a half", func(t *testing.T) {
		// The day 30 days ago is only half retained: a plain query reads
		// half a day of requests there and calls that +100% growth.
		h := shortHistory{End: end, Length: 32 * shopDay, RequestsLength: 30*shopDay + 12*time.Hour}
		p := startShortPrometheus(t, h)
		naive := promQueryValue(t, p.URL, `sum(sum_over_time(kube_pod_container_resource_requests{resource="cpu"}[1d])) / sum(sum_over_time(kube_pod_container_resource_requests{resource="cpu"}[1d] offset 30d)) - 1`)
		t.Logf("the query alone reads %+.0f%% growth of flat requests", 100*naive)
		if math.Abs(naive) < 0.5 {
			t.Fatalf("the query alone reads %v; the history does not show the shrunk window", naive)
		}
		st := evaluateAgainst(t, p)
		expectUnknownLogged(t, st, "cost_growth_ratio", "has no sample from before 31d ago")
	})
}

// promQueryValue runs an instant query and returns its one value.
func promQueryValue(t *testing.T, url, q string) float64 {
	t.Helper()
	client, err := api.NewClient(api.Config{Address: url})
	if err != nil {
		t.Fatal(err)
	}
	val, _, err := promv1.NewAPI(client).Query(context.Background(), q, time.Now())
	if err != nil {
		t.Fatalf("query %s: %v", q, err)
	}
	vec, ok := val.(model.Vector)
	if !ok || len(vec) != 1 {
		t.Fatalf("query %s: %v", q, val)
	}
	return float64(vec[0].Value)
}
