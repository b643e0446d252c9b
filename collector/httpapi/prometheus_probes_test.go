package httpapi

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"

	"github.com/capability-exporter/capability_exporter/collector/source"
	"github.com/capability-exporter/capability_exporter/triggers"
)

func (s *apiStub) firstRequest(path string) *http.Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range s.requests {
		if r.URL.Path == path {
			return r
		}
	}
	return nil
}

// probeStub answers instant queries by the first of its substrings the
// query contains (an empty vector otherwise), and the rules API with rules.
func probeStub(t *testing.T, answers map[string]string, rules *stubAnswer, ranges ...stubAnswer) *apiStub {
	stub := newAPIStub(t, map[string][]stubAnswer{"/api/v1/query_range": ranges})
	stub.handle = func(w http.ResponseWriter, r *http.Request) bool {
		switch r.URL.Path {
		case "/api/v1/query":
			q := r.Form.Get("query")
			body := vectorEmpty
			for sub, b := range answers {
				if strings.Contains(q, sub) {
					body = b
				}
			}
			w.Header().Set("Content-Type", "application/json")
			if body == internalError {
				w.WriteHeader(http.StatusInternalServerError)
			}
			io.WriteString(w, body)
			return true
		case "/api/v1/rules":
			if rules == nil {
				http.NotFound(w, r)
				return true
			}
			w.WriteHeader(rules.status)
			io.WriteString(w, rules.body)
			return true
		}
		return false
	}
	return stub
}

const noRuleGroups = `{"status":"success","data":{"groups":[]}}`

func TestWindowedQueryNeedsDataOverItsWindow(t *testing.T) {
	q := `sum(kube_pod_container_resource_requests{resource="cpu"}) / sum(kube_pod_container_resource_requests{resource="cpu"} offset 30d) - 1`
	for _, tc := range []struct {
		name    string
		answers map[string]string
		unknown string
	}{
		{name: "data reaches back", answers: map[string]string{"sum(kube": vectorOne, "count(count_over_time(kube": vectorOne}},
		{name: "a ten-day retention", answers: map[string]string{"sum(kube": vectorOne},
			unknown: `kube_pod_container_resource_requests{resource="cpu"} has no sample from before 30d ago`},
		{name: "the check fails", answers: map[string]string{"sum(kube": vectorOne, "count(count_over_time(kube": internalError},
			unknown: "could not check that the data reaches back 30d: server_error"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			stub := probeStub(t, tc.answers, nil)
			res := testPrometheus(t, stub.URL, nil).Collect(context.Background(), source.Request{Signals: []source.SignalRequest{promQuery("s", q, "")}})
			v := res.Values["s"]
			switch {
			case tc.unknown == "" && (!v.Known || v.Number != 3):
				t.Errorf("value %+v, want 3", v)
			case tc.unknown != "" && (v.Known || !strings.Contains(v.Reason, tc.unknown)):
				t.Errorf("value %+v, want unknown: %s", v, tc.unknown)
			}
			probe := ""
			for _, r := range stub.requests {
				if strings.Contains(r.Form.Get("query"), "count_over_time") {
					probe = r.Form.Get("query")
				}
			}
			if want := `count(count_over_time(kube_pod_container_resource_requests{resource="cpu"}[3600s] offset 2592000s))`; probe != want {
				t.Errorf("probe %q, want %q", probe, want)
			}
		})
	}
	// An instant query at no offset reads no window and sends no probe.
	stub := probeStub(t, map[string]string{"sum(up)": vectorOne}, nil)
	res := testPrometheus(t, stub.URL, nil).Collect(context.Background(), source.Request{Signals: []source.SignalRequest{promQuery("s", "sum(up)", "")}})
	if v := res.Values["s"]; !v.Known || stub.count("/api/v1/query") != 1 {
		t.Errorf("value %+v after %d queries; want known after 1", v, stub.count("/api/v1/query"))
	}
}

