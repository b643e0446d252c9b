package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	promconfig "github.com/prometheus/common/config"
	"github.com/prometheus/common/version"

	"github.com/capability-exporter/capability_exporter/collector/source"
	"github.com/capability-exporter/capability_exporter/config"
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
	scope   *queryScope // selectors and matchers of the queries
	cache   *slowCache  // last answers of the queries over a day or more
}

// Options are a source's settings that come from the command line rather
// than its config section; each source holds its own.
type Options struct {
	// SlowInterval is how often queries that read SlowWindow or more are
	// sent (--evaluation.slow-interval); 0 sends them every evaluation.
	SlowInterval time.Duration
}

func newHTTPServer(kind string, cfg *config.HTTPSource, opts Options) (*httpServer, error) {
	if cfg.URL.URL == nil {
		return nil, fmt.Errorf("sources.%s.url is not set", kind)
	}
	rt, err := promconfig.NewRoundTripperFromConfig(cfg.HTTPClientConfig, "capability_exporter_"+kind,
		promconfig.WithUserAgent(version.ComponentUserAgent("capability_exporter")))
	if err != nil {
		return nil, fmt.Errorf("sources.%s: %w", kind, err)
	}
	if rt, err = withAuth(kind, cfg, rt); err != nil {
		return nil, err
	}
	if cfg.TenantID != "" {
		rt = tenantRoundTripper{tenant: cfg.TenantID, next: rt}
	}
	rt = exchangeRoundTripper{next: rt}
	qs, err := newQueryScope(kind, cfg)
	if err != nil {
		return nil, err
	}
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
		scope:   qs,
		cache:   newSlowCache(opts.SlowInterval),
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
	// Set by the auth layers (auth.go): the identity of a source with
	// token or signed auth, the path asked, the credentials sent.
	auth    *authInfo
	path    string
	secrets []string
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
	if e.Reason == source.ReasonUnreachable || (e.Reason == source.ReasonTimeout && ex.status == 0 && !r.isUp()) || authDowns(err) {
		r.downed.CompareAndSwap(nil, &source.Error{Reason: e.Reason, Err: downCause(ex, err)})
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

// classify turns a failed request into a source.Error with a fixed reason.
// what names the request (the query) in the message.
func classify(what string, ex *exchange, err error) source.Error {
	wrap := func(reason source.Reason, format string, args ...any) source.Error {
		return source.Error{Reason: reason, Err: fmt.Errorf("%s: "+format, append([]any{what}, args...)...)}
	}
	if ex == nil {
		ex = &exchange{}
	}
	if msg, ok := authFailure(ex, err); ok {
		return wrap(source.ReasonAuth, "%s", msg)
	}
	var netErr net.Error
	var scopeErr *scopeError
	switch {
	case errors.As(err, &scopeErr):
		return wrap(source.ReasonUnscoped, "%v", err)
	case errors.Is(err, context.Canceled):
		// Only the exporter's shutdown cancels a request; the deadlines
		// expire as DeadlineExceeded.
		return wrap(source.ReasonCanceled, "the exporter is shutting down (%v)", err)
	case errors.Is(err, context.DeadlineExceeded):
		return wrap(source.ReasonTimeout, "no answer before the deadline (%v)", err)
	case ex.status == 0 && errors.As(err, &netErr) && netErr.Timeout():
		return wrap(source.ReasonTimeout, "%v", err)
	case ex.status == 0:
		return wrap(source.ReasonUnreachable, "%v", err)
	case ex.status/100 == 2:
		return wrap(source.ReasonBadResponse, "%v", err)
	}
	msg := errorMessage(ex)
	switch {
	case ex.status == http.StatusUnauthorized:
		return wrap(source.ReasonUnauthorized, "%d: %s", ex.status, msg)
	case ex.status == http.StatusForbidden:
		return wrap(source.ReasonForbidden, "%d: %s", ex.status, msg)
	case ex.status == http.StatusNotFound:
		return wrap(source.ReasonNotFound, "%d: %s (is the URL's path prefix right?)", ex.status, msg)
	case ex.status == http.StatusTooManyRequests:
		return wrap(source.ReasonTooManyRequests, "%d: %s", ex.status, msg)
	case ex.status == http.StatusGatewayTimeout, ex.status == http.StatusServiceUnavailable && apiErrorType(ex) == "timeout":
		return wrap(source.ReasonTimeout, "%d: %s", ex.status, msg)
	case ex.status == http.StatusUnprocessableEntity:
		// Prometheus and VictoriaMetrics answer 422 when a valid query
		// cannot be executed, a store's limits among the causes: not a
		// query written wrong.
		return wrap(source.ReasonQueryFailed, "%d: %s", ex.status, msg)
	case ex.status/100 == 4:
		return wrap(source.ReasonBadQuery, "%d: %s", ex.status, msg)
	}
	return wrap(source.ReasonServerError, "%d: %s", ex.status, msg)
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
	for _, sent := range ex.secrets { // a server that quotes the credentials it was sent
		msg = strings.ReplaceAll(msg, sent, config.Hidden)
	}
	return source.CutBytes(msg, 300)
}

// answeredAPI says whether a failure still shows a server that speaks its
// API: it refused the query as written. Such a server counts as up.
func answeredAPI(e source.Error) bool {
	return e.Reason == source.ReasonBadQuery || e.Reason == source.ReasonQueryFailed || e.Reason == source.ReasonSeveralSeries
}

// downCause is why a server is down, without the request that found it:
// the requests not sent for it are about other queries, so their reason
// names the cause alone (connection refused, no answer before the
// deadline), not the URL or query of the request that met it. An auth
// failure is worded as for the request that met it (authFailure): the
// identity refused and the token endpoint's error, its secrets hidden.
func downCause(ex *exchange, err error) error {
	if ex == nil {
		ex = &exchange{}
	}
	if msg, ok := authFailure(ex, err); ok {
		return errors.New(msg)
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return errors.New("no answer before the deadline")
	}
	return err
}
