//go:build e2e

package e2e

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/capability-exporter/capability_exporter/config"
	"github.com/capability-exporter/capability_exporter/triggers"
)

// Fleet scope: one store holding two clusters' histories (every series
// labelled cluster="a" or cluster="b"), and the exporter scoped to one
// cluster by sources.prometheus.matchers. It must see that cluster's
// incidents, alerts and rules and none of the other's.

// clusterAlert is one alert of one cluster and the starts of its firing
// runs, each run lasting d.
type clusterAlert struct {
	cluster, name, severity string
	d                       time.Duration
	startsAgo               []time.Duration
}

var twoClusterAlerts = []clusterAlert{
	{"a", "NodeDown", "critical", 30 * time.Minute, []time.Duration{10 * shopDay, 3 * shopDay}},
	{"a", "DiskFilling", "warning", time.Hour, []time.Duration{5 * shopDay}},
	{"b", "CheckoutErrors", "critical", 3 * time.Hour, []time.Duration{20 * shopDay, 15 * shopDay, 9 * shopDay, 4 * shopDay, 2 * shopDay}},
}

// twoClusterRules are alerting rules that never fire, labelled with their
// cluster as a shared store's ruler labels them; one of b's has no severity.
const twoClusterRules = `groups:
- name: cluster-a
  rules:
  - alert: NodeDown
    expr: vector(1) > 2
    labels: {cluster: a, severity: critical}
  - alert: DiskFilling
    expr: vector(1) > 2
    labels: {cluster: a, severity: warning}
- name: cluster-b
  rules:
  - alert: CheckoutErrors
    expr: vector(1) > 2
    labels: {cluster: b, severity: critical}
  - alert: Unrouted
    expr: vector(1) > 2
    labels: {cluster: b}
`

// writeTwoClusters writes 32 days of up for both clusters and their
// alerts' firing runs as OpenMetrics.
func writeTwoClusters(t *testing.T, path string, end time.Time) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	b := bufio.NewWriter(f)
	b.WriteString("# TYPE up gauge\n")
	for _, c := range []string{"a", "b"} {
		for at := end.Add(-32 * shopDay); !at.After(end); at = at.Add(scrapeEvery) {
			fmt.Fprintf(b, "up{job=\"node\",instance=\"n1\",cluster=%q} 1 %d\n", c, at.Unix())
		}
	}
	b.WriteString("# TYPE ALERTS gauge\n")
	for _, a := range twoClusterAlerts {
		series := labelString(map[string]string{"alertname": a.name, "alertstate": "firing", "severity": a.severity, "cluster": a.cluster})
		for _, ago := range a.startsAgo { // oldest first: promtool drops samples out of time order
			start := end.Add(-ago)
			for at := start; at.Before(start.Add(a.d)); at = at.Add(alertEvalEvery) {
				fmt.Fprintf(b, "ALERTS%s 1 %d\n", series, at.Unix())
			}
		}
	}
	b.WriteString("# EOF\n")
	if err := b.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestPrometheusScopedToOneCluster(t *testing.T) {
	promtool := requireBinary(t, "promtool", "PROMTOOL", "prometheus")
	end := time.Now().Truncate(time.Minute)
	input := filepath.Join(t.TempDir(), "two-clusters.om")
	writeTwoClusters(t, input, end)
	dataDir := t.TempDir()
	if out, err := exec.Command(promtool, "tsdb", "create-blocks-from", "openmetrics", "--max-block-duration=960h", "--quiet", input, dataDir).CombinedOutput(); err != nil {
		t.Fatalf("promtool tsdb create-blocks-from openmetrics: %v\n%s", err, out)
	}
	p := startPrometheus(t, dataDir, writeFile(t, t.TempDir(), "rules.yml", twoClusterRules))
	p.waitRules(t, 4)

	evaluate := func(matchers string) string {
		cfg := fmt.Sprintf("sources:\n  prometheus:\n    url: %s\n    timeout: 20s\n", p.URL)
		if matchers != "" {
			cfg += "    matchers: [" + matchers + "]\n"
		}
		return writeFile(t, t.TempDir(), "config.yml", cfg)
	}
	mins := func(n float64) float64 { return n * 60 }
	for _, tc := range []struct {
		scope                     string
		incidents, median         float64
		perDay, share, noSeverity float64
	}{
		{`'cluster="a"'`, 2, mins(30), 1.0 / 7, 0.5, 0},
		{`'cluster="b"'`, 5, mins(180), 2.0 / 7, 1, 1},
	} {
		t.Run(tc.scope, func(t *testing.T) {
			st, _ := evaluateConfig(t, evaluate(tc.scope))
			expectNear(t, st, "critical_incidents", tc.incidents, 0, "this cluster's incidents only")
			expectNear(t, st, "incident_mttr_seconds", tc.median, historyTolSecs, "this cluster's incidents only")
			expectNear(t, st, "critical_alerts_per_day", tc.perDay, 1e-9, "this cluster's alerts over 7 days")
			expectNear(t, st, "paging_alert_share", tc.share, 1e-9, "this cluster's alert names")
			expectNear(t, st, "alerting_rules_without_severity", tc.noSeverity, 0, "this cluster's rules only")
			// Every query of the default rules, as the parser prints it with
			// the matchers added, is one this Prometheus accepts.
			for _, sig := range st.Evaluation.Signals {
				if r := sig.Value.Reason; strings.Contains(r, "bad_query") || strings.Contains(r, "unscoped") {
					t.Errorf("%s: %s", sig.Name, r)
				}
			}
		})
	}
	t.Run("a cluster the store does not hold", func(t *testing.T) {
		st, _ := evaluateConfig(t, evaluate(`'cluster="c"'`))
		for _, name := range []string{"critical_incidents", "incident_mttr_seconds", "paging_alert_share"} {
			if v := signalOf(t, st, name); v.Known {
				t.Errorf("%s = %v for a cluster with no data, want unknown", name, v.Number)
			} else {
				t.Logf("%-32s unknown: %s", name, v.Reason)
			}
		}
	})
	t.Run("unscoped, the store sums both", func(t *testing.T) {
		st, _ := evaluateConfig(t, evaluate(""))
		expectNear(t, st, "critical_incidents", 7, 0, "both clusters")
		expectNear(t, st, "paging_alert_share", 2.0/3, 1e-9, "both clusters' alert names")
	})
}

