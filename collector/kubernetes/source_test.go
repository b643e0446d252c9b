package kubernetes

import (
	"context"
	"errors"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	k8stesting "k8s.io/client-go/testing"

	"github.com/capability-exporter/capability_exporter/collector/source"
	"github.com/capability-exporter/capability_exporter/config"
	"github.com/capability-exporter/capability_exporter/triggers"
)

// shopObjects is a small webshop: four app namespaces of three teams, six
// workloads written in every way a measure distinguishes, and platform
// namespaces whose objects must not count. The expected values in
// TestKubernetesMeasures are worked out in comments next to the objects.
func shopObjects() []runtime.Object {
	app := func(kv ...string) map[string]string { return labelsOf(kv...) }
	privileged := goodContainer("agent")
	privileged.SecurityContext = &corev1.SecurityContext{Privileged: ptr(true)}
	noLimits := corev1.Container{Name: "cache", Image: "redis"} // no probes, no limits
	cpuOnly := goodContainer("batch")
	delete(cpuOnly.Resources.Limits, corev1.ResourceMemory)

	worker := deploymentObj("shop-checkout", "worker", nil, podTemplate(app("app", "worker"), privileged))
	worker.Spec.Template.Spec.InitContainers = []corev1.Container{privileged}
	worker.Spec.Template.Spec.Volumes = []corev1.Volume{{Name: "spool",
		VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "spool"}}}}
	catalog := deploymentObj("shop-catalog", "catalog", ptr[int32](2), podTemplate(app("app", "catalog"), goodContainer("api"), goodContainer("sidecar")))
	catalog.Spec.Template.Spec.HostNetwork = true
	coredns := deploymentObj("kube-system", "coredns", ptr[int32](2), podTemplate(app("k8s-app", "kube-dns"), privileged))

	available := deploymentCondition(appsv1.DeploymentAvailable, corev1.ConditionTrue, "MinimumReplicasAvailable")
	unavailable := deploymentCondition(appsv1.DeploymentAvailable, corev1.ConditionFalse, "MinimumReplicasUnavailable")
	stuck := deploymentCondition(appsv1.DeploymentProgressing, corev1.ConditionFalse, reasonProgressDeadlineExceeded)
	withConditions(worker, unavailable, stuck)
	withConditions(catalog, available)
	withConditions(coredns, unavailable)

	return []runtime.Object{
		namespaceObj("kube-system", nil),
		namespaceObj("monitoring", labelsOf("team", "platform")),
		namespaceObj("shop-frontend", labelsOf("team", "storefront", labelPSAEnforce, "restricted")),
		namespaceObj("shop-checkout", labelsOf("team", "payments", labelPSAEnforce, "baseline")),
		namespaceObj("shop-catalog", labelsOf("app.kubernetes.io/part-of", "catalog", labelPSAEnforce, psaPrivileged)),
		namespaceObj("shop-batch", nil),

		// workloads 6; replicated: web, payments, catalog; probed: all but
		// web-cache; stateful: payments (claim template), worker (PVC).
		deploymentObj("shop-frontend", "web", ptr[int32](3), podTemplate(app("app", "web", "tier", "front"), goodContainer("nginx"), goodContainer("app"))),
		withConditions(deploymentObj("shop-frontend", "web-cache", ptr[int32](1), podTemplate(app("app", "cache"), noLimits)), unavailable),
		statefulSetObj("shop-checkout", "payments", ptr[int32](2), podTemplate(app("app", "payments"), goodContainer("db")), "data"),
		worker,
		catalog,
		statefulSetObj("shop-batch", "batch", ptr[int32](0), podTemplate(app("app", "batch", "tier", "jobs"), cpuOnly)),
		coredns,
		statefulSetObj("monitoring", "prometheus", ptr[int32](2), podTemplate(app("app", "prometheus"), goodContainer("prometheus"))),

		// microservices: web, payments, catalog, batch.
		serviceObj("shop-frontend", "web", app("app", "web")),
		serviceObj("shop-frontend", "cache-v1", app("app", "cache", "version", "v1")), // template lacks version
		serviceObj("shop-frontend", "external", nil),
		serviceObj("shop-checkout", "payments", app("app", "payments")),
		serviceObj("shop-catalog", "catalog", app("app", "catalog")),
		serviceObj("shop-batch", "batch", app("app", "batch")),
		serviceObj("kube-system", "kube-dns", app("k8s-app", "kube-dns")),
		serviceObj("shop-checkout", "web", app("app", "web")), // another namespace's labels

		// PDBs: web; payments and worker (empty selector: all of the
		// namespace); catalog's null selector selects nothing.
		pdbObj("shop-frontend", "web", &metav1.LabelSelector{MatchLabels: app("app", "web")}),
		pdbObj("shop-checkout", "all", &metav1.LabelSelector{}),
		pdbObj("shop-catalog", "none", nil),
		pdbObj("kube-system", "coredns", &metav1.LabelSelector{}),

		// with a policy: frontend, checkout, catalog; default deny:
		// frontend (explicit Ingress), catalog (policy types unset).
		netpolObj("shop-frontend", "default-deny", nil, []networkingv1.PolicyType{networkingv1.PolicyTypeIngress}, 0),
		netpolObj("shop-checkout", "allow-web", app("app", "payments"), []networkingv1.PolicyType{networkingv1.PolicyTypeIngress}, 1),
		netpolObj("shop-checkout", "deny-egress", nil, []networkingv1.PolicyType{networkingv1.PolicyTypeEgress}, 0),
		netpolObj("shop-catalog", "deny-all", nil, nil, 0),
		netpolObj("kube-system", "deny", nil, nil, 0),

		// nodes 4; zones a, b, c (c from the beta label); regions r1, r2;
		// NotReady: n2 (False) and n3 (Unknown); n4 reported nothing yet.
		withReady(nodeObj("n1", labelsOf(labelZone, "a", labelRegion, "r1")), corev1.ConditionTrue),
		withReady(nodeObj("n2", labelsOf(labelZone, "b", labelRegion, "r1")), corev1.ConditionFalse),
		withReady(nodeObj("n3", labelsOf(labelZoneBeta, "c", labelRegionBeta, "r2")), corev1.ConditionUnknown),
		nodeObj("n4", nil),

		// GitOps: Argo CD and Flux's Kustomizations (no HelmRelease CRD).
		// 6 applications; failing: payments (Degraded) and apps (Ready=False);
		// catalog is OutOfSync only since now, paused is suspended.
		crdObj("applications.argoproj.io"),
		crdObj("kustomizations.kustomize.toolkit.fluxcd.io"),
		argoApp("shop", "Synced", "Healthy"),
		argoApp("payments", "Synced", "Degraded"),
		argoApp("catalog", "OutOfSync", "Healthy"),
		fluxKustomization("infra", "True", false),
		fluxKustomization("apps", "False", false),
		fluxKustomization("paused", "False", true),

		// people: alice, platform-team, bob, payments-devs.
		clusterRoleBindingObj("admins", user("alice"), group("platform-team"), user("system:kube-controller-manager"), serviceAccount("ci", "deployer")),
		roleBindingObj("shop-frontend", "devs", user("bob"), user("alice"), group("system:serviceaccounts")),
		roleBindingObj("shop-checkout", "devs", group("payments-devs")),
		roleBindingObj("kube-system", "ops", user("carol")), // a platform namespace
	}
}

