package collector

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/capability-exporter/capability_exporter/config"
)

// BenchmarkCollectDefaultRules measures one scrape's collection of the
// capability metrics from a published evaluation of the default rules: the
// whole cost a scrape adds, since it never reaches a source.
func BenchmarkCollectDefaultRules(b *testing.B) {
	cfg, err := config.Load("../examples/webshop.yml")
	if err != nil {
		b.Fatal(err)
	}
	sched := NewScheduler(cfg, time.Minute, slog.New(slog.NewTextHandler(io.Discard, nil)))
	sched.Evaluate(context.Background())
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
