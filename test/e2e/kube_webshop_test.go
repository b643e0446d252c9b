//go:build e2e

package e2e

import (
	"context"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apiextensions "k8s.io/apiextensions-apiserver/pkg/client/clientset/clientset"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
)

// The synthetic webshop: six app namespaces of three labelled teams and one
// unlabelled, a dozen workloads behind Services, PDBs, NetworkPolicies,
// Pod Security labels, a privileged container, people bound to roles, four
// nodes over three zones and two regions, and the platform beside it
// (monitoring, kube-system, argocd, kyverno) with the CRDs, namespaces and
// workloads by which tools are detected. kubeWebshopMeasures is what the
// Kubernetes source must answer for it, worked out by hand.

var kubeWebshopMeasures = map[string]float64{
	"app_namespaces":                6,       // shop-frontend, -search, -checkout, -payments, -catalog, -batch
	"tenants":                       3,       // storefront, checkout (one by team, one by part-of), catalog
	"pod_security_namespace_ratio":  2.0 / 6, // restricted, baseline; privileged enforces nothing
	"workloads":                     12,
	"microservices":                 9, // all but indexer, fraud-check, reports
	"replicated_workload_ratio":     7.0 / 12,
	"pdb_workload_ratio":            4.0 / 12,  // web, checkout, payments and fraud-check (empty selector)
	"probed_workload_ratio":         11.0 / 12, // all but session-cache
	"stateless_workload_ratio":      9.0 / 12,  // session-cache, payments (claim templates), images (PVC)
	"privileged_containers":         3,         // fraud-check's, catalog's two on the host network
	"containers_without_limits":     2,         // session-cache, images (cpu only)
	"limited_container_ratio":       12.0 / 14,
	"networkpolicy_namespace_ratio": 4.0 / 6, // frontend, checkout, payments, search
	"default_deny_namespace_ratio":  2.0 / 6, // frontend (explicit), checkout (policy types defaulted)
	"nodes":                         4,
	"zones":                         3,
	"regions":                       2,
	"nodes_not_ready":               1, // node-c1 (Ready=False); the others are Ready
	"deployments_unavailable":       1, // shop-search/indexer, Available=False
	"deployments_stuck":             1, // shop-search/indexer, ProgressDeadlineExceeded
	"networkpolicies":               6, // kube-system's too
	"gitops_apps":                   2, // the Argo CD Applications shop and payments
	"gitops_apps_failing":           1, // payments, Degraded
	"rbac_human_subjects":           6, // platform-team, alice, bob, storefront-devs, checkout-devs, carol
	"reachable":                     1,
}

// kubeWebshopRules is a small rules file of the e2e tier's own: the tools the
// webshop has and lacks, foundations, and service_mesh, whose decision
// follows the linkerd.io CRD.
const kubeWebshopRules = `
signals:
  microservices:
    help: Workloads a Service selects.
    kubernetes: microservices
  networkpolicy_namespace_ratio:
    help: App namespaces with a NetworkPolicy.
    type: ratio
    kubernetes: networkpolicy_namespace_ratio
tools:
  linkerd:
    capability: service_mesh
    crd_groups: [linkerd.io, policy.linkerd.io]
    namespaces: [linkerd]
    workloads: ['linkerd-(destination|identity|proxy-injector)']
  istio:
    capability: service_mesh
    crd_groups: [networking.istio.io]
    namespaces: [istio-system]
  kyverno:
    capability: policy_enforcement
    crd_groups: [kyverno.io]
    namespaces: [kyverno]
  gatekeeper:
    capability: policy_enforcement
    crd_groups: [templates.gatekeeper.sh]
    namespaces: [gatekeeper-system]
  jaeger:
    capability: distributed_tracing
    crd_groups: [jaegertracing.io]
    workloads: ['(.+-)?jaeger(-.+)?']
  cilium:
    crd_groups: [cilium.io]
    workloads: ['cilium(-operator)?']
  prometheus:
    crd_groups: [monitoring.coreos.com]
    workloads: ['prometheus(-server)?']
  argocd:
    namespaces: [argocd]
  velero:
    crd_groups: [velero.io]
    namespaces: [velero]
foundations:
  cilium:
    present: tool.cilium == true
  prometheus:
    present: tool.prometheus == true
  gitops:
    present: tool.argocd == true
  network_policies:
    present: networkpolicy_namespace_ratio > 0
capabilities:
  service_mesh:
    complexity: medium_high
    trigger: microservices > 5
    now: microservices >= 3
    requires: [cilium, prometheus, network_policies]
  policy_enforcement:
    complexity: medium
    trigger: microservices > 5
  distributed_tracing:
    complexity: medium
    trigger: microservices > 5
`