func argoApp(name, sync, health string) *unstructured.Unstructured {
	return unstructuredObj("argoproj.io/v1alpha1", "Application", "argocd", name, map[string]any{
		"status": map[string]any{"sync": map[string]any{"status": sync}, "health": map[string]any{"status": health}}})
}

func fluxKustomization(name, ready string, suspend bool) *unstructured.Unstructured {
	return unstructuredObj("kustomize.toolkit.fluxcd.io/v1", "Kustomization", "flux-system", name, map[string]any{
		"spec":   map[string]any{"suspend": suspend},
		"status": map[string]any{"conditions": []any{map[string]any{"type": "Ready", "status": ready, "reason": "Whatever"}}}})
}

func TestKubernetesMeasures(t *testing.T) {
	fc := newFakeCluster(t, shopObjects(), nil, nil)
	want := map[string]float64{
		"microservices":                 4,
		"workloads":                     6,
		"app_namespaces":                4,
		"tenants":                       3,
		"nodes":                         4,
		"zones":                         3,
		"regions":                       2,
		"nodes_not_ready":               2, // n2, n3
		"deployments_unavailable":       3, // web-cache, worker, coredns (every namespace counts)
		"deployments_stuck":             1, // worker
		"networkpolicies":               5, // kube-system's too
		"gitops_apps":                   6,
		"gitops_apps_failing":           2,
		"replicated_workload_ratio":     3.0 / 6,
		"pdb_workload_ratio":            3.0 / 6,
		"probed_workload_ratio":         5.0 / 6,
		"networkpolicy_namespace_ratio": 3.0 / 4,
		"default_deny_namespace_ratio":  2.0 / 4,
		"pod_security_namespace_ratio":  2.0 / 4,
		"privileged_containers":         4, // worker's container and init container, catalog's two on the host network
		"containers_without_limits":     2, // web-cache, batch
		"limited_container_ratio":       6.0 / 8,
		"stateless_workload_ratio":      4.0 / 6,
		"rbac_human_subjects":           4,
		"reachable":                     1,
	}
	if got := slices.Sorted(maps.Keys(want)); !slices.Equal(got, slices.Sorted(slices.Values(triggers.KubernetesMeasures()))) {
		t.Fatalf("test covers %v, want every measure of triggers.KubernetesMeasures() %v", got, triggers.KubernetesMeasures())
	}
	res := fc.collect(t, request(triggers.KubernetesMeasures()))
	if !res.Up || len(res.Errors) > 0 {
		t.Fatalf("Up = %v, errors %v; want up without errors", res.Up, res.Errors)
	}
	for name, w := range want {
		v := res.Values[name]
		if !v.Known || v.Number != w {
			t.Errorf("%s = %+v, want %v", name, v, w)
		}
	}
}

