package collector

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	promconfig "github.com/prometheus/common/config"
	"github.com/prometheus/common/model"

	"github.com/capability-exporter/capability_exporter/config"
	"github.com/capability-exporter/capability_exporter/triggers"
)

// stubAnswer is one canned HTTP answer.
type stubAnswer struct {
	status int
	body   string
	delay  time.Duration
	header map[string]string
}

// apiStub is an HTTP server answering API paths with canned answers, in
// order per path (the last one repeats), recording every request and the
// most requests it had in flight at once.
type apiStub struct {
	*httptest.Server
	mu       sync.Mutex
	answers  map[string][]stubAnswer
	served   map[string]int
	requests []*http.Request
	inFlight atomic.Int32
	maxIn    atomic.Int32
	handle   func(w http.ResponseWriter, r *http.Request) bool // answers first when set and returning true
}

func newAPIStub(t *testing.T, answers map[string][]stubAnswer) *apiStub {
	s := &apiStub{answers: answers, served: map[string]int{}}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := s.inFlight.Add(1)
		defer s.inFlight.Add(-1)
		for {
			m := s.maxIn.Load()
			if n <= m || s.maxIn.CompareAndSwap(m, n) {
				break
			}
		}
		_ = r.ParseForm()
		s.mu.Lock()
		s.requests = append(s.requests, r)
		list := s.answers[r.URL.Path]
		i := min(s.served[r.URL.Path], len(list)-1)
		s.served[r.URL.Path]++
		s.mu.Unlock()
		if s.handle != nil && s.handle(w, r) {
			return
		}
		if len(list) == 0 {
			http.NotFound(w, r)
			return
		}
		a := list[i]
		select {
		case <-time.After(a.delay):
		case <-r.Context().Done():
			return
		}
		for k, v := range a.header {
			w.Header().Set(k, v)
		}
		if strings.HasPrefix(a.body, "{") {
			w.Header().Set("Content-Type", "application/json")
		}
		w.WriteHeader(a.status)
		io.WriteString(w, a.body)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *apiStub) count(path string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.served[path]
}

func (s *apiStub) lastRequest() *http.Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests[len(s.requests)-1]
}

func testHTTPSource(t *testing.T, rawURL string, edit func(*config.HTTPSource)) *config.HTTPSource {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	cfg := config.DefaultHTTPSource
	cfg.URL = promconfig.URL{URL: u}
	cfg.Timeout = config.Duration(2 * time.Second)
	if edit != nil {
		edit(&cfg)
	}
	return &cfg
}

var discardLogger = slog.New(slog.NewTextHandler(io.Discard, nil))

// fixedNow is the evaluation time of unit tests: a Tuesday afternoon.
var fixedNow = time.Date(2026, 3, 10, 14, 7, 31, 0, time.UTC)

func testPrometheus(t *testing.T, rawURL string, edit func(*config.HTTPSource)) *prometheusSource {
	t.Helper()
	s, err := newPrometheusSource(testHTTPSource(t, rawURL, edit), discardLogger)
	if err != nil {
		t.Fatal(err)
	}
	s.now = func() time.Time { return fixedNow }
	return s
}

func promQuery(key, q string, empty triggers.Empty) SignalRequest {
	return SignalRequest{Key: key, Signal: &triggers.Signal{Name: key},
		Spec: triggers.SignalSource{Prometheus: &triggers.PrometheusSignal{Query: q, Empty: empty}}}
}

func promSpec(key string, p *triggers.PrometheusSignal) SignalRequest {
	return SignalRequest{Key: key, Signal: &triggers.Signal{Name: key}, Spec: triggers.SignalSource{Prometheus: p}}
}

func reasons(res Result) []string {
	var out []string
	for _, e := range res.Errors {
		out = append(out, e.Reason)
	}
	return out
}

