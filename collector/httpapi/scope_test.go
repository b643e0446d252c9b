package httpapi

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/capability-exporter/capability_exporter/collector/source"
	"github.com/capability-exporter/capability_exporter/config"
	"github.com/capability-exporter/capability_exporter/triggers"
)

func scopedToA(c *config.HTTPSource) { c.Matchers = []string{`cluster="a"`} }

// sentQueries returns the query parameter of every request to path.
func (s *apiStub) sentQueries(path string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, r := range s.requests {
		if r.URL.Path == path {
			out = append(out, r.Form.Get("query"))
		}
	}
	return out
}

func TestPrometheusQueriesCarryTheScope(t *testing.T) {
	stub := newAPIStub(t, map[string][]stubAnswer{
		"/api/v1/query":       {{status: 200, body: scalar42}},
		"/api/v1/query_range": {{status: 200, body: `{"status":"success","data":{"resultType":"matrix","result":[]}}`}},
	})
	src := testPrometheus(t, stub.URL, scopedToA)
	res := src.Collect(context.Background(), source.Request{Signals: []source.SignalRequest{
		promQuery("share", `count(${critical_alerts}) / count(ALERTS)`, ""),
		promSpec("incidents", &triggers.PrometheusSignal{AlertHistory: &triggers.AlertHistory{
			Selector: "${critical_alerts}", Window: triggers.Duration(7 * 24 * time.Hour), Measure: "incidents"}}),
	}})
	if v := res.Values["share"]; !v.Known || v.Number != 42 {
		t.Errorf("share = %+v", v)
	}
	want := `count(ALERTS{alertstate="firing",cluster="a",severity=~"critical|page"}) / count(ALERTS{cluster="a"})`
	if got := stub.sentQueries("/api/v1/query"); !slices.Contains(got, want) {
		t.Errorf("instant queries sent %q, want one to be %q", got, want)
	}
	ranges := stub.sentQueries("/api/v1/query_range")
	if len(ranges) == 0 {
		t.Fatal("no range query sent")
	}
	for _, q := range append(ranges, stub.sentQueries("/api/v1/query")...) {
		if strings.Contains(q, "ALERTS") && !strings.Contains(q, `cluster="a"`) || strings.Contains(q, "${") {
			t.Errorf("query sent without the scope: %q", q)
		}
	}
}

func TestPrometheusUnscopedQueriesAreSentAsWritten(t *testing.T) {
	stub := newAPIStub(t, map[string][]stubAnswer{"/api/v1/query": {{status: 200, body: scalar42}}})
	// A MetricsQL query the PromQL parser refuses still reaches the server
	// when no matchers are set.
	q := `sum(rate(x[1d])) keep_metric_names`
	testPrometheus(t, stub.URL, nil).Collect(context.Background(), source.Request{Signals: []source.SignalRequest{promQuery("x", q, "")}})
	if got := stub.sentQueries("/api/v1/query"); !slices.Contains(got, q) {
		t.Errorf("sent %q, want %q as written", got, q)
	}
}

func TestPrometheusQueryThatCannotBeScopedIsNotSent(t *testing.T) {
	stub := newAPIStub(t, map[string][]stubAnswer{"/api/v1/query": {{status: 200, body: scalar42}}})
	res := testPrometheus(t, stub.URL, scopedToA).Collect(context.Background(), source.Request{Signals: []source.SignalRequest{promQuery("x", `sum(rate(x[1d])) keep_metric_names`, "")}})
	if v := res.Values["x"]; v.Known || !strings.Contains(v.Reason, "unscoped") {
		t.Errorf("x = %+v, want unknown: unscoped", v)
	}
	for _, q := range stub.sentQueries("/api/v1/query") {
		if strings.Contains(q, "keep_metric_names") {
			t.Errorf("sent unscoped: %q", q)
		}
	}
	if !slices.Contains(reasons(res), source.ReasonUnscoped) {
		t.Errorf("errors %v, want unscoped", reasons(res))
	}
}

