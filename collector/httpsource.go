package collector

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	promconfig "github.com/prometheus/common/config"
	"github.com/prometheus/common/version"

	"github.com/capability-exporter/capability_exporter/config"
	"github.com/capability-exporter/capability_exporter/triggers"
)

// Reasons a Prometheus or Loki request fails, counted in
// capability_exporter_source_errors_total. They are a fixed set so the
// counter's cardinality stays bounded; the detail goes to the signal's reason
// and the log.
const (
	reasonTimeout         = "timeout"           // the query deadline passed, or the server gave up (Prometheus 503 timeout, Loki 504)
	reasonUnreachable     = "unreachable"       // no HTTP answer: connection refused, DNS, TLS
	reasonUnauthorized    = "unauthorized"      // 401: credentials missing or wrong
	reasonForbidden       = "forbidden"         // 403
	reasonNotFound        = "not_found"         // 404: the URL does not lead to the API (a missing path prefix?)
	reasonBadQuery        = "bad_query"         // 400, 422 and other 4xx: the server refuses the query as written
	reasonTooManyRequests = "too_many_requests" // 429, after one retry
	reasonServerError     = "server_error"      // other 5xx, after one retry for 502 and 503
	reasonBadResponse     = "bad_response"      // an answer that is not the API's JSON, or of the wrong result type
	reasonSeveralSeries   = "several_series"    // several series where the signal wants one value
)

// httpServer is one Prometheus-API or Loki server as a source sees it: a
// client built from the standard HTTP client config (auth, TLS, headers,
// proxy) plus the tenant header, a deadline per request, and a bound on the
// requests in flight. Both sources share it so they fail alike, with the same
// reasons.
type httpServer struct {
	kind    string
	url     string // without a trailing slash
	client  *http.Client
	rt      http.RoundTripper
	timeout time.Duration
	slots   chan struct{}
}

func newHTTPServer(kind string, cfg *config.HTTPSource) (*httpServer, error) {
	if cfg.URL.URL == nil {
		return nil, fmt.Errorf("sources.%s.url is not set", kind)
	}
	rt, err := promconfig.NewRoundTripperFromConfig(cfg.HTTPClientConfig, "capability_exporter_"+kind,
		promconfig.WithUserAgent(version.ComponentUserAgent("capability_exporter")))
	if err != nil {
		return nil, fmt.Errorf("sources.%s: %w", kind, err)
	}
	if cfg.TenantID != "" {
		rt = tenantRoundTripper{tenant: cfg.TenantID, next: rt}
	}
	rt = exchangeRoundTripper{next: rt}
	n := cfg.MaxConcurrency
	if n < 1 {
		n = 1
	}
	return &httpServer{
		kind:    kind,
		url:     strings.TrimRight(cfg.URL.String(), "/"),
		client:  &http.Client{Transport: rt},
		rt:      rt,
		timeout: time.Duration(cfg.Timeout),
		slots:   make(chan struct{}, n),
	}, nil
}

// close releases idle connections when a reload replaces the source.
func (s *httpServer) close() { s.client.CloseIdleConnections() }

// tenantRoundTripper sets X-Scope-OrgID, the tenant header of Loki, Mimir,
// Cortex and Thanos' tenancy proxies.
type tenantRoundTripper struct {
	tenant string
	next   http.RoundTripper
}

func (t tenantRoundTripper) RoundTrip(req *http.Request) (*http.Response, error) {
	req = req.Clone(req.Context())
	req.Header.Set("X-Scope-OrgID", t.tenant)
	return t.next.RoundTrip(req)
}

// exchange is what one request met, recorded below the API client so that
// errors can be classified by HTTP status even where client_golang folds the
// status into a message.
type exchange struct {
	status     int
	retryAfter time.Duration
	body       []byte // the body of a non-2xx answer, bounded
}

type exchangeKey struct{}

// exchangeRoundTripper records status, Retry-After and error bodies into the
// exchange the request's context carries.
type exchangeRoundTripper struct{ next http.RoundTripper }

const maxErrorBody = 64 << 10

func (t exchangeRoundTripper) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.next.RoundTrip(req)
	ex, _ := req.Context().Value(exchangeKey{}).(*exchange)
	if err != nil || ex == nil {
		return resp, err
	}
	ex.status = resp.StatusCode
	ex.retryAfter = 0
	if secs, perr := strconv.Atoi(resp.Header.Get("Retry-After")); perr == nil && secs >= 0 {
		ex.retryAfter = time.Duration(secs) * time.Second
	}
	if resp.StatusCode/100 != 2 {
		// Keep a copy of the error body and hand the caller an identical one.
		body, rerr := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
		resp.Body.Close()
		ex.body = body
		resp.Body = io.NopCloser(bytes.NewReader(body))
		if rerr != nil {
			return nil, rerr
		}
	}
	return resp, nil
}

// run is one Collect's shared state: the values and errors it gathers from
// concurrent requests, and whether the server was found unreachable, after
// which requests not yet sent are not sent at all.
type run struct {
	mu     sync.Mutex
	res    Result
	downed atomic.Pointer[SourceError]
}

