package httpapi

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/api"
	v1 "github.com/prometheus/client_golang/api/prometheus/v1"

	"github.com/capability-exporter/capability_exporter/collector/source"
	"github.com/capability-exporter/capability_exporter/config"
	"github.com/capability-exporter/capability_exporter/triggers"
)

func TestRetryAfterIsHonouredWithinTheDeadline(t *testing.T) {
	t.Parallel()
	stub := newAPIStub(t, map[string][]stubAnswer{"/api/v1/query": {
		{status: 429, body: "slow down", header: map[string]string{"Retry-After": "1"}}, {status: 200, body: vectorOne}}})
	src := testPrometheus(t, stub.URL, func(c *config.HTTPSource) { c.Timeout = config.Duration(3 * time.Second) })
	t0 := time.Now()
	res := src.Collect(context.Background(), source.Request{Signals: []source.SignalRequest{promQuery("s", "sum(up)", "")}})
	if v := res.Values["s"]; !v.Known {
		t.Fatalf("value %+v", v)
	}
	if d := time.Since(t0); d < time.Second {
		t.Errorf("retried after %s, want the server's Retry-After of 1s", d)
	}
	// With a deadline too short for the pause, the first answer stands.
	stub = newAPIStub(t, map[string][]stubAnswer{"/api/v1/query": {
		{status: 429, body: "slow down", header: map[string]string{"Retry-After": "1"}}, {status: 200, body: vectorOne}}})
	src = testPrometheus(t, stub.URL, func(c *config.HTTPSource) { c.Timeout = config.Duration(time.Second) })
	res = src.Collect(context.Background(), source.Request{Signals: []source.SignalRequest{promQuery("s", "sum(up)", "")}})
	if !slices.Equal(reasons(res), []source.Reason{source.ReasonTooManyRequests}) || stub.count("/api/v1/query") != 1 {
		t.Errorf("reasons %v after %d requests", reasons(res), stub.count("/api/v1/query"))
	}
}

func TestFrozenServerCostsOneDeadline(t *testing.T) {
	t.Parallel()
	stub := newAPIStub(t, map[string][]stubAnswer{"/api/v1/query": {{status: 200, body: vectorOne, delay: time.Hour}}})
	src := testPrometheus(t, stub.URL, func(c *config.HTTPSource) {
		c.Timeout = config.Duration(200 * time.Millisecond)
		c.MaxConcurrency = 2
	})
	var signals []source.SignalRequest
	for i := range 8 {
		signals = append(signals, promQuery(fmt.Sprint("s", i), fmt.Sprintf("vector(%d)", i), ""))
	}
	// One deadline, not one per query: only the requests already in flight
	// time out, the rest are never sent (counted, not timed, so a loaded
	// machine cannot make this flaky).
	res := src.Collect(context.Background(), source.Request{Signals: signals})
	if got := reasons(res); !slices.Equal(got, []source.Reason{source.ReasonTimeout, source.ReasonTimeout}) {
		t.Errorf("errors %v; want the two requests in flight timed out, the rest not sent", got)
	}
	if res.Up {
		t.Error("a server that answers nothing is up")
	}
	for _, sr := range signals {
		if v := res.Values[sr.Key]; v.Known || !strings.Contains(v.Reason, "timeout") {
			t.Errorf("%s = %+v", sr.Key, v)
		}
	}
}

func TestOneSlowQueryDoesNotStopTheOthers(t *testing.T) {
	t.Parallel()
	stub := newAPIStub(t, nil)
	stub.handle = func(w http.ResponseWriter, r *http.Request) bool {
		if r.Form.Get("query") == "slow" {
			<-r.Context().Done()
			return true
		}
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, vectorOne)
		return true
	}
	src := testPrometheus(t, stub.URL, func(c *config.HTTPSource) {
		c.Timeout = config.Duration(200 * time.Millisecond)
		c.MaxConcurrency = 2 // whatever the order, another query answers while the slow one runs
	})
	signals := []source.SignalRequest{promQuery("fast", "fast", ""), promQuery("slow", "slow", "")}
	for i := range 4 {
		signals = append(signals, promQuery(fmt.Sprint("after", i), fmt.Sprint("after", i), ""))
	}
	res := src.Collect(context.Background(), source.Request{Signals: signals})
	known := 0
	for _, v := range res.Values {
		if v.Known {
			known++
		}
	}
	if !res.Up || res.Values["slow"].Known || known != 5 {
		t.Errorf("up %v, %d known, errors %v; want only the slow query unknown once another answered", res.Up, known, res.Errors)
	}
}

