package collector

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/capability-exporter/capability_exporter/collector/source"
	"github.com/capability-exporter/capability_exporter/config"
	"github.com/capability-exporter/capability_exporter/triggers"
)

// fixedAnswers is a server that answers each path with its JSON body.
func fixedAnswers(t *testing.T, bodies map[string]string) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, ok := bodies[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, body)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// TestSourcesThroughTheScheduler runs the registered prometheus and loki
// sources the way the binary does: a config file naming the servers, the
// scheduler evaluating. When Prometheus goes away exactly its signals turn
// unknown and its up status 0; Loki's and the facts' stay known.
func TestSourcesThroughTheScheduler(t *testing.T) {
	prom := fixedAnswers(t, map[string]string{
		"/api/v1/query":       `{"status":"success","data":{"resultType":"scalar","result":[1773151651,"42"]}}`,
		"/api/v1/query_range": `{"status":"success","data":{"resultType":"matrix","result":[]}}`,
	})
	loki := fixedAnswers(t, map[string]string{"/loki/api/v1/query": `{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1773151651.000,"7"]}],"stats":{}}}`})
	dir := t.TempDir()
	rules := filepath.Join(dir, "rules.yml")
	if err := os.WriteFile(rules, []byte(`
signals:
  cost_growth:
    help: Month over month growth of CPU requests.
    type: ratio
    prometheus: {query: 'sum(kube_pod_container_resource_requests{resource="cpu"})'}
  incidents:
    help: Critical incidents resolved in 30 days.
    prometheus: {alert_history: {selector: 'ALERTS{severity="critical"}', window: 30d, measure: incidents}}
  developers:
    help: Humans in the audit log over 30 days.
    loki: {query: 'count(sum by (user) (count_over_time({job="audit"}[30d])))'}
  compliance_required:
    help: A compliance regime applies.
    type: bool
    fact: compliance_required
capabilities:
  cost_visibility:
    title: Cost Visibility
    complexity: low
    trigger: cost_growth > 20%
  policy_enforcement:
    title: Policy Enforcement
    complexity: medium
    trigger: {any: [compliance_required == true, developers > 10]}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Parse(filepath.Join(dir, "config.yml"), []byte(fmt.Sprintf(`
rules_file: rules.yml
sources:
  prometheus: {url: %s, timeout: 1s}
  loki: {url: %s, timeout: 1s}
facts: {compliance_required: false}
`, prom.URL, loki.URL)))
	if err != nil {
		t.Fatal(err)
	}
	sched := NewScheduler(cfg, 5*time.Second, slog.New(slog.DiscardHandler))
	defer sched.Close()
	st := sched.Evaluate(context.Background())
	for name, want := range map[string]float64{"cost_growth": 42, "incidents": 0, "developers": 7, "compliance_required": 0} {
		if v := signal(t, st, name); !v.Known || v.Number != want {
			t.Errorf("%s = %+v, want %v", name, v, want)
		}
	}
	if !statusOf(st, "prometheus").Up || !statusOf(st, "loki").Up {
		t.Errorf("sources %+v", st.Sources)
	}

	prom.Close()
	st = sched.Evaluate(context.Background())
	for _, name := range []string{"cost_growth", "incidents"} {
		if v := signal(t, st, name); v.Known || !strings.Contains(v.Reason, "unreachable") || v.Source != "prometheus" {
			t.Errorf("%s = %+v, want unknown from prometheus, unreachable", name, v)
		}
	}
	for _, name := range []string{"developers", "compliance_required"} {
		if v := signal(t, st, name); !v.Known {
			t.Errorf("%s turned unknown with prometheus: %s", name, v.Reason)
		}
	}
	if statusOf(st, "prometheus").Up || !statusOf(st, "loki").Up {
		t.Errorf("sources %+v", st.Sources)
	}
	if n := st.ErrorTotals[ErrorKey{"prometheus", source.ReasonUnreachable}]; n < 1 {
		t.Errorf("unreachable errors counted %v", n)
	}
	if d := st.Evaluation.Decision("cost_visibility"); d.State != triggers.StateUnknown {
		t.Errorf("cost_visibility = %s, want unknown without its signal", d.State)
	}
}