// A query the Prometheus parser cannot read (MetricsQL) shows no lookback:
// its answer is unknown unless the rule declares its window, and then the
// server's retention is checked against that window.
func TestUnparsedQueryLookbackIsNotGuessed(t *testing.T) {
	q := `sum(rate(http_requests_total[30d])) keep_metric_names`
	for _, tc := range []struct {
		name    string
		window  time.Duration
		answers map[string]string
		unknown string
	}{
		{name: "no window declared", answers: map[string]string{"keep_metric_names": vectorOne},
			unknown: "cannot tell how far back the query reads: the Prometheus parser does not read it"},
		{name: "window declared, data reaches back", window: 30 * 24 * time.Hour,
			answers: map[string]string{"keep_metric_names": vectorOne, "count(count_over_time(up[3600s] offset 2592000s))": vectorOne}},
		{name: "window declared, short retention", window: 30 * 24 * time.Hour, answers: map[string]string{"keep_metric_names": vectorOne},
			unknown: "neither up nor ALERTS has a sample from before 30d ago"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			stub := probeStub(t, tc.answers, nil)
			sr := promSpec("s", &triggers.PrometheusSignal{Query: q, Window: triggers.Duration(tc.window)})
			v := testPrometheus(t, stub.URL, nil).Collect(context.Background(), source.Request{Signals: []source.SignalRequest{sr}}).Values["s"]
			switch {
			case tc.unknown == "" && (!v.Known || v.Number != 3):
				t.Errorf("value %+v, want 3", v)
			case tc.unknown != "" && (v.Known || !strings.Contains(v.Reason, tc.unknown)):
				t.Errorf("value %+v, want unknown: %s", v, tc.unknown)
			}
			for _, r := range stub.requests {
				if q := r.Form.Get("query"); strings.Contains(q, "keep_metric_names[") || strings.Contains(q, "count_over_time(http_requests_total") {
					t.Errorf("probe built from a query the parser does not read: %s", q)
				}
			}
		})
	}
}

func alertHistorySignals(sel string, window time.Duration, measures ...string) []source.SignalRequest {
	var out []source.SignalRequest
	for _, m := range measures {
		out = append(out, promSpec(m, &triggers.PrometheusSignal{AlertHistory: &triggers.AlertHistory{
			Selector: sel, Window: triggers.Duration(window), Measure: m}}))
	}
	return out
}

const emptyMatrix = `{"status":"success","data":{"resultType":"matrix","result":[]}}`

func TestEmptyAlertHistoryIsZeroOnlyWhereAlertingIsSeen(t *testing.T) {
	sel := `ALERTS{alertstate="firing",severity=~"critical|page"}`
	upReaches := map[string]string{"count_over_time(up[": vectorOne}
	withAlerts := map[string]string{"count_over_time(up[": vectorOne, "count(count_over_time(ALERTS[2592000s]))": vectorOne}
	ok := func(body string) *stubAnswer { return &stubAnswer{status: 200, body: body} }
	for _, tc := range []struct {
		name    string
		answers map[string]string
		rules   *stubAnswer
		unknown string
		// partial: the data does not reach back over the window; the counts
		// are lower bounds and the median unknown for this reason.
		partial string
	}{
		{name: "a critical rule is loaded", answers: upReaches, rules: ok(rulesBody)},
		{name: "no rule can fire it, but ALERTS are written", answers: withAlerts,
			rules: ok(strings.ReplaceAll(rulesBody, `"severity":"critical"`, `"severity":"warning"`))},
		{name: "no rules served, but ALERTS are written", answers: withAlerts, rules: ok(noRuleGroups)},
		{name: "no rules and no ALERTS", answers: upReaches, rules: ok(noRuleGroups),
			unknown: "no ALERTS series in the last 30d: cannot tell no incident from no alerting (the rules API lists no rule group"},
		{name: "rules API missing and no ALERTS", answers: upReaches, rules: nil,
			unknown: "cannot tell no incident from no alerting (the server does not serve the rules API (404)"},
		{name: "only warning rules and no ALERTS", answers: upReaches,
			rules:   ok(strings.ReplaceAll(rulesBody, `"severity":"critical"`, `"severity":"warning"`)),
			unknown: "none of the 3 loaded alerting rules can fire"},
		{name: "a critical rule, but a retention shorter than the window", answers: nil, rules: ok(rulesBody),
			partial: "neither up nor ALERTS has a sample from before 30d ago"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			stub := probeStub(t, tc.answers, tc.rules, stubAnswer{status: 200, body: emptyMatrix})
			res := testPrometheus(t, stub.URL, nil).Collect(context.Background(), source.Request{Signals: alertHistorySignals(sel, 30*24*time.Hour,
				"incidents", "open_incidents", "alerts_per_day", "median_resolution")})
			for _, m := range []string{"incidents", "open_incidents", "alerts_per_day"} {
				v := res.Values[m]
				switch {
				case tc.unknown == "" && (!v.Known || v.Number != 0):
					t.Errorf("%s = %+v, want a known 0", m, v)
				case tc.unknown != "" && (v.Known || !strings.Contains(v.Reason, tc.unknown)):
					t.Errorf("%s = %+v, want unknown: %s", m, v, tc.unknown)
				case v.LowerBound != (tc.partial != "" && m != "open_incidents"):
					t.Errorf("%s = %+v: a lower bound only over a window the data does not cover, and never for the alerts open now", m, v)
				}
			}
			if v := res.Values["median_resolution"]; v.Known || (tc.partial != "" && !strings.Contains(v.Reason, tc.partial)) {
				t.Errorf("median = %+v, want unknown", v)
			}
			if n := stub.count("/api/v1/rules"); n > 1 {
				t.Errorf("rules API asked %d times in one Collect", n)
			}
		})
	}
}