// TestLokiScopedToOneCluster: the default rules' audit log query, scoped to
// one cluster, counts that cluster's people only, and extracts only the
// fields it reads.
func TestLokiScopedToOneCluster(t *testing.T) {
	end := time.Now().Truncate(time.Second)
	var lines []logLine
	people := map[string][]string{"a": {"alice", "bob", "system:serviceaccount:ci:deployer"}, "b": {"carol", "dave", "erin"}}
	for cluster, users := range people {
		for i, u := range users {
			for _, verb := range []string{"get", "create", "patch"} {
				lines = append(lines, logLine{
					stream: map[string]string{"job": "kubernetes-audit", "cluster": cluster},
					t:      end.Add(-time.Duration(i+1) * shopDay),
					line:   fmt.Sprintf(`{"auditID":"%s-%d-%s","verb":%q,"user":{"username":%q},"objectRef":{"resource":"deployments"}}`, cluster, i, verb, verb, u),
				})
			}
		}
	}
	d := newLokiDouble(t, "", lines)
	cfg := fmt.Sprintf("sources:\n  loki:\n    url: %s\n    matchers: ['cluster=\"a\"']\n", d.URL)
	st, _ := evaluateConfig(t, writeFile(t, t.TempDir(), "config.yml", cfg))
	expectNear(t, st, "developers", 2, 0, "cluster a's people who changed objects, machines left out")

	// The query sent names the fields it extracts and carries the scope.
	rules, err := triggers.Default()
	if err != nil {
		t.Fatal(err)
	}
	var q string
	for _, alt := range rules.Signal("developers").Source.Alternatives() {
		if alt.Loki != nil {
			q = alt.Loki.Query
		}
	}
	sel := config.DefaultSelectors("loki")
	q = strings.ReplaceAll(q, "${audit_stream}", strings.TrimSuffix(sel["audit_stream"], "}")+`, cluster="a"}`)
	q = strings.ReplaceAll(q, "${machine_users}", sel["machine_users"])
	if n := d.count(q); n != 1 {
		t.Errorf("developers query sent %d times, want once as %s", n, q)
	}
	if !strings.Contains(q, `| json user="user.username", verb="verb"`) {
		t.Errorf("the developers query extracts every field: %s", q)
	}
}
