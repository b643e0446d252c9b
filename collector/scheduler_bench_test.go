package collector

import (
	"context"
	"testing"
)

// BenchmarkEvaluate measures one evaluation of the default rules on the
// example config, every signal declared: the scheduler's own cost (planning
// the requests, merging the answers, the rules, the history and publishing)
// with no source to wait for.
func BenchmarkEvaluate(b *testing.B) {
	sched := webshopScheduler(b)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if sched.Evaluate(ctx) == nil {
			b.Fatal("nothing published")
		}
	}
}