func TestRulesMeasuresNeedAServerThatServesRules(t *testing.T) {
	for _, tc := range []struct {
		name    string
		rules   *stubAnswer
		unknown string
		reasons []source.Reason
	}{
		{name: "no rule group (VictoriaMetrics without vmalert)", rules: &stubAnswer{status: 200, body: noRuleGroups}, unknown: "lists no rule group"},
		{name: "no rules API", rules: nil, unknown: "does not serve the rules API (404)", reasons: []source.Reason{source.ReasonNotFound}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			stub := probeStub(t, nil, tc.rules)
			res := testPrometheus(t, stub.URL, nil).Collect(context.Background(), source.Request{Signals: []source.SignalRequest{
				promSpec("nosev", &triggers.PrometheusSignal{Rules: "alerting_rules_without_severity"}),
				promSpec("slo", &triggers.PrometheusSignal{Rules: "slo_recording_rules"}),
			}})
			for _, k := range []string{"nosev", "slo"} {
				if v := res.Values[k]; v.Known || !strings.Contains(v.Reason, tc.unknown) {
					t.Errorf("%s = %+v, want unknown: %s", k, v, tc.unknown)
				}
			}
			if got := reasons(res); !slices.Equal(got, tc.reasons) {
				t.Errorf("error reasons %v, want %v", got, tc.reasons)
			}
		})
	}
}

func TestMatchingAlertingRules(t *testing.T) {
	var res struct {
		Data v1.RulesResult `json:"data"`
	}
	if err := json.Unmarshal([]byte(rulesBody), &res); err != nil {
		t.Fatal(err)
	}
	for sel, want := range map[string]int{
		`ALERTS{alertstate="firing",severity=~"critical|page"}`: 1, // CheckoutDown
		`ALERTS{alertstate="firing"}`:                           2, // the Watchdog's rule never counts
		`ALERTS{severity=""}`:                                   1, // DiskFilling sets none
		`ALERTS{alertname="DiskFilling",severity!="critical"}`:  1,
		`ALERTS{alertstate="pending",alertname=~"Check.*"}`:     1,
		`ALERTS{alertstate="inactive"}`:                         0,
		`up{job="x"}`:                                           0,
		`sum by (alertname) (ALERTS)`:                           2, // not a plain selector: every rule could
		`{__name__="ALERTS", severity='critical'}`:              1, // read by the parser, whichever way written
		`ALERTS{alertname=~"check.*"}`:                          0, // regular expressions are anchored and case-sensitive
		`ALERTS{severity="critical"} offset 1d`:                 2, // not a plain selector
	} {
		if got := matchingAlertingRules(res.Data, sel); got != want {
			t.Errorf("%s matches %d rules, want %d", sel, got, want)
		}
	}
}

