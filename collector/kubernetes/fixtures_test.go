package kubernetes

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	"k8s.io/client-go/kubernetes/fake"
	metadatafake "k8s.io/client-go/metadata/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/capability-exporter/capability_exporter/collector/source"
	"github.com/capability-exporter/capability_exporter/config"
	"github.com/capability-exporter/capability_exporter/triggers"
)

// Builders of the objects the unit tests put into client-go's fakes. They
// set only what the source reads, like the manifests a team would write.

func labelsOf(kv ...string) map[string]string {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return m
}

// goodContainer has readiness and liveness probes and cpu and memory limits.
func goodContainer(name string) corev1.Container {
	probe := &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/healthz"}}}
	return corev1.Container{Name: name, Image: "shop/" + name, ReadinessProbe: probe, LivenessProbe: probe,
		Resources: corev1.ResourceRequirements{Limits: corev1.ResourceList{
			corev1.ResourceCPU: resource.MustParse("500m"), corev1.ResourceMemory: resource.MustParse("256Mi")}}}
}

func podTemplate(labels map[string]string, containers ...corev1.Container) corev1.PodTemplateSpec {
	return corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: corev1.PodSpec{Containers: containers}}
}

func deploymentObj(ns, name string, replicas *int32, t corev1.PodTemplateSpec) *appsv1.Deployment {
	return &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name,
		ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "kubectl"}}, Annotations: map[string]string{"a": "b"}},
		Spec: appsv1.DeploymentSpec{Replicas: replicas, Template: t}}
}

func statefulSetObj(ns, name string, replicas *int32, t corev1.PodTemplateSpec, claims ...string) *appsv1.StatefulSet {
	s := &appsv1.StatefulSet{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: appsv1.StatefulSetSpec{Replicas: replicas, Template: t}}
	for _, c := range claims {
		s.Spec.VolumeClaimTemplates = append(s.Spec.VolumeClaimTemplates, corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Name: c}})
	}
	return s
}

func serviceObj(ns, name string, selector map[string]string) *corev1.Service {
	return &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Spec: corev1.ServiceSpec{Selector: selector}}
}

func pdbObj(ns, name string, sel *metav1.LabelSelector) *policyv1.PodDisruptionBudget {
	return &policyv1.PodDisruptionBudget{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: policyv1.PodDisruptionBudgetSpec{Selector: sel}}
}

func netpolObj(ns, name string, podSelector map[string]string, types []networkingv1.PolicyType, ingressRules int) *networkingv1.NetworkPolicy {
	np := &networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: networkingv1.NetworkPolicySpec{PodSelector: metav1.LabelSelector{MatchLabels: podSelector}, PolicyTypes: types}}
	for range ingressRules {
		np.Spec.Ingress = append(np.Spec.Ingress, networkingv1.NetworkPolicyIngressRule{})
	}
	return np
}

func user(name string) rbacv1.Subject  { return rbacv1.Subject{Kind: rbacv1.UserKind, Name: name} }
func group(name string) rbacv1.Subject { return rbacv1.Subject{Kind: rbacv1.GroupKind, Name: name} }
func serviceAccount(ns, name string) rbacv1.Subject {
	return rbacv1.Subject{Kind: rbacv1.ServiceAccountKind, Namespace: ns, Name: name}
}

func roleBindingObj(ns, name string, subjects ...rbacv1.Subject) *rbacv1.RoleBinding {
	return &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Subjects: subjects,
		RoleRef: rbacv1.RoleRef{Kind: "ClusterRole", Name: "edit"}}
}

func clusterRoleBindingObj(name string, subjects ...rbacv1.Subject) *rbacv1.ClusterRoleBinding {
	return &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: name}, Subjects: subjects,
		RoleRef: rbacv1.RoleRef{Kind: "ClusterRole", Name: "view"}}
}

func metaObj(apiVersion, kind, ns, name string, labels map[string]string) *metav1.PartialObjectMetadata {
	return &metav1.PartialObjectMetadata{TypeMeta: metav1.TypeMeta{APIVersion: apiVersion, Kind: kind},
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: labels}}
}

func namespaceObj(name string, labels map[string]string) *metav1.PartialObjectMetadata {
	return metaObj("v1", "Namespace", "", name, labels)
}

// nodeObj is a node that reports no Ready condition yet; readyNode and
// notReadyNode give it one.
func nodeObj(name string, labels map[string]string) *corev1.Node {
	return &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}}
}

func withReady(n *corev1.Node, status corev1.ConditionStatus) *corev1.Node {
	n.Status.Conditions = append(n.Status.Conditions,
		corev1.NodeCondition{Type: corev1.NodeMemoryPressure, Status: corev1.ConditionFalse},
		corev1.NodeCondition{Type: corev1.NodeReady, Status: status})
	return n
}

// withConditions sets a Deployment's status conditions as its controller
// would.
func withConditions(d *appsv1.Deployment, conds ...appsv1.DeploymentCondition) *appsv1.Deployment {
	d.Status.Conditions = conds
	return d
}

func deploymentCondition(t appsv1.DeploymentConditionType, status corev1.ConditionStatus, reason string) appsv1.DeploymentCondition {
	return appsv1.DeploymentCondition{Type: t, Status: status, Reason: reason}
}