// The measures table and the rules schema's list must name the same
// measures, or a rules file could ask for one the source cannot answer.
func TestKubernetesMeasuresMatchRulesSchema(t *testing.T) {
	got := slices.Sorted(maps.Keys(measures))
	want := slices.Sorted(slices.Values(triggers.KubernetesMeasures()))
	if !slices.Equal(got, want) {
		t.Errorf("measures = %v\nwant triggers.KubernetesMeasures() = %v", got, want)
	}
}

func TestKubernetesPlatformNamespacesFromConfig(t *testing.T) {
	fc := newFakeCluster(t, shopObjects(), func(k *config.KubernetesSource) {
		k.PlatformNamespaces = []string{"shop-batch"}
		k.PlatformNamespacesRegex = "kube-.*|monitoring|shop-cat.*"
		k.TeamLabels = []string{"app.kubernetes.io/part-of"}
	}, nil)
	res := fc.collect(t, request([]string{"app_namespaces", "tenants", "workloads", "microservices"}))
	// Left: shop-frontend and shop-checkout, neither with part-of; web,
	// web-cache, payments, worker; web and payments selected.
	for name, w := range map[string]float64{"app_namespaces": 2, "workloads": 4, "microservices": 2} {
		if v := res.Values[name]; !v.Known || v.Number != w {
			t.Errorf("%s = %+v, want %v", name, v, w)
		}
	}
	// No team label on any app namespace says nothing about tenants.
	const want = "no app namespace carries any of team_labels [app.kubernetes.io/part-of]"
	if v := res.Values["tenants"]; v.Known || v.Reason != want {
		t.Errorf("tenants = %+v, want unknown: %s", v, want)
	}
}

