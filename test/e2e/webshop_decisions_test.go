//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/capability-exporter/capability_exporter/triggers"
)

// The framework's webshop measured, not declared: a real kube-apiserver
// holding 8 microservices of three teams with default-deny policies in every
// app namespace, a real Prometheus holding 35 days of the shop's history and
// the Loki double holding its audit log. The config declares only what no
// system can measure and has no overrides. The decisions must be the
// framework's own answers for the webshop: tracing, cost visibility and
// policy enforcement now; service mesh, multi-region and chaos engineering
// not now.
func TestWebshopDecisionsWithoutOverrides(t *testing.T) {
	env := newWebshopEnv(t)
	c := startKubeCluster(t)
	kubeCreateMeasuredWebshop(t, c)
	kubeconfig := c.WriteKubeconfig(t, c.Admin, "webshop")

	cfg := fmt.Sprintf(`sources:
  prometheus: {url: %s, timeout: 20s}
  loki: {url: %s, tenant_id: webshop, timeout: 10s}
  kubernetes: {kubeconfig: %s, context: webshop}
facts:
  compliance_required: true
  security_team: true
  production_environment: true
  priority1_stable: true
  platform_team_capacity: true
  team_kubernetes_experience: true
  mtls_required: false
  cross_service_debugging_per_week: 3h
  trace_storage_budget: true
  ha_tested: false
  fixed_costs: false
  user_regions: 1
  dr_rto_hours: 24
  data_residency_required: true
  database_multi_region_ready: false
`, env.prom.URL, env.loki.URL, kubeconfig)
	file := writeFile(t, env.dir, "webshop-measured.yml", cfg)
	st, _ := evaluateConfig(t, file)
	if len(st.Config.OverrideValues) > 0 {
		t.Fatal("the config overrides measures")
	}
	for _, name := range []string{"microservices", "developers", "tenants", "default_deny_namespace_ratio",
		"network_policies_sufficient", "cost_growth_ratio", "debugging_per_incident"} {
		v := signalOf(t, st, name)
		t.Logf("%-30s known=%v %v (%s) lower_bound=%v %s", name, v.Known, v.Number, v.Source, v.LowerBound, v.Reason)
	}

	want := map[string][]triggers.State{
		"distributed_tracing": {triggers.StateNow},
		"cost_visibility":     {triggers.StateNow},
		"policy_enforcement":  {triggers.StateNow},
		"service_mesh":        {triggers.StateSkip, triggers.StateLater},
		"multi_region":        {triggers.StateSkip, triggers.StateLater},
		"chaos_engineering":   {triggers.StateSkip, triggers.StateLater},
	}
	for id, states := range want {
		d := st.Evaluation.Decision(id)
		if d == nil {
			t.Fatalf("no decision for %s", id)
		}
		ok := false
		for _, s := range states {
			ok = ok || d.State == s
		}
		if !ok {
			t.Errorf("%s = %s by %s (blocked by %q), want one of %v", id, d.State, d.DecidedBy, d.BlockedBy, states)
		} else {
			t.Logf("%-20s %s by %s", id, d.State, d.DecidedBy)
		}
	}
	// Presumed from the measures, not asked: network policies suffice
	// because every app namespace denies by default and mTLS is not
	// required, and with fewer than 10 services that is the framework's
	// webshop line. A presumption makes the answer probable, never settled.
	mesh := st.Evaluation.Decision("service_mesh")
	presumed := map[string]float64{}
	for _, p := range mesh.Presumed {
		presumed[p.Signal] = p.Value
	}
	if v, ok := presumed["network_policies_sufficient"]; !ok || v != 1 || !mesh.Probable || mesh.Need != triggers.NeedProbablyNot {
		t.Errorf("service mesh need %s probable %v presumed %v, want probably not, network policies presumed sufficient",
			mesh.Need, mesh.Probable, presumed)
	}
	// The audit log sees the people who changed the cluster; it proves at
	// least that many, never fewer.
	if v := signalOf(t, st, "developers"); !v.Known || !v.LowerBound {
		t.Errorf("developers = %+v, want a lower bound from the audit log", v)
	}
	// Policy enforcement builds on Pod Security Standards, which no app
	// namespace enforces: shown, not a gate.
	pe := st.Evaluation.Decision("policy_enforcement")
	found := false
	for _, f := range pe.Requires {
		found = found || (f.ID == "pod_security_standards" && f.Present == triggers.False)
	}
	if !found {
		t.Errorf("policy enforcement requires %+v, want Pod Security Standards missing", pe.Requires)
	}
}