func TestDeclaredWindowAndGrouping(t *testing.T) {
	// A query over a recording rule shows no range; its declared window is
	// what the probe checks.
	stub := probeStub(t, map[string]string{"sum(slo:": vectorOne}, nil)
	res := testPrometheus(t, stub.URL, nil).Collect(context.Background(), source.Request{Signals: []source.SignalRequest{
		promSpec("s", &triggers.PrometheusSignal{Query: "sum(slo:errors:ratio_rate30d)", Window: triggers.Duration(30 * 24 * time.Hour)})}})
	if v := res.Values["s"]; v.Known || !strings.Contains(v.Reason, "slo:errors:ratio_rate30d has no sample from before 30d ago") {
		t.Errorf("declared window: %+v", v)
	}

	// Five pods of one outage: one incident by default, five when the rule
	// groups by pod as well.
	step := 5 * time.Minute
	start, end := historyGrid(fixedNow, 24*time.Hour, step)
	points := int(end.Sub(start)/step) + 1
	var m model.Matrix
	for i := range 5 {
		pattern := []byte(strings.Repeat(".", points))
		for j := 100 + i; j < 110+i; j++ {
			pattern[j] = '#'
		}
		m = append(m, labelled(start, step, string(pattern), "alertname", "KubePodNotReady", "namespace", "shop", "pod", fmt.Sprint("p", i)))
	}
	body, err := jsonMatrixLabelled(m)
	if err != nil {
		t.Fatal(err)
	}
	stub = probeStub(t, map[string]string{"count_over_time(up[": vectorOne}, nil, stubAnswer{status: 200, body: body})
	sel := `ALERTS{alertstate="firing"}`
	byPod := alertHistorySignals(sel, 24*time.Hour, "incidents")[0]
	byPod.Key = "by_pod"
	byPod.Spec.Prometheus.AlertHistory.GroupBy = []string{"alertname", "namespace", "pod"}
	res = testPrometheus(t, stub.URL, nil).Collect(context.Background(), source.Request{Signals: append(alertHistorySignals(sel, 24*time.Hour, "incidents"), byPod)})
	if v := res.Values["incidents"]; !v.Known || v.Number != 1 {
		t.Errorf("incidents = %+v, want 1", v)
	}
	if v := res.Values["by_pod"]; !v.Known || v.Number != 5 {
		t.Errorf("incidents by pod = %+v, want 5", v)
	}
	if n := stub.count("/api/v1/query_range"); n != 1 {
		t.Errorf("%d range queries, want 1", n)
	}
}

// jsonMatrixLabelled writes a matrix as the query_range API answers it.
func jsonMatrixLabelled(m model.Matrix) (string, error) {
	type stream struct {
		Metric model.Metric       `json:"metric"`
		Values []model.SamplePair `json:"values"`
	}
	var out struct {
		Status string `json:"status"`
		Data   struct {
			ResultType string   `json:"resultType"`
			Result     []stream `json:"result"`
		} `json:"data"`
	}
	out.Status, out.Data.ResultType = "success", "matrix"
	for _, s := range m {
		out.Data.Result = append(out.Data.Result, stream{s.Metric, s.Values})
	}
	b, err := json.Marshal(out)
	return string(b), err
}

// A window the data does not cover is a finding, kept for the slow cadence
// like the answer; a window check that failed is asked again next time.
func TestFailedWindowCheckIsNotKept(t *testing.T) {
	t.Parallel()
	q := `sum(sum_over_time(x[30d]))`
	for _, tc := range []struct {
		name   string
		probe  string
		sends  int
		reason string
	}{
		{name: "not covered", probe: vectorEmpty, sends: 1, reason: "x has no sample from before 30d ago"},
		{name: "check failed", probe: internalError, sends: 2, reason: "could not check"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			stub := probeStub(t, map[string]string{"sum(sum_over_time": vectorOne, "count(count_over_time": tc.probe}, nil)
			src := slowPrometheus(t, stub.URL, time.Hour)
			req := source.Request{Signals: []source.SignalRequest{promQuery("s", q, "")}}
			var v triggers.Value
			for range 2 {
				v = src.Collect(context.Background(), req).Values["s"]
			}
			if n := stub.queryCounts()[q]; n != tc.sends {
				t.Errorf("query sent %d times in two evaluations, want %d", n, tc.sends)
			}
			if v.Known || !strings.Contains(v.Reason, tc.reason) {
				t.Errorf("value %+v, want unknown: %s", v, tc.reason)
			}
		})
	}
}