// A ratio over nothing is not 0%: an empty cluster does not lack probes.
func TestKubernetesRatioOverNothingIsUnknown(t *testing.T) {
	fc := newFakeCluster(t, []runtime.Object{namespaceObj("kube-system", nil)}, nil, nil)
	res := fc.collect(t, request(triggers.KubernetesMeasures()))
	for _, name := range triggers.KubernetesMeasures() {
		v := res.Values[name]
		// tenants over no app namespace is as undefined as a ratio.
		isRatio := strings.HasSuffix(name, "_ratio") || name == "tenants"
		switch {
		case name == "regions":
			if v.Known || v.Reason != "no nodes" {
				t.Errorf("regions = %+v, want unknown: no nodes", v)
			}
		case isRatio && (v.Known || !strings.Contains(v.Reason, "outside platform namespaces")):
			t.Errorf("%s = %+v, want unknown: nothing to divide or count by", name, v)
		case !isRatio && !v.Known:
			t.Errorf("%s = %+v, want known", name, v)
		case !isRatio && name != "reachable" && v.Number != 0:
			t.Errorf("%s = %v, want 0", name, v.Number)
		}
	}
}

func TestKubernetesForbiddenListMakesOnlyItsSignalsUnknown(t *testing.T) {
	fc := newFakeCluster(t, shopObjects(), nil, func(fc *fakeCluster) {
		forbid(&fc.client.Fake, "list", "networkpolicies", "networking.k8s.io")
	})
	checkForbidden(t, fc.collect(t, request(triggers.KubernetesMeasures())),
		[]string{"networkpolicy_namespace_ratio", "default_deny_namespace_ratio", "networkpolicies"}, "networkpolicies.networking.k8s.io")
}

// A role that allows list but not watch would serve a cache that never
// changes: the signals must turn unknown, not stay at the listed values.
func TestKubernetesForbiddenWatchMakesItsSignalsUnknown(t *testing.T) {
	fc := newFakeCluster(t, shopObjects(), nil, func(fc *fakeCluster) {
		forbid(&fc.client.Fake, "watch", "rolebindings", "rbac.authorization.k8s.io")
	})
	checkForbidden(t, fc.collect(t, request(triggers.KubernetesMeasures())),
		[]string{"rbac_human_subjects"}, "rolebindings.rbac.authorization.k8s.io")
}

func TestKubernetesForbiddenNodes(t *testing.T) {
	fc := newFakeCluster(t, shopObjects(), nil, func(fc *fakeCluster) {
		forbid(&fc.client.Fake, "list", "nodes", "")
	})
	checkForbidden(t, fc.collect(t, request(triggers.KubernetesMeasures())), []string{"nodes", "zones", "regions", "nodes_not_ready"}, "nodes")
}

// CRDs are read as metadata: without them the GitOps tools' APIs cannot be
// found, nor can the policies of CNIs.
func TestKubernetesForbiddenMetadataResource(t *testing.T) {
	fc := newFakeCluster(t, shopObjects(), nil, func(fc *fakeCluster) {
		forbid(&fc.meta.Fake, "list", "customresourcedefinitions", "apiextensions.k8s.io")
	})
	checkForbidden(t, fc.collect(t, request(triggers.KubernetesMeasures())),
		[]string{"networkpolicy_namespace_ratio", "default_deny_namespace_ratio", "gitops_apps", "gitops_apps_failing"},
		"customresourcedefinitions.apiextensions.k8s.io")
}

