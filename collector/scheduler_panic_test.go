package collector

import (
	"context"
	"strings"
	"testing"

	"github.com/capability-exporter/capability_exporter/collector/source"
)

// A source that panics on every evaluation is counted every time and
// logged once, with the stack that says where.
func TestPanicLoggedOnceWithItsStack(t *testing.T) {
	env := newTestEnv(t, "sources:\n  loki: {url: http://127.0.0.1:1}\n", map[string]func(context.Context, source.Request) source.Result{
		"loki": func(context.Context, source.Request) source.Result { panic("bad response shape") },
	})
	var st *State
	for range 3 {
		st = env.sched.Evaluate(context.Background())
	}
	if got := st.ErrorTotals[ErrorKey{"loki", source.ReasonPanic}]; got != 3 {
		t.Errorf("source_errors_total{loki,panic} = %v after three panics, want 3", got)
	}
	log := env.log.String()
	if n := strings.Count(log, "Recovered from a panic"); n != 1 {
		t.Errorf("panic logged %d times, want once:\n%s", n, log)
	}
	if !strings.Contains(log, "scheduler_panic_test.go") {
		t.Errorf("the log lacks the stack of the panic:\n%s", log)
	}
}

// panickingError is an error whose message panics, as a library's error
// type with a nil field inside may.
type panickingError struct{}

func (panickingError) Error() string { panic("error message of a nil field") }

// A panic outside every source's guard (here: an error whose message
// panics when the scheduler reads it) must not end the process either:
// nothing is published, the last decisions stay, and the stack is logged.
func TestEvaluationPanicKeepsTheLastDecisions(t *testing.T) {
	malformed := false
	env := newTestEnv(t, "sources:\n  loki: {url: http://127.0.0.1:1}\n", map[string]func(context.Context, source.Request) source.Result{
		"loki": func(ctx context.Context, req source.Request) source.Result {
			if malformed {
				return source.Result{Errors: []source.Error{{Reason: "bad_response", Err: panickingError{}}}}
			}
			return answer(3)(ctx, req)
		},
	})
	first := env.sched.Evaluate(context.Background())
	malformed = true
	if got := env.sched.Evaluate(context.Background()); got != first || env.sched.Current() != first {
		t.Errorf("after a panicking evaluation: returned %p, current %p; want the last published %p", got, env.sched.Current(), first)
	}
	if log := env.log.String(); !strings.Contains(log, "Evaluation panicked") || !strings.Contains(log, "scheduler.go") {
		t.Errorf("the panic is not logged with its stack:\n%s", log)
	}
	malformed = false
	if env.sched.Evaluate(context.Background()) == first {
		t.Error("the next evaluation was not published")
	}
}