// unstructuredObj is a custom resource as the dynamic client reads it.
func unstructuredObj(apiVersion, kind, ns, name string, fields map[string]any) *unstructured.Unstructured {
	u := &unstructured.Unstructured{Object: map[string]any{}}
	for k, v := range fields {
		u.Object[k] = v
	}
	u.SetAPIVersion(apiVersion)
	u.SetKind(kind)
	u.SetNamespace(ns)
	u.SetName(name)
	return u
}

func crdObj(name string) *metav1.PartialObjectMetadata {
	return metaObj("apiextensions.k8s.io/v1", "CustomResourceDefinition", "", name, nil)
}

func daemonSetObj(ns, name string) *metav1.PartialObjectMetadata {
	return metaObj("apps/v1", "DaemonSet", ns, name, nil)
}

func ptr[T any](v T) *T { return &v }

// fakeCluster is a source on client-go's fake clientset and fake metadata
// client.
type fakeCluster struct {
	src    *Source
	client *fake.Clientset
	meta   *metadatafake.FakeMetadataClient
	dyn    *dynamicfake.FakeDynamicClient
}

// newFakeCluster splits objs between the typed, the metadata and the
// dynamic fake (unstructured objects: the policies of CNIs) and
// builds a source on them with the default kubernetes section, changed by
// edit if given. Reactors to install before the informers start go in
// react.
func newFakeCluster(t testing.TB, objs []runtime.Object, edit func(*config.KubernetesSource), react func(*fakeCluster)) *fakeCluster {
	t.Helper()
	var typed, metaObjs, dynObjs []runtime.Object
	for _, o := range objs {
		switch o.(type) {
		case *metav1.PartialObjectMetadata:
			metaObjs = append(metaObjs, o)
		case *unstructured.Unstructured:
			dynObjs = append(dynObjs, o)
		default:
			typed = append(typed, o)
		}
	}
	scheme := runtime.NewScheme()
	if err := metav1.AddMetaToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	listKinds := map[schema.GroupVersionResource]string{}
	for _, id := range append(slices.Clone(policyResources), gitopsResources...) {
		listKinds[resourceKinds[id].gvr] = "UnstructuredList"
	}
	fc := &fakeCluster{client: fake.NewClientset(typed...), meta: metadatafake.NewSimpleMetadataClient(scheme, metaObjs...),
		dyn: dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(), listKinds, dynObjs...)}
	if react != nil {
		react(fc)
	}
	sec := config.DefaultKubernetesSource()
	if edit != nil {
		edit(&sec)
	}
	src, err := newKubernetesSource(fc.client, fc.meta, fc.dyn, &sec, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(src.Close)
	fc.src = src
	return fc
}

// request asks for the named measures, each under its own name, and for
// the tools.
func request(names []string, tools ...*triggers.Tool) source.Request {
	req := source.Request{Tools: tools}
	for _, n := range names {
		req.Signals = append(req.Signals, source.SignalRequest{Key: n, Spec: triggers.SignalSource{Kubernetes: n}})
	}
	return req
}

func (fc *fakeCluster) collect(t testing.TB, req source.Request) source.Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return fc.src.Collect(ctx, req)
}

// forbid makes list (or watch) of a resource fail as an API server denies a
// request its RBAC does not allow.
func forbid(f *k8stesting.Fake, verb, resource, group string) {
	err := apierrors.NewForbidden(schema.GroupResource{Group: group, Resource: resource}, "",
		errors.New("RBAC: the ClusterRole does not allow it"))
	if verb == "watch" {
		f.PrependWatchReactor(resource, func(k8stesting.Action) (bool, watch.Interface, error) { return true, nil, err })
		return
	}
	f.PrependReactor(verb, resource, func(k8stesting.Action) (bool, runtime.Object, error) { return true, nil, err })
}

func errNotFound(resource, group string) error {
	return apierrors.NewNotFound(schema.GroupResource{Group: group, Resource: resource}, "")
}

var errConnRefused = errors.New("dial tcp 127.0.0.1:6443: connect: connection refused")

func contextWithTimeout(d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), d)
}

func mustDo(t testing.TB, f func() error) {
	t.Helper()
	if err := f(); err != nil {
		t.Fatal(err)
	}
}

// waitForWatches waits until the informers of these resources have opened
// their watch: the fakes deliver only changes made after it opened.
func waitForWatches(t testing.TB, fc *fakeCluster, resources ...string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for _, r := range resources {
		for !watching(fc, r) {
			if time.Now().After(deadline) {
				t.Fatalf("no watch of %s opened", r)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
}

func watching(fc *fakeCluster, resource string) bool {
	for _, a := range slices.Concat(fc.client.Actions(), fc.meta.Actions(), fc.dyn.Actions()) {
		if a.GetVerb() == "watch" && a.GetResource().Resource == resource {
			return true
		}
	}
	return false
}

// eventually collects until every named value is as wanted, for at most
// five seconds.
func eventually(t testing.TB, fc *fakeCluster, req source.Request, want map[string]float64) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		res := fc.collect(t, req)
		var off []string
		for name, w := range want {
			if v := res.Values[name]; !v.Known || v.Number != w {
				off = append(off, fmt.Sprintf("%s = %+v, want %v", name, v, w))
			}
		}
		if len(off) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 5s: %s", strings.Join(off, "; "))
		}
		time.Sleep(20 * time.Millisecond)
	}
}