func TestPrometheusUnreachableStopsSending(t *testing.T) {
	stub := newAPIStub(t, nil)
	addr := stub.URL
	stub.Close() // nothing listens there any more
	src := testPrometheus(t, addr, func(c *config.HTTPSource) { c.MaxConcurrency = 1 })
	var signals []source.SignalRequest
	for i := range 5 {
		signals = append(signals, promQuery(fmt.Sprint("s", i), fmt.Sprintf("vector(%d)", i), ""))
	}
	res := src.Collect(context.Background(), source.Request{Signals: signals})
	if res.Up {
		t.Error("up with nothing listening")
	}
	if got := reasons(res); !slices.Equal(got, []source.Reason{source.ReasonUnreachable}) {
		t.Errorf("errors = %v; want one unreachable, the other queries not sent", got)
	}
	for _, sr := range signals {
		if v := res.Values[sr.Key]; v.Known || !strings.Contains(v.Reason, "unreachable") {
			t.Errorf("%s = %+v, want unknown naming the unreachable server", sr.Key, v)
		}
	}
	// Each signal's reason is about its own request: the one sent names
	// its query, the ones not sent name the cause alone, never another
	// signal's query.
	sent := 0
	for i, sr := range signals {
		v := res.Values[sr.Key]
		for j := range signals {
			if j != i && strings.Contains(v.Reason, fmt.Sprintf("vector(%d)", j)) {
				t.Errorf("%s: reason %q names the query of s%d", sr.Key, v.Reason, j)
			}
		}
		if strings.Contains(v.Reason, fmt.Sprintf("vector(%d)", i)) {
			sent++
		} else if !strings.HasPrefix(v.Reason, "not sent: the server did not answer an earlier request of this evaluation (unreachable: ") ||
			!strings.Contains(v.Reason, "connection refused") {
			t.Errorf("%s: reason %q, want not sent for the cause, connection refused", sr.Key, v.Reason)
		}
	}
	if sent != 1 {
		t.Errorf("%d reasons name their own query; want the one request sent", sent)
	}
}

func TestPrometheusQueriesRunInParallelUpToTheBound(t *testing.T) {
	t.Parallel()
	stub := newAPIStub(t, map[string][]stubAnswer{"/api/v1/query": {{status: 200, body: vectorOne, delay: 60 * time.Millisecond}}})
	src := testPrometheus(t, stub.URL, func(c *config.HTTPSource) { c.MaxConcurrency = 3 })
	var signals []source.SignalRequest
	for i := range 9 {
		signals = append(signals, promQuery(fmt.Sprint("s", i), fmt.Sprintf("vector(%d)", i), ""))
	}
	// The same query twice is asked once.
	signals = append(signals, promQuery("again", "vector(0)", ""))
	res := src.Collect(context.Background(), source.Request{Signals: signals})
	if len(res.Errors) > 0 || len(res.Values) != 10 {
		t.Fatalf("errors %v, %d values", res.Errors, len(res.Values))
	}
	if n := stub.count("/api/v1/query"); n != 9 {
		t.Errorf("requests = %d, want 9 (one per distinct query)", n)
	}
	if m := stub.maxIn.Load(); m != 3 {
		t.Errorf("at most %d queries in flight, want exactly the bound 3", m)
	}
	// Every query is evaluated at the same moment and carries its deadline.
	times := map[string]bool{}
	stub.mu.Lock()
	for _, r := range stub.requests {
		times[r.Form.Get("time")] = true
		if r.Form.Get("timeout") != "2s" {
			t.Errorf("timeout param = %q, want the per-query deadline 2s", r.Form.Get("timeout"))
		}
	}
	stub.mu.Unlock()
	if len(times) != 1 || !times[fmt.Sprint(fixedNow.Unix())] {
		t.Errorf("evaluation times = %v, want only %d", times, fixedNow.Unix())
	}
}

// oneQueryRules is a rules file for a config that only needs to load.
const oneQueryRules = `
signals:
  requests:
    help: Requests answered.
    prometheus: {query: 'sum(up)'}
capabilities:
  cost_visibility:
    title: Cost Visibility
    complexity: low
    trigger: requests > 1
`

