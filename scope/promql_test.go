package scope

import (
	"fmt"
	"slices"
	"testing"
	"time"
)

func TestPromQLSelectorsAndLookback(t *testing.T) {
	day := 24 * time.Hour
	at := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	pin := at.Add(-2 * day).UnixMilli() // an @ timestamp two days before the evaluation
	for _, tc := range []struct {
		q    string
		want map[string]time.Duration // selector -> lookback
		max  time.Duration
	}{
		{q: `sum(up)`, want: map[string]time.Duration{"up": 0}},
		{q: `sum(sum_over_time(node_total_hourly_cost[7d])) / sum(sum_over_time(node_total_hourly_cost[7d] offset 30d)) - 1`,
			want: map[string]time.Duration{"node_total_hourly_cost": 37 * day}, max: 37 * day},
		{q: `sum(kube_pod_container_resource_requests{resource="cpu"}) / sum(kube_pod_container_resource_requests{resource="cpu"} offset 30d) - 1`,
			want: map[string]time.Duration{`kube_pod_container_resource_requests{resource="cpu"}`: 30 * day}, max: 30 * day},
		{q: `(count(count by (alertname) (count_over_time(ALERTS{alertstate="firing",severity=~"critical|page"}[30d]))) or vector(0))
		     / count(count by (alertname) (count_over_time(ALERTS{alertstate="firing"}[30d])))`,
			want: map[string]time.Duration{`ALERTS{alertstate="firing",severity=~"critical|page"}`: 30 * day, `ALERTS{alertstate="firing"}`: 30 * day}, max: 30 * day},
		{q: `1 - sum(rate(container_cpu_usage_seconds_total{container!="",image!=""}[1d])) / sum(kube_pod_container_resource_requests{resource="cpu"})`,
			want: map[string]time.Duration{`container_cpu_usage_seconds_total{container!="",image!=""}`: day, `kube_pod_container_resource_requests{resource="cpu"}`: 0}, max: day},
		{q: `sum(rate(http_requests_total[1d] offset 4w)) by (job)`, want: map[string]time.Duration{"http_requests_total": 29 * day}, max: 29 * day},
		{q: `max_over_time((sum by (alertname) (rate(x_total[5m])))[1h:1m] offset 1d)`,
			want: map[string]time.Duration{"x_total": 5*time.Minute + time.Hour + day}, max: 5*time.Minute + time.Hour + day},
		{q: `a * on(instance) group_left(node) b offset -1h`, want: map[string]time.Duration{"a": 0, "b": 0}},
		{q: `sum_over_time(offsets_total{x="]"}[2h]) + 1e3`, want: map[string]time.Duration{`offsets_total{x="]"}`: 2 * time.Hour}, max: 2 * time.Hour},
		// The parser prints a selector in one form, whichever way it was written.
		{q: `{__name__="up", job='a,b'}[10m]`, want: map[string]time.Duration{`{__name__="up",job="a,b"}`: 10 * time.Minute}, max: 10 * time.Minute},

		// Text a scan of the query could misread.
		{q: `sum(rate(http_requests_total{path="/v1/items[30d] offset 7d"}[5m]))`,
			want: map[string]time.Duration{`http_requests_total{path="/v1/items[30d] offset 7d"}`: 5 * time.Minute}, max: 5 * time.Minute},
		{q: `label_replace(up, "window", "[30d]", "", "") # [7d] offset 1w`, want: map[string]time.Duration{"up": 0}},
		{q: `sum_over_time(x[1h] offset -5m)`, want: map[string]time.Duration{"x": 55 * time.Minute}, max: 55 * time.Minute},
		{q: `x offset -5m`, want: map[string]time.Duration{"x": 0}},
		{q: `max_over_time(avg_over_time(rate(x_total[5m])[1d:5m])[7d:1h] offset 1d)`,
			want: map[string]time.Duration{"x_total": 5*time.Minute + 9*day}, max: 5*time.Minute + 9*day},
		{q: `sum BY (job) (x OFFSET 30d)`, want: map[string]time.Duration{"x": 30 * day}, max: 30 * day},
		// @ pins the time: what lies around it no longer moves what it reads.
		{q: `sum_over_time(x[1h] @ end())`, want: map[string]time.Duration{"x": time.Hour}, max: time.Hour},
		{q: `max_over_time(sum_over_time(x[1h] @ start())[1d:1h])`, want: map[string]time.Duration{"x": time.Hour}, max: time.Hour},
		{q: fmt.Sprintf(`sum_over_time(x[1h] @ %d offset 30m)`, pin/1000), want: map[string]time.Duration{"x": 2*day + 90*time.Minute}, max: 2*day + 90*time.Minute},
		{q: fmt.Sprintf(`max_over_time(rate(x_total[5m])[1h:1m] @ %d)`, pin/1000),
			want: map[string]time.Duration{"x_total": 2*day + time.Hour + 5*time.Minute}, max: 2*day + time.Hour + 5*time.Minute},
	} {
		sels, err := PromQLSelectors(tc.q, at)
		if err != nil {
			t.Errorf("%s: %v", tc.q, err)
			continue
		}
		got := map[string]time.Duration{}
		var furthest time.Duration
		for _, s := range sels {
			got[s.Selector] = max(got[s.Selector], s.Lookback)
			furthest = max(furthest, s.Lookback)
		}
		if len(got) != len(tc.want) {
			t.Errorf("%s: selectors %v, want %v", tc.q, got, tc.want)
			continue
		}
		for sel, d := range tc.want {
			if got[sel] != d {
				t.Errorf("%s: %s reads back %s, want %s", tc.q, sel, got[sel], d)
			}
		}
		if furthest != tc.max {
			t.Errorf("%s: lookback %s, want %s", tc.q, furthest, tc.max)
		}
	}
	// MetricsQL the Prometheus parser does not read: no lookback is guessed.
	for _, q := range []string{`sum(rate(x[1d])) keep_metric_names`, `x default 0`, `rollup_rate(x[30d])`} {
		if sels, err := PromQLSelectors(q, at); err == nil {
			t.Errorf("%s: read as %v, want a parse error", q, sels)
		}
	}
}

// Only a plain vector selector can take a range directly; its matchers
// include its metric name.
func TestPlainSelector(t *testing.T) {
	for _, tc := range []struct {
		selector string
		want     []string // the matchers as the parser prints them; nil when not plain
	}{
		{`ALERTS{alertstate="firing",severity="critical"}`, []string{`alertstate="firing"`, `severity="critical"`, `__name__="ALERTS"`}},
		{`ALERTS`, []string{`__name__="ALERTS"`}},
		{`{__name__="ALERTS", severity=~"critical|page"}`, []string{`__name__="ALERTS"`, `severity=~"critical|page"`}},
		{`ALERTS{summary="a } in a string"}`, []string{`summary="a } in a string"`, `__name__="ALERTS"`}},
		{`ALERTS{alertstate="firing"} unless ALERTS{alertname="Watchdog"}`, nil},
		{`ALERTS offset 1h`, nil},
		{`ALERTS @ end()`, nil},
		{`ALERTS[5m]`, nil},
		{`sum by (alertname) (ALERTS)`, nil},
		{`ALERTS default 0`, nil}, // MetricsQL
	} {
		ms, ok := PlainSelector(tc.selector)
		if ok != (tc.want != nil) {
			t.Errorf("PlainSelector(%s) ok = %v, want %v", tc.selector, ok, tc.want != nil)
			continue
		}
		var got []string
		for _, m := range ms {
			got = append(got, m.String())
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("PlainSelector(%s) = %q, want %q", tc.selector, got, tc.want)
		}
	}
}
