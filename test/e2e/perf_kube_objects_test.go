//go:build e2e && perf

package e2e

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apiextensions "k8s.io/apiextensions-apiserver/pkg/client/clientset/clientset"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// The synthetic cluster of the issue: 500 app namespaces of 50 teams, 5,000
// Deployments (10 per namespace) each behind its Service, 2,000 PDBs,
// 1,000 NetworkPolicies, 2,000 RoleBindings, 50 Nodes over 3 zones and 200
// CRDs. Objects are written as a chart would write them (probes, limits,
// env, annotations); the API server adds managedFields, as it does for any
// client. There is no controller manager, so there are no ReplicaSets or
// Pods: the exporter does not read them, kube-state-metrics would.
const (
	perfNamespaces        = 500
	perfDeploymentsPerNS  = 10
	perfPDBsPerNS         = 4
	perfPoliciesPerNS     = 2
	perfRoleBindingsPerNS = 4
	perfNodes             = 50
	perfCRDs              = 200
	perfTeams             = 50
	perfCreateWorkers     = 24
)

// perfClusterTruth is what the exporter must measure on the cluster, worked
// out from the construction below.
var perfClusterTruth = map[string]float64{
	"nodes":                         perfNodes,
	"microservices":                 perfNamespaces * perfDeploymentsPerNS,
	"replicated_workload_ratio":     0.6, // svc-0, -3, -6, -9 of each namespace run one replica
	"pdb_workload_ratio":            float64(perfPDBsPerNS) / perfDeploymentsPerNS,
	"networkpolicy_namespace_ratio": 1,
	"pod_security_namespace_ratio":  0.5, // the even namespaces enforce restricted
	"rbac_human_subjects":           perfNamespaces + perfTeams,
}

func perfNamespace(i int) string { return fmt.Sprintf("shop-%03d", i) }

// perfClients are clients without client-go's default rate limit of 5
// requests per second, talking protobuf where the API has it.
func perfClients(t testing.TB, c *kubeCluster) (kubernetes.Interface, apiextensions.Interface) {
	t.Helper()
	rc := rest.CopyConfig(c.Admin)
	rc.QPS, rc.Burst = -1, 0
	pb := rest.CopyConfig(rc)
	pb.ContentType = runtime.ContentTypeProtobuf
	return kubernetes.NewForConfigOrDie(pb), apiextensions.NewForConfigOrDie(rc)
}

// perfPopulate creates the synthetic cluster with a bounded pool of workers
// and returns how long it took and how many objects it wrote.
func perfPopulate(t *testing.T, c *kubeCluster) (time.Duration, int) {
	t.Helper()
	k, ext := perfClients(t, c)
	ctx := context.Background()
	start := time.Now()
	var n atomic.Int64
	run := func(what string, jobs []func() error) {
		t0 := time.Now()
		errs := perfPool(perfCreateWorkers, jobs, func(f func() error) error {
			err := f()
			if err == nil {
				n.Add(1)
			}
			return err
		})
		if len(errs) > 0 {
			t.Fatalf("create %s: %v", what, errs)
		}
		t.Logf("created %d %s in %s", len(jobs), what, time.Since(t0).Round(time.Millisecond))
	}

	var first []func() error
	first = append(first, func() error {
		_, err := k.CoreV1().Namespaces().Create(ctx, kubeNamespace("monitoring", nil), metav1.CreateOptions{})
		return err
	})
	for i := range perfNamespaces {
		labels := map[string]string{"team": fmt.Sprintf("team-%02d", i%perfTeams), "app.kubernetes.io/managed-by": "argocd"}
		if i%2 == 0 {
			labels["pod-security.kubernetes.io/enforce"] = "restricted"
		}
		first = append(first, func() error {
			_, err := k.CoreV1().Namespaces().Create(ctx, kubeNamespace(perfNamespace(i), labels), metav1.CreateOptions{})
			return err
		})
	}
	for i := range perfNodes {
		first = append(first, func() error {
			_, err := k.CoreV1().Nodes().Create(ctx, perfNode(i), metav1.CreateOptions{})
			return err
		})
	}
	// CRDs first among the rest: each one makes the API server rebuild its
	// OpenAPI document, work better done before the bulk of the writes.
	for i := range perfCRDs {
		first = append(first, func() error {
			_, err := ext.ApiextensionsV1().CustomResourceDefinitions().Create(ctx, perfCRD(i), metav1.CreateOptions{})
			return err
		})
	}
	run("namespaces, nodes and CRDs", first)

	var bulk []func() error
	for i := range perfNamespaces {
		ns := perfNamespace(i)
		for j := range perfDeploymentsPerNS {
			bulk = append(bulk, func() error {
				_, err := k.AppsV1().Deployments(ns).Create(ctx, perfDeployment(ns, fmt.Sprintf("svc-%d", j), j), metav1.CreateOptions{})
				return err
			}, func() error {
				_, err := k.CoreV1().Services(ns).Create(ctx, perfService(ns, fmt.Sprintf("svc-%d", j)), metav1.CreateOptions{})
				return err
			})
		}
		for j := range perfPDBsPerNS {
			bulk = append(bulk, func() error {
				_, err := k.PolicyV1().PodDisruptionBudgets(ns).Create(ctx, perfPDB(ns, fmt.Sprintf("svc-%d", j)), metav1.CreateOptions{})
				return err
			})
		}
		for _, np := range perfNetworkPolicies(ns) {
			bulk = append(bulk, func() error {
				_, err := k.NetworkingV1().NetworkPolicies(ns).Create(ctx, np, metav1.CreateOptions{})
				return err
			})
		}
		for _, rb := range perfRoleBindings(ns, i) {
			bulk = append(bulk, func() error {
				_, err := k.RbacV1().RoleBindings(ns).Create(ctx, rb, metav1.CreateOptions{})
				return err
			})
		}
	}
	run("Deployments, Services, PDBs, NetworkPolicies and RoleBindings", bulk)
	return time.Since(start), int(n.Load())
}