const (
	vectorOne     = `{"status":"success","data":{"resultType":"vector","result":[{"metric":{"job":"checkout"},"value":[1773151651.123,"3"]}]}}`
	vectorEmpty   = `{"status":"success","data":{"resultType":"vector","result":[]}}`
	vectorNaN     = `{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1773151651,"NaN"]}]}}`
	vectorInf     = `{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1773151651,"+Inf"]}]}}`
	vectorNegInf  = `{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1773151651,"-Inf"]}]}}`
	vectorThree   = `{"status":"success","data":{"resultType":"vector","result":[{"metric":{"job":"a"},"value":[1773151651,"1"]},{"metric":{"job":"b"},"value":[1773151651,"2"]},{"metric":{"job":"c"},"value":[1773151651,"3"]}]}}`
	scalar42      = `{"status":"success","data":{"resultType":"scalar","result":[1773151651,"42"]}}`
	stringResult  = `{"status":"success","data":{"resultType":"string","result":[1773151651,"hello"]}}`
	matrixResult  = `{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"job":"a"},"values":[[1773151591,"1"],[1773151651,"2"]]}]}}`
	badData       = `{"status":"error","errorType":"bad_data","error":"invalid parameter \"query\": 1:5: parse error: unexpected end of input"}`
	execution     = `{"status":"error","errorType":"execution","error":"query processing would load too many samples into memory in query execution"}`
	queryTimeout  = `{"status":"error","errorType":"timeout","error":"query timed out in expression evaluation"}`
	internalError = `{"status":"error","errorType":"internal","error":"expanding series: unexpected EOF"}`
)

