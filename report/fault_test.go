package report

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/capability-exporter/capability_exporter/collector"
	"github.com/capability-exporter/capability_exporter/collector/source"
)

// A source's fault reads in words, once: the URL decoded, no query text,
// and how to fix it.
func TestSourceFault(t *testing.T) {
	for _, tc := range []struct {
		name, err, want, fix string
	}{
		{"kubernetes", "start: sources.kubernetes: no kubeconfig set and not running in a cluster: unable to load in-cluster configuration, KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT must be defined",
			"no kubeconfig is set and the exporter is not running in a cluster", "set sources.kubernetes.kubeconfig"},
		{"loki", `unreachable: LogQL query "sum(count_over_time({job=\"kubernetes-audit\"}[1d]))": Get "http://loki-gateway.logging.svc/loki/api/v1/query?query=sum%28count_over_time%28%7Bjob%3D%22kubernetes-audit%22%7D%5B1d%5D%29%29&time=1": dial tcp: lookup loki-gateway.logging.svc on 10.255.255.53:53: no such host`,
			"cannot resolve loki-gateway.logging.svc (DNS: no such host)", "check sources.loki.url"},
		{"prometheus", `unreachable: query "up": Post "http://127.0.0.1:9/api/v1/query": dial tcp 127.0.0.1:9: connect: connection refused`,
			"connection refused at http://127.0.0.1:9", "listens at sources.prometheus.url"},
		{"prometheus", `unreachable: query "up": Post "https://p.example/api/v1/query": tls: failed to verify certificate: x509: certificate signed by unknown authority`,
			"TLS handshake failed at https://p.example", "tls_config"},
		{"loki", `unreachable: Post "http://loki.example:3100/loki/api/v1/query": 401 Unauthorized for tenant <secret>`,
			"the server answered 401 Unauthorized at http://loki.example:3100", "credentials"},
	} {
		what, fix := sourceFault(tc.name, []string{tc.err})
		if !strings.HasPrefix(what, tc.want) || !strings.Contains(fix, tc.fix) {
			t.Errorf("%s: %q, fix %q; want %q, fix with %q", tc.name, what, fix, tc.want, tc.fix)
		}
		if strings.Contains(what, "query=") || strings.Contains(what, "%28") || strings.Contains(what, "count_over_time") {
			t.Errorf("%s: %q quotes the query", tc.name, what)
		}
	}
	// An unknown fault is cut, its query left out, its URL decoded.
	what, _ := sourceFault("prometheus", []string{`bad_data: query "` + strings.Repeat("x", 400) + `": Post "http://p.example/api/v1/query?a=%28": something odd`})
	if len(what) > source.MaxFaultLen+3 || strings.Contains(what, "xxx") || strings.Contains(what, "%28") {
		t.Errorf("unknown fault %q: want it short, without the query", what)
	}
}

// On the page, a down source's fault is said once; what it could not give
// reads "<source> is down", linked to it.
func TestPageSaysEachFaultOnce(t *testing.T) {
	st := fixtureState(t)
	h := Handlers{Current: func() *collector.State { return st }, MetricsPath: "/metrics", Version: "test",
		Now: func() time.Time { return generatedAt }}
	rec := httptest.NewRecorder()
	h.Page().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	page := rec.Body.String()
	if n := strings.Count(page, "401 Unauthorized"); n != 1 {
		t.Errorf("the page says the Loki fault %d times, want once", n)
	}
	if !strings.Contains(page, `id="source-loki"`) {
		t.Error("the page has no line for the down Loki source to link to")
	}
	first := strings.Index(page, `id="source-loki"`)
	if q := strings.Index(page, `class="facts"`); q >= 0 && q < first {
		t.Error("a question comes before the down source")
	}
}