func perfContainer(name string, port int32) corev1.Container {
	c := kubeShopContainer(name)
	c.Image = "registry.shop.example/" + name + ":2.14.3"
	c.Ports = []corev1.ContainerPort{{Name: "http", ContainerPort: port}, {Name: "metrics", ContainerPort: 9090}}
	c.Env = []corev1.EnvVar{
		{Name: "LOG_LEVEL", Value: "info"}, {Name: "OTEL_SERVICE_NAME", Value: name},
		{Name: "DATABASE_URL", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
			LocalObjectReference: corev1.LocalObjectReference{Name: name + "-db"}, Key: "url"}}},
		{Name: "POD_NAME", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}}},
	}
	c.Resources.Requests = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m"), corev1.ResourceMemory: resource.MustParse("128Mi")}
	c.VolumeMounts = []corev1.VolumeMount{{Name: "config", MountPath: "/etc/" + name, ReadOnly: true}}
	c.SecurityContext = &corev1.SecurityContext{RunAsNonRoot: kubePtr(true), AllowPrivilegeEscalation: kubePtr(false),
		ReadOnlyRootFilesystem: kubePtr(true), Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}}}
	return c
}

// perfDeployment is workload j of a namespace: an app container and a
// sidecar, replicated except every third.
func perfDeployment(ns, name string, j int) *appsv1.Deployment {
	replicas := int32(2)
	if j%3 == 0 {
		replicas = 1
	}
	d := kubeDeployment(ns, name, replicas, perfContainer(name, 8080), perfContainer("envoy", 15001))
	d.Labels = map[string]string{"app": name, "app.kubernetes.io/name": name, "app.kubernetes.io/version": "2.14.3",
		"app.kubernetes.io/part-of": "shop", "helm.sh/chart": name + "-1.4.0"}
	d.Annotations = map[string]string{"deployment.kubernetes.io/revision": "7", "argocd.argoproj.io/tracking-id": ns + ":apps/Deployment:" + ns + "/" + name}
	d.Spec.Template.Labels["app.kubernetes.io/name"] = name
	d.Spec.Template.Annotations = map[string]string{"prometheus.io/scrape": "true", "prometheus.io/port": "9090"}
	d.Spec.Template.Spec.Volumes = []corev1.Volume{{Name: "config", VolumeSource: corev1.VolumeSource{
		ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: name + "-config"}}}}}
	d.Spec.Template.Spec.ServiceAccountName = name
	return d
}

func perfService(ns, name string) *corev1.Service {
	return &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: map[string]string{"app": name}},
		Spec: corev1.ServiceSpec{Selector: map[string]string{"app": name}, Ports: []corev1.ServicePort{
			{Name: "http", Port: 80, TargetPort: intstr.FromString("http")},
			{Name: "metrics", Port: 9090, TargetPort: intstr.FromString("metrics")}}}}
}