func TestHTTPClientConfigAndTenant(t *testing.T) {
	dir := t.TempDir()
	tokenFile := filepath.Join(dir, "token")
	if err := os.WriteFile(tokenFile, []byte("s3cr3t\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	stub := newAPIStub(t, map[string][]stubAnswer{"/prom/api/v1/query": {{status: 200, body: vectorOne}}})
	rulesFile := filepath.Join(dir, "rules.yml")
	if err := os.WriteFile(rulesFile, []byte(oneQueryRules), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Parse(filepath.Join(dir, "config.yml"), []byte(fmt.Sprintf(`
rules_file: %s
sources:
  prometheus:
    url: %s/prom/
    tenant_id: webshop
    authorization: {credentials_file: %s}
    http_headers:
      X-Team: {values: [platform]}
`, rulesFile, stub.URL, tokenFile)))
	if err != nil {
		t.Fatal(err)
	}
	src, err := NewPrometheus(cfg.Sources.Prometheus, discardLogger, Options{})
	if err != nil {
		t.Fatal(err)
	}
	res := src.Collect(context.Background(), source.Request{Signals: []source.SignalRequest{promQuery("s", "sum(up)", "")}})
	if v := res.Values["s"]; !v.Known || v.Number != 3 {
		t.Fatalf("value = %+v, errors %v", v, res.Errors)
	}
	r := stub.lastRequest()
	for h, want := range map[string]string{"X-Scope-Orgid": "webshop", "Authorization": "Bearer s3cr3t", "X-Team": "platform"} {
		if got := r.Header.Get(h); got != want {
			t.Errorf("header %s = %q, want %q", h, got, want)
		}
	}
	if ua := r.Header.Get("User-Agent"); !strings.HasPrefix(ua, "capability_exporter/") {
		t.Errorf("User-Agent = %q", ua)
	}
}

// A request cut off by the exporter's shutdown is canceled, not a timeout:
// the server did nothing wrong.
func TestShutdownIsCanceledNotTimeout(t *testing.T) {
	t.Parallel()
	stub := newAPIStub(t, map[string][]stubAnswer{"/api/v1/query": {{status: 200, body: vectorOne, delay: 10 * time.Second}}})
	src := testPrometheus(t, stub.URL, func(c *config.HTTPSource) { c.Timeout = config.Duration(200 * time.Millisecond) })
	req := source.Request{Signals: []source.SignalRequest{promQuery("q", "up", triggers.EmptyUnknown)}}
	if got := reasons(src.Collect(context.Background(), req)); !slices.Equal(got, []source.Reason{source.ReasonTimeout}) {
		t.Errorf("past the query deadline: reasons %v, want timeout", got)
	}
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	res := src.Collect(ctx, req)
	if got := reasons(res); !slices.Equal(got, []source.Reason{source.ReasonCanceled}) {
		t.Errorf("cancelled by shutdown: reasons %v, want canceled", got)
	}
	if v := res.Values["q"]; v.Known || !strings.Contains(v.Reason, "shutting down") {
		t.Errorf("q = %+v, want unknown naming the shutdown", v)
	}
}

// panickingTransport panics on requests whose path or query contains match,
// as a client library might on an answer it did not expect.
type panickingTransport struct {
	next  http.RoundTripper
	match string
}

func (p panickingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if strings.Contains(r.URL.Path+"?"+r.URL.RawQuery, p.match) {
		panic("index out of range [3] with length 3")
	}
	return p.next.RoundTrip(r)
}

// A panic in one query's goroutine must turn that query's signals unknown
// with reason panic, leave the other queries alone, and not end the process.
func TestPanicInAQueryIsThatQuerysFailure(t *testing.T) {
	t.Parallel()
	prom := newAPIStub(t, map[string][]stubAnswer{"/api/v1/query": {{status: 200, body: vectorOne}}})
	ps := testPrometheus(t, prom.URL, nil)
	ps.server.client.Transport = panickingTransport{next: ps.server.client.Transport, match: "/api/v1/query_range"}
	client, err := api.NewClient(api.Config{Address: ps.server.url, Client: ps.server.client})
	if err != nil {
		t.Fatal(err)
	}
	ps.api = v1.NewAPI(client)
	res := ps.Collect(context.Background(), source.Request{Signals: []source.SignalRequest{
		promQuery("fine", "up", triggers.EmptyUnknown),
		promSpec("mttr", &triggers.PrometheusSignal{AlertHistory: &triggers.AlertHistory{Selector: "ALERTS", Window: triggers.Duration(24 * time.Hour), Measure: "mean_resolution"}}),
	}})
	checkPanicked(t, "prometheus", res, "mttr", "fine")

	loki := newAPIStub(t, map[string][]stubAnswer{"/loki/api/v1/query": {{status: 200, body: vectorOne}}})
	ls := testLoki(t, loki.URL, nil)
	ls.server.client.Transport = panickingTransport{next: ls.server.client.Transport, match: "boom"}
	res = ls.Collect(context.Background(), source.Request{Signals: []source.SignalRequest{
		{Key: "fine", Signal: &triggers.Signal{Name: "fine"}, Spec: triggers.SignalSource{Loki: &triggers.LokiSignal{Query: "count(up)"}}},
		{Key: "boom", Signal: &triggers.Signal{Name: "boom"}, Spec: triggers.SignalSource{Loki: &triggers.LokiSignal{Query: "count(boom)"}}},
	}})
	checkPanicked(t, "loki", res, "boom", "fine")
}

func checkPanicked(t *testing.T, kind string, res source.Result, panicked, fine string) {
	t.Helper()
	if v := res.Values[panicked]; v.Known || !strings.HasPrefix(v.Reason, string(source.ReasonPanic)+":") || !strings.Contains(v.Reason, "index out of range") {
		t.Errorf("%s %s = %+v, want unknown with reason panic", kind, panicked, v)
	}
	if v := res.Values[fine]; !v.Known || v.Number != 3 {
		t.Errorf("%s %s = %+v, want 3: another query's panic must not touch it", kind, fine, v)
	}
	if !slices.Equal(reasons(res), []source.Reason{source.ReasonPanic}) {
		t.Errorf("%s errors = %v, want one panic", kind, reasons(res))
	}
}