func TestPrometheusInstantQueryOutcomes(t *testing.T) {
	ok := func(body string) stubAnswer { return stubAnswer{status: 200, body: body} }
	for _, tc := range []struct {
		name     string
		answers  []stubAnswer
		empty    triggers.Empty
		want     float64 // when known
		unknown  string  // substring of the reason when unknown
		reasons  []string
		up       bool
		requests int
		timeout  time.Duration
	}{
		{name: "one sample", answers: []stubAnswer{ok(vectorOne)}, want: 3, up: true, requests: 1},
		{name: "scalar", answers: []stubAnswer{ok(scalar42)}, want: 42, up: true, requests: 1},
		{name: "empty reads unknown by default", answers: []stubAnswer{ok(vectorEmpty)}, unknown: "returned no series", up: true, requests: 1},
		{name: "empty reads zero when the rules say so", answers: []stubAnswer{ok(vectorEmpty)}, empty: triggers.EmptyZero, want: 0, up: true, requests: 1},
		{name: "NaN is unknown", answers: []stubAnswer{ok(vectorNaN)}, unknown: "returned NaN", up: true, requests: 1},
		{name: "+Inf is unknown", answers: []stubAnswer{ok(vectorInf)}, unknown: "returned +Inf", up: true, requests: 1},
		{name: "-Inf is unknown", answers: []stubAnswer{ok(vectorNegInf)}, unknown: "returned -Inf", up: true, requests: 1},
		{name: "several series are an error, named", answers: []stubAnswer{ok(vectorThree)},
			unknown: `3 series where one is expected: {job="a"}, {job="b"}, {job="c"}`, reasons: []string{reasonSeveralSeries}, up: true, requests: 1},
		{name: "a range vector cannot give one number", answers: []stubAnswer{ok(matrixResult)},
			unknown: "returned a matrix", reasons: []string{reasonBadQuery}, up: true, requests: 1},
		{name: "a string result is not the API's answer", answers: []stubAnswer{ok(stringResult)},
			unknown: "bad_response", reasons: []string{reasonBadResponse}, requests: 1},
		{name: "400 bad_data is a bad query, not retried", answers: []stubAnswer{{status: 400, body: badData}},
			unknown: "parse error: unexpected end of input", reasons: []string{reasonBadQuery}, up: true, requests: 1},
		{name: "422 execution is a bad query", answers: []stubAnswer{{status: 422, body: execution}},
			unknown: "too many samples", reasons: []string{reasonBadQuery}, up: true, requests: 1},
		{name: "503 timeout is a timeout, not retried", answers: []stubAnswer{{status: 503, body: queryTimeout}},
			unknown: "query timed out", reasons: []string{reasonTimeout}, requests: 1},
		{name: "503 unavailable is retried once", answers: []stubAnswer{{status: 503, body: "Service Unavailable"}, {status: 503, body: "Service Unavailable"}},
			unknown: "503: Service Unavailable", reasons: []string{reasonServerError}, requests: 2},
		{name: "503 then success", answers: []stubAnswer{{status: 503, body: "Service Unavailable"}, ok(vectorOne)},
			want: 3, up: true, requests: 2},
		{name: "429 is retried once", answers: []stubAnswer{{status: 429, body: "too many outstanding requests"}},
			unknown: "429: too many outstanding requests", reasons: []string{reasonTooManyRequests}, requests: 2},
		{name: "429 then success", answers: []stubAnswer{{status: 429, body: "slow down"}, ok(vectorOne)}, want: 3, up: true, requests: 2},
		{name: "504 is a timeout, not retried", answers: []stubAnswer{{status: 504, body: "Gateway Timeout"}},
			unknown: "504", reasons: []string{reasonTimeout}, requests: 1},
		{name: "500 is a server error, not retried", answers: []stubAnswer{{status: 500, body: internalError}},
			unknown: "unexpected EOF", reasons: []string{reasonServerError}, requests: 1},
		{name: "401", answers: []stubAnswer{{status: 401, body: "Unauthorized"}}, unknown: "401", reasons: []string{reasonUnauthorized}, requests: 1},
		// client_golang sends a query as POST and, on 403, 405 or 501, once more as GET.
		{name: "403", answers: []stubAnswer{{status: 403, body: "Forbidden"}}, unknown: "403", reasons: []string{reasonForbidden}, requests: 2},
		{name: "404", answers: []stubAnswer{{status: 404, body: "404 page not found"}}, unknown: "path prefix", reasons: []string{reasonNotFound}, requests: 1},
		{name: "an HTML login page is garbage", answers: []stubAnswer{ok("<html><body>Please log in</body></html>")},
			unknown: "bad_response", reasons: []string{reasonBadResponse}, requests: 1},
		{name: "JSON of the wrong shape is garbage", answers: []stubAnswer{ok(`{"status":"success","data":{"resultType":"vector","result":{"x":1}}}`)},
			unknown: "bad_response", reasons: []string{reasonBadResponse}, requests: 1},
		{name: "a truncated body is garbage", answers: []stubAnswer{ok(vectorOne[:40])},
			unknown: "bad_response", reasons: []string{reasonBadResponse}, requests: 1},
		{name: "slower than the deadline is a timeout", answers: []stubAnswer{{status: 200, body: vectorOne, delay: 2 * time.Second}},
			timeout: 300 * time.Millisecond, unknown: "timeout", reasons: []string{reasonTimeout}, requests: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			stub := newAPIStub(t, map[string][]stubAnswer{"/api/v1/query": tc.answers})
			src := testPrometheus(t, stub.URL, func(c *config.HTTPSource) {
				if tc.timeout > 0 {
					c.Timeout = config.Duration(tc.timeout)
				}
			})
			res := src.Collect(context.Background(), Request{Signals: []SignalRequest{promQuery("s", "sum(up)", tc.empty)}})
			v := res.Values["s"]
			switch {
			case tc.unknown == "" && (!v.Known || v.Number != tc.want):
				t.Errorf("value = %+v, want known %v", v, tc.want)
			case tc.unknown != "" && (v.Known || !strings.Contains(v.Reason, tc.unknown)):
				t.Errorf("value = %+v, want unknown with reason containing %q", v, tc.unknown)
			}
			if got := reasons(res); !slices.Equal(got, tc.reasons) {
				t.Errorf("error reasons = %v, want %v (%v)", got, tc.reasons, res.Errors)
			}
			if res.Up != tc.up {
				t.Errorf("up = %v, want %v", res.Up, tc.up)
			}
			if n := stub.count("/api/v1/query"); n != tc.requests {
				t.Errorf("requests = %d, want %d", n, tc.requests)
			}
		})
	}
}