// kubeWebshopTools is each tool of kubeWebshopRules and whether the webshop has it.
var kubeWebshopTools = map[string]float64{
	"linkerd": 0, "istio": 0, "gatekeeper": 0, "velero": 0,
	"kyverno":    1, // a Deployment in its namespace
	"jaeger":     1, // no workload, but its jaegertracing.io CRD holds a Jaeger
	"cilium":     1, // DaemonSet kube-system/cilium only
	"prometheus": 1, // Deployment monitoring/prometheus-server and the ServiceMonitor CRD
	"argocd":     1, // a Deployment in its namespace
}

func kubeCreateWebshop(t *testing.T, c *kubeCluster) {
	t.Helper()
	ctx := context.Background()
	k := c.Client
	check := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("create %s: %v", what, err)
		}
	}
	for name, labels := range map[string]map[string]string{
		"shop-frontend": {"team": "storefront", "pod-security.kubernetes.io/enforce": "restricted"},
		"shop-search":   {"team": "storefront"},
		"shop-checkout": {"team": "checkout", "pod-security.kubernetes.io/enforce": "baseline"},
		"shop-payments": {"app.kubernetes.io/part-of": "checkout"},
		"shop-catalog":  {"team": "catalog", "pod-security.kubernetes.io/enforce": "privileged"},
		"shop-batch":    nil,
		"monitoring":    {"team": "platform"},
		"argocd":        {"team": "platform"},
		"kyverno":       {"team": "platform"},
	} {
		_, err := k.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}}, metav1.CreateOptions{})
		check("namespace "+name, err)
	}

	privileged := kubeShopContainer("fraud-check")
	privileged.SecurityContext = &corev1.SecurityContext{Privileged: kubePtr(true)}
	unprobed := corev1.Container{Name: "redis", Image: "redis:7"}
	cpuOnly := kubeShopContainer("images")
	delete(cpuOnly.Resources.Limits, corev1.ResourceMemory)

	type wl struct {
		ns, name   string
		replicas   int32
		containers []corev1.Container
		claims     bool // a StatefulSet with volumeClaimTemplates
		sts        bool
		edit       func(*corev1.PodSpec)
	}
	c1 := func(name string) []corev1.Container { return []corev1.Container{kubeShopContainer(name)} }
	for _, w := range []wl{
		{ns: "shop-frontend", name: "web", replicas: 3, containers: []corev1.Container{kubeShopContainer("nginx"), kubeShopContainer("web")}},
		{ns: "shop-frontend", name: "web-assets", replicas: 2, containers: c1("assets")},
		{ns: "shop-frontend", name: "session-cache", replicas: 1, containers: []corev1.Container{unprobed}, sts: true, claims: true},
		{ns: "shop-search", name: "search-api", replicas: 2, containers: c1("search")},
		{ns: "shop-search", name: "indexer", replicas: 1, containers: c1("indexer")},
		{ns: "shop-checkout", name: "checkout", replicas: 3, containers: c1("checkout")},
		{ns: "shop-checkout", name: "cart", replicas: 2, containers: c1("cart")},
		{ns: "shop-payments", name: "payments", replicas: 3, containers: c1("payments"), sts: true, claims: true},
		{ns: "shop-payments", name: "fraud-check", replicas: 1, containers: []corev1.Container{privileged}},
		{ns: "shop-catalog", name: "catalog", replicas: 2, containers: []corev1.Container{kubeShopContainer("catalog"), kubeShopContainer("sidecar")},
			edit: func(s *corev1.PodSpec) { s.HostNetwork = true }},
		{ns: "shop-catalog", name: "images", replicas: 1, containers: []corev1.Container{cpuOnly},
			edit: func(s *corev1.PodSpec) {
				s.Volumes = []corev1.Volume{{Name: "store", VolumeSource: corev1.VolumeSource{
					PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "images"}}}}
			}},
		{ns: "shop-batch", name: "reports", replicas: 0, containers: c1("reports"), sts: true},
		// The platform: not counted, but detected.
		{ns: "monitoring", name: "prometheus-server", replicas: 1, containers: c1("prometheus")},
		{ns: "kyverno", name: "kyverno-admission-controller", replicas: 3, containers: c1("kyverno")},
		{ns: "argocd", name: "argocd-server", replicas: 1, containers: c1("argocd")},
		{ns: "kube-system", name: "coredns", replicas: 2, containers: []corev1.Container{privileged}},
	} {
		tmpl := corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": w.name, "shop": "true"}},
			Spec: corev1.PodSpec{Containers: w.containers}}
		if w.edit != nil {
			w.edit(&tmpl.Spec)
		}
		sel := &metav1.LabelSelector{MatchLabels: map[string]string{"app": w.name}}
		var err error
		if w.sts {
			s := &appsv1.StatefulSet{ObjectMeta: metav1.ObjectMeta{Namespace: w.ns, Name: w.name},
				Spec: appsv1.StatefulSetSpec{Replicas: kubePtr(w.replicas), Selector: sel, Template: tmpl, ServiceName: w.name}}
			if w.claims {
				s.Spec.VolumeClaimTemplates = []corev1.PersistentVolumeClaim{{ObjectMeta: metav1.ObjectMeta{Name: "data"},
					Spec: corev1.PersistentVolumeClaimSpec{AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
						Resources: corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}}}}}
			}
			_, err = k.AppsV1().StatefulSets(w.ns).Create(ctx, s, metav1.CreateOptions{})
		} else {
			d := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: w.ns, Name: w.name},
				Spec: appsv1.DeploymentSpec{Replicas: kubePtr(w.replicas), Selector: sel, Template: tmpl}}
			_, err = k.AppsV1().Deployments(w.ns).Create(ctx, d, metav1.CreateOptions{})
		}
		check("workload "+w.ns+"/"+w.name, err)
	}
	ds := &appsv1.DaemonSet{ObjectMeta: metav1.ObjectMeta{Namespace: "kube-system", Name: "cilium"},
		Spec: appsv1.DaemonSetSpec{Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"k8s-app": "cilium"}},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"k8s-app": "cilium"}},
				Spec: corev1.PodSpec{Containers: c1("cilium-agent"), HostNetwork: true}}}}
	_, err := k.AppsV1().DaemonSets("kube-system").Create(ctx, ds, metav1.CreateOptions{})
	check("daemonset cilium", err)

	// Services: every workload but indexer, fraud-check and reports, plus
	// one whose selector no template satisfies and one without a selector.
	for ns, names := range map[string][]string{
		"shop-frontend": {"web", "web-assets", "session-cache"}, "shop-search": {"search-api"},
		"shop-checkout": {"checkout", "cart"}, "shop-payments": {"payments"}, "shop-catalog": {"catalog", "images"},
		"monitoring": {"prometheus-server"},
	} {
		for _, n := range names {
			kubeCreateService(t, k, ns, n, map[string]string{"app": n})
		}
	}
	kubeCreateService(t, k, "shop-batch", "reports-v2", map[string]string{"app": "reports", "version": "v2"})
	kubeCreateService(t, k, "shop-search", "external-search", nil)

	for _, p := range []struct {
		ns, name string
		sel      *metav1.LabelSelector
	}{
		{"shop-frontend", "web", &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}}},
		{"shop-checkout", "checkout", &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{
			{Key: "app", Operator: metav1.LabelSelectorOpIn, Values: []string{"checkout"}}}}},
		{"shop-payments", "everything", &metav1.LabelSelector{}},
		{"kube-system", "coredns", &metav1.LabelSelector{MatchLabels: map[string]string{"app": "coredns"}}},
	} {
		_, err := k.PolicyV1().PodDisruptionBudgets(p.ns).Create(ctx, &policyv1.PodDisruptionBudget{ObjectMeta: metav1.ObjectMeta{Namespace: p.ns, Name: p.name},
			Spec: policyv1.PodDisruptionBudgetSpec{Selector: p.sel, MinAvailable: kubePtr(intstr.FromInt32(1))}}, metav1.CreateOptions{})
		check("pdb "+p.ns+"/"+p.name, err)
	}

	ingress, egress := networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress
	for _, np := range []struct {
		ns, name string
		podSel   map[string]string
		types    []networkingv1.PolicyType
		rules    int
	}{
		{"shop-frontend", "default-deny", nil, []networkingv1.PolicyType{ingress}, 0},
		{"shop-frontend", "allow-web", map[string]string{"app": "web"}, []networkingv1.PolicyType{ingress}, 1},
		{"shop-checkout", "default-deny", nil, nil, 0},
		{"shop-payments", "allow-checkout", map[string]string{"app": "payments"}, nil, 1},
		{"shop-search", "deny-egress", nil, []networkingv1.PolicyType{egress}, 0},
		{"kube-system", "default-deny", nil, nil, 0},
	} {
		p := &networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Namespace: np.ns, Name: np.name},
			Spec: networkingv1.NetworkPolicySpec{PodSelector: metav1.LabelSelector{MatchLabels: np.podSel}, PolicyTypes: np.types}}
		for range np.rules {
			p.Spec.Ingress = append(p.Spec.Ingress, networkingv1.NetworkPolicyIngressRule{})
		}
		_, err := k.NetworkingV1().NetworkPolicies(np.ns).Create(ctx, p, metav1.CreateOptions{})
		check("networkpolicy "+np.ns+"/"+np.name, err)
	}

	for name, zr := range map[string][2]string{
		"node-a1": {"eu-west-1a", "eu-west-1"}, "node-a2": {"eu-west-1a", "eu-west-1"},
		"node-b1": {"eu-west-1b", "eu-west-1"}, "node-c1": {"us-east-1a", "us-east-1"},
	} {
		n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{
			"topology.kubernetes.io/zone": zr[0], "topology.kubernetes.io/region": zr[1], "kubernetes.io/os": "linux"}}}
		_, err := k.CoreV1().Nodes().Create(ctx, n, metav1.CreateOptions{})
		check("node "+name, err)
		ready := corev1.ConditionTrue
		if name == "node-c1" {
			ready = corev1.ConditionFalse
		}
		kubeSetNodeReady(t, k, name, ready)
	}
	// No controller runs beside the API server: the Deployments' status
	// is set as the Deployment controller would. indexer's rollout is stuck.
	for _, d := range []struct{ ns, name string }{
		{"shop-frontend", "web"}, {"shop-frontend", "web-assets"}, {"shop-search", "search-api"}, {"shop-search", "indexer"},
		{"shop-checkout", "checkout"}, {"shop-checkout", "cart"}, {"shop-payments", "fraud-check"}, {"shop-catalog", "catalog"},
		{"shop-catalog", "images"}, {"monitoring", "prometheus-server"}, {"kyverno", "kyverno-admission-controller"},
		{"argocd", "argocd-server"}, {"kube-system", "coredns"},
	} {
		kubeSetDeploymentHealth(t, k, d.ns, d.name, d.name != "indexer")
	}
	// Argo CD's Applications: shop is Synced and Healthy, payments Degraded.
	kubeCreateCRDVersion(t, c, "applications.argoproj.io", "v1alpha1")
	for name, health := range map[string]string{"shop": "Healthy", "payments": "Degraded"} {
		kubeCreateArgoApp(t, c, name, "Synced", health)
	}

	user := func(n string) rbacv1.Subject {
		return rbacv1.Subject{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: n}
	}
	group := func(n string) rbacv1.Subject {
		return rbacv1.Subject{Kind: rbacv1.GroupKind, APIGroup: rbacv1.GroupName, Name: n}
	}
	kubeCreateClusterRoleBinding(t, k, "platform-admins", "cluster-admin", group("platform-team"), user("alice@shop.example"))
	kubeCreateClusterRoleBinding(t, k, "scheduler-extra", "view", user("system:kube-scheduler"))
	for _, rb := range []struct {
		ns, name string
		subjects []rbacv1.Subject
	}{
		{"shop-frontend", "devs", []rbacv1.Subject{user("bob"), user("alice@shop.example"), group("storefront-devs")}},
		{"shop-checkout", "devs", []rbacv1.Subject{group("checkout-devs"), user("carol")}},
		{"shop-payments", "ci", []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Namespace: "shop-payments", Name: "default"}}},
		{"kube-system", "ops", []rbacv1.Subject{user("dave")}}, // a platform namespace
	} {
		_, err := k.RbacV1().RoleBindings(rb.ns).Create(ctx, &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: rb.ns, Name: rb.name},
			Subjects: rb.subjects, RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "edit"}}, metav1.CreateOptions{})
		check("rolebinding "+rb.ns+"/"+rb.name, err)
	}

	for _, name := range []string{"clusterpolicies.kyverno.io", "policies.kyverno.io", "jaegers.jaegertracing.io", "servicemonitors.monitoring.coreos.com"} {
		kubeCreateCRD(t, c, name)
	}
	// A Jaeger whose operator runs outside the cluster: in use, though
	// nothing of it runs here.
	kubeCreateCustom(t, dynamic.NewForConfigOrDie(c.Admin), "jaegertracing.io/v1", "Jaeger", "jaegers", "monitoring", "traces", map[string]any{})
}

