//go:build e2e

package e2e

import (
	"bufio"
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The webshop: 35 days of a Dutch webshop's Prometheus history, written as
// OpenMetrics for `promtool tsdb create-blocks-from openmetrics`. Every number
// the tests assert comes from this model, not from constants in the tests:
//
//   - ALERTS: critical and page alerts with known firing runs (one already
//     firing when the 30-day window opens, one still firing now, two runs of
//     one alert 20 minutes apart, one shorter than the 5m step), daily
//     warnings, and an alert from a rule without severity; each firing run
//     is preceded by its pending samples.
//   - kube_pod_container_resource_requests: the webshop's deployments, with
//     weekly rollouts (new pod names), replicas added on known days, and a
//     service created 25 days ago; CPU and memory.
//   - http_requests_total: request counters whose rate grows a known factor
//     every four weeks, with a daily cycle and 0.2% errors.
//
// Alert samples are written every minute (a 1m rule evaluation interval, 17s
// into the minute); the other series every 5 minutes, ending at End, so an
// instant query within 5 minutes of End sees the last samples under
// Prometheus' default lookback.

const (
	shopDay          = 24 * time.Hour
	alertEvalOffset  = 17 * time.Second
	alertEvalEvery   = time.Minute
	scrapeEvery      = 5 * time.Minute
	historyLength    = 35 * shopDay
	trafficGrowth4w  = 0.2 // request rate grows 20% every four weeks: growth one region carries
	errorShare       = 0.002
	pendingEvalCount = 2 // a `for: 2m` clause
)

type alertRun struct {
	labels   map[string]string // without alertstate
	start    time.Time
	resolved time.Time // zero: still firing at End
}

// shopDeployment is a workload whose replicas change at known times.
type shopDeployment struct {
	namespace, name string
	cpu             float64 // cores requested per replica
	memory          float64 // bytes requested per replica
	created         time.Time
	replicas        []replicaStep // in time order; the first applies from created
}

type replicaStep struct {
	from     time.Time
	replicas int
}

func (d shopDeployment) replicasAt(t time.Time) int {
	n := 0
	if t.Before(d.created) {
		return 0
	}
	for _, s := range d.replicas {
		if !t.Before(s.from) {
			n = s.replicas
		}
	}
	return n
}

type shopService struct {
	name    string
	created time.Time
	rps     float64 // requests per second at End, daily average
}

// webshop is the generated history and the truth the tests assert.
type webshop struct {
	End         time.Time
	Start       time.Time
	Alerts      []alertRun
	Deployments []shopDeployment
	Services    []shopService
	rollouts    []time.Time
}

func newWebshop(end time.Time) *webshop {
	end = end.Truncate(time.Minute)
	w := &webshop{End: end, Start: end.Add(-historyLength)}
	at := func(daysAgo int, hhmm time.Duration) time.Time {
		return end.Add(-time.Duration(daysAgo)*shopDay + hhmm).Add(alertEvalOffset)
	}
	h, m := time.Hour, time.Minute
	crit := func(name, svc string) map[string]string {
		return map[string]string{"alertname": name, "severity": "critical", "service": svc, "namespace": "webshop"}
	}
	run := func(labels map[string]string, start time.Time, d time.Duration) alertRun {
		return alertRun{labels: labels, start: start, resolved: start.Add(d)}
	}
	w.Alerts = []alertRun{
		run(crit("PaymentsDown", "payments"), at(33, 0), h), // before the 30-day window
		run(map[string]string{"alertname": "KubeNodeNotReady", "severity": "critical", "node": "node-3"},
			at(30, -3*h), 4*h+30*m), // fires as the window opens
		run(crit("CheckoutErrorBudgetBurn", "checkout"), at(28, 3*h+17*m), 47*m),
		run(crit("PaymentsDown", "payments"), at(25, 14*h+2*m), 2*h+10*m),
		run(crit("CheckoutErrorBudgetBurn", "checkout"), at(21, 9*h+40*m), 25*m),
		run(crit("CheckoutErrorBudgetBurn", "checkout"), at(21, 10*h+25*m), 15*m), // 20 minutes after the last
		run(crit("CatalogLatencyHigh", "catalog"), at(18, 22*h+5*m), h+35*m),
		run(crit("PaymentsDown", "payments"), at(14, 2*h+33*m), 3*h+45*m),
		run(crit("CheckoutErrorBudgetBurn", "checkout"), at(11, 16*h+20*m), 55*m),
		run(map[string]string{"alertname": "CartDown", "severity": "page", "service": "cart", "namespace": "webshop"},
			at(9, 4*h), 3*m), // shorter than a step
		run(crit("KubePodCrashLooping", "search"), at(6, 5*h+11*m), 4*h+20*m),
		run(crit("PaymentsDown", "payments"), at(4, 11*h+48*m), 38*m),
		// Long enough that the median time to resolve stays above 1h (the
		// framework's tracing threshold) whatever step the history is read at.
		run(crit("CatalogLatencyHigh", "catalog"), at(2, 19*h+3*m), h+32*m),
		{labels: crit("CheckoutErrorBudgetBurn", "frontend"), start: at(0, -40*m)}, // still firing
	}
	warnings := []struct {
		name     string
		offset   time.Duration
		duration time.Duration
	}{{"HighLatency", 2*h + 13*m, 12 * m}, {"PodMemoryHigh", 9*h + 41*m, 31 * m}, {"CertificateExpiresSoon", 17*h + 29*m, 7 * m}}
	for d := 35; d >= 1; d-- {
		for _, wr := range warnings {
			w.Alerts = append(w.Alerts, run(map[string]string{"alertname": wr.name, "severity": "warning", "namespace": "webshop"},
				at(d, wr.offset), wr.duration))
		}
		if d%2 == 0 { // from an alerting rule without a severity label
			w.Alerts = append(w.Alerts, run(map[string]string{"alertname": "HighMemory", "namespace": "webshop"}, at(d, 13*h), 20*m))
		}
	}

	mi := float64(1 << 20)
	dep := func(ns, name string, cpu, memMi float64, created time.Time, steps ...replicaStep) shopDeployment {
		return shopDeployment{namespace: ns, name: name, cpu: cpu, memory: memMi * mi, created: created, replicas: steps}
	}
	since := func(n int) replicaStep { return replicaStep{from: w.Start, replicas: n} }
	change := func(daysAgo int, hhmm time.Duration, n int) replicaStep {
		return replicaStep{from: end.Add(-time.Duration(daysAgo)*shopDay + hhmm), replicas: n}
	}
	w.Deployments = []shopDeployment{
		dep("webshop", "frontend", 0.5, 512, w.Start, since(3), change(10, 3*h, 4)),
		dep("webshop", "checkout", 1, 1024, w.Start, since(2), change(20, 5*h, 3)),
		dep("webshop", "cart", 0.25, 256, w.Start, since(2)),
		dep("webshop", "catalog", 0.5, 512, w.Start, since(2), change(15, 7*h, 3)),
		dep("webshop", "payments", 0.5, 512, w.Start, since(2)),
		dep("webshop", "search", 1, 2048, end.Add(-25*shopDay+2*h), replicaStep{from: end.Add(-25*shopDay + 2*h), replicas: 1}),
		dep("monitoring", "prometheus", 2, 4096, w.Start, since(1)),
	}
	// Weekly rollouts replace every pod, away from the days the growth
	// queries compare.
	for r := end.Add(-33*shopDay - 12*h); r.Before(end); r = r.Add(7 * shopDay) {
		w.rollouts = append(w.rollouts, r)
	}
	w.Services = []shopService{
		{"frontend", w.Start, 120}, {"checkout", w.Start, 8}, {"cart", w.Start, 25},
		{"catalog", w.Start, 60}, {"payments", w.Start, 6}, {"search", end.Add(-25*shopDay + 2*h), 30},
	}
	return w
}

// series returns the ALERTS series of a run in one alertstate.
func (r alertRun) series(state string) string {
	l := maps.Clone(r.labels)
	l["alertstate"] = state
	return "ALERTS" + labelString(l)
}

func labelString(l map[string]string) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(l)) {
		parts = append(parts, fmt.Sprintf("%s=%q", k, l[k]))
	}
	return "{" + strings.Join(parts, ",") + "}"
}