func perfPDB(ns, name string) *policyv1.PodDisruptionBudget {
	return &policyv1.PodDisruptionBudget{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: policyv1.PodDisruptionBudgetSpec{MinAvailable: kubePtr(intstr.FromInt32(1)),
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": name}}}}
}

// perfNetworkPolicies are a default-deny policy and one that lets the
// ingress controller reach svc-0.
func perfNetworkPolicies(ns string) []*networkingv1.NetworkPolicy {
	ingress := networkingv1.PolicyTypeIngress
	return []*networkingv1.NetworkPolicy{
		{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "default-deny"},
			Spec: networkingv1.NetworkPolicySpec{PolicyTypes: []networkingv1.PolicyType{ingress}}},
		{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "allow-ingress"},
			Spec: networkingv1.NetworkPolicySpec{PodSelector: metav1.LabelSelector{MatchLabels: map[string]string{"app": "svc-0"}},
				PolicyTypes: []networkingv1.PolicyType{ingress},
				Ingress: []networkingv1.NetworkPolicyIngressRule{{From: []networkingv1.NetworkPolicyPeer{{
					NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"kubernetes.io/metadata.name": "ingress-nginx"}}}}}}}},
	}
}

// perfRoleBindings bind a developer, the team's group, the next namespace's
// developer (on call), a CI service account and every authenticated user:
// the human subjects are the 500 developers and the 50 teams.
func perfRoleBindings(ns string, i int) []*rbacv1.RoleBinding {
	user := func(n string) rbacv1.Subject {
		return rbacv1.Subject{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: n}
	}
	group := func(n string) rbacv1.Subject {
		return rbacv1.Subject{Kind: rbacv1.GroupKind, APIGroup: rbacv1.GroupName, Name: n}
	}
	rb := func(name, role string, s ...rbacv1.Subject) *rbacv1.RoleBinding {
		return &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Subjects: s,
			RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role}}
	}
	return []*rbacv1.RoleBinding{
		rb("devs", "edit", user(fmt.Sprintf("dev-%03d@shop.example", i)), group(fmt.Sprintf("team-%02d", i%perfTeams))),
		rb("on-call", "view", user(fmt.Sprintf("dev-%03d@shop.example", (i+1)%perfNamespaces))),
		rb("ci", "edit", rbacv1.Subject{Kind: rbacv1.ServiceAccountKind, Namespace: "argocd", Name: "argocd-application-controller"}),
		rb("readers", "view", group("system:authenticated")),
	}
}

func perfNode(i int) *corev1.Node {
	zone := []string{"a", "b", "c"}[i%3]
	n := kubeNode(fmt.Sprintf("node-%02d", i), "eu-west-1"+zone, "eu-west-1")
	for k, v := range map[string]string{"kubernetes.io/hostname": n.Name, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64",
		"node.kubernetes.io/instance-type": "m6i.2xlarge", "node-role.kubernetes.io/worker": ""} {
		n.Labels[k] = v
	}
	capacity := corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("8"), corev1.ResourceMemory: resource.MustParse("32Gi"),
		corev1.ResourcePods: resource.MustParse("110")}
	n.Status = corev1.NodeStatus{Capacity: capacity, Allocatable: capacity,
		NodeInfo: corev1.NodeSystemInfo{KubeletVersion: "v1.37.2", OSImage: "Debian GNU/Linux 13", ContainerRuntimeVersion: "containerd://2.1.0",
			KernelVersion: "6.12.0", OperatingSystem: "linux", Architecture: "amd64"},
		Addresses:  []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: fmt.Sprintf("10.0.%d.%d", i/250, i%250+1)}},
		Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue, Reason: "KubeletReady"}}}
	return n
}

// perfCRD is an operator's CRD with a small schema, 40 operators' groups.
func perfCRD(i int) *apiextensionsv1.CustomResourceDefinition {
	plural, group := fmt.Sprintf("widgets%d", i), fmt.Sprintf("operator%d.shop.example", i%40)
	kind := "Widget" + strings.TrimPrefix(plural, "widgets")
	str := apiextensionsv1.JSONSchemaProps{Type: "string"}
	return &apiextensionsv1.CustomResourceDefinition{ObjectMeta: metav1.ObjectMeta{Name: plural + "." + group},
		Spec: apiextensionsv1.CustomResourceDefinitionSpec{Group: group, Scope: apiextensionsv1.NamespaceScoped,
			Names: apiextensionsv1.CustomResourceDefinitionNames{Plural: plural, Kind: kind, ListKind: kind + "List"},
			Versions: []apiextensionsv1.CustomResourceDefinitionVersion{{Name: "v1", Served: true, Storage: true,
				Schema: &apiextensionsv1.CustomResourceValidation{OpenAPIV3Schema: &apiextensionsv1.JSONSchemaProps{
					Type: "object", Properties: map[string]apiextensionsv1.JSONSchemaProps{
						"spec": {Type: "object", Properties: map[string]apiextensionsv1.JSONSchemaProps{
							"image": str, "replicas": {Type: "integer"}, "mode": str}},
						"status": {Type: "object", XPreserveUnknownFields: kubePtr(true)}}}}}}}}
}
