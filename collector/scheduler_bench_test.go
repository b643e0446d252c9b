package collector

import (
	"context"
	"testing"
)

// BenchmarkEvaluate measures one evaluation of the default rules on the
// example config, every signal declared: the scheduler's own cost (planning
// the requests, merging the answers, the rules, the history and publishing)
// with no source to wait for. "unchanged" is the steady state, where the
// answers are those of the last evaluation and the engine's evaluation is
// reused; "changed" runs the engine every time, as after a changed answer.
func BenchmarkEvaluate(b *testing.B) {
	for _, changed := range []bool{false, true} {
		name := "unchanged"
		if changed {
			name = "changed"
		}
		b.Run(name, func(b *testing.B) {
			sched := webshopScheduler(b)
			sched.Evaluate(context.Background()) // the first one's truths are the second's previous ones
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				if changed {
					sched.memo = engineMemo{}
				}
				if sched.Evaluate(ctx) == nil {
					b.Fatal("nothing published")
				}
			}
		})
	}
}
