//go:build e2e && perf

package e2e

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/capability-exporter/capability_exporter/collector"
	"github.com/capability-exporter/capability_exporter/config"
)

// TestPerfImpactQueriesPerHour counts what impact since adoption adds to
// the store's load: an hour of evaluations (12, back to back, slow interval
// 1h) of the default rules on the webshop's history, once with nothing
// adopted and once with tracing and cost visibility adopted (declared 15
// and 25 days ago). The difference is the impact's queries; the target is
// at most one range query per adopted capability per slow interval.
func TestPerfImpactQueriesPerHour(t *testing.T) {
	doc := newPerfDoc(t, "36-impact-load", "Impact since adoption: queries per slow interval")
	_, p := webshopPrometheus(t)
	proxy := newPerfProxy(t, p.URL, "", false)
	now := time.Now()
	base := fmt.Sprintf("sources:\n  prometheus:\n    url: %s\n    timeout: 30s\n", proxy.URL)
	adopted := base + fmt.Sprintf("overrides:\n  tool.jaeger: true\n  tool.opencost: true\nfacts:\n  adopted:\n    distributed_tracing: %s\n    cost_visibility: %s\n",
		now.Add(-15*shopDay).UTC().Format(time.RFC3339), now.Add(-25*shopDay).UTC().Format(time.RFC3339))

	type tally struct{ instant, rng, impactRange, measured int }
	hour := func(cfgYAML string) tally {
		cfg, err := config.Load(writeFile(t, t.TempDir(), "config.yml", cfgYAML))
		if err != nil {
			t.Fatal(err)
		}
		sched := collector.NewScheduler(cfg, 2*time.Minute, slog.New(slog.DiscardHandler), collector.WithSlowInterval(time.Hour))
		defer sched.Close()
		from := len(proxy.Requests())
		var n tally
		for range 12 {
			st := sched.Evaluate(context.Background())
			if st == nil {
				t.Fatal("no evaluation")
			}
			m := 0
			for _, r := range st.Impact {
				if r.Unknown == "" && r.TooEarly == "" {
					m++
				}
			}
			n.measured = max(n.measured, m)
		}
		for _, r := range proxy.Requests()[from:] {
			switch r.Path {
			case "/api/v1/query":
				n.instant++
			case "/api/v1/query_range":
				n.rng++
				if strings.Contains(r.Query, "impact_edge") {
					n.impactRange++
				}
			}
		}
		return n
	}
	none, two := hour(base), hour(adopted)
	doc.Para("The default rules on the webshop's 35 days (real %s behind a counting proxy), 12 evaluations back to back with `--evaluation.slow-interval=1h`: once with no capability adopted, once with distributed tracing and cost visibility adopted (`facts.adopted` 15 and 25 days back, so that the window before adoption lies within the history). Impact is measured once per slow interval: one range query for each adopted capability whose impact signals read the alert history (over both windows at once), and two instant queries per query signal (at adoption and W after it), a reach probe and a kube_*_created lookup.", p.Version)
	row := func(what string, a, z int) []string { return []string{what, fmt.Sprint(a), fmt.Sprint(z)} }
	doc.Table([]string{"per exporter per hour (12 evaluations)", "nothing adopted", "tracing and cost adopted"}, [][]string{
		row("instant queries", none.instant, two.instant),
		row("range queries", none.rng, two.rng),
		row("… of them for impact", none.impactRange, two.impactRange),
	})
	doc.Target("impact range queries per adopted capability per slow interval", "at most 1",
		fmt.Sprintf("%d for %d adopted capabilities", two.impactRange, two.measured), two.measured >= 2 && two.impactRange <= two.measured,
		"find which impact query is sent outside the slow cadence")
	if two.measured < 2 || two.impactRange > two.measured {
		t.Errorf("%d impact range queries for %d adopted capabilities measured; want at most one each, and tracing and cost visibility measured", two.impactRange, two.measured)
	}
}