func TestRetryAfterIsHonouredWithinTheDeadline(t *testing.T) {
	t.Parallel()
	stub := newAPIStub(t, map[string][]stubAnswer{"/api/v1/query": {
		{status: 429, body: "slow down", header: map[string]string{"Retry-After": "1"}}, {status: 200, body: vectorOne}}})
	src := testPrometheus(t, stub.URL, func(c *config.HTTPSource) { c.Timeout = config.Duration(3 * time.Second) })
	t0 := time.Now()
	res := src.Collect(context.Background(), Request{Signals: []SignalRequest{promQuery("s", "sum(up)", "")}})
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
	res = src.Collect(context.Background(), Request{Signals: []SignalRequest{promQuery("s", "sum(up)", "")}})
	if !slices.Equal(reasons(res), []string{reasonTooManyRequests}) || stub.count("/api/v1/query") != 1 {
		t.Errorf("reasons %v after %d requests", reasons(res), stub.count("/api/v1/query"))
	}
}

func TestPrometheusUnreachableStopsSending(t *testing.T) {
	stub := newAPIStub(t, nil)
	addr := stub.URL
	stub.Close() // nothing listens there any more
	src := testPrometheus(t, addr, func(c *config.HTTPSource) { c.MaxConcurrency = 1 })
	var signals []SignalRequest
	for i := range 5 {
		signals = append(signals, promQuery(fmt.Sprint("s", i), fmt.Sprintf("vector(%d)", i), ""))
	}
	res := src.Collect(context.Background(), Request{Signals: signals})
	if res.Up {
		t.Error("up with nothing listening")
	}
	if got := reasons(res); !slices.Equal(got, []string{reasonUnreachable}) {
		t.Errorf("errors = %v; want one unreachable, the other queries not sent", got)
	}
	for _, sr := range signals {
		if v := res.Values[sr.Key]; v.Known || !strings.Contains(v.Reason, "unreachable") {
			t.Errorf("%s = %+v, want unknown naming the unreachable server", sr.Key, v)
		}
	}
}

