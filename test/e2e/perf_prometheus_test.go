//go:build e2e && perf

package e2e

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/capability-exporter/capability_exporter/config"
	"github.com/capability-exporter/capability_exporter/scope"
	"github.com/capability-exporter/capability_exporter/triggers"
)

const (
	perfPromCycles   = 6
	perfPromInterval = 4 * time.Second
	perfParallelGoal = 1.3
)

// TestPerfPrometheus runs the exporter binary with the default rules against
// a real Prometheus holding the webshop's 35-day history (the e2e tier's),
// through a counting reverse proxy: each query's time and answer size, and
// each evaluation's time against its slowest query, which shows whether the
// queries run in parallel.
func TestPerfPrometheus(t *testing.T) {
	doc := newPerfDoc(t, "30-prometheus", "Prometheus: the default rules on 35 days of history")
	t0 := time.Now()
	_, prom := webshopPrometheus(t)
	exporterBinary(t)
	defaultN := config.DefaultHTTPSource().MaxConcurrency
	doc.Para("The e2e tier's webshop: 35 days of alerts, resource requests and request counters generated, backfilled with promtool into %s and loaded (%s in all). The exporter binary with the embedded default rules and only `sources.prometheus` configured, through a counting reverse proxy, evaluating every %s; %d evaluations, the first on a cold Prometheus. Times are from the proxy's receiving the request to the last byte of the answer; the Loki and Kubernetes signals of the default rules are unknown here and cost nothing.",
		prom.Version, time.Since(t0).Round(time.Second), perfPromInterval, perfPromCycles)

	doc.Para("With the default settings (`max_concurrency: %d`, `--evaluation.slow-interval=1h`): the first evaluation sends every query; the later ones reuse the answers of the queries that read a day or more and send only the rest.", defaultN)
	byDefault := perfPromRun(t, doc, prom.URL, 0, "", true)
	doc.Para("Every query every evaluation (`--evaluation.slow-interval=0`), as the hourly evaluation that refreshes the slow answers sends them, with the default `max_concurrency: %d`:", defaultN)
	full := perfPromRun(t, doc, prom.URL, 0, "0", false)
	doc.Para("The same with `max_concurrency: 16`:")
	full16 := perfPromRun(t, doc, prom.URL, 16, "0", false)
	doc.Para("On this history every request takes about a millisecond, so an evaluation's ratio to its slowest request measures the exporter's own work around its requests (%s per evaluation at p50 with the default settings: scoping the queries, evaluating the rules, publishing) as much as their parallelism. A managed store usually answers in about %s, and that is where parallelism shows: the same runs against the same Prometheus behind a proxy that holds every answer %s.",
		ms(byDefault.overhead), perfStoreDelay, perfStoreDelay)
	slowStore := perfDelayedStore(t, prom.URL, perfStoreDelay)
	doc.Para("Default settings, every answer %s later:", perfStoreDelay)
	far := perfPromRun(t, doc, slowStore, 0, "", false)
	doc.Para("Every query every evaluation, default `max_concurrency: %d`, every answer %s later:", defaultN, perfStoreDelay)
	farFull := perfPromRun(t, doc, slowStore, 0, "0", false)
	doc.Para("The same with `max_concurrency: 16`:")
	farFull16 := perfPromRun(t, doc, slowStore, 16, "0", false)

	doc.Table([]string{"evaluation ÷ its slowest request, p50 of the later evaluations", "this history (about 1 ms a request)", fmt.Sprintf("answers %s later", perfStoreDelay)}, [][]string{
		{fmt.Sprintf("default settings: %d requests an evaluation, the slow answers reused", far.requests), fmt.Sprintf("%.2f", byDefault.median), fmt.Sprintf("%.2f", far.median)},
		{fmt.Sprintf("every query (the hourly evaluation), `max_concurrency: %d`: %d requests", defaultN, farFull.requests), fmt.Sprintf("%.2f", full.median), fmt.Sprintf("%.2f", farFull.median)},
		{"every query, `max_concurrency: 16`", fmt.Sprintf("%.2f", full16.median), fmt.Sprintf("%.2f", farFull16.median)},
	})
	doc.Para("With the default settings an evaluation sends %d requests, fewer than its %d slots: they all leave at once, and the exporter's own work outside them (before the first leaves and after the last answer) is %s at p50 (the rules engine runs again only when an answer, a comparison's previous truth or the rules changed; otherwise its last evaluation is published with the new time).",
		far.requests, defaultN, ms(far.overhead))
	doc.Target(fmt.Sprintf("an evaluation against its slowest query, default settings, a store answering in %s (p50 of the later evaluations)", perfStoreDelay), fmt.Sprintf("under %.1f×", perfParallelGoal),
		fmt.Sprintf("%.2f×", far.median), far.median < perfParallelGoal,
		fmt.Sprintf("the exporter's own work outside the requests: %s at p50", ms(far.overhead)))
	doc.Para("The hourly evaluation, which refreshes the answers of the queries that read a day or more, is stated, not judged: against a store answering in %s it takes %.2f× its slowest request with the default `max_concurrency: %d` (%.2f× with 16). It sends %d requests: with %d slots they leave in waves of %d, and a probe that checks that a windowed answer's data reaches back over its window is sent only once that answer is in, since an unknown answer needs no probe (the alert history's range query, then `ALERTS` where no loaded rule could fire it, then `up` for the retention, then `ALERTS` where no `up` reaches back); the probes of one query's selectors leave together. So it takes several round trips however many slots there are. It runs in the background once an hour and nothing waits for it: scrapes, the page and the API read the last published evaluation.",
		perfStoreDelay, farFull.median, defaultN, farFull16.median, farFull.requests, defaultN, defaultN)
}