func newRun(n int) *run {
	return &run{res: Result{Values: make(map[string]triggers.Value, n)}}
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
func (r *run) fail(e SourceError, keys ...string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.res.Errors = append(r.res.Errors, e)
	for _, k := range keys {
		r.res.Values[k] = triggers.UnknownValue(e.Error(), "")
	}
}

// skip makes keys unknown because the server is down, without counting an
// error: no request was sent for them.
func (r *run) skip(e *SourceError, keys ...string) {
	reason := "not sent: an earlier request found the server down (" + e.Error() + ")"
	for _, k := range keys {
		r.set(k, triggers.UnknownValue(reason, ""))
	}
}

// recoverPanic, deferred at the top of a query's goroutine, turns a panic
// there (a client library meeting an answer it did not expect) into that
// query's signals unknown with reason panic. collectSafely in the scheduler
// cannot: a panic in another goroutine kills the process.
func (r *run) recoverPanic(what string, keys []string) {
	if p := recover(); p != nil {
		r.fail(SourceError{Reason: reasonPanic, Err: fmt.Errorf("%s panicked: %v", what, p)}, keys...)
	}
}

func (r *run) isUp() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.res.Up
}

func (r *run) result() Result {
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
	queries   map[string][]SignalRequest
	reachable []SignalRequest
	// probeAnyway: with nothing to ask, the source is probed all the same,
	// since its source_up must say whether the configured server answers.
	probeAnyway bool
	wg          sync.WaitGroup
}

func (s *httpServer) newCollect(req Request) *httpCollect {
	return &httpCollect{server: s, r: newRun(len(req.Signals)), queries: map[string][]SignalRequest{}, probeAnyway: len(req.Signals) == 0}
}

// notOurs answers a signal of another kind, which the scheduler never sends.
func (c *httpCollect) notOurs(sr SignalRequest) {
	c.r.set(sr.Key, triggers.UnknownValue("not a "+c.server.kind+" signal", ""))
}

// spawn sends one request for srs in its own goroutine; what names it in the
// reason should it panic.
func (c *httpCollect) spawn(what string, srs []SignalRequest, send func()) {
	c.wg.Go(func() {
		defer c.r.recoverPanic(what, keysOf(srs))
		send()
	})
}

// sendQueries spawns each distinct query once; noun names a query in
// reasons and logs, as in `query "up"`.
func (c *httpCollect) sendQueries(noun string, instant func(r *run, what, q string, srs []SignalRequest)) {
	for q, srs := range c.queries {
		what := fmt.Sprintf("%s %q", noun, q)
		c.spawn(what, srs, func() { instant(c.r, what, q, srs) })
	}
}

// probeAndWait sends the reachable probe where a signal asks for it or
// nothing else was asked, waits for every request, and returns the result.
// The probed signals read 1 when fn succeeds and unknown otherwise, never 0:
// a failed probe cannot tell a missing server from a network fault.
func (c *httpCollect) probeAndWait(ctx context.Context, fn func(ctx context.Context) error) Result {
	if len(c.reachable) > 0 || c.probeAnyway {
		c.spawn("build info", c.reachable, func() {
			if c.server.request(ctx, c.r, "build info", keysOf(c.reachable), fn) {
				for _, sr := range c.reachable {
					c.r.set(sr.Key, triggers.KnownValue(1, ""))
				}
			}
		})
	}
	c.wg.Wait()
	return c.r.result()
}

// notFound says whether the request of ctx failed with a 404, after which a
// probe tries an endpoint that servers without build info do have.
func notFound(ctx context.Context, err error) bool {
	ex, _ := ctx.Value(exchangeKey{}).(*exchange)
	return err != nil && ex != nil && ex.status == http.StatusNotFound
}

func keysOf(srs []SignalRequest) []string {
	keys := make([]string, len(srs))
	for i, sr := range srs {
		keys[i] = sr.Key
	}
	return keys
}

// retryable says whether one more try may help: the server was overloaded
// (429) or briefly unavailable (502, 503). A 400 is never retried: the query
// itself is wrong. Timeouts (504, Prometheus' 503 with errorType timeout)
// and 500 are not either: the same query would time out or fail again and
// only add load.
func retryable(ex *exchange) bool {
	switch ex.status {
	case http.StatusTooManyRequests, http.StatusBadGateway:
		return true
	case http.StatusServiceUnavailable:
		return apiErrorType(ex) != "timeout"
	}
	return false
}

const (
	retryPause    = 250 * time.Millisecond
	maxRetryPause = 2 * time.Second
)

