//go:build e2e && perf

package e2e

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"testing"
	"time"

	"github.com/capability-exporter/capability_exporter/collector"
	"github.com/capability-exporter/capability_exporter/collector/httpapi"
	"github.com/capability-exporter/capability_exporter/config"
	"github.com/capability-exporter/capability_exporter/scope"
)

// TestPerfQueriesPerHour counts what one exporter with the default rules
// sends to the store in an hour of evaluations every 5 minutes: 12
// evaluations back to back, with --evaluation.slow-interval at its default
// of 1h (the slow queries' answers stay fresh for all 12) and at 0 (every
// query every evaluation). The real Prometheus holds the webshop's 35 days
// behind a counting proxy; Loki is the double.
func TestPerfQueriesPerHour(t *testing.T) {
	doc := newPerfDoc(t, "35-store-load", "Load on the store: queries per hour")
	w, p := webshopPrometheus(t)
	lines, _ := webshopLogs(w.End)
	loki := newLokiDouble(t, "webshop", lines)
	proxy := newPerfProxy(t, p.URL, "", false)
	cfgFile := writeFile(t, t.TempDir(), "config.yml", fmt.Sprintf(
		"sources:\n  prometheus:\n    url: %s\n    timeout: 30s\n  loki:\n    url: %s\n    tenant_id: webshop\n", proxy.URL, loki.URL))

	type tally struct {
		requests, instant, rng, slowInstant, slowRange, monthRange, rules, other, loki int
		took                                                                           time.Duration
	}
	lokiTotal := func() int {
		loki.mu.Lock()
		defer loki.mu.Unlock()
		n := 0
		for _, c := range loki.requests {
			n += c
		}
		return n
	}
	hour := func(slow time.Duration) tally {
		cfg, err := config.Load(cfgFile)
		if err != nil {
			t.Fatal(err)
		}
		sched := collector.NewScheduler(cfg, 2*time.Minute, slog.New(slog.DiscardHandler), collector.WithSlowInterval(slow))
		defer sched.Close()
		from, lokiFrom := len(proxy.Requests()), lokiTotal()
		t0 := time.Now()
		for range 12 {
			st := sched.Evaluate(context.Background())
			if st == nil {
				t.Fatal("no evaluation")
			}
		}
		var n tally
		n.took = time.Since(t0)
		for _, r := range proxy.Requests()[from:] {
			n.requests++
			switch r.Path {
			case "/api/v1/query":
				n.instant++
				if d, err := scope.PromQLWindow(r.Query); err == nil && d >= httpapi.SlowWindow {
					n.slowInstant++
				}
			case "/api/v1/query_range":
				n.rng++
				if r.Window >= httpapi.SlowWindow {
					n.slowRange++
				}
				if r.Window >= 30*shopDay {
					n.monthRange++
				}
			case "/api/v1/rules":
				n.rules++
			default:
				n.other++
			}
		}
		n.loki = lokiTotal() - lokiFrom
		return n
	}
	on, off := hour(time.Hour), hour(0)
	doc.Para("One exporter with the embedded default rules and `sources.prometheus` and `sources.loki` configured, against the real %s holding the webshop's 35 days behind a counting proxy (Loki: the e2e double). An hour of the default `--evaluation.interval` of 5m is 12 evaluations; they run back to back here, so with `--evaluation.slow-interval=1h` (the default) the answers of queries that read a day or more stay fresh for all 12, exactly as in an hour of real time, where the 13th evaluation would send them again. With 0 every query goes out every evaluation, as before the slow cadence. Probes that check a windowed query's data reaches back run with that query and share its cadence.", p.Version)
	row := func(what string, a, z int) []string { return []string{what, fmt.Sprint(a), fmt.Sprint(z)} }
	doc.Table([]string{"per exporter per hour (12 evaluations)", "slow interval 1h (default)", "slow interval 0"}, [][]string{
		row("requests to Prometheus", on.requests, off.requests),
		row("instant queries", on.instant, off.instant),
		row("… of them reading a day or more", on.slowInstant, off.slowInstant),
		row("range queries (alert history)", on.rng, off.rng),
		row("… of them over 30 days", on.monthRange, off.monthRange),
		row("rules API", on.rules, off.rules),
		row("other (build info)", on.other, off.other),
		row("requests to Loki", on.loki, off.loki),
		{"time for the 12 evaluations", on.took.Round(time.Millisecond).String(), off.took.Round(time.Millisecond).String()},
	})
	ratio := math.Inf(1)
	if on.monthRange > 0 {
		ratio = float64(off.monthRange) / float64(on.monthRange)
	}
	doc.Target("30-day range queries per exporter per hour, slow interval on against off", "at least 10× fewer",
		fmt.Sprintf("%d against %d (%.0f×)", on.monthRange, off.monthRange, ratio), on.monthRange > 0 && ratio >= 10,
		"find which 30-day range query is sent outside the slow cadence")
	if on.monthRange == 0 || on.requests == 0 {
		t.Fatalf("nothing counted: %+v", on)
	}
}