// WriteOpenMetrics writes the history. OpenMetrics wants each family's
// samples together and each series' samples in time order.
func (w *webshop) WriteOpenMetrics(out io.Writer) error {
	b := bufio.NewWriterSize(out, 1<<20)
	sample := func(series string, v float64, t time.Time) {
		b.WriteString(series)
		b.WriteByte(' ')
		b.WriteString(strconv.FormatFloat(v, 'g', -1, 64))
		b.WriteByte(' ')
		b.WriteString(strconv.FormatFloat(float64(t.UnixMilli())/1000, 'f', -1, 64))
		b.WriteByte('\n')
	}

	b.WriteString("# HELP ALERTS Alerts from the webshop's alerting rules.\n# TYPE ALERTS gauge\n")
	bySeries := map[string][]time.Time{}
	for _, r := range w.Alerts {
		for i := pendingEvalCount; i > 0; i-- {
			pending := r.series("pending")
			bySeries[pending] = append(bySeries[pending], r.start.Add(-time.Duration(i)*alertEvalEvery))
		}
		firing := r.series("firing")
		for t := r.start; !t.After(w.End) && (r.resolved.IsZero() || t.Before(r.resolved)); t = t.Add(alertEvalEvery) {
			bySeries[firing] = append(bySeries[firing], t)
		}
	}
	for _, s := range slices.Sorted(maps.Keys(bySeries)) {
		ts := bySeries[s]
		slices.SortFunc(ts, func(a, b time.Time) int { return a.Compare(b) })
		for _, t := range ts {
			sample(s, 1, t)
		}
	}

	b.WriteString("# HELP kube_pod_container_resource_requests The number of requested request resource by a container.\n")
	b.WriteString("# TYPE kube_pod_container_resource_requests gauge\n")
	for _, d := range w.Deployments {
		for _, res := range []struct {
			name, unit string
			per        float64
		}{{"cpu", "core", d.cpu}, {"memory", "byte", d.memory}} {
			for gen := 0; gen <= len(w.rollouts); gen++ {
				from, to := w.Start, w.End.Add(time.Nanosecond)
				if gen > 0 {
					from = w.rollouts[gen-1]
				}
				if gen < len(w.rollouts) {
					to = w.rollouts[gen]
				}
				for replica := range 5 {
					pod := fmt.Sprintf("%s-%08x-%05x", d.name, 0x5f7a9c00+gen*7919, 0x1b2c3+replica*977+gen)
					series := "kube_pod_container_resource_requests" + labelString(map[string]string{
						"namespace": d.namespace, "pod": pod, "container": d.name, "node": fmt.Sprintf("node-%d", (replica+gen)%3+1),
						"resource": res.name, "unit": res.unit, "job": "kube-state-metrics"})
					for t := alignUp(from, w.End); t.Before(to); t = t.Add(scrapeEvery) {
						if replica < d.replicasAt(t) {
							sample(series, res.per, t)
						}
					}
				}
			}
		}
	}

	b.WriteString("# HELP http_requests Requests the webshop's services answered.\n# TYPE http_requests counter\n")
	for _, s := range w.Services {
		for _, code := range []string{"200", "500"} {
			series := "http_requests_total" + labelString(map[string]string{"namespace": "webshop", "service": s.name, "code": code, "job": s.name})
			for _, p := range w.counter(s, code) {
				sample(series, p.v, p.t)
			}
		}
	}
	b.WriteString("# EOF\n")
	return b.Flush()
}

