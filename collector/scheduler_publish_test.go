package collector

import (
	"context"
	"net/http"
	"net/http/httptest"
	"reflect"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/capability-exporter/capability_exporter/collector/source"
	"github.com/capability-exporter/capability_exporter/triggers"
)

// TestEngineRunsWhenWhatItReadsChanged: the rules engine runs again only
// when the values, the comparisons' previous truths or the rules changed;
// otherwise its last evaluation is published again with the new time, and
// is the evaluation the engine would have made.
func TestEngineRunsWhenWhatItReadsChanged(t *testing.T) {
	cfg := "sources:\n  kubernetes: {}\n  loki: {url: http://127.0.0.1:1}\n  prometheus: {url: http://127.0.0.1:1}\n"
	var kube atomic.Int64
	kube.Store(3)
	env := newTestEnv(t, cfg, map[string]func(context.Context, source.Request) source.Result{
		"kubernetes": func(ctx context.Context, req source.Request) source.Result {
			return answer(float64(kube.Load()))(ctx, req)
		},
		"loki":       answer(2),
		"prometheus": answer(7200),
	})
	runs := 0
	env.sched.engine = func(r *triggers.Rules, s triggers.Snapshot, now time.Time, prev triggers.Truths) *triggers.Evaluation {
		runs++
		return triggers.EvaluateFrom(r, s, now, prev)
	}
	evaluate := func(want int) *State {
		t.Helper()
		st := env.sched.Evaluate(context.Background())
		if runs != want {
			t.Fatalf("the engine ran %d times, want %d", runs, want)
		}
		return st
	}
	evaluate(1)
	// The first evaluation's truths are the second's previous ones.
	evaluate(2)
	made := env.sched.memo.ev
	st := evaluate(2)
	if st.Evaluation == made || st.Evaluation.Time.Before(made.Time) || made.Time.IsZero() {
		t.Errorf("the reused evaluation is not a copy at the new time (%v, made at %v)", st.Evaluation.Time, made.Time)
	}
	fresh := triggers.EvaluateFrom(st.Config.Rules, env.sched.memo.values, st.Evaluation.Time, env.sched.memo.truths)
	if got := *st.Evaluation; !reflect.DeepEqual(got.Decisions, fresh.Decisions) || !reflect.DeepEqual(got.Signals, fresh.Signals) {
		t.Errorf("the reused evaluation differs from what the engine makes of the same values")
	}
	kube.Store(9) // a changed answer
	if d := evaluate(3).Evaluation.Decision("service_mesh"); d.Step(triggers.KindTrigger) != triggers.True {
		t.Errorf("service_mesh's trigger = %v after microservices went to 9, want true", d.Step(triggers.KindTrigger))
	}
	env.sched.Reload(loadConfig(t, cfg)) // new rules
	evaluate(4)
}

// TestPublishedStateIsRenderedBeforeAnyScrape: after a publication the
// capability series are rendered in the background, in the formats scrapes
// asked for, so the next scrape only serves them.
func TestPublishedStateIsRenderedBeforeAnyScrape(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		env := newTestEnv(t, "facts: {}", nil)
		var seen atomic.Pointer[State]
		env.sched.OnPublish(func(st *State) {
			if env.sched.Current() != st {
				t.Errorf("a hook ran before its State was published")
			}
			seen.Store(st)
		})
		h := NewScrapeHandler(NewExporter(env.sched), selfMetrics(t), promhttp.HandlerOpts{}).(*scrapeHandler)
		env.sched.Evaluate(context.Background())
		req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
		req.Header.Set("Accept-Encoding", "gzip")
		h.ServeHTTP(httptest.NewRecorder(), req)

		st := env.sched.Evaluate(context.Background())
		synctest.Wait()
		if seen.Load() != st {
			t.Fatalf("the hook saw %p, want the State published, %p", seen.Load(), st)
		}
		h.mu.Lock()
		sr := h.rendering
		h.mu.Unlock()
		if sr == nil || sr.version.(exporterVersion).state != st {
			t.Fatal("the published State is not rendered")
		}
		sr.mu.Lock()
		defer sr.mu.Unlock()
		if len(sr.runs) == 0 {
			t.Fatal("no run of the capability series rendered")
		}
		for k, r := range sr.runs {
			if r.plain == nil || r.deflated == nil {
				t.Errorf("run %v rendered %d bytes, %d deflated; want both before a scrape", k, len(r.plain), len(r.deflated))
			}
		}
	})
}
