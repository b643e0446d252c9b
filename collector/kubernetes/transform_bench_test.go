package kubernetes

import (
	"context"
	"fmt"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/cache"
)

// BenchmarkTransforms measures what each informer does to every object it
// receives, on the initial list and on every watch event: reduce it to what
// the measures read.
func BenchmarkTransforms(b *testing.B) {
	app := goodContainer("app")
	app.Env = []corev1.EnvVar{{Name: "LOG_LEVEL", Value: "info"}, {Name: "DATABASE_URL", Value: "postgres://db/shop"}}
	objs := []struct {
		name   string
		obj    any
		reduce cache.TransformFunc
	}{
		{"deployment", deploymentObj("shop", "checkout", ptr[int32](3),
			podTemplate(labelsOf("app", "checkout", "team", "shop"), app, goodContainer("envoy"))), reduceDeployment},
		{"service", serviceObj("shop", "checkout", labelsOf("app", "checkout")), reduceService},
		{"pdb", pdbObj("shop", "checkout", &metav1.LabelSelector{MatchLabels: labelsOf("app", "checkout")}), reducePDB},
		{"networkpolicy", netpolObj("shop", "default-deny", nil, nil, 0), reduceNetworkPolicy},
		{"rolebinding", roleBindingObj("shop", "devs", user("alice"), group("shop-devs"), serviceAccount("ci", "deployer")), reduceRoleBinding},
		{"namespace", namespaceObj("shop", labelsOf("team", "shop", labelPSAEnforce, "restricted")), reduceNamespace([]string{"team", "app.kubernetes.io/part-of"})},
		{"node", nodeObj("node-1", labelsOf(labelZone, "eu-west-1a", labelRegion, "eu-west-1")), reduceNode},
		{"crd", crdObj("widgets.operator.example.com"), reduceCRD},
	}
	for _, o := range objs {
		b.Run(o.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := o.reduce(o.obj); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkInitialListPage measures the initial list of the typed
// informers per page of 500 Deployments: extract, reduce, wrap.
func BenchmarkInitialListPage(b *testing.B) {
	page := &appsv1.DeploymentList{ListMeta: metav1.ListMeta{ResourceVersion: "1"}}
	for i := range listPageSize {
		page.Items = append(page.Items, *deploymentObj("shop", fmt.Sprintf("svc-%d", i), ptr[int32](2),
			podTemplate(labelsOf("app", fmt.Sprintf("svc-%d", i)), goodContainer("app"), goodContainer("envoy"))))
	}
	list := listWith(func(context.Context, metav1.ListOptions) (*appsv1.DeploymentList, error) { return page, nil }, reduceDeployment)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := list(context.Background(), metav1.ListOptions{ResourceVersion: "0"}); err != nil {
			b.Fatal(err)
		}
	}
}
