package kubernetes

import (
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/capability-exporter/capability_exporter/collector/source"
	"github.com/capability-exporter/capability_exporter/triggers"
)

// policyObj is a policy of a CNI as its API serves it, for the dynamic fake.
func policyObj(id resourceID, ns, name string, spec map[string]any) *unstructured.Unstructured {
	kinds := map[resourceID]string{
		resCiliumNetworkPolicies: "CiliumNetworkPolicy", resCiliumClusterwideNetworkPolicies: "CiliumClusterwideNetworkPolicy",
		resCalicoNetworkPolicies: "NetworkPolicy", resCalicoGlobalNetworkPolicies: "GlobalNetworkPolicy",
		resCalicoV3NetworkPolicies: "NetworkPolicy", resCalicoV3GlobalNetworkPolicies: "GlobalNetworkPolicy",
		resAdminNetworkPolicies: "AdminNetworkPolicy", resBaselineAdminNetworkPolicies: "BaselineAdminNetworkPolicy",
	}
	u := &unstructured.Unstructured{Object: map[string]any{"spec": spec}}
	u.SetAPIVersion(resourceKinds[id].gvr.GroupVersion().String())
	u.SetKind(kinds[id])
	u.SetNamespace(ns)
	u.SetName(name)
	return u
}

// policyNamespaces are four app namespaces (default among them, with the
// shop deployed there) and two platform ones, labelled as the API server
// labels them.
func policyNamespaces() []runtime.Object {
	ns := func(name string, kv ...string) runtime.Object {
		return namespaceObj(name, labelsOf(append([]string{"kubernetes.io/metadata.name", name}, kv...)...))
	}
	return []runtime.Object{
		ns("default"), ns("shop-a", "team", "shop"), ns("shop-b", "team", "shop"), ns("billing", "team", "money"),
		ns("kube-system"), ns("cilium-secrets"),
		deploymentObj("default", "shop", nil, podTemplate(labelsOf("app", "shop"), goodContainer("shop"))),
	}
}

// default is an app namespace when a workload is in it; every cluster has
// an empty one, which would only dilute the ratios.
func TestKubernetesDefaultNamespaceCountsWithWorkloads(t *testing.T) {
	objs := []runtime.Object{namespaceObj("default", nil), namespaceObj("shop", nil), namespaceObj("kube-system", nil),
		netpolObj("shop", "deny", nil, nil, 0)}
	fc := newFakeCluster(t, objs, nil, nil)
	checkValues(t, fc.collect(t, request(policyMeasures)), map[string]float64{"app_namespaces": 1,
		"networkpolicy_namespace_ratio": 1, "default_deny_namespace_ratio": 1})
	objs = append(objs, statefulSetObj("default", "db", nil, podTemplate(nil, goodContainer("db"))))
	fc = newFakeCluster(t, objs, nil, nil)
	checkValues(t, fc.collect(t, request(append(policyMeasures, "workloads"))), map[string]float64{"app_namespaces": 2,
		"workloads": 1, "networkpolicy_namespace_ratio": 0.5, "default_deny_namespace_ratio": 0.5})
}

var policyMeasures = []string{"networkpolicy_namespace_ratio", "default_deny_namespace_ratio", "app_namespaces"}

func checkValues(t *testing.T, res source.Result, want map[string]float64) {
	t.Helper()
	for name, w := range want {
		if v := res.Values[name]; !v.Known || v.Number != w {
			t.Errorf("%s = %+v, want %v", name, v, w)
		}
	}
}

func list(v ...any) []any { return v }

