package httpapi

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/capability-exporter/capability_exporter/collector/source"
	"github.com/capability-exporter/capability_exporter/triggers"
)

// run is one Collect's shared state: the values and errors it gathers from
// concurrent requests, and whether the server was found unreachable, after
// which requests not yet sent are not sent at all.
type run struct {
	mu     sync.Mutex
	res    source.Result
	failed map[string]bool // keys made unknown by a failed or unsent request
	downed atomic.Pointer[source.Error]
}

func newRun(n int) *run {
	return &run{res: source.Result{Values: make(map[string]triggers.Value, n)}, failed: map[string]bool{}}
}

// valuesUnlessFailed returns the values of keys, unless a request failed
// for one of them.
func (r *run) valuesUnlessFailed(keys []string) (map[string]triggers.Value, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make(map[string]triggers.Value, len(keys))
	for _, k := range keys {
		v, ok := r.res.Values[k]
		if !ok || r.failed[k] {
			return nil, false
		}
		out[k] = v
	}
	return out, true
}

func (r *run) set(key string, v triggers.Value) {
	r.mu.Lock()
	r.res.Values[key] = v
	r.mu.Unlock()
}

// answered marks the server up: it answered at least one request with its
// API, even if only to refuse a query.
func (r *run) answered() {
	r.mu.Lock()
	r.res.Up = true
	r.mu.Unlock()
}

// fail makes keys unknown with e as the reason and counts e once.
func (r *run) fail(e source.Error, keys ...string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.res.Errors = append(r.res.Errors, e)
	for _, k := range keys {
		r.res.Values[k] = triggers.UnknownValue(e.Reason.Code(), e.Error(), "")
		r.failed[k] = true
	}
}

// skip makes keys unknown because the server is down, without counting an
// error: no request was sent for them.
func (r *run) skip(e *source.Error, keys ...string) {
	reason := "not sent: the server did not answer an earlier request of this evaluation (" + e.Error() + ")"
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, k := range keys {
		r.res.Values[k] = triggers.UnknownValue(e.Reason.Code(), reason, "")
		r.failed[k] = true
	}
}

// recoverPanic, deferred at the top of a query's goroutine, turns a panic
// there (a client library meeting an answer it did not expect) into that
// query's signals unknown with reason panic. collectSafely in the scheduler
// cannot: a panic in another goroutine kills the process.
func (r *run) recoverPanic(what string, keys []string) {
	if p := recover(); p != nil {
		r.fail(source.Recovered(what, p), keys...)
	}
}

func (r *run) isUp() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.res.Up
}

func (r *run) result() source.Result {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.res
}

// httpCollect is one Collect of a Prometheus-API or Loki source: the
// signals grouped so that each distinct query is sent once, every request in
// a goroutine of its own (the server's slots bound how many are in flight),
// and a panic there confined to that request's signals.
type httpCollect struct {
	server    *httpServer
	r         *run
	queries   map[string][]source.SignalRequest
	reachable []source.SignalRequest
	// probeAnyway: with nothing to ask, the source is probed all the same,
	// since its source_up must say whether the configured server answers.
	probeAnyway bool
	// sent counts the requests spawned; a Collect whose every answer came
	// from the slow cache is probed, so that source_up still says whether
	// the server answers now.
	sent int
	// reused are the keys answered from the slow cache, with when they
	// were measured.
	reused map[string]time.Time
	wg     sync.WaitGroup
}

func (s *httpServer) newCollect(req source.Request) *httpCollect {
	return &httpCollect{server: s, r: newRun(len(req.Signals)), queries: map[string][]source.SignalRequest{}, probeAnyway: len(req.Signals) == 0}
}

// notOurs answers a signal of another kind, which the scheduler never sends.
func (c *httpCollect) notOurs(sr source.SignalRequest) {
	c.r.set(sr.Key, triggers.UnknownValue(triggers.CodeNotServed, "not a "+c.server.kind+" signal", ""))
}

// spawn sends one request for srs in its own goroutine; what names it in the
// reason should it panic.
func (c *httpCollect) spawn(what string, srs []source.SignalRequest, send func()) {
	c.sent++
	c.wg.Go(func() {
		defer c.r.recoverPanic(what, keysOf(srs))
		send()
	})
}

// sendQueries spawns each distinct query once, those that read a day or
// more on the slow cadence (spawnSlow); noun names a query in reasons and
// logs, as in `query "up"`. The queries are as sent: scoped and expanded.
func (c *httpCollect) sendQueries(noun string, instant func(r *run, what, q string, srs []source.SignalRequest)) {
	for q, srs := range c.queries {
		what := fmt.Sprintf("%s %q", noun, q)
		c.spawnSlow(q, c.server.scope.window(q), what, srs, func() { instant(c.r, what, q, srs) })
	}
}

// probeAndWait sends the reachable probe where a signal asks for it or
// nothing else was asked, waits for every request, and returns the result.
// The probed signals read 1 when fn succeeds and unknown otherwise, never 0:
// a failed probe cannot tell a missing server from a network fault.
func (c *httpCollect) probeAndWait(ctx context.Context, fn func(ctx context.Context) error) source.Result {
	if len(c.reachable) > 0 || c.probeAnyway || c.sent == 0 {
		c.spawn("build info", c.reachable, func() {
			if c.server.request(ctx, c.r, "build info", keysOf(c.reachable), fn) {
				for _, sr := range c.reachable {
					c.r.set(sr.Key, triggers.KnownValue(1, ""))
				}
			}
		})
	}
	c.wg.Wait()
	c.forgetReusedIfDown()
	return c.r.result()
}

// forgetReusedIfDown makes the answers reused from the slow cache unknown
// when the server does not answer now: a source that is down makes its
// signals unknown, however recent its last answer.
func (c *httpCollect) forgetReusedIfDown() {
	if len(c.reused) == 0 || c.r.isUp() {
		return
	}
	why, code := "no request answered", triggers.CodeSourceDown
	if e := c.r.downed.Load(); e != nil {
		why, code = e.Error(), e.Reason.Code()
	} else if res := c.r.result(); len(res.Errors) > 0 {
		why, code = res.Errors[0].Error(), res.Errors[0].Reason.Code()
	}
	for k, at := range c.reused {
		c.r.set(k, triggers.UnknownValue(code, fmt.Sprintf("%s is down now (%s); its answer from %s ago is not reused",
			c.server.kind, why, time.Since(at).Round(time.Second)), ""))
	}
}

// notFound says whether the request of ctx failed with a 404, after which a
// probe tries an endpoint that servers without build info do have.
func notFound(ctx context.Context, err error) bool {
	ex, _ := ctx.Value(exchangeKey{}).(*exchange)
	return err != nil && ex != nil && ex.status == http.StatusNotFound
}

func keysOf(srs []source.SignalRequest) []string {
	keys := make([]string, len(srs))
	for i, sr := range srs {
		keys[i] = sr.Key
	}
	return keys
}
