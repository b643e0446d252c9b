package collector

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/capability-exporter/capability_exporter/collector/source"
)

// A loop of reloads must not queue an evaluation each: while one runs, any
// number of EvaluateSoon calls wait as one evaluation. The ticker is long,
// so every evaluation after the first is one the burst asked for: after
// the burst exactly one more starts, and no other within a wait far longer
// than an evaluation takes.
func TestReloadsCoalesceIntoOneWaitingEvaluation(t *testing.T) {
	t.Parallel()
	var collects atomic.Int32
	entered := make(chan struct{}, 2000)
	release := make(chan struct{})
	env := newTestEnv(t, "sources:\n  prometheus: {url: http://127.0.0.1:1}\n", map[string]func(context.Context, source.Request) source.Result{
		"prometheus": func(ctx context.Context, req source.Request) source.Result {
			collects.Add(1)
			entered <- struct{}{}
			<-release
			return answer(60)(ctx, req)
		},
	})
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan struct{})
	go func() { env.sched.Run(ctx, time.Hour); close(ran) }()
	defer func() { cancel(); <-ran }()

	<-entered // the first evaluation runs and waits
	for range 1000 {
		env.sched.EvaluateSoon()
	}
	close(release) // from now on an evaluation takes well under a millisecond
	select {
	case <-entered: // the one waiting evaluation
	case <-time.After(5 * time.Second):
		t.Fatal("no evaluation after 1000 reloads")
	}
	time.Sleep(500 * time.Millisecond)
	if got := collects.Load(); got != 2 {
		t.Fatalf("%d evaluations started after 1000 reloads during one evaluation, want 2", got)
	}

	// A reload after that is answered by one evaluation of its own.
	env.sched.EvaluateSoon()
	select {
	case <-entered:
	case <-time.After(5 * time.Second):
		t.Fatal("no evaluation after a later reload")
	}
	time.Sleep(200 * time.Millisecond)
	if got := collects.Load(); got != 3 {
		t.Fatalf("%d evaluations in all after one more reload, want 3", got)
	}
}

// Ticks go on while reloads come and go, and a tick missed while an
// evaluation ran is answered once, not once per tick missed.
func TestTicksDuringAnEvaluationCoalesce(t *testing.T) {
	t.Parallel()
	var collects atomic.Int32
	entered := make(chan struct{}, 100)
	release := make(chan struct{})
	env := newTestEnv(t, "sources:\n  prometheus: {url: http://127.0.0.1:1}\n", map[string]func(context.Context, source.Request) source.Result{
		"prometheus": func(ctx context.Context, req source.Request) source.Result {
			if collects.Add(1) == 1 {
				entered <- struct{}{}
				<-release
			}
			return answer(60)(ctx, req)
		},
	})
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan struct{})
	const interval = 200 * time.Millisecond
	go func() { env.sched.Run(ctx, interval); close(ran) }()
	defer func() { cancel(); <-ran }()

	<-entered
	time.Sleep(5 * interval) // five ticks while the first evaluation runs
	released := time.Now()
	close(release)
	time.Sleep(interval / 2)
	// The first, one for the five ticks it missed, and one per tick since.
	elapsed := time.Since(released)
	if got, most := collects.Load(), 2+1+int32(elapsed/interval); got > most {
		t.Fatalf("%d evaluations %s after a long one that missed five ticks, want at most %d", got, elapsed, most)
	}
	deadline := time.Now().Add(10 * interval)
	for collects.Load() < 4 && time.Now().Before(deadline) {
		time.Sleep(interval / 4)
	}
	if got := collects.Load(); got < 4 {
		t.Fatalf("%d evaluations after ten intervals, want the ticks to go on", got)
	}
}
