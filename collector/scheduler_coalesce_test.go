package collector

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/capability-exporter/capability_exporter/collector/source"
)

// A loop of reloads must not queue an evaluation each: while one runs, any
// number of EvaluateSoon calls (and a tick) wait as one evaluation.
func TestReloadsCoalesceIntoOneWaitingEvaluation(t *testing.T) {
	var collects atomic.Int32
	entered := make(chan struct{}, 10)
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
	go func() { env.sched.Run(ctx, 50*time.Millisecond); close(ran) }()
	defer func() { cancel(); <-ran }()

	<-entered // the first evaluation runs and waits
	for range 1000 {
		env.sched.EvaluateSoon()
	}
	time.Sleep(150 * time.Millisecond) // ticks too arrive while it runs
	close(release)
	<-entered // the one waiting evaluation
	if got := collects.Load(); got != 2 {
		t.Fatalf("%d evaluations started after 1000 reloads and three ticks during one evaluation, want 2", got)
	}
	// Ticks go on afterwards.
	select {
	case <-entered:
	case <-time.After(2 * time.Second):
		t.Fatal("no evaluation on the next tick")
	}
}