// request runs fn under the concurrency bound with the per-request
// deadline and settles its failure: keys turn unknown with the reason, the
// error is counted, and a server found down stops the requests of this run
// not yet sent. It reports whether fn succeeded; a success marks the server
// up.
//
// The deadline starts once a slot is free, so waiting behind other queries
// does not eat a query's time; the evaluation's own deadline bounds the
// whole. The failure is settled while the slot is held, so the next request
// already knows whether the server is down.
func (s *httpServer) request(ctx context.Context, r *run, what string, keys []string, fn func(ctx context.Context) error) bool {
	if e := r.downed.Load(); e != nil {
		r.skip(e, keys...)
		return false
	}
	select {
	case s.slots <- struct{}{}:
	case <-ctx.Done():
		r.fail(classify(what, &exchange{}, ctx.Err()), keys...)
		return false
	}
	defer func() { <-s.slots }()
	if e := r.downed.Load(); e != nil {
		r.skip(e, keys...)
		return false
	}
	ex, err := s.attempt(ctx, fn)
	if err == nil {
		r.answered()
		return true
	}
	e := classify(what, ex, err)
	// A server that refuses connections is down; so is one that lets a
	// request run into its deadline without a byte of answer before any
	// other request of this run got one (frozen, or its network gone). The
	// requests not yet sent are then not sent: an evaluation against a dead
	// server costs one deadline, not one per query.
	if e.Reason == reasonUnreachable || (e.Reason == reasonTimeout && ex.status == 0 && !r.isUp()) {
		r.downed.CompareAndSwap(nil, &e)
	}
	if answeredAPI(e) {
		r.answered()
	}
	r.fail(e, keys...)
	return false
}

// attempt runs fn with the per-request deadline, once more after a short
// pause when retryable says so and the deadline leaves room for it.
func (s *httpServer) attempt(ctx context.Context, fn func(ctx context.Context) error) (*exchange, error) {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	for try := 0; ; try++ {
		ex := &exchange{}
		err := fn(context.WithValue(ctx, exchangeKey{}, ex))
		if err == nil || try > 0 || !retryable(ex) {
			return ex, err
		}
		pause := min(max(ex.retryAfter, retryPause), maxRetryPause)
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < 2*pause {
			return ex, err
		}
		select {
		case <-time.After(pause):
		case <-ctx.Done():
			return ex, err
		}
	}
}

// classify turns a failed request into a SourceError with a fixed reason.
// what names the request (the query) in the message.
func classify(what string, ex *exchange, err error) SourceError {
	wrap := func(reason string, format string, args ...any) SourceError {
		return SourceError{Reason: reason, Err: fmt.Errorf("%s: "+format, append([]any{what}, args...)...)}
	}
	if ex == nil {
		ex = &exchange{}
	}
	var netErr net.Error
	switch {
	case errors.Is(err, context.Canceled):
		// Only the exporter's shutdown cancels a request; the deadlines
		// expire as DeadlineExceeded.
		return wrap(reasonCanceled, "the exporter is shutting down (%v)", err)
	case errors.Is(err, context.DeadlineExceeded):
		return wrap(reasonTimeout, "no answer before the deadline (%v)", err)
	case ex.status == 0 && errors.As(err, &netErr) && netErr.Timeout():
		return wrap(reasonTimeout, "%v", err)
	case ex.status == 0:
		return wrap(reasonUnreachable, "%v", err)
	case ex.status/100 == 2:
		return wrap(reasonBadResponse, "%v", err)
	}
	msg := errorMessage(ex)
	switch {
	case ex.status == http.StatusUnauthorized:
		return wrap(reasonUnauthorized, "%d: %s", ex.status, msg)
	case ex.status == http.StatusForbidden:
		return wrap(reasonForbidden, "%d: %s", ex.status, msg)
	case ex.status == http.StatusNotFound:
		return wrap(reasonNotFound, "%d: %s (is the URL's path prefix right?)", ex.status, msg)
	case ex.status == http.StatusTooManyRequests:
		return wrap(reasonTooManyRequests, "%d: %s", ex.status, msg)
	case ex.status == http.StatusGatewayTimeout, ex.status == http.StatusServiceUnavailable && apiErrorType(ex) == "timeout":
		return wrap(reasonTimeout, "%d: %s", ex.status, msg)
	case ex.status/100 == 4:
		return wrap(reasonBadQuery, "%d: %s", ex.status, msg)
	}
	return wrap(reasonServerError, "%d: %s", ex.status, msg)
}

// apiErrorType reads errorType from a Prometheus API error body, if it is one.
func apiErrorType(ex *exchange) string {
	var body struct {
		ErrorType string `json:"errorType"`
	}
	if json.Unmarshal(ex.body, &body) != nil {
		return ""
	}
	return body.ErrorType
}

// errorMessage is the server's own words: the error field of a Prometheus API
// body, or the plain text Loki and proxies answer with, shortened.
func errorMessage(ex *exchange) string {
	var body struct {
		Error string `json:"error"`
	}
	msg := strings.TrimSpace(string(ex.body))
	if json.Unmarshal(ex.body, &body) == nil && body.Error != "" {
		msg = body.Error
	}
	if msg == "" {
		msg = http.StatusText(ex.status)
	}
	const maxLen = 300
	if len(msg) > maxLen {
		msg = msg[:maxLen] + "…"
	}
	return msg
}

// answeredAPI says whether a failure still shows a server that speaks its
// API: it refused the query as written. Such a server counts as up.
func answeredAPI(e SourceError) bool {
	return e.Reason == reasonBadQuery || e.Reason == reasonSeveralSeries
}
