//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/dynamic"

	"github.com/capability-exporter/capability_exporter/collector"
	"github.com/capability-exporter/capability_exporter/report"
	"github.com/capability-exporter/capability_exporter/triggers"
)

// Priority 1 measured: the webshop on a real kube-apiserver, a real (empty)
// Prometheus and the Loki double holding the shop's logs, with the default
// rules and no fact declared. priority1_stable is derived from its parts,
// each shown with its value: false while a node is NotReady, a rollout is
// stuck and an Argo CD Application is Degraded, true once they recover. The
// audit log reaches back 30 days, not a year: security auditing's year of
// retention reads unknown, saying why.
func TestPriority1DerivedFromTheWebshop(t *testing.T) {
	c := startKubeCluster(t)
	kubeCreateWebshop(t, c)
	prom := startPrometheus(t, t.TempDir())
	lines, _ := webshopLogs(time.Now())
	loki := newLokiDouble(t, "webshop", lines)
	dir := t.TempDir()
	file := writeFile(t, dir, "config.yml", fmt.Sprintf(`sources:
  prometheus: {url: %s}
  loki: {url: %s, tenant_id: webshop}
  kubernetes: {kubeconfig: %s, context: webshop}
`, prom.URL, loki.URL, c.WriteKubeconfig(t, c.Admin, "webshop")))
	st, sched := evaluateConfig(t, file)

	parts := func(st *collector.State) (triggers.SignalResult, map[string]triggers.ConditionResult) {
		t.Helper()
		for _, s := range st.Evaluation.Signals {
			if s.Name == "priority1_stable" {
				byExpr := map[string]triggers.ConditionResult{}
				for _, c := range s.Derivation {
					byExpr[c.Expr] = c
				}
				return s, byExpr
			}
		}
		t.Fatal("no signal priority1_stable")
		return triggers.SignalResult{}, nil
	}
	sig, byExpr := parts(st)
	if v := sig.Value; !v.Known || v.Number != 0 || v.Source != "derived" {
		t.Errorf("priority1_stable = %+v, want derived false", v)
	}
	for expr, want := range map[string]triggers.Truth{
		"nodes_not_ready > 0": triggers.True, "deployments_stuck > 0": triggers.True, "deployments_unavailable > 0": triggers.True,
		"gitops_apps_failing > 0": triggers.True, "prometheus_reachable == true": triggers.True, "loki_reachable == true": triggers.True,
		"networkpolicies >= 0": triggers.True, "nodes_not_ready == 0": triggers.False,
	} {
		if got, ok := byExpr[expr]; !ok || got.Truth != want {
			t.Errorf("part %s = %+v, want %v", expr, got, want)
		}
	}
	if n := len(sig.Derivation); n != 11 {
		t.Errorf("%d parts shown, want the 7 of true_if and 4 of false_if", n)
	}

	// The parts reach the JSON as they reach assess and the page.
	r := report.Build(st, report.Options{})
	for _, s := range r.Signals {
		if s.Name == "priority1_stable" && len(s.DerivedFrom) != 11 {
			t.Errorf("JSON priority1_stable derived_from has %d parts, want 11", len(s.DerivedFrom))
		}
	}
	for _, f := range st.Evaluation.Foundations {
		if f.ID == "gitops" && f.Present != triggers.True {
			t.Errorf("gitops foundation %v, want present: the Argo CD Applications exist", f.Present)
		}
	}
	if v := signalOf(t, st, "node_regions"); !v.Known || v.Number != 2 {
		t.Errorf("node_regions = %+v, want 2 (eu-west-1, us-east-1)", v)
	}
	if v := signalOf(t, st, "audit_log_events_year_ago"); v.Known || !strings.Contains(v.Reason, "Loki holds no logs at all from 1y ago") {
		t.Errorf("audit_log_events_year_ago = %+v, want unknown: nothing reaches back a year", v)
	}
	if v := signalOf(t, st, "audit_log_events"); !v.Known || v.Number == 0 {
		t.Errorf("audit_log_events = %+v, want the shop's audit lines of the last day", v)
	}

	// Once the node is Ready again, the rollout through and the application
	// Healthy, every part holds.
	kubeSetNodeReady(t, c.Client, "node-c1", corev1.ConditionTrue)
	kubeSetDeploymentHealth(t, c.Client, "shop-search", "indexer", true)
	kubeSetArgoAppStatus(t, dynamic.NewForConfigOrDie(c.Admin), "payments", "Synced", "Healthy")
	deadline := time.Now().Add(20 * time.Second)
	for {
		sig, _ = parts(sched.Evaluate(context.Background()))
		if sig.Value.Known && sig.Value.Number == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("priority1_stable = %+v 20s after the cluster recovered, want derived true", sig.Value)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