func checkForbidden(t *testing.T, res source.Result, unknown []string, resource string) {
	t.Helper()
	if !res.Up {
		t.Errorf("Up = false; a forbidden resource must not take the source down")
	}
	if len(res.Errors) != 1 || res.Errors[0].Reason != "forbidden" || !strings.Contains(res.Errors[0].Error(), resource) {
		t.Errorf("errors = %v, want one forbidden error naming %s", res.Errors, resource)
	}
	for _, name := range triggers.KubernetesMeasures() {
		v := res.Values[name]
		if slices.Contains(unknown, name) {
			if v.Known || !strings.Contains(v.Reason, "forbidden") || !strings.Contains(v.Reason, resource) {
				t.Errorf("%s = %+v, want unknown with a forbidden reason naming %s", name, v, resource)
			}
		} else if !v.Known {
			t.Errorf("%s = %+v, want known: it does not read %s", name, v, resource)
		}
	}
}

func TestKubernetesAbsentAPIIsNotFound(t *testing.T) {
	fc := newFakeCluster(t, shopObjects(), nil, func(fc *fakeCluster) {
		fc.client.PrependReactor("list", "poddisruptionbudgets", func(k8stesting.Action) (bool, runtime.Object, error) {
			return true, nil, errNotFound("poddisruptionbudgets", "policy")
		})
	})
	res := fc.collect(t, request([]string{"pdb_workload_ratio", "workloads"}))
	if v := res.Values["pdb_workload_ratio"]; v.Known || !strings.Contains(v.Reason, "not_found") {
		t.Errorf("pdb_workload_ratio = %+v, want unknown, not_found", v)
	}
	if v := res.Values["workloads"]; !v.Known || v.Number != 6 {
		t.Errorf("workloads = %+v, want 6", v)
	}
	if len(res.Errors) != 1 || res.Errors[0].Reason != "not_found" {
		t.Errorf("errors = %v, want one not_found", res.Errors)
	}
}

func TestKubernetesUnreachable(t *testing.T) {
	fc := newFakeCluster(t, shopObjects(), nil, func(fc *fakeCluster) {
		fc.client.PrependReactor("get", "version", func(k8stesting.Action) (bool, runtime.Object, error) {
			return true, nil, errConnRefused
		})
	})
	res := fc.collect(t, request([]string{"reachable", "workloads"}))
	if res.Up || len(res.Errors) != 1 || res.Errors[0].Reason != "unreachable" {
		t.Errorf("Up = %v, errors %v; want down with one unreachable error", res.Up, res.Errors)
	}
	if v := res.Values["reachable"]; v.Known || !strings.Contains(v.Reason, "connection refused") {
		t.Errorf("reachable = %+v, want unknown naming the cause, never 0", v)
	}
	if v := res.Values["workloads"]; v.Known || !strings.Contains(v.Reason, "connection refused") {
		t.Errorf("workloads = %+v, want unknown naming the cause", v)
	}
}

// Collect must answer by its deadline even when the initial list hangs,
// and say why the signals are unknown.
func TestKubernetesInitialSyncNotFinished(t *testing.T) {
	// The list keeps failing rather than blocking: the fake clientset runs
	// reactors under the lock its discovery needs too, so a blocked list
	// would also block the source's ping.
	fc := newFakeCluster(t, shopObjects(), nil, func(fc *fakeCluster) {
		fc.client.PrependReactor("list", "deployments", func(k8stesting.Action) (bool, runtime.Object, error) {
			return true, nil, errors.New("etcdserver: request timed out")
		})
	})
	ctx, cancel := contextWithTimeout(500 * time.Millisecond)
	defer cancel()
	start := time.Now()
	res := fc.src.Collect(ctx, request([]string{"workloads", "nodes"}))
	// The list never succeeds: without the deadline Collect would wait for
	// the source's 60s timeout. The bound is far from both, so a loaded
	// machine cannot make it flaky.
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("Collect took %v, not bounded by its 500ms deadline", d)
	}
	if v := res.Values["workloads"]; v.Known || !strings.Contains(v.Reason, "initial sync of deployments.apps not finished") {
		t.Errorf("workloads = %+v, want unknown: initial sync not finished", v)
	}
	if v := res.Values["nodes"]; !v.Known || v.Number != 4 {
		t.Errorf("nodes = %+v, want 4: its informer synced", v)
	}
}