// kubeShopContainer has probes and cpu and memory limits, as a well-kept
// service does.
func kubeShopContainer(name string) corev1.Container {
	probe := &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/healthz", Port: intstr.FromInt32(8080)}}}
	return corev1.Container{Name: name, Image: "registry.shop.example/" + name + ":1.0", ReadinessProbe: probe, LivenessProbe: probe,
		Resources: corev1.ResourceRequirements{Limits: corev1.ResourceList{
			corev1.ResourceCPU: resource.MustParse("500m"), corev1.ResourceMemory: resource.MustParse("256Mi")}}}
}

func kubeCreateService(t *testing.T, k kubernetes.Interface, ns, name string, selector map[string]string) {
	t.Helper()
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: corev1.ServiceSpec{Selector: selector, Ports: []corev1.ServicePort{{Port: 80, TargetPort: intstr.FromInt32(8080)}}}}
	if _, err := k.CoreV1().Services(ns).Create(context.Background(), svc, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create service %s/%s: %v", ns, name, err)
	}
}

func kubeCreateClusterRoleBinding(t *testing.T, k kubernetes.Interface, name, role string, subjects ...rbacv1.Subject) {
	t.Helper()
	b := &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: name}, Subjects: subjects,
		RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role}}
	if _, err := k.RbacV1().ClusterRoleBindings().Create(context.Background(), b, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create clusterrolebinding %s: %v", name, err)
	}
}

