//go:build e2e

package e2e

import (
	"slices"
	"time"

	"go.yaml.in/yaml/v3"
)

// The generator's truth: what the exporter must find in the history, worked
// out from the model in real time, not on the exporter's query grid.

// historyTruth is the incidents of one selector over one window.
type historyTruth struct {
	Incidents, Open, Started, Clipped int
	Durations                         []time.Duration // resolved runs, clipped to the window
}

func (h historyTruth) mean() time.Duration {
	var sum time.Duration
	for _, d := range h.Durations {
		sum += d
	}
	return sum / time.Duration(len(h.Durations))
}

func (h historyTruth) median() time.Duration {
	s := slices.Clone(h.Durations)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// incidents applies the exporter's documented semantics to the model's runs
// that match: a run resolved inside (end-window, end] is an incident, its
// duration clipped to the window; a run still firing is open; a run that
// started inside the window started.
func (w *webshop) incidents(match func(map[string]string) bool, end time.Time, window time.Duration) historyTruth {
	var h historyTruth
	start := end.Add(-window)
	for _, r := range w.Alerts {
		if !match(r.labels) || r.start.After(end) || (!r.resolved.IsZero() && !r.resolved.After(start)) {
			continue
		}
		if r.start.After(start) {
			h.Started++
		}
		if r.resolved.IsZero() {
			h.Open++
			continue
		}
		from := r.start
		if from.Before(start) {
			from = start
			h.Clipped++
		}
		h.Incidents++
		h.Durations = append(h.Durations, r.resolved.Sub(from))
	}
	return h
}

func isPaging(l map[string]string) bool {
	return l["severity"] == "critical" || l["severity"] == "page"
}

func anySeverity(map[string]string) bool { return true }

// pagingShare is the share of distinct alert names that fired critical or
// page among all that fired in (end-window, end].
func (w *webshop) pagingShare(end time.Time, window time.Duration) float64 {
	all, paging := map[string]bool{}, map[string]bool{}
	for _, r := range w.Alerts {
		if r.start.After(end) || (!r.resolved.IsZero() && !r.resolved.After(end.Add(-window))) {
			continue
		}
		all[r.labels["alertname"]] = true
		if isPaging(r.labels) {
			paging[r.labels["alertname"]] = true
		}
	}
	return float64(len(paging)) / float64(len(all))
}

// requestsAt is the cluster's requested CPU (cores) and memory (bytes) at t.
func (w *webshop) requestsAt(t time.Time) (cpu, memory float64) {
	for _, d := range w.Deployments {
		n := float64(d.replicasAt(t))
		cpu += n * d.cpu
		memory += n * d.memory
	}
	return cpu, memory
}

// requestsOver is the sum of the requests' samples in (end-length, end], as
// sum_over_time adds them up.
func (w *webshop) requestsOver(end time.Time, length time.Duration) (cpu, memory float64) {
	for t := alignUp(end.Add(-length).Add(time.Nanosecond), w.End); !t.After(end) && !t.After(w.End); t = t.Add(scrapeEvery) {
		c, m := w.requestsAt(t)
		cpu += c
		memory += m
	}
	return cpu, memory
}

// requestIncrease is what all services' counters grew in (end-length, end]:
// from the first to the last sample inside, as rate() reads them.
func (w *webshop) requestIncrease(end time.Time, length time.Duration) float64 {
	var sum float64
	for _, s := range w.Services {
		for _, code := range []string{"200", "500"} {
			var first, last *counterPoint
			for _, p := range w.counter(s, code) {
				if p.t.After(end.Add(-length)) && !p.t.After(end) {
					if first == nil {
						first = &p
					}
					last = &p
				}
			}
			if first != nil {
				sum += last.v - first.v
			}
		}
	}
	return sum
}

// promRule is one rule of the Prometheus rules file the webshop loads.
type promRule struct {
	Record string            `yaml:"record,omitempty"`
	Alert  string            `yaml:"alert,omitempty"`
	Expr   string            `yaml:"expr"`
	For    string            `yaml:"for,omitempty"`
	Labels map[string]string `yaml:"labels,omitempty"`
	slo    bool              // written by an SLO tool (Sloth, Pyrra) or named as an SLO
}

type promRuleGroup struct {
	Name     string     `yaml:"name"`
	Interval string     `yaml:"interval,omitempty"`
	Rules    []promRule `yaml:"rules"`
}

// webshopRuleGroups are the webshop's Prometheus rules: alerts with and
// without severity, SLO recording rules as Sloth and Pyrra generate them,
// and ordinary recording rules. None of the alerts fires on the history.
var webshopRuleGroups = []promRuleGroup{
	{Name: "webshop.alerts", Rules: []promRule{
		{Alert: "CheckoutErrorBudgetBurn", Expr: `slo:sli_error:ratio_rate1h{sloth_service="checkout"} > (14.4 * (1 - 0.999))`, For: "2m", Labels: map[string]string{"severity": "critical"}},
		{Alert: "PaymentsDown", Expr: `sum(rate(http_requests_total{service="payments",code="200"}[5m])) < 0.01`, For: "2m", Labels: map[string]string{"severity": "critical"}},
		{Alert: "CatalogLatencyHigh", Expr: `histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket{service="catalog"}[5m]))) > 2`, For: "5m", Labels: map[string]string{"severity": "critical"}},
		{Alert: "CartDown", Expr: `up{job="cart"} == 0`, For: "1m", Labels: map[string]string{"severity": "page"}},
		{Alert: "HighMemory", Expr: `sum(kube_pod_container_resource_requests{resource="memory"}) > 1e15`},
		{Alert: "DiskWillFillIn4Hours", Expr: `predict_linear(node_filesystem_avail_bytes[6h], 4 * 3600) < 0`, For: "30m", Labels: map[string]string{"team": "platform"}},
	}},
	{Name: "sloth-slo-sli-recordings-webshop-checkout-availability", Rules: []promRule{
		{Record: "slo:sli_error:ratio_rate5m", Expr: `sum(rate(http_requests_total{service="checkout",code=~"5.."}[5m])) / sum(rate(http_requests_total{service="checkout"}[5m]))`,
			Labels: map[string]string{"sloth_id": "webshop-checkout-availability", "sloth_service": "checkout", "sloth_slo": "availability", "sloth_window": "5m"}, slo: true},
		{Record: "slo:sli_error:ratio_rate1h", Expr: `sum(rate(http_requests_total{service="checkout",code=~"5.."}[1h])) / sum(rate(http_requests_total{service="checkout"}[1h]))`,
			Labels: map[string]string{"sloth_id": "webshop-checkout-availability", "sloth_service": "checkout", "sloth_slo": "availability", "sloth_window": "1h"}, slo: true},
	}},
	{Name: "sloth-slo-meta-recordings-webshop-checkout-availability", Rules: []promRule{
		{Record: "slo:objective:ratio", Expr: `vector(0.999)`, Labels: map[string]string{"sloth_id": "webshop-checkout-availability", "sloth_service": "checkout", "sloth_slo": "availability"}, slo: true},
		{Record: "slo:error_budget:ratio", Expr: `vector(1 - 0.999)`, Labels: map[string]string{"sloth_id": "webshop-checkout-availability", "sloth_service": "checkout", "sloth_slo": "availability"}, slo: true},
		{Record: "sloth_slo_info", Expr: `vector(1)`, Labels: map[string]string{"sloth_id": "webshop-checkout-availability", "sloth_version": "v0.11.0"}, slo: true},
	}},
	{Name: "catalog-availability-increase", Rules: []promRule{ // as Pyrra writes them
		{Record: "http_requests:increase4w", Expr: `sum by (code) (increase(http_requests_total{service="catalog"}[4w]))`, Labels: map[string]string{"slo": "catalog-availability"}, slo: true},
		{Record: "http_requests:burnrate5m", Expr: `sum(rate(http_requests_total{service="catalog",code=~"5.."}[5m])) / sum(rate(http_requests_total{service="catalog"}[5m]))`, Labels: map[string]string{"slo": "catalog-availability"}, slo: true},
	}},
	{Name: "webshop.recording", Rules: []promRule{
		{Record: "namespace:kube_pod_container_resource_requests_cpu:sum", Expr: `sum by (namespace) (kube_pod_container_resource_requests{resource="cpu"})`},
		{Record: "service:http_requests:rate5m", Expr: `sum by (service) (rate(http_requests_total[5m]))`},
	}},
}

func webshopRulesYAML() string {
	out, err := yaml.Marshal(map[string]any{"groups": webshopRuleGroups})
	if err != nil {
		panic(err)
	}
	return string(out)
}

// ruleCounts is the truth of the rules API measures.
func ruleCounts() (alerting, withoutSeverity, slo int) {
	for _, g := range webshopRuleGroups {
		for _, r := range g.Rules {
			switch {
			case r.Alert != "":
				alerting++
				if r.Labels["severity"] == "" {
					withoutSeverity++
				}
			case r.slo:
				slo++
			}
		}
	}
	return alerting, withoutSeverity, slo
}