// A Cilium shop writes no NetworkPolicy: its CiliumNetworkPolicies and a
// clusterwide default deny cover every app namespace.
func TestKubernetesCiliumPoliciesCount(t *testing.T) {
	objs := append(policyNamespaces(),
		crdObj("ciliumnetworkpolicies.cilium.io"), crdObj("ciliumclusterwidenetworkpolicies.cilium.io"),
		// shop-a: its own deny-all ingress.
		policyObj(resCiliumNetworkPolicies, "shop-a", "deny-all", map[string]any{
			"endpointSelector": map[string]any{}, "ingress": list(map[string]any{})}),
		// billing: an allow rule for one app; covered, not denying.
		policyObj(resCiliumNetworkPolicies, "billing", "api", map[string]any{
			"endpointSelector": map[string]any{"matchLabels": map[string]any{"app": "api"}},
			"ingress":          list(map[string]any{"fromEndpoints": list(map[string]any{})})}),
		// every namespace but kube-system and shop-a: deny by ingressDeny.
		policyObj(resCiliumClusterwideNetworkPolicies, "", "baseline", map[string]any{
			"endpointSelector": map[string]any{"matchExpressions": list(map[string]any{
				"key": "k8s:io.kubernetes.pod.namespace", "operator": "NotIn", "values": list("kube-system", "shop-a", "billing")})},
			"ingressDeny": list(map[string]any{"fromEntities": list("all")})}),
		// Pods by label, in any namespace: says nothing per namespace.
		policyObj(resCiliumClusterwideNetworkPolicies, "", "dns", map[string]any{
			"endpointSelector": map[string]any{"matchLabels": map[string]any{"k8s-app": "kube-dns"}},
			"ingress":          list(map[string]any{})}),
		// A host policy selects nodes, no pod.
		policyObj(resCiliumClusterwideNetworkPolicies, "", "host", map[string]any{
			"nodeSelector": map[string]any{}, "ingress": list(map[string]any{})}),
	)
	fc := newFakeCluster(t, objs, nil, nil)
	res := fc.collect(t, request(policyMeasures))
	checkValues(t, res, map[string]float64{"app_namespaces": 4,
		"networkpolicy_namespace_ratio": 1, "default_deny_namespace_ratio": 3.0 / 4})
	if len(res.Errors) > 0 {
		t.Errorf("errors %v", res.Errors)
	}
}

// A Calico shop: a namespaced default deny, and a GlobalNetworkPolicy whose
// namespaceSelector picks the shop team's namespaces.
func TestKubernetesCalicoPoliciesCount(t *testing.T) {
	objs := append(policyNamespaces(),
		crdObj("networkpolicies.crd.projectcalico.org"), crdObj("globalnetworkpolicies.crd.projectcalico.org"),
		policyObj(resCalicoNetworkPolicies, "billing", "default.deny", map[string]any{"selector": "all()", "types": list("Ingress", "Egress")}),
		policyObj(resCalicoGlobalNetworkPolicies, "", "default.shop-deny", map[string]any{
			"namespaceSelector": "team == 'shop'", "types": list("Ingress", "Egress"),
			"egress": list(map[string]any{"action": "Allow"})}),
		// default, by the endpoint's namespace label; an allow rule.
		policyObj(resCalicoGlobalNetworkPolicies, "", "default.default-ns", map[string]any{
			"selector": "projectcalico.org/namespace == 'default' && !has(pcns.team)",
			"ingress":  list(map[string]any{"action": "Allow"})}),
	)
	fc := newFakeCluster(t, objs, nil, nil)
	res := fc.collect(t, request(policyMeasures))
	checkValues(t, res, map[string]float64{"networkpolicy_namespace_ratio": 1, "default_deny_namespace_ratio": 3.0 / 4})
}

// AdminNetworkPolicy denies by an explicit Deny from every namespace.
func TestKubernetesAdminNetworkPoliciesCount(t *testing.T) {
	objs := append(policyNamespaces(),
		crdObj("adminnetworkpolicies.policy.networking.k8s.io"),
		policyObj(resAdminNetworkPolicies, "", "shop", map[string]any{"priority": int64(10),
			"subject": map[string]any{"namespaces": map[string]any{"matchLabels": map[string]any{"team": "shop"}}},
			"ingress": list(map[string]any{"action": "Deny", "from": list(map[string]any{"namespaces": map[string]any{}})})}),
		policyObj(resAdminNetworkPolicies, "", "billing-api", map[string]any{"priority": int64(20),
			"subject": map[string]any{"pods": map[string]any{
				"namespaceSelector": map[string]any{"matchLabels": map[string]any{"kubernetes.io/metadata.name": "billing"}},
				"podSelector":       map[string]any{"matchLabels": map[string]any{"app": "api"}}}},
			"ingress": list(map[string]any{"action": "Allow", "from": list(map[string]any{"namespaces": map[string]any{}})})}),
	)
	fc := newFakeCluster(t, objs, nil, nil)
	res := fc.collect(t, request(policyMeasures))
	// billing-api selects some pods by label: not counted.
	checkValues(t, res, map[string]float64{"networkpolicy_namespace_ratio": 2.0 / 4, "default_deny_namespace_ratio": 2.0 / 4})
}