const twoClusterRules = `{"status":"success","data":{"groups":[
 {"name":"a.rules","file":"a.yml","interval":60,"rules":[
  {"state":"inactive","name":"Down","query":"up == 0","duration":300,"labels":{"cluster":"a","severity":"critical"},"annotations":{},"alerts":[],"health":"ok","evaluationTime":0.001,"lastEvaluation":"2026-03-10T14:07:00Z","type":"alerting"},
  {"state":"inactive","name":"Slow","query":"x > 1","duration":300,"labels":{"cluster":"a"},"annotations":{},"alerts":[],"health":"ok","evaluationTime":0.001,"lastEvaluation":"2026-03-10T14:07:00Z","type":"alerting"},
  {"name":"slo:sli_error:ratio_rate5m","query":"x","labels":{"cluster":"a"},"health":"ok","evaluationTime":0.001,"lastEvaluation":"2026-03-10T14:07:00Z","type":"recording"}]},
 {"name":"b.rules","file":"b.yml","interval":60,"rules":[
  {"state":"inactive","name":"Down","query":"up == 0","duration":300,"labels":{"cluster":"b"},"annotations":{},"alerts":[],"health":"ok","evaluationTime":0.001,"lastEvaluation":"2026-03-10T14:07:00Z","type":"alerting"},
  {"name":"slo:sli_error:ratio_rate5m","query":"x","labels":{"cluster":"b"},"health":"ok","evaluationTime":0.001,"lastEvaluation":"2026-03-10T14:07:00Z","type":"recording"},
  {"name":"slo:sli_error:ratio_rate1h","query":"x","labels":{"cluster":"b"},"health":"ok","evaluationTime":0.001,"lastEvaluation":"2026-03-10T14:07:00Z","type":"recording"}]}
]}}`

func rulesSignals() []source.SignalRequest {
	return []source.SignalRequest{
		promSpec("nosev", &triggers.PrometheusSignal{Rules: "alerting_rules_without_severity"}),
		promSpec("slo", &triggers.PrometheusSignal{Rules: "slo_recording_rules"}),
	}
}

func TestRulesOfOtherClustersDoNotCount(t *testing.T) {
	stub := newAPIStub(t, map[string][]stubAnswer{"/api/v1/rules": {{status: 200, body: twoClusterRules}},
		"/api/v1/query": {{status: 200, body: vectorOne}}})
	res := testPrometheus(t, stub.URL, scopedToA).Collect(context.Background(), source.Request{Signals: rulesSignals()})
	for key, want := range map[string]float64{"nosev": 1, "slo": 1} {
		if v := res.Values[key]; !v.Known || v.Number != want {
			t.Errorf("%s = %+v, want %v (cluster a's rules only)", key, v, want)
		}
	}
}

func TestRulesThatDoNotSayTheirClusterAreUnknown(t *testing.T) {
	stub := newAPIStub(t, map[string][]stubAnswer{"/api/v1/rules": {{status: 200, body: rulesBody}},
		"/api/v1/query": {{status: 200, body: vectorOne}}})
	res := testPrometheus(t, stub.URL, scopedToA).Collect(context.Background(), source.Request{Signals: rulesSignals()})
	for _, key := range []string{"nosev", "slo"} {
		if v := res.Values[key]; v.Known || !strings.Contains(v.Reason, "does not say which cluster") {
			t.Errorf("%s = %+v, want unknown: the rules do not say their cluster", key, v)
		}
	}
	// Unscoped, the same answer counts.
	res = testPrometheus(t, stub.URL, nil).Collect(context.Background(), source.Request{Signals: rulesSignals()})
	if v := res.Values["slo"]; !v.Known {
		t.Errorf("unscoped slo = %+v", v)
	}
}

