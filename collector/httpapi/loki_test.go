package httpapi

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/capability-exporter/capability_exporter/collector/source"
	"github.com/capability-exporter/capability_exporter/config"
	"github.com/capability-exporter/capability_exporter/triggers"
)

func testLoki(t *testing.T, rawURL string, edit func(*config.HTTPSource)) *Loki {
	t.Helper()
	s, err := NewLoki(testHTTPSource(t, "loki", rawURL, edit), discardLogger, Options{})
	if err != nil {
		t.Fatal(err)
	}
	s.now = func() time.Time { return fixedNow }
	return s
}

func lokiQuery(key, q string, empty triggers.Empty) source.SignalRequest {
	return source.SignalRequest{Key: key, Signal: &triggers.Signal{Name: key},
		Spec: triggers.SignalSource{Loki: &triggers.LokiSignal{Query: q, Empty: empty}}}
}

// Loki's answers as its HTTP API documents them; errors are plain text.
const (
	lokiVector   = `{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1773151651.000,"7"]}],"stats":{"summary":{"bytesProcessedPerSecond":1024,"execTime":0.01}}}}`
	lokiEmpty    = `{"status":"success","data":{"resultType":"vector","result":[],"stats":{}}}`
	lokiNaN      = `{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1773151651,"NaN"]}],"stats":{}}}`
	lokiTwo      = `{"status":"success","data":{"resultType":"vector","result":[{"metric":{"level":"warn"},"value":[1773151651,"37.7"]},{"metric":{"level":"info"},"value":[1773151651,"1267.1"]}],"stats":{}}}`
	lokiScalar   = `{"status":"success","data":{"resultType":"scalar","result":[1773151651,"5"],"stats":{}}}`
	lokiStreams  = `{"status":"success","data":{"resultType":"streams","result":[{"stream":{"job":"varlogs"},"values":[["1569266497240578000","foo"]]}],"stats":{}}}`
	lokiParseErr = "parse error at line 1, col 7: syntax error: unexpected IDENTIFIER"
)

