package httpapi

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/capability-exporter/capability_exporter/collector/source"
	"github.com/capability-exporter/capability_exporter/triggers"
)

// fakeClock is a clock the test moves.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// slowPrometheus is a Prometheus source whose slow queries are sent once
// per every.
func slowPrometheus(t *testing.T, rawURL string, every time.Duration) *Prometheus {
	t.Helper()
	return testPrometheusWith(t, rawURL, nil, Options{SlowInterval: every})
}

func TestSlowQueriesAreSentOncePerSlowInterval(t *testing.T) {
	t.Parallel()
	stub := newAPIStub(t, map[string][]stubAnswer{"/api/v1/query": {{status: 200, body: scalar42}}})
	src := slowPrometheus(t, stub.URL, time.Hour)
	clock := &fakeClock{now: fixedNow}
	src.server.cache.clock = clock.Now
	rules := &triggers.Rules{}
	req := source.Request{Rules: rules, Signals: []source.SignalRequest{
		promQuery("monthly", `sum(rate(x[30d]))`, ""),
		promQuery("daily", `sum(rate(x[1d]))`, ""),
		promQuery("fast", `sum(rate(x[5m]))`, ""),
	}}
	var last source.Result
	for range 12 { // an hour of evaluations every 5 minutes
		last = src.Collect(context.Background(), req)
		clock.Add(5 * time.Minute)
	}
	count := stub.queryCounts()
	if count[`sum(rate(x[30d]))`] != 1 || count[`sum(rate(x[1d]))`] != 1 || count[`sum(rate(x[5m]))`] != 12 {
		t.Errorf("queries sent in an hour: %v; want the slow ones once, the fast one 12 times", count)
	}
	v := last.Values["monthly"]
	if !v.Known || v.Number != 42 || v.Source != "prometheus" || !v.MeasuredAt.Equal(fixedNow) {
		t.Errorf("reused value %+v, want 42 from prometheus, measured at %s", v, fixedNow)
	}
	if v := last.Values["fast"]; !v.MeasuredAt.IsZero() {
		t.Errorf("value sent this evaluation %+v carries a measurement time", v)
	}
	if !last.Up {
		t.Error("source not up while every slow answer was reused")
	}
	// An hour after the first answer, the slow queries are sent again.
	src.Collect(context.Background(), req)
	if c := stub.queryCounts(); c[`sum(rate(x[30d]))`] != 2 || c[`sum(rate(x[1d]))`] != 2 {
		t.Errorf("after an hour: %v, want the slow queries sent again", c)
	}
}

func TestSlowCacheKeysOnWhatIsSentAndHowItIsRead(t *testing.T) {
	t.Parallel()
	stub := newAPIStub(t, map[string][]stubAnswer{"/api/v1/query": {{status: 200, body: vectorEmpty}}})
	src := slowPrometheus(t, stub.URL, time.Hour)
	q := `sum(rate(x[30d]))`
	collect := func(srs ...source.SignalRequest) source.Result {
		// Every load of the rules makes new Rules: the cache must not care.
		return src.Collect(context.Background(), source.Request{Rules: &triggers.Rules{}, Signals: srs})
	}
	collect(promQuery("monthly", q, ""))
	// The same query read the same way, under new rules and another name:
	// the answer is reused.
	if v := collect(promQuery("renamed", q, "")).Values["renamed"]; v.MeasuredAt.IsZero() {
		t.Errorf("renamed signal %+v: not reused", v)
	}
	if n := stub.queryCounts()[q]; n != 1 {
		t.Errorf("%d queries sent after reloads that keep the query, want 1", n)
	}
	// The same query read another way (empty: zero) is its own entry.
	if v := collect(promQuery("monthly", q, triggers.EmptyZero)).Values["monthly"]; !v.MeasuredAt.IsZero() {
		t.Errorf("signal read with empty: zero %+v, want an answer to a request sent now", v)
	}
	if n := stub.queryCounts()[q]; n != 2 {
		t.Errorf("%d queries sent, want 2: a changed reading is not served from the old one", n)
	}
	// Another query is sent.
	collect(promQuery("monthly", `sum(rate(y[30d]))`, ""))
	if n := stub.queryCounts()[`sum(rate(y[30d]))`]; n != 1 {
		t.Errorf("a changed query sent %d times, want 1", n)
	}
}

func TestFailedSlowQueriesAreRetriedNextEvaluation(t *testing.T) {
	t.Parallel()
	stub := newAPIStub(t, map[string][]stubAnswer{"/api/v1/query": {
		{status: 500, body: internalError}, {status: 200, body: vectorEmpty}}})
	src := slowPrometheus(t, stub.URL, time.Hour)
	req := source.Request{Signals: []source.SignalRequest{promQuery("monthly", `sum(rate(x[30d]))`, "")}}
	for range 3 {
		src.Collect(context.Background(), req)
	}
	// The failure is not kept; the empty answer that follows is, and reads
	// unknown, marked with when it was measured.
	if n := stub.queryCounts()[`sum(rate(x[30d]))`]; n != 2 {
		t.Errorf("%d queries sent, want 2 (a failure, then an answer kept)", n)
	}
	v := src.Collect(context.Background(), req).Values["monthly"]
	if v.Known || !strings.Contains(v.Reason, "returned no series") || strings.Contains(v.Reason, "ago") || v.MeasuredAt.IsZero() {
		t.Errorf("reused empty answer %+v, want its reason as answered and when it was measured", v)
	}
}

func TestSlowCadenceOffSendsEveryEvaluation(t *testing.T) {
	t.Parallel()
	stub := newAPIStub(t, map[string][]stubAnswer{"/api/v1/query": {{status: 200, body: scalar42}}})
	src := slowPrometheus(t, stub.URL, 0)
	req := source.Request{Signals: []source.SignalRequest{promQuery("monthly", `sum(rate(x[30d]))`, "")}}
	for range 3 {
		src.Collect(context.Background(), req)
	}
	if n := stub.queryCounts()[`sum(rate(x[30d]))`]; n != 3 {
		t.Errorf("%d queries sent, want 3", n)
	}
}

// queryCounts counts the instant queries sent, by query.
func (s *apiStub) queryCounts() map[string]int {
	out := map[string]int{}
	for _, q := range s.sentQueries("/api/v1/query") {
		out[q]++
	}
	return out
}

func TestReusedAnswersDoNotOutliveADownServer(t *testing.T) {
	t.Parallel()
	stub := newAPIStub(t, map[string][]stubAnswer{
		"/api/v1/query":            {{status: 200, body: scalar42}},
		"/api/v1/status/buildinfo": {{status: 500, body: "down"}},
	})
	src := slowPrometheus(t, stub.URL, time.Hour)
	req := source.Request{Signals: []source.SignalRequest{promQuery("monthly", `sum(rate(x[30d]))`, "")}}
	if res := src.Collect(context.Background(), req); !res.Up {
		t.Fatalf("first evaluation: not up: %v", res.Errors)
	}
	// Every answer reused: the server is probed, and found down.
	res := src.Collect(context.Background(), req)
	if res.Up {
		t.Error("up while the probe failed and every answer was reused")
	}
	// A source that is down makes its signals unknown, however recent its
	// last answer: the reused answer is not kept.
	if v := res.Values["monthly"]; v.Known || !strings.Contains(v.Reason, "is down now") {
		t.Errorf("value %+v while the server is down, want unknown", v)
	}
	if n := stub.count("/api/v1/status/buildinfo"); n != 1 {
		t.Errorf("build info asked %d times, want one probe, when nothing else was sent", n)
	}
}
