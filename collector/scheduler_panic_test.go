package collector

import (
	"context"
	"strings"
	"testing"
)

// A source that panics on every evaluation is counted every time and
// logged once, with the stack that says where.
func TestPanicLoggedOnceWithItsStack(t *testing.T) {
	env := newTestEnv(t, "sources:\n  loki: {url: http://127.0.0.1:1}\n", map[string]func(context.Context, Request) Result{
		"loki": func(context.Context, Request) Result { panic("bad response shape") },
	})
	var st *State
	for range 3 {
		st = env.sched.Evaluate(context.Background())
	}
	if got := st.ErrorTotals[ErrorKey{"loki", reasonPanic}]; got != 3 {
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
