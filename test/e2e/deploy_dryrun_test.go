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

// `kustomize build deploy/` is what users apply; the real kube-apiserver
// accepts every object of it (server-side dry-run, strict field validation,
// no warnings), and the Deployment's pod passes the restricted Pod Security
// Standard. ServiceMonitor and PrometheusRule are skipped: their CRDs belong
// to the Prometheus Operator, which is not available here; deploy/'s unit
// tests check their fields.
func TestDeployManifestsPassKubeAPIServerDryRun(t *testing.T) {
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	m, err := k.Run(filesys.MakeFsOnDisk(), filepath.Join(repoRoot(), "deploy"))
	if err != nil {
		t.Fatalf("kustomize build deploy/: %v", err)
	}

	c := startKubeCluster(t)
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

	// The base deploys into an existing namespace (monitoring, beside
	// Prometheus); make it, enforcing the restricted Pod Security Standard.
	var namespace string
	for _, r := range m.Resources() {
		if ns := r.GetNamespace(); ns != "" {
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
	for _, r := range m.Resources() {
		kind, name := r.GetKind(), r.GetName()
		if kind == "ServiceMonitor" || kind == "PrometheusRule" {
			t.Logf("skipped %s %s: a Prometheus Operator CRD", kind, name)
			continue
		}
		// Through JSON, so numbers are int64 as the API machinery expects.
		j, err := r.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		u := &unstructured.Unstructured{}
		if err := u.UnmarshalJSON(j); err != nil {
			t.Fatalf("%s %s: %v", kind, name, err)
		}
		obj := u.Object
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
			podTemplate, _, _ = unstructured.NestedMap(obj, "spec", "template")
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
	t.Logf("kube-apiserver accepted %d objects of deploy/ and its pod under restricted Pod Security", checked)
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