// perfStoreDelay is how long the slow store holds each answer: a managed
// store's usual latency.
const perfStoreDelay = 200 * time.Millisecond

// perfDelayedStore serves target through a proxy that holds each answer d
// before sending it.
func perfDelayedStore(t *testing.T, target string, d time.Duration) string {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	rp := httputil.NewSingleHostReverseProxy(u)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(d)
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// perfPromFigures are one run's evaluations against their slowest request.
type perfPromFigures struct {
	median, first float64       // later evaluations' p50, and the first's
	requests      int           // requests of a later evaluation
	overhead      time.Duration // p50 of a later evaluation's time outside the proxy's span
}

// perfPromRun runs the exporter on prom with max_concurrency n (0: the
// default) and --evaluation.slow-interval slow ("": the default); detail
// adds the table of each request's times.
func perfPromRun(t *testing.T, doc *perfDoc, store string, n int, slow string, detail bool) perfPromFigures {
	t.Helper()
	proxy := newPerfProxy(t, store, "", false)
	section := fmt.Sprintf("sources:\n  prometheus:\n    url: %s\n", proxy.URL)
	label := "default `max_concurrency`"
	if n > 0 {
		section += fmt.Sprintf("    max_concurrency: %d\n", n)
		label = fmt.Sprintf("`max_concurrency: %d`", n)
	}
	args := []string{"--evaluation.interval=" + perfPromInterval.String(), "--log.level=debug"}
	if slow != "" {
		args = append(args, "--evaluation.slow-interval="+slow)
		label += ", slow interval " + slow
	}
	cfg := writeFile(t, t.TempDir(), fmt.Sprintf("config-%d-%s.yml", n, slow), section)
	e := startExporter(t, cfg, args...)
	evals := perfWaitCycles(t, e, perfPromCycles, perfPromCycles*perfPromInterval+2*time.Minute)
	m := perfScrape(t, e.URL+"/metrics")
	e.Stop()
	for _, s := range []string{"prometheus_reachable", "critical_incidents", "incident_mttr_seconds", "critical_alerts_per_day",
		"paging_alert_share", "cost_growth_ratio", "traffic_growth_ratio", "alerting_rules_without_severity"} {
		if v := m.Value(fmt.Sprintf(`capability_signal_known{signal="%s"}`, s)); v != 1 {
			t.Errorf("signal %s is not known (capability_signal_known %v): the history does not answer it", s, v)
		}
	}
	if t.Failed() {
		t.FailNow()
	}

	cycles := perfGroupCycles(proxy.Requests(), perfPromInterval/2)
	if len(cycles) < perfPromCycles {
		t.Fatalf("%d bursts of requests for %d evaluations", len(cycles), perfPromCycles)
	}
	cycles, evals = cycles[:perfPromCycles], evals[:perfPromCycles]
	names := perfQueryNames(t)
	type row struct {
		name  string
		cold  time.Duration
		warm  []time.Duration
		bytes int64
	}
	rows := map[string]*row{}
	var ratios []float64
	var cycleBytes []int64
	var sums, spans []time.Duration
	for i, c := range cycles {
		var slowest, sum time.Duration
		var bytes int64
		first, last := c[0].Start, c[0].Start
		for _, r := range c {
			key := perfRequestName(r, names)
			rw := rows[key]
			if rw == nil {
				rw = &row{name: key}
				rows[key] = rw
			}
			if i == 0 {
				rw.cold = r.Duration()
			} else {
				rw.warm = append(rw.warm, r.Duration())
			}
			rw.bytes = r.Bytes()
			bytes += r.Bytes()
			sum += r.Duration()
			slowest = max(slowest, r.Duration())
			if end := r.Start.Add(r.Duration()); end.After(last) {
				last = end
			}
		}
		ratios = append(ratios, float64(evals[i])/float64(slowest))
		cycleBytes = append(cycleBytes, bytes)
		sums, spans = append(sums, sum), append(spans, last.Sub(first))
		t.Logf("%s, evaluation %d: %s, %d requests, slowest %s, %d bytes", label, i+1, evals[i], len(c), slowest, bytes)
	}
	keys := make([]string, 0, len(rows))
	for k := range rows {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return percentile(rows[keys[i]].warm, 50) > percentile(rows[keys[j]].warm, 50) })
	var table [][]string
	for _, k := range keys {
		r := rows[k]
		table = append(table, []string{r.name, ms(r.cold), ms(percentile(r.warm, 50)), fmt.Sprint(r.bytes)})
	}
	warmEvals, warmRatios := evals[1:], slices.Clone(ratios[1:])
	slices.Sort(warmRatios)
	median := warmRatios[len(warmRatios)/2]
	if detail {
		doc.Table([]string{"request (signal)", "first evaluation", "later evaluations, p50", "answer bytes"}, table)
	}
	var outside []time.Duration
	for i := 1; i < len(evals); i++ {
		outside = append(outside, evals[i]-spans[i])
	}
	doc.Table([]string{"evaluation", "first", "later, p50", "later, max"}, [][]string{
		{"whole evaluation (the exporter's logged duration)", ms(evals[0]), ms(percentile(warmEvals, 50)), ms(percentile(warmEvals, 100))},
		{"first request sent to last answer read, at the proxy", ms(spans[0]), ms(percentile(spans[1:], 50)), ms(percentile(spans[1:], 100))},
		{"sum of the requests' times", ms(sums[0]), ms(percentile(sums[1:], 50)), ms(percentile(sums[1:], 100))},
		{"evaluation ÷ its slowest request", fmt.Sprintf("%.2f", ratios[0]), fmt.Sprintf("%.2f", median), fmt.Sprintf("%.2f", warmRatios[len(warmRatios)-1])},
		{"requests", fmt.Sprint(len(cycles[0])), fmt.Sprint(len(cycles[1])), ""},
		{"bytes fetched", fmt.Sprint(cycleBytes[0]), fmt.Sprint(cycleBytes[1]), ""},
	})
	return perfPromFigures{median: median, first: ratios[0], requests: len(cycles[1]), overhead: percentile(outside, 50)}
}