// After the initial sync an evaluation reads the informers only: no list
// reaches the API server, however often it runs.
func TestKubernetesNoListAfterInitialSync(t *testing.T) {
	fc := newFakeCluster(t, shopObjects(), nil, nil)
	tools := []*triggers.Tool{{ID: "mesh", CRDGroups: []string{"linkerd.io"}, Namespaces: []string{"linkerd"}, Workloads: []string{"linkerd-.*"}}}
	req := request(triggers.KubernetesMeasures(), tools...)
	fc.collect(t, req)
	lists := func() int {
		n := 0
		for _, a := range slices.Concat(fc.client.Actions(), fc.meta.Actions(), fc.dyn.Actions()) {
			if a.GetVerb() == "list" {
				n++
			}
		}
		return n
	}
	// The shop has no CNI policy APIs and no HelmRelease CRD, so their
	// informers never start.
	if want := int(numResources) - len(policyResources) - 1; lists() != want {
		t.Errorf("initial sync issued %d lists, want one per resource the shop serves (%d)", lists(), want)
	}
	before := lists()
	for range 3 {
		fc.collect(t, req)
	}
	if n := lists() - before; n != 0 {
		t.Errorf("3 evaluations after the initial sync issued %d lists, want 0", n)
	}
}

// The informers keep reduced objects, not the API objects with their
// managed fields, annotations and full specs.
func TestKubernetesStoresHoldReducedObjects(t *testing.T) {
	fc := newFakeCluster(t, shopObjects(), nil, nil)
	fc.collect(t, request(triggers.KubernetesMeasures(), &triggers.Tool{ID: "x", Workloads: []string{"x"}, CRDGroups: []string{"x.io"}}))
	for id, st := range fc.src.running {
		for _, o := range st.informer.GetStore().List() {
			if _, isAPIObject := o.(runtime.Object); isAPIObject {
				t.Errorf("%s store holds %T, want a reduced object", id, o)
			}
		}
	}
}

// The measures follow the watch: objects added and deleted after the
// initial sync change the next answer without a list.
func TestKubernetesMeasuresFollowTheWatch(t *testing.T) {
	fc := newFakeCluster(t, shopObjects(), nil, nil)
	req := request([]string{"workloads", "microservices", "app_namespaces", "nodes"})
	fc.collect(t, req)
	waitForWatches(t, fc, "deployments", "services", "namespaces", "nodes")

	ctx, cancel := contextWithTimeout(5 * time.Second)
	defer cancel()
	d := deploymentObj("shop-frontend", "search", ptr[int32](2), podTemplate(labelsOf("app", "search"), goodContainer("search")))
	mustDo(t, func() error {
		_, err := fc.client.AppsV1().Deployments("shop-frontend").Create(ctx, d, metav1.CreateOptions{})
		return err
	})
	mustDo(t, func() error {
		_, err := fc.client.CoreV1().Services("shop-frontend").Create(ctx, serviceObj("shop-frontend", "search", labelsOf("app", "search")), metav1.CreateOptions{})
		return err
	})
	mustDo(t, func() error { return fc.meta.Tracker().Add(namespaceObj("shop-search", nil)) })
	mustDo(t, func() error {
		return fc.client.CoreV1().Nodes().Delete(context.Background(), "n4", metav1.DeleteOptions{})
	})
	eventually(t, fc, req, map[string]float64{"workloads": 7, "microservices": 5, "app_namespaces": 5, "nodes": 3})

	mustDo(t, func() error {
		return fc.client.AppsV1().Deployments("shop-frontend").Delete(ctx, "web", metav1.DeleteOptions{})
	})
	eventually(t, fc, req, map[string]float64{"workloads": 6, "microservices": 4})
}