// The baseline denies by default in every namespace it selects, below any
// NetworkPolicy: the AdminNetworkPolicy API's default deny.
func TestKubernetesBaselineAdminNetworkPolicyCounts(t *testing.T) {
	objs := append(policyNamespaces(),
		crdObj("baselineadminnetworkpolicies.policy.networking.k8s.io"),
		policyObj(resBaselineAdminNetworkPolicies, "", "default", map[string]any{
			"subject": map[string]any{"namespaces": map[string]any{"matchExpressions": list(map[string]any{
				"key": "kubernetes.io/metadata.name", "operator": "NotIn", "values": list("kube-system")})}},
			"ingress": list(map[string]any{"action": "Deny", "from": list(map[string]any{"namespaces": map[string]any{}})})}),
	)
	fc := newFakeCluster(t, objs, nil, nil)
	checkValues(t, fc.collect(t, request(policyMeasures)), map[string]float64{
		"networkpolicy_namespace_ratio": 1, "default_deny_namespace_ratio": 1})
}

// A clusterwide policy the exporter cannot evaluate leaves coverage unknown,
// with the policy named, unless the rest already covers every namespace.
func TestKubernetesUnevaluablePolicyIsUnknown(t *testing.T) {
	bad := policyObj(resCalicoGlobalNetworkPolicies, "", "odd", map[string]any{"selector": "app =="})
	objs := append(policyNamespaces(), crdObj("globalnetworkpolicies.crd.projectcalico.org"), bad,
		netpolObj("shop-a", "deny", nil, nil, 0))
	fc := newFakeCluster(t, objs, nil, nil)
	res := fc.collect(t, request(policyMeasures))
	for _, m := range policyMeasures[:2] {
		if v := res.Values[m]; v.Known || !strings.Contains(v.Reason, "Calico GlobalNetworkPolicy odd") || !strings.Contains(v.Reason, "1 of 4") {
			t.Errorf("%s = %+v, want unknown naming the policy", m, v)
		}
	}

	objs = append(policyNamespaces(), crdObj("globalnetworkpolicies.crd.projectcalico.org"), bad)
	for _, ns := range []string{"default", "shop-a", "shop-b", "billing"} {
		objs = append(objs, netpolObj(ns, "deny", nil, nil, 0))
	}
	fc = newFakeCluster(t, objs, nil, nil)
	res = fc.collect(t, request(policyMeasures))
	checkValues(t, res, map[string]float64{"networkpolicy_namespace_ratio": 1, "default_deny_namespace_ratio": 1})
}

// Without the CRDs the exporter cannot tell whether a CNI's policies exist:
// coverage short of every namespace is unknown.
func TestKubernetesPolicyAPIsUnreadable(t *testing.T) {
	fc := newFakeCluster(t, append(policyNamespaces(), netpolObj("shop-a", "deny", nil, nil, 0)), nil, func(fc *fakeCluster) {
		forbid(&fc.meta.Fake, "list", "customresourcedefinitions", "apiextensions.k8s.io")
	})
	res := fc.collect(t, request(policyMeasures))
	if v := res.Values["networkpolicy_namespace_ratio"]; v.Known || !strings.Contains(v.Reason, "forbidden") {
		t.Errorf("networkpolicy_namespace_ratio = %+v, want unknown: forbidden CRDs", v)
	}
}

