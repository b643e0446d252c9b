//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
)

// What users apply, `kustomize build deploy/` and `helm template` of
// deploy/helm, is accepted by the real kube-apiserver object by object
// (server-side dry-run, strict field validation, no warnings), and each
// Deployment's pod passes the restricted Pod Security Standard. Both run on
// one API server, each in its own namespace. ServiceMonitor and
// PrometheusRule are skipped: their CRDs belong to the Prometheus Operator,
// which is not available here; deploy/'s unit tests and the chart test
// check their fields.
func TestDeployManifestsPassKubeAPIServerDryRun(t *testing.T) {
	c := startKubeCluster(t)

	t.Run("kustomize", func(t *testing.T) {
		objs := kustomizeObjects(t)
		n := dryRunObjects(t, c, objs)
		t.Logf("kube-apiserver accepted %d objects of deploy/ and its pod under restricted Pod Security", n)
	})

	t.Run("helm", func(t *testing.T) {
		// Everything on: a cluster name scoping both sources, facts, own
		// rules, the Prometheus Operator's objects.
		values := writeFile(t, t.TempDir(), "values.yaml", `
clusterName: prod-eu
scopeSourcesToCluster: true
sources:
  prometheus: {url: http://prometheus-operated.monitoring.svc:9090}
  loki: {url: http://loki-gateway.logging.svc, tenant_id: webshop}
  kubernetes: {}
facts: {compliance_required: true, developers: 14, dr_rto_hours: 24}
rules:
  signals:
    developers: {help: People who change the platform., fact: developers}
  capabilities:
    policy_enforcement: {title: Policy Enforcement, complexity: medium, trigger: developers > 10}
serviceMonitor: {enabled: true}
prometheusRule: {enabled: true}
extraArgs: [--evaluation.interval=10m]
`)
		objs := helmTemplate(t, "fleet", "capability-exporter-helm", "-f", values)
		n := dryRunObjects(t, c, objs)
		t.Logf("kube-apiserver accepted %d objects of the chart and its pod under restricted Pod Security", n)
	})
}

// kustomizeObjects is `kustomize build deploy/`.
func kustomizeObjects(t *testing.T) []*unstructured.Unstructured {
	t.Helper()
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	m, err := k.Run(filesys.MakeFsOnDisk(), filepath.Join(repoRoot(), "deploy"))
	if err != nil {
		t.Fatalf("kustomize build deploy/: %v", err)
	}
	var out []*unstructured.Unstructured
	for _, r := range m.Resources() {
		// Through JSON, so numbers are int64 as the API machinery expects.
		j, err := r.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		u := &unstructured.Unstructured{}
		if err := u.UnmarshalJSON(j); err != nil {
			t.Fatalf("%s %s: %v", r.GetKind(), r.GetName(), err)
		}
		out = append(out, u)
	}
	return out
}

// dryRunObjects makes the objects' namespace, enforcing the restricted Pod
// Security Standard, dry-runs every object but the Prometheus Operator's,
// then dry-runs the Deployment's pod. It returns how many objects passed.
func dryRunObjects(t *testing.T, c *kubeCluster, objs []*unstructured.Unstructured) int {
	t.Helper()
	warnings := &warningRecorder{}
	cfg := rest.CopyConfig(c.Admin)
	cfg.WarningHandler = warnings
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	client := kubernetes.NewForConfigOrDie(cfg)
	mapper := restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(client.Discovery()))
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	// The objects deploy into an existing namespace (beside Prometheus);
	// make it, enforcing the restricted Pod Security Standard.
	var namespace string
	for _, u := range objs {
		if ns := u.GetNamespace(); ns != "" {
			namespace = ns
		}
	}
	if namespace == "" {
		t.Fatal("the rendered objects name no namespace")
	}
	_, err = client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{
		Name:   namespace,
		Labels: map[string]string{"pod-security.kubernetes.io/enforce": "restricted", "pod-security.kubernetes.io/enforce-version": "latest"},
	}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}

	checked := 0
	var podTemplate map[string]any
	for _, u := range objs {
		kind, name := u.GetKind(), u.GetName()
		if kind == "ServiceMonitor" || kind == "PrometheusRule" {
			t.Logf("skipped %s %s: a Prometheus Operator CRD", kind, name)
			continue
		}
		gvk := u.GroupVersionKind()
		mapping, err := mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
		if err != nil {
			t.Errorf("%s %s: the API server does not serve %s: %v", kind, name, gvk, err)
			continue
		}
		before := warnings.Len()
		_, err = dyn.Resource(mapping.Resource).Namespace(u.GetNamespace()).Create(ctx, u,
			metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}, FieldValidation: metav1.FieldValidationStrict})
		if err != nil {
			t.Errorf("%s %s rejected: %v", kind, name, err)
			continue
		}
		if w := warnings.Since(before); len(w) > 0 {
			t.Errorf("%s %s accepted with warnings: %v", kind, name, w)
		}
		checked++
		if kind == "Deployment" {
			podTemplate, _, _ = unstructured.NestedMap(u.Object, "spec", "template")
		}
		if kind == "ServiceAccount" {
			// A pod's service account must exist for the pod check below.
			if _, err := dyn.Resource(mapping.Resource).Namespace(u.GetNamespace()).Create(ctx, u, metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
		}
	}
	if checked < 6 {
		t.Fatalf("dry-ran %d objects; want the Deployment, Service, ConfigMap and RBAC", checked)
	}

	// No controller runs here to make the pod, so dry-run it directly: the
	// PodSecurity admission plugin rejects a pod that breaks "restricted".
	if podTemplate == nil {
		t.Fatal("no Deployment pod template")
	}
	var pod corev1.Pod
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(podTemplate, &pod); err != nil {
		t.Fatal(err)
	}
	pod.Name, pod.Namespace = "capability-exporter-dry-run", namespace
	before := warnings.Len()
	if _, err := client.CoreV1().Pods(namespace).Create(ctx, &pod, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}}); err != nil {
		t.Fatalf("the Deployment's pod is rejected in a namespace enforcing restricted Pod Security: %v", err)
	}
	if w := warnings.Since(before); len(w) > 0 {
		t.Errorf("the Deployment's pod is accepted with warnings: %v", w)
	}
	return checked
}

// warningRecorder keeps the API server's warnings (deprecated APIs, unknown
// fields, Pod Security) so that the test can fail on them.
type warningRecorder struct {
	mu  sync.Mutex
	got []string
}

func (w *warningRecorder) HandleWarningHeader(code int, agent, text string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.got = append(w.got, fmt.Sprintf("%d %s", code, text))
}

func (w *warningRecorder) Len() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.got)
}

func (w *warningRecorder) Since(i int) []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.got[i:]...)
}
