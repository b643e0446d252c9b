package httpapi

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/capability-exporter/capability_exporter/collector/source"
	"github.com/capability-exporter/capability_exporter/triggers"
)

const year = 365 * 24 * time.Hour

// A query a year back is sent at time now-365d over its own short range;
// an empty answer is 0 only where Loki holds logs from then at all.
func TestLokiQueryAgo(t *testing.T) {
	q := `sum(count_over_time({job="kubernetes-audit"}[1h]))`
	ok := func(body string) stubAnswer { return stubAnswer{status: 200, body: body} }
	for _, tc := range []struct {
		name      string
		query     stubAnswer
		labels    *stubAnswer // nil: the labels endpoint must not be asked
		want      float64
		unknown   string
		labelsAsk bool
	}{
		{name: "the stream reaches back", query: ok(lokiVector), want: 7},
		{name: "logs from then, but not this stream", query: ok(lokiEmpty),
			labels: &stubAnswer{status: 200, body: `{"status":"success","data":["job","namespace"]}`}, want: 0},
		{name: "no log at all from then", query: ok(lokiEmpty),
			labels: &stubAnswer{status: 200, body: `{"status":"success"}`}, unknown: "Loki holds no logs at all from 1y ago"},
		{name: "labels fail", query: ok(lokiEmpty),
			labels: &stubAnswer{status: 500, body: "rpc error"}, unknown: "rpc error"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			answers := map[string][]stubAnswer{"/loki/api/v1/query": {tc.query}}
			if tc.labels != nil {
				answers["/loki/api/v1/labels"] = []stubAnswer{*tc.labels}
			}
			stub := newAPIStub(t, answers)
			sr := lokiQuery("retained", q, triggers.EmptyZero)
			sr.Spec.Loki.Ago = triggers.Duration(year)
			res := testLoki(t, stub.URL, nil).Collect(context.Background(), source.Request{Signals: []source.SignalRequest{sr}})
			v := res.Values["retained"]
			switch {
			case tc.unknown != "" && (v.Known || !strings.Contains(v.Reason, tc.unknown)):
				t.Errorf("retained = %+v, want unknown: %s", v, tc.unknown)
			case tc.unknown == "" && (!v.Known || v.Number != tc.want):
				t.Errorf("retained = %+v, want %v", v, tc.want)
			}
			at := fixedNow.Add(-year)
			for _, r := range stub.requests {
				switch r.URL.Path {
				case "/loki/api/v1/query":
					if r.Form.Get("query") != q || r.Form.Get("time") != fmt.Sprint(at.UnixNano()) {
						t.Errorf("query %s, want %s at %d", r.URL.RawQuery, q, at.UnixNano())
					}
				case "/loki/api/v1/labels":
					if r.Form.Get("start") != fmt.Sprint(at.Add(-time.Hour).UnixNano()) || r.Form.Get("end") != fmt.Sprint(at.UnixNano()) {
						t.Errorf("labels %s, want the query's hour ending a year ago", r.URL.RawQuery)
					}
				}
			}
			if n := stub.count("/loki/api/v1/labels"); (tc.labels != nil) != (n == 1) {
				t.Errorf("labels asked %d times", n)
			}
		})
	}
}
