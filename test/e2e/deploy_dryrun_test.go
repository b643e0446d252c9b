//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apiextensions "k8s.io/apiextensions-apiserver/pkg/client/clientset/clientset"
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
	sigsyaml "sigs.k8s.io/yaml"
)

// What users apply, `kustomize build deploy/` and `helm template` of
// deploy/helm, is accepted by the real kube-apiserver object by object
// (server-side dry-run, strict field validation, no warnings), and each
// Deployment's pod passes the restricted Pod Security Standard. Both run on
// one API server, each in its own namespace. The ServiceMonitor and
// PrometheusRule are checked against the Prometheus Operator's own CRDs
// (from its Go module), installed first.
func TestDeployManifestsPassKubeAPIServerDryRun(t *testing.T) {
	c := startKubeCluster(t)
	installOperatorCRDs(t, c, "servicemonitors", "prometheusrules")

	t.Run("kustomize", func(t *testing.T) {
		objs := kustomizeObjects(t)
		n := dryRunObjects(t, c, objs)
		t.Logf("kube-apiserver accepted %d objects of deploy/ and its pod under restricted Pod Security", n)
	})

	t.Run("helm", func(t *testing.T) {
		// Everything on: a cluster name scoping both sources, facts, own
		// rules, the Prometheus Operator's objects, the dashboards.
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
grafanaDashboards: {enabled: true, folder: Capabilities}
extraArgs: [--evaluation.interval=10m]
`)
		objs := helmTemplate(t, "fleet", "capability-exporter-helm", "-f", values)
		n := dryRunObjects(t, c, objs)
		t.Logf("kube-apiserver accepted %d objects of the chart and its pod under restricted Pod Security", n)
	})

	// helm install asks the cluster, which serves the Prometheus Operator's
	// CRDs: with only a cluster name, the ServiceMonitor and the
	// PrometheusRule are on, and the notes say so and warn that neither
	// carries the release label kube-prometheus-stack selects by.
	t.Run("helm_install_reads_the_cluster", func(t *testing.T) {
		kubeconfig := c.WriteKubeconfig(t, c.Admin, "admin")
		chart := filepath.Join(repoRoot(), "deploy", "helm", "capability-exporter")
		out, err := exec.Command(helmBinary(t), "install", "prod", chart, "--namespace", "capability-exporter-helm",
			"--kubeconfig", kubeconfig, "--kube-context", "admin", "--dry-run=server", "--set", "clusterName=prod-eu").CombinedOutput()
		if err != nil {
			t.Fatalf("helm install --dry-run=server: %v\n%s", err, out)
		}
		for _, want := range []string{"kind: ServiceMonitor", "kind: PrometheusRule", `replacement: "prod-eu"`,
			"on:  ServiceMonitor (scrapes /metrics), auto: the cluster serves monitoring.coreos.com/v1",
			"on:  PrometheusRule (the alert rules), auto: the cluster serves monitoring.coreos.com/v1",
			"--set serviceMonitor.additionalLabels.release=", "no facts declared"} {
			if !strings.Contains(string(out), want) {
				t.Errorf("helm install output lacks %q:\n%s", want, out)
			}
		}
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

// prometheusOperatorModule holds the Prometheus Operator's CRDs
// (example/prometheus-operator-crd), the schemas its ServiceMonitor and
// PrometheusRule objects must pass.
const prometheusOperatorModule = "github.com/prometheus-operator/prometheus-operator@v0.85.0"

// installOperatorCRDs creates the Prometheus Operator's CRDs of the given
// plurals, read from its Go module (downloaded into the module cache once),
// and waits until the API server serves them.
func installOperatorCRDs(t *testing.T, c *kubeCluster, plurals ...string) {
	t.Helper()
	out, err := exec.Command("go", "mod", "download", "-json", prometheusOperatorModule).Output()
	if err != nil {
		t.Fatalf("go mod download %s: %v", prometheusOperatorModule, err)
	}
	var mod struct{ Dir, Error string }
	if err := json.Unmarshal(out, &mod); err != nil || mod.Dir == "" {
		t.Fatalf("go mod download %s: %v %s", prometheusOperatorModule, err, mod.Error)
	}
	client := apiextensions.NewForConfigOrDie(c.Admin)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for _, plural := range plurals {
		data, err := os.ReadFile(filepath.Join(mod.Dir, "example", "prometheus-operator-crd", "monitoring.coreos.com_"+plural+".yaml"))
		if err != nil {
			t.Fatal(err)
		}
		var crd apiextensionsv1.CustomResourceDefinition
		if err := sigsyaml.Unmarshal(data, &crd); err != nil {
			t.Fatalf("%s CRD: %v", plural, err)
		}
		if _, err := client.ApiextensionsV1().CustomResourceDefinitions().Create(ctx, &crd, metav1.CreateOptions{}); err != nil {
			t.Fatalf("%s CRD: %v", plural, err)
		}
		waitFor(t, 30*time.Second, plural+" CRD established", func() bool {
			got, err := client.ApiextensionsV1().CustomResourceDefinitions().Get(ctx, crd.Name, metav1.GetOptions{})
			if err != nil {
				return false
			}
			for _, cond := range got.Status.Conditions {
				if cond.Type == apiextensionsv1.Established && cond.Status == apiextensionsv1.ConditionTrue {
					return true
				}
			}
			return false
		})
	}
}

// dryRunObjects makes the objects' namespace, enforcing the restricted Pod
// Security Standard, dry-runs every object, then dry-runs the Deployment's
// pod. It returns how many objects passed.
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

	checked, kinds := 0, map[string]bool{}
	var podTemplate map[string]any
	for _, u := range objs {
		kind, name := u.GetKind(), u.GetName()
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
		kinds[kind] = true
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
	for _, kind := range []string{"ServiceMonitor", "PrometheusRule"} {
		if !kinds[kind] {
			t.Errorf("no %s among the objects", kind)
		}
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

func (w *warningRecorder) HandleWarningHeader(code int, _, text string) {
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
