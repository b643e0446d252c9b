//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apiextensions "k8s.io/apiextensions-apiserver/pkg/client/clientset/clientset"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"

	"github.com/capability-exporter/capability_exporter/collector/kubernetes"
	"github.com/capability-exporter/capability_exporter/collector/source"
	"github.com/capability-exporter/capability_exporter/triggers"
)

// A cluster whose CNI is Cilium, then Calico, writes none of the
// networking.k8s.io NetworkPolicies: its CNI's policies, installed as the
// CNI installs them (CRDs after the exporter started), reach full coverage.
// An app in default counts. A tool's CRD with no controller and no objects
// does not mark it adopted; an object in it does.
func TestKubernetesCNIPoliciesAndToolTraces(t *testing.T) {
	c := startKubeCluster(t)
	ctx := context.Background()
	for _, ns := range []*corev1.Namespace{
		kubeNamespace("shop-a", map[string]string{"team": "shop"}),
		kubeNamespace("shop-b", map[string]string{"team": "shop"}),
	} {
		if _, err := c.Client.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	// default is an app namespace: a shop that deploys there has a
	// microservice.
	if _, err := c.Client.AppsV1().Deployments("default").Create(ctx, kubeDeployment("default", "shop", 2, kubeShopContainer("shop")), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	kubeCreateService(t, c.Client, "default", "shop", map[string]string{"app": "shop"})

	src, err := kubernetes.New(c.Admin, kubeSection(), kubeTestLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	rules, err := triggers.Parse("cni-e2e-rules.yml", []byte(`
tools:
  jaeger:
    capability: distributed_tracing
    crd_groups: [jaegertracing.io]
    workloads: ['(.+-)?jaeger(-.+)?']
capabilities:
  distributed_tracing:
    complexity: medium
    trigger: microservices > 5
signals:
  microservices:
    help: Workloads a Service selects.
    kubernetes: microservices
`))
	if err != nil {
		t.Fatal(err)
	}
	req := kubeRequest(rules, []string{"networkpolicy_namespace_ratio", "default_deny_namespace_ratio", "app_namespaces", "microservices"})
	dyn := dynamic.NewForConfigOrDie(c.Admin)

	t.Run("an_app_in_default_counts", func(t *testing.T) {
		res := kubeCollect(t, src, req)
		// default, shop-a, shop-b; kube-public and kube-node-lease are platform.
		checkKubeResult(t, res, map[string]float64{"app_namespaces": 3, "microservices": 1,
			"networkpolicy_namespace_ratio": 0, "default_deny_namespace_ratio": 0}, nil)
	})

	t.Run("cilium_only_reaches_full_coverage", func(t *testing.T) {
		kubeCreateCRDOf(t, c, "cilium.io", "v2", "CiliumNetworkPolicy", "ciliumnetworkpolicies", apiextensionsv1.NamespaceScoped)
		kubeCreateCRDOf(t, c, "cilium.io", "v2", "CiliumClusterwideNetworkPolicy", "ciliumclusterwidenetworkpolicies", apiextensionsv1.ClusterScoped)
		kubeCreateCustom(t, dyn, "cilium.io/v2", "CiliumNetworkPolicy", "ciliumnetworkpolicies", "shop-a", "deny-all", map[string]any{
			"endpointSelector": map[string]any{}, "ingress": []any{map[string]any{}}})
		kubeCreateCustom(t, dyn, "cilium.io/v2", "CiliumClusterwideNetworkPolicy", "ciliumclusterwidenetworkpolicies", "", "baseline", map[string]any{
			"endpointSelector": map[string]any{"matchExpressions": []any{map[string]any{
				"key": "io.kubernetes.pod.namespace", "operator": "NotIn", "values": []any{"kube-system", "shop-a"}}}},
			"ingress": []any{map[string]any{}}})
		kubeEventually(t, src, req, map[string]float64{"networkpolicy_namespace_ratio": 1, "default_deny_namespace_ratio": 1})
	})

	t.Run("cilium_removed_then_calico_only_reaches_full_coverage", func(t *testing.T) {
		kubeDeleteCRD(t, c, "ciliumnetworkpolicies.cilium.io")
		kubeDeleteCRD(t, c, "ciliumclusterwidenetworkpolicies.cilium.io")
		kubeEventually(t, src, req, map[string]float64{"networkpolicy_namespace_ratio": 0})

		kubeCreateCRDOf(t, c, "crd.projectcalico.org", "v1", "NetworkPolicy", "networkpolicies", apiextensionsv1.NamespaceScoped)
		kubeCreateCRDOf(t, c, "crd.projectcalico.org", "v1", "GlobalNetworkPolicy", "globalnetworkpolicies", apiextensionsv1.ClusterScoped)
		kubeCreateCustom(t, dyn, "crd.projectcalico.org/v1", "NetworkPolicy", "networkpolicies", "default", "default.deny", map[string]any{
			"selector": "all()", "types": []any{"Ingress", "Egress"}})
		kubeCreateCustom(t, dyn, "crd.projectcalico.org/v1", "GlobalNetworkPolicy", "globalnetworkpolicies", "", "default.shop-deny", map[string]any{
			"namespaceSelector": "team == 'shop'", "types": []any{"Ingress"}})
		kubeEventually(t, src, req, map[string]float64{"networkpolicy_namespace_ratio": 1, "default_deny_namespace_ratio": 1})
	})

	t.Run("a_crd_without_its_controller_is_no_adoption", func(t *testing.T) {
		kubeCreateCRDOf(t, c, "jaegertracing.io", "v1", "Jaeger", "jaegers", apiextensionsv1.NamespaceScoped)
		deadline := time.Now().Add(30 * time.Second)
		for {
			v := kubeCollect(t, src, req).Values["tool.jaeger"]
			if v.Known && v.Number == 0 && v.Reason == "CRDs only (not running)" {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("tool.jaeger = %+v, want 0: CRDs only (not running)", v)
			}
			time.Sleep(100 * time.Millisecond)
		}
		kubeCreateCustom(t, dyn, "jaegertracing.io/v1", "Jaeger", "jaegers", "shop-a", "traces", map[string]any{})
		kubeEventually(t, src, req, map[string]float64{"tool.jaeger": 1})
	})
}

// kubeCreateCRDOf installs a CRD of the given group, version, kind and scope
// that keeps whatever its objects hold, as a CNI's chart would install it.
func kubeCreateCRDOf(t *testing.T, c *kubeCluster, group, version, kind, plural string, scope apiextensionsv1.ResourceScope) {
	t.Helper()
	crd := &apiextensionsv1.CustomResourceDefinition{ObjectMeta: metav1.ObjectMeta{Name: plural + "." + group},
		Spec: apiextensionsv1.CustomResourceDefinitionSpec{Group: group, Scope: scope,
			Names: apiextensionsv1.CustomResourceDefinitionNames{Plural: plural, Kind: kind, ListKind: kind + "List"},
			Versions: []apiextensionsv1.CustomResourceDefinitionVersion{{Name: version, Served: true, Storage: true,
				Schema: &apiextensionsv1.CustomResourceValidation{OpenAPIV3Schema: &apiextensionsv1.JSONSchemaProps{
					Type: "object", XPreserveUnknownFields: kubePtr(true)}}}}}}
	if _, err := apiextensions.NewForConfigOrDie(c.Admin).ApiextensionsV1().CustomResourceDefinitions().Create(
		context.Background(), crd, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create crd %s: %v", crd.Name, err)
	}
}

// kubeCreateCustom creates a custom object, retrying while its CRD is being
// established.
func kubeCreateCustom(t *testing.T, dyn dynamic.Interface, apiVersion, kind, plural, ns, name string, spec map[string]any) {
	t.Helper()
	gv, err := schema.ParseGroupVersion(apiVersion)
	if err != nil {
		t.Fatal(err)
	}
	u := &unstructured.Unstructured{Object: map[string]any{"apiVersion": apiVersion, "kind": kind,
		"metadata": map[string]any{"name": name}, "spec": spec}}
	r := dyn.Resource(gv.WithResource(plural))
	deadline := time.Now().Add(20 * time.Second)
	for {
		if ns != "" {
			u.SetNamespace(ns)
			_, err = r.Namespace(ns).Create(context.Background(), u, metav1.CreateOptions{})
		} else {
			_, err = r.Create(context.Background(), u, metav1.CreateOptions{})
		}
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("create %s %s: %v", kind, name, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// kubeEventually collects until the values are as wanted, for at most 30s.
func kubeEventually(t *testing.T, src source.Source, req source.Request, want map[string]float64) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		res := kubeCollect(t, src, req)
		var off []string
		for k, w := range want {
			if v := res.Values[k]; !v.Known || v.Number != w {
				off = append(off, fmt.Sprintf("%s = %+v, want %v", k, v, w))
			}
		}
		if len(off) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 30s: %s (errors %v)", strings.Join(off, "; "), res.Errors)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