func TestLokiQueriesCarryTheScope(t *testing.T) {
	stub := newAPIStub(t, map[string][]stubAnswer{"/loki/api/v1/query": {{status: 200, body: lokiVector}}})
	src := testLoki(t, stub.URL, scopedToA)
	res := src.Collect(context.Background(), source.Request{Signals: []source.SignalRequest{lokiQuery("devs",
		"count(sum by (user) (count_over_time(${audit_stream} |~ `\"verb\":\"(create|update)\"` | json user=\"user.username\" | user !~ `${machine_users}` [30d])))", "")}})
	if v := res.Values["devs"]; !v.Known || v.Number != 7 {
		t.Errorf("devs = %+v", v)
	}
	want := "count(sum by (user) (count_over_time({job=\"kubernetes-audit\", cluster=\"a\"} |~ `\"verb\":\"(create|update)\"` | json user=\"user.username\" | user !~ `system:.*` [30d])))"
	if got := stub.sentQueries("/loki/api/v1/query"); len(got) != 1 || got[0] != want {
		t.Errorf("sent %q\nwant %q", got, want)
	}
}

func TestOverriddenSelectorIsSent(t *testing.T) {
	stub := newAPIStub(t, map[string][]stubAnswer{"/api/v1/query": {{status: 200, body: scalar42}}})
	testPrometheus(t, stub.URL, func(c *config.HTTPSource) {
		c.Selectors = map[string]string{"critical_alerts": `ALERTS{priority="P1"}`}
	}).Collect(context.Background(), source.Request{Signals: []source.SignalRequest{promQuery("n", "count(${critical_alerts})", "")}})
	if got := stub.sentQueries("/api/v1/query"); !slices.Contains(got, `count(ALERTS{priority="P1"})`) {
		t.Errorf("sent %q", got)
	}
}

func TestRulesAllOfOtherClustersAreUnknown(t *testing.T) {
	stub := newAPIStub(t, map[string][]stubAnswer{"/api/v1/rules": {{status: 200, body: twoClusterRules}},
		"/api/v1/query": {{status: 200, body: vectorOne}}})
	res := testPrometheus(t, stub.URL, func(c *config.HTTPSource) { c.Matchers = []string{`cluster="c"`} }).
		Collect(context.Background(), source.Request{Signals: rulesSignals()})
	if v := res.Values["slo"]; v.Known || !strings.Contains(v.Reason, `lists 6 rules, none of them of {cluster="c"}`) {
		t.Errorf("slo = %+v, want unknown: no rule of the scope", v)
	}
}

func TestScopedAPIRefusesWhatItCannotScope(t *testing.T) {
	stub := newAPIStub(t, map[string][]stubAnswer{
		"/api/v1/alerts": {{status: 200, body: `{"status":"success","data":{"alerts":[
			{"labels":{"alertname":"A","cluster":"a"},"annotations":{},"state":"firing","activeAt":"2026-03-10T14:00:00Z","value":"1"},
			{"labels":{"alertname":"B","cluster":"b"},"annotations":{},"state":"firing","activeAt":"2026-03-10T14:00:00Z","value":"1"}]}}`},
			{status: 200, body: `{"status":"success","data":{"alerts":[{"labels":{"alertname":"C"},"annotations":{},"state":"firing","activeAt":"2026-03-10T14:00:00Z","value":"1"}]}}`}},
	})
	api := testPrometheus(t, stub.URL, scopedToA).api
	res, err := api.Alerts(context.Background())
	if err != nil || len(res.Alerts) != 1 || res.Alerts[0].Labels["alertname"] != "A" {
		t.Errorf("alerts %+v, %v; want cluster a's only", res, err)
	}
	if _, err := api.Alerts(context.Background()); err == nil || !strings.Contains(err.Error(), "does not say which cluster") {
		t.Errorf("an alert without a cluster: %v", err)
	}
	if _, err := api.TSDB(context.Background()); err == nil {
		t.Error("TSDB status answered for the whole store")
	}
	if _, err := api.Targets(context.Background()); err == nil {
		t.Error("targets answered for the whole store")
	}
}