func TestFrozenServerCostsOneDeadline(t *testing.T) {
	t.Parallel()
	stub := newAPIStub(t, map[string][]stubAnswer{"/api/v1/query": {{status: 200, body: vectorOne, delay: time.Hour}}})
	src := testPrometheus(t, stub.URL, func(c *config.HTTPSource) {
		c.Timeout = config.Duration(200 * time.Millisecond)
		c.MaxConcurrency = 2
	})
	var signals []SignalRequest
	for i := range 8 {
		signals = append(signals, promQuery(fmt.Sprint("s", i), fmt.Sprintf("vector(%d)", i), ""))
	}
	t0 := time.Now()
	res := src.Collect(context.Background(), Request{Signals: signals})
	if d := time.Since(t0); d > 700*time.Millisecond {
		t.Errorf("took %s; want about one deadline (200ms), not one per query", d)
	}
	if got := reasons(res); !slices.Equal(got, []string{reasonTimeout, reasonTimeout}) {
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
	signals := []SignalRequest{promQuery("fast", "fast", ""), promQuery("slow", "slow", "")}
	for i := range 4 {
		signals = append(signals, promQuery(fmt.Sprint("after", i), fmt.Sprint("after", i), ""))
	}
	res := src.Collect(context.Background(), Request{Signals: signals})
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

func TestPrometheusQueriesRunInParallelUpToTheBound(t *testing.T) {
	t.Parallel()
	stub := newAPIStub(t, map[string][]stubAnswer{"/api/v1/query": {{status: 200, body: vectorOne, delay: 60 * time.Millisecond}}})
	src := testPrometheus(t, stub.URL, func(c *config.HTTPSource) { c.MaxConcurrency = 3 })
	var signals []SignalRequest
	for i := range 9 {
		signals = append(signals, promQuery(fmt.Sprint("s", i), fmt.Sprintf("vector(%d)", i), ""))
	}
	// The same query twice is asked once.
	signals = append(signals, promQuery("again", "vector(0)", ""))
	res := src.Collect(context.Background(), Request{Signals: signals})
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

func TestHTTPClientConfigAndTenant(t *testing.T) {
	dir := t.TempDir()
	tokenFile := filepath.Join(dir, "token")
	if err := os.WriteFile(tokenFile, []byte("s3cr3t\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	stub := newAPIStub(t, map[string][]stubAnswer{"/prom/api/v1/query": {{status: 200, body: vectorOne}}})
	rulesFile := filepath.Join(dir, "rules.yml")
	if err := os.WriteFile(rulesFile, []byte(testRules), 0o644); err != nil {
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
	src, err := newPrometheusSource(cfg.Sources.Prometheus, discardLogger)
	if err != nil {
		t.Fatal(err)
	}
	res := src.Collect(context.Background(), Request{Signals: []SignalRequest{promQuery("s", "sum(up)", "")}})
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

func TestAlertHistoryFromARangeQuery(t *testing.T) {
	step := 5 * time.Minute
	start, end := historyGrid(fixedNow, 30*24*time.Hour, step)
	points := int(end.Sub(start)/step) + 1
	pattern := func(runs ...[2]int) string { // [first, last] grid indexes
		b := []byte(strings.Repeat(".", points))
		for _, r := range runs {
			for i := r[0]; i <= r[1]; i++ {
				b[i] = '#'
			}
		}
		return string(b)
	}
	m := model.Matrix{
		grid("PaymentsDown", start, step, pattern([2]int{0, 5}, [2]int{100, 111}, [2]int{2000, 2023})),   // clipped 25m, 55m, 1h55m
		grid("CheckoutErrors", start, step, pattern([2]int{5000, 5005}, [2]int{points - 3, points - 1})), // 25m, open
	}
	body, err := jsonMatrix(m)
	if err != nil {
		t.Fatal(err)
	}
	stub := newAPIStub(t, map[string][]stubAnswer{"/api/v1/query_range": {{status: 200, body: body}}})
	src := testPrometheus(t, stub.URL, nil)
	sel := `ALERTS{alertstate="firing",severity="critical"}`
	ah := func(measure string) *triggers.PrometheusSignal {
		return &triggers.PrometheusSignal{AlertHistory: &triggers.AlertHistory{Selector: sel, Window: triggers.Duration(30 * 24 * time.Hour), Measure: measure}}
	}
	res := src.Collect(context.Background(), Request{Signals: []SignalRequest{
		promSpec("incidents", ah("incidents")), promSpec("open", ah("open_incidents")), promSpec("mean", ah("mean_resolution")),
		promSpec("median", ah("median_resolution")), promSpec("per_day", ah("alerts_per_day")),
	}})
	if len(res.Errors) > 0 || !res.Up {
		t.Fatalf("errors %v up %v", res.Errors, res.Up)
	}
	if n := stub.count("/api/v1/query_range"); n != 1 {
		t.Errorf("range queries = %d, want one for all measures of one selector and window", n)
	}
	r := stub.lastRequest()
	if got, want := r.Form.Get("query"), "max_over_time("+sel+"[5m])"; got != want {
		t.Errorf("query = %s, want %s", got, want)
	}
	if r.Form.Get("step") != "300" || r.Form.Get("start") != fmt.Sprint(start.Unix()) || r.Form.Get("end") != fmt.Sprint(end.Unix()) {
		t.Errorf("range = start %s end %s step %s, want %d %d 300", r.Form.Get("start"), r.Form.Get("end"), r.Form.Get("step"), start.Unix(), end.Unix())
	}
	min := func(m float64) float64 { return m * 60 }
	for key, want := range map[string]float64{
		"incidents": 4, "open": 1,
		"mean":    (min(25) + min(55) + min(115) + min(25)) / 4,
		"median":  (min(25) + min(55)) / 2,
		"per_day": 4.0 / 30, // started inside: 55m, 1h55m, 25m and the open one
	} {
		if v := res.Values[key]; !v.Known || v.Number != want {
			t.Errorf("%s = %+v, want %v", key, v, want)
		}
	}
}

func jsonMatrix(m model.Matrix) (string, error) {
	var b strings.Builder
	b.WriteString(`{"status":"success","data":{"resultType":"matrix","result":[`)
	for i, s := range m {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, `{"metric":{"__name__":"ALERTS","alertname":%q,"alertstate":"firing","severity":"critical"},"values":[`, s.Metric["alertname"])
		for j, p := range s.Values {
			if j > 0 {
				b.WriteString(",")
			}
			fmt.Fprintf(&b, `[%s,"%s"]`, p.Timestamp.String(), p.Value.String())
		}
		b.WriteString("]}")
	}
	b.WriteString("]}}")
	return b.String(), nil
}

func TestAlertHistoryErrors(t *testing.T) {
	stub := newAPIStub(t, map[string][]stubAnswer{"/api/v1/query_range": {{status: 400, body: `{"status":"error","errorType":"bad_data","error":"exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)"}`}}})
	src := testPrometheus(t, stub.URL, nil)
	res := src.Collect(context.Background(), Request{Signals: []SignalRequest{promSpec("mttr", &triggers.PrometheusSignal{
		AlertHistory: &triggers.AlertHistory{Selector: "ALERTS", Window: triggers.Duration(24 * time.Hour), Measure: "mean_resolution"}})}})
	if v := res.Values["mttr"]; v.Known || !strings.Contains(v.Reason, "11,000 points") {
		t.Errorf("mttr = %+v", v)
	}
	if got := reasons(res); !slices.Equal(got, []string{reasonBadQuery}) {
		t.Errorf("reasons = %v", got)
	}
}

// rulesBody is /api/v1/rules as Prometheus 2.x answers it.
const rulesBody = `{"status":"success","data":{"groups":[
 {"name":"webshop.alerts","file":"/etc/prometheus/alerts.yml","interval":60,"limit":0,"rules":[
  {"state":"inactive","name":"CheckoutDown","query":"up{job=\"checkout\"} == 0","duration":300,"labels":{"severity":"critical"},"annotations":{"summary":"down"},"alerts":[],"health":"ok","evaluationTime":0.0004,"lastEvaluation":"2026-03-10T14:07:00Z","type":"alerting"},
  {"state":"firing","name":"DiskFilling","query":"x > 0","duration":0,"labels":{},"annotations":{},"alerts":[{"labels":{"alertname":"DiskFilling"},"annotations":{},"state":"firing","activeAt":"2026-03-10T13:00:00Z","value":"1e+00"}],"health":"ok","evaluationTime":0.0001,"lastEvaluation":"2026-03-10T14:07:00Z","type":"alerting"},
  {"state":"inactive","name":"Watchdog","query":"vector(1)","duration":0,"labels":{"team":"platform"},"annotations":{},"alerts":[],"health":"ok","evaluationTime":0.0001,"lastEvaluation":"2026-03-10T14:07:00Z","type":"alerting"}]},
 {"name":"sloth-slo-sli-recordings-checkout-availability","file":"/etc/prometheus/slo.yml","interval":30,"rules":[
  {"name":"slo:sli_error:ratio_rate5m","query":"sum(rate(x[5m]))","labels":{"sloth_id":"checkout-availability","sloth_service":"checkout","sloth_slo":"availability"},"health":"ok","evaluationTime":0.001,"lastEvaluation":"2026-03-10T14:07:00Z","type":"recording"},
  {"name":"slo:objective:ratio","query":"vector(0.999)","labels":{"sloth_id":"checkout-availability"},"health":"ok","evaluationTime":0.001,"lastEvaluation":"2026-03-10T14:07:00Z","type":"recording"}]},
 {"name":"pyrra-catalog-latency","file":"/etc/prometheus/pyrra.yml","interval":30,"rules":[
  {"name":"http_request_duration_seconds:burnrate5m","query":"x","labels":{"slo":"catalog-latency"},"health":"ok","evaluationTime":0.001,"lastEvaluation":"2026-03-10T14:07:00Z","type":"recording"},
  {"name":"job:slo_errors_per_request:ratio_rate1h","query":"x","health":"ok","evaluationTime":0.001,"lastEvaluation":"2026-03-10T14:07:00Z","type":"recording"}]},
 {"name":"k8s.rules","file":"/etc/prometheus/k8s.yml","interval":60,"rules":[
  {"name":"namespace:container_cpu_usage_seconds:sum_rate","query":"x","health":"ok","evaluationTime":0.001,"lastEvaluation":"2026-03-10T14:07:00Z","type":"recording"},
  {"name":"instance:node_slowness:ratio","query":"x","labels":{"team":"sre"},"health":"ok","evaluationTime":0.001,"lastEvaluation":"2026-03-10T14:07:00Z","type":"recording"}]}
]}}`

func TestRulesMeasures(t *testing.T) {
	stub := newAPIStub(t, map[string][]stubAnswer{"/api/v1/rules": {{status: 200, body: rulesBody}}})
	src := testPrometheus(t, stub.URL, nil)
	res := src.Collect(context.Background(), Request{Signals: []SignalRequest{
		promSpec("all", &triggers.PrometheusSignal{Rules: "alerting_rules"}),
		promSpec("nosev", &triggers.PrometheusSignal{Rules: "alerting_rules_without_severity"}),
		promSpec("slo", &triggers.PrometheusSignal{Rules: "slo_recording_rules"}),
	}})
	for key, want := range map[string]float64{"all": 3, "nosev": 2, "slo": 4} {
		if v := res.Values[key]; !v.Known || v.Number != want {
			t.Errorf("%s = %+v, want %v", key, v, want)
		}
	}
	if n := stub.count("/api/v1/rules"); n != 1 {
		t.Errorf("rules requests = %d, want 1", n)
	}
}

func TestReachable(t *testing.T) {
	t.Parallel()
	reach := []SignalRequest{promSpec("up", &triggers.PrometheusSignal{Reachable: true})}
	stub := newAPIStub(t, map[string][]stubAnswer{"/api/v1/status/buildinfo": {{status: 200,
		body: `{"status":"success","data":{"version":"2.42.0","revision":"x","branch":"HEAD","buildUser":"u","buildDate":"d","goVersion":"go1.19"}}`}}})
	if v := testPrometheus(t, stub.URL, nil).Collect(context.Background(), Request{Signals: reach}).Values["up"]; !v.Known || v.Number != 1 {
		t.Errorf("with build info: %+v", v)
	}
	// A server without the endpoint (older Thanos) answers a trivial query.
	stub = newAPIStub(t, map[string][]stubAnswer{"/api/v1/query": {{status: 200, body: scalar42}}})
	if v := testPrometheus(t, stub.URL, nil).Collect(context.Background(), Request{Signals: reach}).Values["up"]; !v.Known || v.Number != 1 {
		t.Errorf("without build info: %+v", v)
	}
	stub = newAPIStub(t, map[string][]stubAnswer{"/api/v1/status/buildinfo": {{status: 502, body: "Bad Gateway"}}})
	res := testPrometheus(t, stub.URL, nil).Collect(context.Background(), Request{Signals: reach})
	if v := res.Values["up"]; v.Known {
		t.Errorf("a failed probe reads %v; want unknown, never 0", v.Number)
	}
	if res.Up || !slices.Equal(reasons(res), []string{reasonServerError}) {
		t.Errorf("up %v reasons %v", res.Up, reasons(res))
	}
}