// perfGroupCycles splits requests into the bursts of one evaluation each:
// a new burst starts after a quiet gap.
func perfGroupCycles(reqs []*perfRequest, gap time.Duration) [][]*perfRequest {
	sort.Slice(reqs, func(i, j int) bool { return reqs[i].Start.Before(reqs[j].Start) })
	var out [][]*perfRequest
	var last time.Time
	for _, r := range reqs {
		if len(out) == 0 || r.Start.Sub(last) > gap {
			out = append(out, nil)
		}
		out[len(out)-1] = append(out[len(out)-1], r)
		last = r.Start
	}
	return out
}

// perfQueryNames maps each PromQL query of the default rules to the signal
// (and first_known alternative) that asks it.
func perfQueryNames(t *testing.T) map[string]string {
	t.Helper()
	rules, err := triggers.Default()
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]string{}
	for _, s := range rules.Signals {
		alts := s.Source.Alternatives()
		for i, a := range alts {
			if a.Prometheus == nil || a.Prometheus.Query == "" {
				continue
			}
			name := s.Name
			if len(alts) > 1 {
				name = fmt.Sprintf("%s, alternative %d", s.Name, i+1)
			}
			// As sent: the rules' ${name} selectors expanded.
			q, _ := scope.Expand(a.Prometheus.Query, config.DefaultSelectors("prometheus"))
			names[strings.Join(strings.Fields(q), " ")] = name
		}
	}
	return names
}

func perfRequestName(r *perfRequest, names map[string]string) string {
	q := strings.Join(strings.Fields(r.Query), " ")
	switch {
	case r.Path == "/api/v1/query_range":
		return fmt.Sprintf("range query `%s` over %s", q, r.Window)
	case q != "" && names[q] != "":
		return "instant query (" + names[q] + ")"
	case q != "":
		return "instant query `" + q + "`"
	}
	return r.Method + " " + r.Path
}