// kubeCreateMeasuredWebshop creates the webshop the framework describes:
// eight services of three teams in four app namespaces, each with a
// default-deny ingress policy and none with a Pod Security label (and the
// empty default namespace every cluster has), three
// nodes in one region, some workloads replicated but few with disruption
// budgets (HA claimed, not built), and the Priority 1 tools it runs.
func kubeCreateMeasuredWebshop(t *testing.T, c *kubeCluster) {
	t.Helper()
	ctx := context.Background()
	k := c.Client
	must := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("create %s: %v", what, err)
		}
	}
	services := map[string][]string{
		"shop-frontend": {"web", "search"},
		"shop-checkout": {"cart", "checkout", "payments"},
		"shop-catalog":  {"catalog", "images"},
		"shop-accounts": {"accounts"},
		"default":       nil,
	}
	teams := map[string]string{"shop-frontend": "storefront", "shop-checkout": "checkout", "shop-catalog": "catalog", "shop-accounts": "storefront"}
	replicas := map[string]int32{"web": 3, "checkout": 2, "payments": 2}
	for ns, names := range services {
		if ns != "default" {
			_, err := k.CoreV1().Namespaces().Create(ctx, kubeNamespace(ns, map[string]string{"team": teams[ns]}), metav1.CreateOptions{})
			must("namespace "+ns, err)
		}
		for _, name := range names {
			r := replicas[name]
			if r == 0 {
				r = 1
			}
			_, err := k.AppsV1().Deployments(ns).Create(ctx, kubeDeployment(ns, name, r, kubeShopContainer(name)), metav1.CreateOptions{})
			must("deployment "+ns+"/"+name, err)
			kubeCreateService(t, k, ns, name, map[string]string{"app": name})
		}
	}
	for ns, names := range services {
		if len(names) == 0 {
			continue
		}
		p := &networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "default-deny"},
			Spec: networkingv1.NetworkPolicySpec{PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress}}}
		_, err := k.NetworkingV1().NetworkPolicies(ns).Create(ctx, p, metav1.CreateOptions{})
		must("networkpolicy "+ns, err)
	}
	for _, n := range []string{"node-1", "node-2", "node-3"} {
		_, err := k.CoreV1().Nodes().Create(ctx, kubeNode(n, "eu-west-1"+n[len(n)-1:], "eu-west-1"), metav1.CreateOptions{})
		must("node "+n, err)
	}
	// The Priority 1 platform: Argo CD, Prometheus, Loki, Grafana, Velero
	// and Cilium, running as their charts name them.
	for ns, names := range map[string][]string{
		"argocd":      {"argocd-server", "argocd-repo-server"},
		"monitoring":  {"prometheus-server", "grafana"},
		"logging":     {"loki"},
		"velero":      {"velero"},
		"kube-system": {"cilium-operator"},
	} {
		if ns != "kube-system" {
			_, err := k.CoreV1().Namespaces().Create(ctx, kubeNamespace(ns, nil), metav1.CreateOptions{})
			must("namespace "+ns, err)
		}
		for _, name := range names {
			_, err := k.AppsV1().Deployments(ns).Create(ctx, kubeDeployment(ns, name, 1, corev1.Container{Name: name, Image: name}), metav1.CreateOptions{})
			must("deployment "+ns+"/"+name, err)
		}
	}
}
