package httpapi

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/model"

	"github.com/capability-exporter/capability_exporter/collector/source"
	"github.com/capability-exporter/capability_exporter/config"
	"github.com/capability-exporter/capability_exporter/triggers"
)

func testPrometheus(t *testing.T, rawURL string, edit func(*config.HTTPSource)) *Prometheus {
	t.Helper()
	return testPrometheusWith(t, rawURL, edit, Options{})
}

func testPrometheusWith(t *testing.T, rawURL string, edit func(*config.HTTPSource), opts Options) *Prometheus {
	t.Helper()
	s, err := NewPrometheus(testHTTPSource(t, "prometheus", rawURL, edit), discardLogger, opts)
	if err != nil {
		t.Fatal(err)
	}
	s.now = func() time.Time { return fixedNow }
	return s
}

func promQuery(key, q string, empty triggers.Empty) source.SignalRequest {
	return source.SignalRequest{Key: key, Signal: &triggers.Signal{Name: key},
		Spec: triggers.SignalSource{Prometheus: &triggers.PrometheusSignal{Query: q, Empty: empty}}}
}

func promSpec(key string, p *triggers.PrometheusSignal) source.SignalRequest {
	return source.SignalRequest{Key: key, Signal: &triggers.Signal{Name: key}, Spec: triggers.SignalSource{Prometheus: p}}
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
	testQueryOutcomes(t, "/api/v1/query", []queryOutcome{
		{name: "one sample", answers: []stubAnswer{ok(vectorOne)}, want: 3, up: true, requests: 1},
		{name: "scalar", answers: []stubAnswer{ok(scalar42)}, want: 42, up: true, requests: 1},
		{name: "empty reads unknown by default", answers: []stubAnswer{ok(vectorEmpty)}, unknown: "returned no series", up: true, requests: 1},
		{name: "empty reads zero when the rules say so", answers: []stubAnswer{ok(vectorEmpty)}, empty: triggers.EmptyZero, want: 0, up: true, requests: 1},
		{name: "NaN is unknown", answers: []stubAnswer{ok(vectorNaN)}, unknown: "returned NaN", up: true, requests: 1},
		{name: "+Inf is unknown", answers: []stubAnswer{ok(vectorInf)}, unknown: "returned +Inf", up: true, requests: 1},
		{name: "-Inf is unknown", answers: []stubAnswer{ok(vectorNegInf)}, unknown: "returned -Inf", up: true, requests: 1},
		{name: "several series are an error, named", answers: []stubAnswer{ok(vectorThree)},
			unknown: `3 series where one is expected: {job="a"}, {job="b"}, {job="c"}`, reasons: []source.Reason{source.ReasonSeveralSeries}, up: true, requests: 1},
		{name: "a range vector cannot give one number", answers: []stubAnswer{ok(matrixResult)},
			unknown: "returned a matrix", reasons: []source.Reason{source.ReasonBadQuery}, up: true, requests: 1},
		{name: "a string result is not the API's answer", answers: []stubAnswer{ok(stringResult)},
			unknown: "bad_response", reasons: []source.Reason{source.ReasonBadResponse}, requests: 1},
		{name: "400 bad_data is a bad query, not retried", answers: []stubAnswer{{status: 400, body: badData}},
			unknown: "parse error: unexpected end of input", reasons: []source.Reason{source.ReasonBadQuery}, up: true, requests: 1},
		{name: "422 execution is a failed query, not a bad one", answers: []stubAnswer{{status: 422, body: execution}},
			unknown: "too many samples", reasons: []source.Reason{source.ReasonQueryFailed}, up: true, requests: 1},
		{name: "503 timeout is a timeout, not retried", answers: []stubAnswer{{status: 503, body: queryTimeout}},
			unknown: "query timed out", reasons: []source.Reason{source.ReasonTimeout}, requests: 1},
		{name: "503 unavailable is retried once", answers: []stubAnswer{{status: 503, body: "Service Unavailable"}, {status: 503, body: "Service Unavailable"}},
			unknown: "503: Service Unavailable", reasons: []source.Reason{source.ReasonServerError}, requests: 2},
		{name: "503 then success", answers: []stubAnswer{{status: 503, body: "Service Unavailable"}, ok(vectorOne)},
			want: 3, up: true, requests: 2},
		{name: "429 is retried once", answers: []stubAnswer{{status: 429, body: "too many outstanding requests"}},
			unknown: "429: too many outstanding requests", reasons: []source.Reason{source.ReasonTooManyRequests}, requests: 2},
		{name: "429 then success", answers: []stubAnswer{{status: 429, body: "slow down"}, ok(vectorOne)}, want: 3, up: true, requests: 2},
		{name: "504 is a timeout, not retried", answers: []stubAnswer{{status: 504, body: "Gateway Timeout"}},
			unknown: "504", reasons: []source.Reason{source.ReasonTimeout}, requests: 1},
		{name: "500 is a server error, not retried", answers: []stubAnswer{{status: 500, body: internalError}},
			unknown: "unexpected EOF", reasons: []source.Reason{source.ReasonServerError}, requests: 1},
		{name: "401", answers: []stubAnswer{{status: 401, body: "Unauthorized"}}, unknown: "401", reasons: []source.Reason{source.ReasonUnauthorized}, requests: 1},
		// client_golang sends a query as POST and, on 403, 405 or 501, once more as GET.
		{name: "403", answers: []stubAnswer{{status: 403, body: "Forbidden"}}, unknown: "403", reasons: []source.Reason{source.ReasonForbidden}, requests: 2},
		{name: "404", answers: []stubAnswer{{status: 404, body: "404 page not found"}}, unknown: "path prefix", reasons: []source.Reason{source.ReasonNotFound}, requests: 1},
		{name: "an HTML login page is garbage", answers: []stubAnswer{ok("<html><body>Please log in</body></html>")},
			unknown: "bad_response", reasons: []source.Reason{source.ReasonBadResponse}, requests: 1},
		{name: "JSON of the wrong shape is garbage", answers: []stubAnswer{ok(`{"status":"success","data":{"resultType":"vector","result":{"x":1}}}`)},
			unknown: "bad_response", reasons: []source.Reason{source.ReasonBadResponse}, requests: 1},
		{name: "a truncated body is garbage", answers: []stubAnswer{ok(vectorOne[:40])},
			unknown: "bad_response", reasons: []source.Reason{source.ReasonBadResponse}, requests: 1},
		{name: "slower than the deadline is a timeout", answers: []stubAnswer{{status: 200, body: vectorOne, delay: 2 * time.Second}},
			timeout: 300 * time.Millisecond, unknown: "timeout", reasons: []source.Reason{source.ReasonTimeout}, requests: 1},
	}, func(t *testing.T, url string, edit func(*config.HTTPSource), empty triggers.Empty) source.Result {
		return testPrometheus(t, url, edit).Collect(context.Background(), source.Request{Signals: []source.SignalRequest{promQuery("s", "sum(up)", empty)}})
	}, nil)
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
	// The instant queries are the probes: up reaches back over the window.
	stub := newAPIStub(t, map[string][]stubAnswer{"/api/v1/query_range": {{status: 200, body: body}}, "/api/v1/query": {{status: 200, body: vectorOne}}})
	src := testPrometheus(t, stub.URL, nil)
	sel := `ALERTS{alertstate="firing",severity="critical"}`
	ah := func(measure string) *triggers.PrometheusSignal {
		return &triggers.PrometheusSignal{AlertHistory: &triggers.AlertHistory{Selector: sel, Window: triggers.Duration(30 * 24 * time.Hour), Measure: measure}}
	}
	res := src.Collect(context.Background(), source.Request{Signals: []source.SignalRequest{
		promSpec("incidents", ah("incidents")), promSpec("open", ah("open_incidents")), promSpec("mean", ah("mean_resolution")),
		promSpec("median", ah("median_resolution")), promSpec("per_day", ah("alerts_per_day")),
	}})
	if len(res.Errors) > 0 || !res.Up {
		t.Fatalf("errors %v up %v", res.Errors, res.Up)
	}
	if n := stub.count("/api/v1/query_range"); n != 1 {
		t.Errorf("range queries = %d, want one for all measures of one selector and window", n)
	}
	r := stub.firstRequest("/api/v1/query_range")
	if got, want := r.Form.Get("query"), "max_over_time("+sel+"[5m])"; got != want {
		t.Errorf("query = %s, want %s", got, want)
	}
	if r.Form.Get("step") != "300" || r.Form.Get("start") != fmt.Sprint(start.Unix()) || r.Form.Get("end") != fmt.Sprint(end.Unix()) {
		t.Errorf("range = start %s end %s step %s, want %d %d 300", r.Form.Get("start"), r.Form.Get("end"), r.Form.Get("step"), start.Unix(), end.Unix())
	}
	minutes := func(m float64) float64 { return m * 60 }
	for key, want := range map[string]float64{
		"incidents": 4, "open": 1,
		"mean":    (minutes(25) + minutes(55) + minutes(115) + minutes(25)) / 4,
		"median":  (minutes(25) + minutes(55)) / 2,
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
	res := src.Collect(context.Background(), source.Request{Signals: []source.SignalRequest{promSpec("mttr", &triggers.PrometheusSignal{
		AlertHistory: &triggers.AlertHistory{Selector: "ALERTS", Window: triggers.Duration(24 * time.Hour), Measure: "mean_resolution"}})}})
	if v := res.Values["mttr"]; v.Known || !strings.Contains(v.Reason, "11,000 points") {
		t.Errorf("mttr = %+v", v)
	}
	if got := reasons(res); !slices.Equal(got, []source.Reason{source.ReasonBadQuery}) {
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
	res := src.Collect(context.Background(), source.Request{Signals: []source.SignalRequest{
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
	reach := []source.SignalRequest{promSpec("up", &triggers.PrometheusSignal{Reachable: true})}
	stub := newAPIStub(t, map[string][]stubAnswer{"/api/v1/status/buildinfo": {{status: 200,
		body: `{"status":"success","data":{"version":"2.42.0","revision":"x","branch":"HEAD","buildUser":"u","buildDate":"d","goVersion":"go1.19"}}`}}})
	if v := testPrometheus(t, stub.URL, nil).Collect(context.Background(), source.Request{Signals: reach}).Values["up"]; !v.Known || v.Number != 1 {
		t.Errorf("with build info: %+v", v)
	}
	// A server without the endpoint (older Thanos) answers a trivial query.
	stub = newAPIStub(t, map[string][]stubAnswer{"/api/v1/query": {{status: 200, body: scalar42}}})
	if v := testPrometheus(t, stub.URL, nil).Collect(context.Background(), source.Request{Signals: reach}).Values["up"]; !v.Known || v.Number != 1 {
		t.Errorf("without build info: %+v", v)
	}
	stub = newAPIStub(t, map[string][]stubAnswer{"/api/v1/status/buildinfo": {{status: 502, body: "Bad Gateway"}}})
	res := testPrometheus(t, stub.URL, nil).Collect(context.Background(), source.Request{Signals: reach})
	if v := res.Values["up"]; v.Known {
		t.Errorf("a failed probe reads %v; want unknown, never 0", v.Number)
	}
	if res.Up || !slices.Equal(reasons(res), []source.Reason{source.ReasonServerError}) {
		t.Errorf("up %v reasons %v", res.Up, reasons(res))
	}
}
