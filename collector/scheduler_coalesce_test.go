package collector

import (
	"context"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/capability-exporter/capability_exporter/collector/source"
)

// The tests here run Run in a synctest bubble: its ticker reads the bubble's
// clock, which moves only when every goroutine in it waits, and
// synctest.Wait returns once they all do. "Nothing else ran" is then exact:
// no evaluation is still about to start.

// A loop of reloads must not queue an evaluation each: while one runs, any
// number of EvaluateSoon calls wait as one evaluation. The ticker never
// fires, so every evaluation after the first is one the reloads asked for.
func TestReloadsCoalesceIntoOneWaitingEvaluation(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		var collects atomic.Int32
		release := make(chan struct{})
		env := newTestEnv(t, "sources:\n  prometheus: {url: http://127.0.0.1:1}\n", map[string]func(context.Context, source.Request) source.Result{
			"prometheus": func(ctx context.Context, req source.Request) source.Result {
				collects.Add(1)
				<-release
				return answer(60)(ctx, req)
			},
		})
		stop := runScheduler(env.sched, time.Hour)
		defer stop()

		synctest.Wait() // the first evaluation runs and waits for release
		if got := collects.Load(); got != 1 {
			t.Fatalf("%d evaluations at start, want 1", got)
		}
		for range 1000 {
			env.sched.EvaluateSoon()
		}
		close(release)
		synctest.Wait() // every evaluation owed has run; Run waits
		if got := collects.Load(); got != 2 {
			t.Fatalf("%d evaluations after 1000 reloads during one evaluation, want 2", got)
		}

		// A reload after that is answered by one evaluation of its own.
		env.sched.EvaluateSoon()
		synctest.Wait()
		if got := collects.Load(); got != 3 {
			t.Fatalf("%d evaluations in all after one more reload, want 3", got)
		}
	})
}

// Ticks go on while reloads come and go, and the ticks missed while an
// evaluation ran are answered by one evaluation, not one per tick missed.
func TestTicksDuringAnEvaluationCoalesce(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		var collects atomic.Int32
		release := make(chan struct{})
		env := newTestEnv(t, "sources:\n  prometheus: {url: http://127.0.0.1:1}\n", map[string]func(context.Context, source.Request) source.Result{
			"prometheus": func(ctx context.Context, req source.Request) source.Result {
				if collects.Add(1) == 1 {
					<-release
				}
				return answer(60)(ctx, req)
			},
		})
		const interval = time.Minute
		stop := runScheduler(env.sched, interval)
		defer stop()

		// Five ticks while the first evaluation runs; waiting half an
		// interval past the fifth keeps each tick apart from the moments
		// the test looks. In the bubble the wait takes no time.
		time.Sleep(5*interval + interval/2)
		if got := collects.Load(); got != 1 {
			t.Fatalf("%d evaluations while the first one ran, want 1", got)
		}
		close(release)
		synctest.Wait()
		if got := collects.Load(); got != 2 {
			t.Fatalf("%d evaluations after a long one that missed five ticks, want 2: the first and one for the ticks", got)
		}
		// From then on one evaluation per tick, and a reload in between
		// adds one of its own.
		time.Sleep(interval)
		if got := collects.Load(); got != 3 {
			t.Fatalf("%d evaluations one interval later, want 3", got)
		}
		env.sched.EvaluateSoon()
		synctest.Wait()
		if got := collects.Load(); got != 4 {
			t.Fatalf("%d evaluations after a reload between ticks, want 4", got)
		}
		time.Sleep(interval)
		if got := collects.Load(); got != 5 {
			t.Fatalf("%d evaluations one more interval later, want 5: a reload does not cost a tick", got)
		}
	})
}

// runScheduler runs sched.Run every interval until the returned stop is
// called; stop returns once Run has.
func runScheduler(sched *Scheduler, interval time.Duration) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan struct{})
	go func() { sched.Run(ctx, interval); close(ran) }()
	return func() { cancel(); <-ran }
}