// The policy informers follow the CRDs: installed after start, they are
// read at the next evaluation; deleted, their informer stops.
func TestKubernetesPolicyInformersFollowCRDs(t *testing.T) {
	objs := append(policyNamespaces(), policyObj(resCiliumClusterwideNetworkPolicies, "", "all", map[string]any{
		"endpointSelector": map[string]any{}, "ingress": list(map[string]any{})}))
	fc := newFakeCluster(t, objs, nil, nil)
	req := request(policyMeasures)
	res := fc.collect(t, req)
	checkValues(t, res, map[string]float64{"networkpolicy_namespace_ratio": 0})
	if fc.src.runningInformer(resCiliumClusterwideNetworkPolicies) != nil {
		t.Fatal("CiliumClusterwideNetworkPolicy informer started without its CRD")
	}
	waitForWatches(t, fc, "customresourcedefinitions")
	mustDo(t, func() error { return fc.meta.Tracker().Add(crdObj("ciliumclusterwidenetworkpolicies.cilium.io")) })
	eventually(t, fc, req, map[string]float64{"networkpolicy_namespace_ratio": 1, "default_deny_namespace_ratio": 1})
	mustDo(t, func() error {
		return fc.meta.Tracker().Delete(resourceKinds[resCRDs].gvr, "", "ciliumclusterwidenetworkpolicies.cilium.io")
	})
	eventually(t, fc, req, map[string]float64{"networkpolicy_namespace_ratio": 0})
	if fc.src.runningInformer(resCiliumClusterwideNetworkPolicies) != nil {
		t.Error("informer still registered after its CRD was deleted")
	}
}

// projectcalico.org/v3 is read through Calico's API server only when the
// crd.projectcalico.org CRDs that back it are absent.
func TestKubernetesCalicoV3ThroughItsAPIServer(t *testing.T) {
	objs := append(policyNamespaces(),
		metaObj("apiregistration.k8s.io/v1", "APIService", "", calicoV3APIService, nil),
		policyObj(resCalicoV3GlobalNetworkPolicies, "", "deny", map[string]any{"selector": "all()", "types": list("Ingress")}))
	fc := newFakeCluster(t, objs, nil, nil)
	res := fc.collect(t, request(policyMeasures))
	checkValues(t, res, map[string]float64{"networkpolicy_namespace_ratio": 1, "default_deny_namespace_ratio": 1})

	fc = newFakeCluster(t, append(objs, crdObj("networkpolicies.crd.projectcalico.org")), nil, nil)
	fc.collect(t, request(policyMeasures))
	if fc.src.runningInformer(resCalicoV3GlobalNetworkPolicies) != nil {
		t.Error("projectcalico.org/v3 read beside the crd.projectcalico.org CRDs that hold the same policies")
	}
}

func TestCalicoSelector(t *testing.T) {
	ns := &namespaceInfo{objectName: objectName{name: "shop"}, labels: labelsOf("team", "a", "env", "prod")}
	endpoint := calicoEndpointLookup(ns, true)
	namespace := calicoNamespaceLookup(ns)
	for _, tc := range []struct {
		sel    string
		lookup labelLookup
		want   triggers.Truth
	}{
		{"", endpoint, triggers.True},
		{"all()", endpoint, triggers.True},
		{"global()", namespace, triggers.False},
		{"app == 'web'", endpoint, triggers.Unknown},
		{"projectcalico.org/namespace == 'shop'", endpoint, triggers.True},
		{"projectcalico.org/namespace not in {'kube-system', \"calico-system\"}", endpoint, triggers.True},
		{"projectcalico.org/namespace in {'kube-system'} && app == 'x'", endpoint, triggers.False},
		{"projectcalico.org/namespace == 'shop' || app == 'x'", endpoint, triggers.True},
		{"!(pcns.team == 'a')", endpoint, triggers.False},
		{"has(pcns.env) && pcns.env starts with 'pr' && pcns.env ends with 'od' && pcns.env contains 'ro'", endpoint, triggers.True},
		{"team != 'b' && !has(owner)", namespace, triggers.True},
		{"projectcalico.org/name == 'shop'", namespace, triggers.True},
	} {
		sel, err := parseCalicoSelector(tc.sel)
		if err != nil {
			t.Errorf("%q: %v", tc.sel, err)
			continue
		}
		if got := sel(tc.lookup); got != tc.want {
			t.Errorf("%q = %v, want %v", tc.sel, got, tc.want)
		}
	}
	for _, bad := range []string{"app ==", "app = 'x'", "has(app", "a in {'x'", "(all()", "a == 'x' b", "a == 'x"} {
		if _, err := parseCalicoSelector(bad); err == nil {
			t.Errorf("%q parsed, want an error", bad)
		}
	}
}
