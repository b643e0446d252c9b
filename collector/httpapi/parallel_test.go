package httpapi

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/capability-exporter/capability_exporter/collector/source"
	"github.com/capability-exporter/capability_exporter/config"
	"github.com/capability-exporter/capability_exporter/triggers"
)

// TestRequestsOfOneEvaluationLeaveTogether: the independent requests of
// one Collect (its queries, an alert history, the rules API, the
// reachability probe) are all in flight at once, up to max_concurrency,
// against a store that answers none of them before the bound is reached. A
// probe that checks an answer (the alert history's retention) leaves after
// that answer.
func TestRequestsOfOneEvaluationLeaveTogether(t *testing.T) {
	t.Parallel()
	signals := []source.SignalRequest{
		promQuery("a", "vector(1)", ""),
		promQuery("b", "vector(2)", ""),
		promSpec("mttr", &triggers.PrometheusSignal{AlertHistory: &triggers.AlertHistory{Selector: "ALERTS",
			Window: triggers.Duration(24 * time.Hour), Measure: "incidents"}}),
		promSpec("rules", &triggers.PrometheusSignal{Rules: "alerting_rules"}),
		promSpec("up", &triggers.PrometheusSignal{Reachable: true}),
	}
	const independent = 5 // two queries, the range query, the rules API, build info
	for _, bound := range []int{independent, 3, 8} {
		t.Run(fmt.Sprint("max_concurrency ", bound), func(t *testing.T) {
			t.Parallel()
			stub := newAPIStub(t, map[string][]stubAnswer{
				"/api/v1/query":            {{status: 200, body: vectorOne}},
				"/api/v1/query_range":      {{status: 200, body: matrixResult}},
				"/api/v1/rules":            {{status: 200, body: rulesBody}},
				"/api/v1/status/buildinfo": {{status: 200, body: `{"status":"success","data":{"version":"2.42.0"}}`}},
			})
			// The store holds every answer until as many requests as can be
			// in flight together have arrived: each one waits for all the
			// others, as against a store whose every answer takes longer
			// than sending them all.
			want := min(bound, independent)
			var mu sync.Mutex
			arrived, all := 0, make(chan struct{})
			stub.handle = func(http.ResponseWriter, *http.Request) bool {
				mu.Lock()
				if arrived++; arrived == want {
					close(all)
				}
				mu.Unlock()
				select {
				case <-all:
				case <-time.After(10 * time.Second): // fails below: they did not leave together
				}
				return false
			}
			src := testPrometheus(t, stub.URL, func(c *config.HTTPSource) {
				c.MaxConcurrency = bound
				c.Timeout = config.Duration(time.Minute)
			})
			res := src.Collect(context.Background(), source.Request{Signals: signals})
			if m := int(stub.maxIn.Load()); m != want {
				t.Errorf("at most %d requests in flight at once, want %d", m, want)
			}
			for _, sr := range signals {
				if v := res.Values[sr.Key]; !v.Known {
					t.Errorf("%s unknown: %s", sr.Key, v.Reason)
				}
			}
			stub.mu.Lock()
			defer stub.mu.Unlock()
			if n := len(stub.requests); n != independent+1 {
				t.Errorf("%d requests, want %d and the retention probe of the alert history", n, independent)
			}
			// With a slot for each, every answer waits for all to leave, so
			// the probe is necessarily the last.
			if last := stub.requests[len(stub.requests)-1]; bound >= independent && last.Form.Get("query") != "count(count_over_time(up[3600s] offset 86400s))" {
				t.Errorf("last request %s %q, want the retention probe, after the answer it checks", last.URL.Path, last.Form.Get("query"))
			}
		})
	}
}

// TestProbesOfOneQueryLeaveTogether: the probes that check each selector of
// a windowed answer reaches back over its window do not wait for each
// other: none depends on another's answer.
func TestProbesOfOneQueryLeaveTogether(t *testing.T) {
	t.Parallel()
	stub := newAPIStub(t, map[string][]stubAnswer{"/api/v1/query": {{status: 200, body: vectorOne}}})
	var mu sync.Mutex
	var probes []string
	both := make(chan struct{})
	stub.handle = func(_ http.ResponseWriter, r *http.Request) bool {
		q := r.Form.Get("query")
		if !strings.HasPrefix(q, "count(count_over_time(") {
			return false
		}
		mu.Lock()
		if probes = append(probes, q); len(probes) == 2 {
			close(both)
		}
		mu.Unlock()
		select {
		case <-both:
		case <-time.After(10 * time.Second): // fails below: the second waited for the first
		}
		return false
	}
	src := testPrometheus(t, stub.URL, func(c *config.HTTPSource) { c.Timeout = config.Duration(time.Minute) })
	res := src.Collect(context.Background(), source.Request{Signals: []source.SignalRequest{
		promQuery("growth", "sum(rate(a_total[1d])) / sum(rate(b_total[1d] offset 30d))", ""),
	}})
	if v := res.Values["growth"]; !v.Known {
		t.Errorf("growth unknown: %s", v.Reason)
	}
	mu.Lock()
	defer mu.Unlock()
	slices.Sort(probes)
	want := []string{"count(count_over_time(a_total[3600s] offset 86400s))", "count(count_over_time(b_total[3600s] offset 2678400s))"}
	if !slices.Equal(probes, want) {
		t.Errorf("probes %q, want %q", probes, want)
	}
	if m := stub.maxIn.Load(); m != 2 {
		t.Errorf("at most %d requests in flight at once, want the 2 probes together", m)
	}
}