func TestLokiQueryOutcomes(t *testing.T) {
	ok := func(body string) stubAnswer { return stubAnswer{status: 200, body: body} }
	q := `count(sum by (user) (count_over_time({job="kubernetes-audit"} | json [30d])))`
	testQueryOutcomes(t, "/loki/api/v1/query", []queryOutcome{
		{name: "one sample", answers: []stubAnswer{ok(lokiVector)}, want: 7, up: true, requests: 1},
		{name: "scalar", answers: []stubAnswer{ok(lokiScalar)}, want: 5, up: true, requests: 1},
		{name: "empty reads unknown by default", answers: []stubAnswer{ok(lokiEmpty)}, unknown: "no series", up: true, requests: 1},
		{name: "empty reads zero when the rules say so", answers: []stubAnswer{ok(lokiEmpty)}, empty: triggers.EmptyZero, want: 0, up: true, requests: 1},
		{name: "NaN is unknown", answers: []stubAnswer{ok(lokiNaN)}, unknown: "returned NaN", up: true, requests: 1},
		{name: "several series", answers: []stubAnswer{ok(lokiTwo)}, unknown: `{level="warn"}, {level="info"}`,
			reasons: []source.Reason{source.ReasonSeveralSeries}, up: true, requests: 1},
		{name: "log lines are not a metric", answers: []stubAnswer{ok(lokiStreams)}, unknown: "want a metric query",
			reasons: []source.Reason{source.ReasonBadQuery}, up: true, requests: 1},
		{name: "400 is a bad query and never retried", answers: []stubAnswer{{status: 400, body: lokiParseErr + "\n"}},
			unknown: "400: " + lokiParseErr, reasons: []source.Reason{source.ReasonBadQuery}, up: true, requests: 1},
		{name: "400 for a limit", answers: []stubAnswer{{status: 400, body: "the query time range exceeds the limit (query length: 800h0m0s, limit: 30d1h)"}},
			unknown: "exceeds the limit", reasons: []source.Reason{source.ReasonBadQuery}, up: true, requests: 1},
		{name: "429 is retried once", answers: []stubAnswer{{status: 429, body: "too many outstanding requests"}},
			unknown: "429: too many outstanding requests", reasons: []source.Reason{source.ReasonTooManyRequests}, requests: 2},
		{name: "429 then success", answers: []stubAnswer{{status: 429, body: "too many outstanding requests"}, ok(lokiVector)},
			want: 7, up: true, requests: 2},
		{name: "504 is a timeout, not retried", answers: []stubAnswer{{status: 504, body: "request timed out, decrease the duration of the request or add more label matchers (prefer exact match over regex match) to reduce the amount of data processed"}},
			unknown: "request timed out", reasons: []source.Reason{source.ReasonTimeout}, requests: 1},
		{name: "500 is a server error", answers: []stubAnswer{{status: 500, body: "rpc error: code = Unavailable"}},
			unknown: "rpc error", reasons: []source.Reason{source.ReasonServerError}, requests: 1},
		{name: "502 then success", answers: []stubAnswer{{status: 502, body: "Bad Gateway"}, ok(lokiVector)}, want: 7, up: true, requests: 2},
		{name: "401 without tenant", answers: []stubAnswer{{status: 401, body: "no org id"}}, unknown: "no org id", reasons: []source.Reason{source.ReasonUnauthorized}, requests: 1},
		{name: "garbage", answers: []stubAnswer{ok("<html>gateway</html>")}, unknown: "not Loki's query JSON", reasons: []source.Reason{source.ReasonBadResponse}, requests: 1},
		{name: "status error in a 200", answers: []stubAnswer{ok(`{"status":"error","data":{}}`)}, unknown: `status "error"`, reasons: []source.Reason{source.ReasonBadResponse}, requests: 1},
		{name: "a matrix is not what an instant query gives", answers: []stubAnswer{ok(`{"status":"success","data":{"resultType":"matrix","result":[]}}`)},
			unknown: `result type "matrix"`, reasons: []source.Reason{source.ReasonBadResponse}, up: true, requests: 1},
		{name: "slower than the deadline", answers: []stubAnswer{{status: 200, body: lokiVector, delay: 2 * time.Second}},
			timeout: 300 * time.Millisecond, unknown: "timeout", reasons: []source.Reason{source.ReasonTimeout}, requests: 1},
	}, func(t *testing.T, url string, edit func(*config.HTTPSource), empty triggers.Empty) source.Result {
		return testLoki(t, url, edit).Collect(context.Background(), source.Request{Signals: []source.SignalRequest{lokiQuery("s", q, empty)}})
	}, func(t *testing.T, r *http.Request) {
		if r.Method != http.MethodGet || r.Form.Get("query") != q || r.Form.Get("time") != fmt.Sprint(fixedNow.UnixNano()) {
			t.Errorf("request %s %s, want GET with query and time in nanoseconds", r.Method, r.URL.RawQuery)
		}
	})
}

func TestLokiTenantAndConcurrency(t *testing.T) {
	t.Parallel()
	stub := newAPIStub(t, map[string][]stubAnswer{"/loki/api/v1/query": {{status: 200, body: lokiVector, delay: 50 * time.Millisecond}}})
	src := testLoki(t, stub.URL, func(c *config.HTTPSource) { c.TenantID = "webshop"; c.MaxConcurrency = 2 })
	var signals []source.SignalRequest
	for i := range 6 {
		signals = append(signals, lokiQuery(fmt.Sprint("s", i), fmt.Sprintf(`sum(count_over_time({app="a%d"}[1h]))`, i), ""))
	}
	res := src.Collect(context.Background(), source.Request{Signals: signals})
	if len(res.Errors) > 0 || !res.Up {
		t.Fatalf("errors %v", res.Errors)
	}
	if m := stub.maxIn.Load(); m != 2 {
		t.Errorf("max in flight %d, want the bound 2", m)
	}
	stub.mu.Lock()
	defer stub.mu.Unlock()
	for _, r := range stub.requests {
		if r.Header.Get("X-Scope-OrgID") != "webshop" {
			t.Errorf("X-Scope-OrgID = %q", r.Header.Get("X-Scope-OrgID"))
		}
	}
}

