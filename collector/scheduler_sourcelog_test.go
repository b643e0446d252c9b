package collector

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/capability-exporter/capability_exporter/collector/source"
)

// A source's failure is logged when its state changes, not at every
// evaluation: down over three evaluations is one line, answering again is
// one more, and no line of it is over 300 characters.
func TestSourceStateLoggedOnChange(t *testing.T) {
	down := true
	env := newTestEnv(t, "sources:\n  prometheus: {url: http://127.0.0.1:1}\n", map[string]func(context.Context, source.Request) source.Result{
		"prometheus": func(ctx context.Context, req source.Request) source.Result {
			if down {
				err := errors.New(`query "up": Post "http://127.0.0.1:1/api/v1/query": dial tcp 127.0.0.1:1: connect: connection refused`)
				var r source.Result
				for range req.Signals {
					r.Errors = append(r.Errors, source.Error{Reason: "unreachable", Err: err})
				}
				if len(r.Errors) == 0 {
					r.Errors = []source.Error{{Reason: "unreachable", Err: err}}
				}
				return r
			}
			return answer(3)(ctx, req)
		},
	})
	for range 3 {
		env.sched.Evaluate(context.Background())
	}
	if st := env.sched.Current(); statusOf(st, "prometheus").Up {
		t.Fatalf("prometheus up with every request refused: %+v", st.Sources)
	}
	down = false
	for range 2 {
		env.sched.Evaluate(context.Background())
	}
	log := env.log.String()
	for msg, want := range map[string]int{"Source down": 1, "Source answers again": 1, "Source errors": 0} {
		if n := strings.Count(log, msg); n != want {
			t.Errorf("%q logged %d times, want %d:\n%s", msg, n, want, log)
		}
	}
	for _, line := range strings.Split(log, "\n") {
		if len(line) > 300 {
			t.Errorf("a line of %d characters: %s", len(line), line)
		}
	}
	if !strings.Contains(log, "connection refused at http://127.0.0.1:1") {
		t.Errorf("the down line does not say what failed, in words:\n%s", log)
	}
}