// alignUp returns the first scrape time at or after t on the grid that ends
// at end.
func alignUp(t, end time.Time) time.Time {
	n := end.Sub(t) / scrapeEvery
	a := end.Add(-n * scrapeEvery)
	if a.Before(t) {
		a = a.Add(scrapeEvery)
	}
	return a
}

// rate is a service's request rate at t: growing trafficGrowth4w every four
// weeks, with a daily cycle (busy evenings, quiet nights). The framework's
// webshop needs no second region ("Multi-region (single region sufficient,
// no DR requirement)"), so its traffic grows at a rate one region carries:
// with the search service created 25 days ago, the growth measured over
// four weeks is about 36%, below the rules' fast_traffic_growth (50%).
func (w *webshop) rate(s shopService, t time.Time) float64 {
	growth := math.Pow(1+trafficGrowth4w, t.Sub(w.End).Hours()/(28*24))
	phase := 2 * math.Pi * float64(t.Sub(w.End)%shopDay) / float64(shopDay)
	return s.rps * growth * (1 + 0.4*math.Sin(phase))
}

type counterPoint struct {
	t time.Time
	v float64
}

// counter is a service's request counter for one status code at every
// scrape: each interval adds its requests, the rate taken at its middle.
func (w *webshop) counter(s shopService, code string) []counterPoint {
	share := 1 - errorShare
	if code == "500" {
		share = errorShare
	}
	var out []counterPoint
	var total float64
	for t := alignUp(s.created, w.End); !t.After(w.End); t = t.Add(scrapeEvery) {
		if len(out) > 0 {
			total += w.rate(s, t.Add(-scrapeEvery/2)) * scrapeEvery.Seconds() * share
		}
		out = append(out, counterPoint{t, math.Round(total)})
	}
	return out
}