func TestLokiReachable(t *testing.T) {
	reach := []source.SignalRequest{{Key: "up", Signal: &triggers.Signal{Name: "up"}, Spec: triggers.SignalSource{Loki: &triggers.LokiSignal{Reachable: true}}}}
	stub := newAPIStub(t, map[string][]stubAnswer{"/loki/api/v1/status/buildinfo": {{status: 200,
		body: `{"version":"3.4.2","revision":"abc","branch":"HEAD","buildUser":"root","buildDate":"2025-01-01","goVersion":"go1.23"}`}}})
	if v := testLoki(t, stub.URL, nil).Collect(context.Background(), source.Request{Signals: reach}).Values["up"]; !v.Known || v.Number != 1 {
		t.Errorf("build info: %+v", v)
	}
	stub = newAPIStub(t, map[string][]stubAnswer{"/loki/api/v1/labels": {{status: 200, body: `{"status":"success","data":["job","namespace"]}`}}})
	if v := testLoki(t, stub.URL, nil).Collect(context.Background(), source.Request{Signals: reach}).Values["up"]; !v.Known || v.Number != 1 {
		t.Errorf("labels fallback: %+v", v)
	}
	stub = newAPIStub(t, map[string][]stubAnswer{"/loki/api/v1/status/buildinfo": {{status: 200, body: "<html>"}}})
	res := testLoki(t, stub.URL, nil).Collect(context.Background(), source.Request{Signals: reach})
	if v := res.Values["up"]; v.Known || res.Up || !slices.Equal(reasons(res), []source.Reason{source.ReasonBadResponse}) {
		t.Errorf("garbage build info: %+v up %v reasons %v", v, res.Up, reasons(res))
	}
}

// A configured server that no rule reads is still probed, so that its
// source_up tells whether it answers.
func TestEmptyRequestProbesTheServer(t *testing.T) {
	t.Parallel()
	prom := newAPIStub(t, map[string][]stubAnswer{"/api/v1/status/buildinfo": {{status: 200,
		body: `{"status":"success","data":{"version":"2.42.0","revision":"x","branch":"HEAD","buildUser":"u","buildDate":"d","goVersion":"go1.19"}}`}}})
	loki := newAPIStub(t, map[string][]stubAnswer{"/loki/api/v1/status/buildinfo": {{status: 200, body: `{"version":"3.4.2"}`}}})
	for name, src := range map[string]source.Source{"prometheus": testPrometheus(t, prom.URL, nil), "loki": testLoki(t, loki.URL, nil)} {
		if res := src.Collect(context.Background(), source.Request{}); !res.Up || len(res.Errors) > 0 {
			t.Errorf("%s answering: up %v errors %v; want up", name, res.Up, res.Errors)
		}
	}
	if prom.count("/api/v1/status/buildinfo") != 1 || loki.count("/loki/api/v1/status/buildinfo") != 1 {
		t.Error("the probe did not reach the servers")
	}
	prom.Close()
	loki.Close()
	for name, src := range map[string]source.Source{"prometheus": testPrometheus(t, prom.URL, nil), "loki": testLoki(t, loki.URL, nil)} {
		if res := src.Collect(context.Background(), source.Request{}); res.Up || !slices.Equal(reasons(res), []source.Reason{source.ReasonUnreachable}) {
			t.Errorf("%s gone: up %v reasons %v; want down, unreachable", name, res.Up, reasons(res))
		}
	}
}
