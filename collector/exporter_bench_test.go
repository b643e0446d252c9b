package collector

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/capability-exporter/capability_exporter/config"
)

// BenchmarkCollectDefaultRules measures one scrape's gather of the
// capability metrics from a published evaluation of the default rules: the
// whole cost a scrape adds, since it never reaches a source. After the first
// iteration the State's metrics are already built, as for every scrape but
// the first after an evaluation.
func BenchmarkCollectDefaultRules(b *testing.B) {
	sched := webshopScheduler(b)
	reg := prometheus.NewRegistry()
	reg.MustRegister(NewExporter(sched))
	n, err := testutil.GatherAndCount(reg)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(n), "series")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := reg.Gather(); err != nil {
			b.Fatal(err)
		}
	}
}

// webshopScheduler is a scheduler on the example config (the default rules,
// every signal declared) with one evaluation published.
func webshopScheduler(b testing.TB) *Scheduler {
	b.Helper()
	cfg, err := config.Load("../examples/webshop.yml")
	if err != nil {
		b.Fatal(err)
	}
	sched := NewScheduler(cfg, time.Minute, slog.New(slog.DiscardHandler))
	sched.Evaluate(context.Background())
	return sched
}