// kubeCreateCRD installs a CustomResourceDefinition named <plural>.<group>, as a
// tool's chart would.
func kubeCreateCRD(t *testing.T, c *kubeCluster, name string) {
	t.Helper()
	kubeCreateCRDVersion(t, c, name, "v1")
}

// kubeCreateCRDVersion installs a CRD that serves one version; without a
// status subresource, an update writes the status too.
func kubeCreateCRDVersion(t *testing.T, c *kubeCluster, name, version string) {
	t.Helper()
	plural, group, _ := strings.Cut(name, ".")
	kind := strings.ToUpper(plural[:1]) + strings.TrimSuffix(plural[1:], "s")
	crd := &apiextensionsv1.CustomResourceDefinition{ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: apiextensionsv1.CustomResourceDefinitionSpec{Group: group, Scope: apiextensionsv1.NamespaceScoped,
			Names: apiextensionsv1.CustomResourceDefinitionNames{Plural: plural, Kind: kind, ListKind: kind + "List"},
			Versions: []apiextensionsv1.CustomResourceDefinitionVersion{{Name: version, Served: true, Storage: true,
				Schema: &apiextensionsv1.CustomResourceValidation{OpenAPIV3Schema: &apiextensionsv1.JSONSchemaProps{
					Type: "object", XPreserveUnknownFields: kubePtr(true)}}}}}}
	if _, err := apiextensions.NewForConfigOrDie(c.Admin).ApiextensionsV1().CustomResourceDefinitions().Create(
		context.Background(), crd, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create crd %s: %v", name, err)
	}
}

func kubeDeleteCRD(t *testing.T, c *kubeCluster, name string) {
	t.Helper()
	if err := apiextensions.NewForConfigOrDie(c.Admin).ApiextensionsV1().CustomResourceDefinitions().Delete(
		context.Background(), name, metav1.DeleteOptions{}); err != nil {
		t.Fatalf("delete crd %s: %v", name, err)
	}
}

func kubeNamespace(name string, labels map[string]string) *corev1.Namespace {
	return &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}}
}

func kubeDeployment(ns, name string, replicas int32, containers ...corev1.Container) *appsv1.Deployment {
	labels := map[string]string{"app": name}
	return &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: appsv1.DeploymentSpec{Replicas: kubePtr(replicas), Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: corev1.PodSpec{Containers: containers}}}}
}

func kubeRoleBinding(ns, name, user string) *rbacv1.RoleBinding {
	return &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Subjects: []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: user}},
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "edit"}}
}

func kubeNode(name, zone, region string) *corev1.Node {
	return &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{
		"topology.kubernetes.io/zone": zone, "topology.kubernetes.io/region": region}}}
}
