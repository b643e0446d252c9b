package kubernetes

import (
	"slices"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/capability-exporter/capability_exporter/triggers"
)

// The informers keep these reduced objects instead of the API objects: each
// holds only what a measure reads, computed once when the object arrives, so
// the cache of a cluster with thousands of workloads stays small and an
// evaluation only counts. The transform functions below build them; each
// passes an already reduced object through unchanged, so they are idempotent.

// objectName lets the informer's store key a reduced object: meta.Accessor
// accepts an ObjectMetaAccessor, and the meta is built only when the store
// needs the key (on add, update and delete), not kept.
type objectName struct{ namespace, name string }

func (o *objectName) GetObjectMeta() metav1.Object {
	return &metav1.ObjectMeta{Namespace: o.namespace, Name: o.name}
}

// workload is a Deployment or StatefulSet, by its pod template. Containers
// are counted per template, not per replica: a posture measure asks how the
// workloads are written, and a 50-replica Deployment is one spec.
type workload struct {
	objectName
	labels     map[string]string // pod template labels, what Services and PDBs select
	replicas   int32
	containers int32 // app containers (init containers not counted)
	limited    int32 // app containers with both cpu and memory limits
	privileged int32 // containers, init included, that are privileged or share a host namespace
	probed     bool  // every app container has a readiness and a liveness probe
	stateful   bool  // mounts a persistent volume claim or has volumeClaimTemplates
	// Deployments only, from their status conditions: Available=False, and
	// Progressing=False with reason ProgressDeadlineExceeded.
	unavailable, stuck bool
	// created is the object's creation time in Unix seconds: a tool's
	// earliest workload dates its adoption.
	created int64
	// images are the app containers' image names (imageName), each once,
	// and components the app.kubernetes.io/component values of the pod
	// template and the workload: what tells a datastore (datastores.go).
	images     []string
	components []string
}

func newWorkload(meta *metav1.ObjectMeta, replicas *int32, t *corev1.PodTemplateSpec, claimTemplates int) *workload {
	w := &workload{objectName: objectName{meta.Namespace, meta.Name}, labels: t.Labels, replicas: 1,
		probed: len(t.Spec.Containers) > 0, stateful: claimTemplates > 0, created: unixOrZero(meta.CreationTimestamp)}
	if replicas != nil {
		w.replicas = *replicas
	}
	spec := &t.Spec
	host := spec.HostNetwork || spec.HostPID || spec.HostIPC
	for i := range spec.Containers {
		c := &spec.Containers[i]
		w.containers++
		if name := imageName(c.Image); name != "" && !slices.Contains(w.images, name) {
			w.images = append(w.images, name)
		}
		if c.ReadinessProbe == nil || c.LivenessProbe == nil {
			w.probed = false
		}
		_, cpu := c.Resources.Limits[corev1.ResourceCPU]
		_, mem := c.Resources.Limits[corev1.ResourceMemory]
		if cpu && mem {
			w.limited++
		}
		if host || isPrivileged(c.SecurityContext) {
			w.privileged++
		}
	}
	for i := range spec.InitContainers {
		if host || isPrivileged(spec.InitContainers[i].SecurityContext) {
			w.privileged++
		}
	}
	for i := range spec.Volumes {
		if spec.Volumes[i].PersistentVolumeClaim != nil {
			w.stateful = true
		}
	}
	for _, c := range []string{t.Labels[triggers.ComponentLabel], meta.Labels[triggers.ComponentLabel]} {
		if c != "" && !slices.Contains(w.components, c) {
			w.components = append(w.components, c)
		}
	}
	return w
}

func isPrivileged(sc *corev1.SecurityContext) bool {
	return sc != nil && sc.Privileged != nil && *sc.Privileged
}

func reduceDeployment(obj any) (any, error) {
	d, ok := obj.(*appsv1.Deployment)
	if !ok {
		return obj, nil
	}
	w := newWorkload(&d.ObjectMeta, d.Spec.Replicas, &d.Spec.Template, 0)
	for _, c := range d.Status.Conditions {
		switch {
		case c.Type == appsv1.DeploymentAvailable && c.Status == corev1.ConditionFalse:
			w.unavailable = true
		case c.Type == appsv1.DeploymentProgressing && c.Status == corev1.ConditionFalse && c.Reason == reasonProgressDeadlineExceeded:
			w.stuck = true
		}
	}
	return w, nil
}

// reasonProgressDeadlineExceeded is the reason the Deployment controller
// gives a Progressing=False condition once a rollout has made no progress
// for spec.progressDeadlineSeconds.
const reasonProgressDeadlineExceeded = "ProgressDeadlineExceeded"

func reduceStatefulSet(obj any) (any, error) {
	if s, ok := obj.(*appsv1.StatefulSet); ok {
		return newWorkload(&s.ObjectMeta, s.Spec.Replicas, &s.Spec.Template, len(s.Spec.VolumeClaimTemplates)), nil
	}
	return obj, nil
}

// service keeps a Service's selector; a Service without one (ExternalName,
// manually managed endpoints) selects no workload.
type service struct {
	objectName
	selector map[string]string
}

func reduceService(obj any) (any, error) {
	if s, ok := obj.(*corev1.Service); ok {
		return &service{objectName{s.Namespace, s.Name}, s.Spec.Selector}, nil
	}
	return obj, nil
}

// selects reports whether a Service selector picks pods with these labels.
func (s *service) selects(podLabels map[string]string) bool {
	if len(s.selector) == 0 {
		return false
	}
	for k, v := range s.selector {
		if pv, ok := podLabels[k]; !ok || pv != v {
			return false
		}
	}
	return true
}

// pdb keeps a PodDisruptionBudget's selector, parsed once. In policy/v1 a
// null selector selects nothing and an empty one every pod of the namespace.
type pdb struct {
	objectName
	selector labels.Selector
}

func reducePDB(obj any) (any, error) {
	if p, ok := obj.(*policyv1.PodDisruptionBudget); ok {
		sel := labels.Nothing()
		if p.Spec.Selector != nil {
			if s, err := metav1.LabelSelectorAsSelector(p.Spec.Selector); err == nil {
				sel = s
			}
		}
		return &pdb{objectName{p.Namespace, p.Name}, sel}, nil
	}
	return obj, nil
}

// networkPolicy records whether the policy denies all ingress to its
// namespace: it selects every pod, applies to ingress, and allows nothing.
// The policies of CNIs reduce to it too (policies.go); a
// clusterwide one has no namespace and says through rules which namespaces'
// pods it selects.
type networkPolicy struct {
	objectName
	kind        string // as in messages: NetworkPolicy, CiliumClusterwideNetworkPolicy, ...
	denyIngress bool
	rules       []clusterwideRule // clusterwide policies only
	unevaluable string            // why the exporter cannot tell what the policy selects
}

func reduceNetworkPolicy(obj any) (any, error) {
	np, ok := obj.(*networkingv1.NetworkPolicy)
	if !ok {
		return obj, nil
	}
	sel := np.Spec.PodSelector
	ingress := len(np.Spec.PolicyTypes) == 0 // unset means ingress
	for _, t := range np.Spec.PolicyTypes {
		ingress = ingress || t == networkingv1.PolicyTypeIngress
	}
	deny := ingress && len(np.Spec.Ingress) == 0 && len(sel.MatchLabels) == 0 && len(sel.MatchExpressions) == 0
	return &networkPolicy{objectName: objectName{np.Namespace, np.Name}, kind: "NetworkPolicy", denyIngress: deny}, nil
}

// binding keeps the human subjects of a RoleBinding or ClusterRoleBinding:
// Users and Groups whose names are not system: ones, as "User:alice".
type binding struct {
	objectName
	humans []string
}

func humanSubjects(subjects []rbacv1.Subject) []string {
	var out []string
	for _, s := range subjects {
		if (s.Kind == rbacv1.UserKind || s.Kind == rbacv1.GroupKind) && !strings.HasPrefix(s.Name, "system:") {
			out = append(out, s.Kind+":"+s.Name)
		}
	}
	return out
}

func reduceRoleBinding(obj any) (any, error) {
	if b, ok := obj.(*rbacv1.RoleBinding); ok {
		return &binding{objectName{b.Namespace, b.Name}, humanSubjects(b.Subjects)}, nil
	}
	return obj, nil
}

func reduceClusterRoleBinding(obj any) (any, error) {
	if b, ok := obj.(*rbacv1.ClusterRoleBinding); ok {
		return &binding{objectName{"", b.Name}, humanSubjects(b.Subjects)}, nil
	}
	return obj, nil
}

// Label keys the measures read from metadata.
const (
	labelPSAEnforce  = "pod-security.kubernetes.io/enforce"
	labelZone        = "topology.kubernetes.io/zone"
	labelRegion      = "topology.kubernetes.io/region"
	labelZoneBeta    = "failure-domain.beta.kubernetes.io/zone"
	labelRegionBeta  = "failure-domain.beta.kubernetes.io/region"
	psaPrivileged    = "privileged"
	crdNameSeparator = "."
)

// namespaceInfo keeps a namespace's tenant (the value of the first team
// label it has), its Pod Security Admission enforce level, and its labels,
// which clusterwide network policies select namespaces by.
type namespaceInfo struct {
	objectName
	team    string
	enforce string
	labels  map[string]string
}

func reduceNamespace(teamLabels []string) func(any) (any, error) {
	return func(obj any) (any, error) {
		m, ok := obj.(*metav1.PartialObjectMetadata)
		if !ok {
			return obj, nil
		}
		ns := &namespaceInfo{objectName: objectName{"", m.Name}, enforce: m.Labels[labelPSAEnforce], labels: m.Labels}
		for _, l := range teamLabels {
			if v := m.Labels[l]; v != "" {
				ns.team = v
				break
			}
		}
		return ns, nil
	}
}

// node keeps a node's topology (the GA labels, else the deprecated beta ones
// that older clusters still set) and whether it is NotReady: its Ready
// condition is False, or Unknown (the kubelet stopped reporting). A node
// without a Ready condition has reported nothing yet and is not counted; the
// node controller gives it Unknown once its grace period passes.
type node struct {
	objectName
	zone, region string
	notReady     bool
}

func reduceNode(obj any) (any, error) {
	m, ok := obj.(*corev1.Node)
	if !ok {
		return obj, nil
	}
	n := &node{objectName: objectName{"", m.Name}, zone: m.Labels[labelZone], region: m.Labels[labelRegion]}
	for _, c := range m.Status.Conditions {
		if c.Type == corev1.NodeReady {
			n.notReady = c.Status != corev1.ConditionTrue
		}
	}
	if n.zone == "" {
		n.zone = m.Labels[labelZoneBeta]
	}
	if n.region == "" {
		n.region = m.Labels[labelRegionBeta]
	}
	return n, nil
}

// crd keeps a CustomResourceDefinition's API group. The group is in the
// spec, but a CRD's name is <plural>.<group> by validation, so metadata
// suffices and the informer can stay metadata-only.
type crd struct {
	objectName
	group string
}

func reduceCRD(obj any) (any, error) {
	m, ok := obj.(*metav1.PartialObjectMetadata)
	if !ok {
		return obj, nil
	}
	_, group, _ := strings.Cut(m.Name, crdNameSeparator)
	return &crd{objectName{"", m.Name}, group}, nil
}

// named is an object of which only the name and age matter: DaemonSets,
// read for tool detection by workload name, and the objects of a tool's
// CRDs. created (Unix seconds) dates the tool's adoption.
type named struct {
	objectName
	created int64
}

func reduceNamed(obj any) (any, error) {
	if m, ok := obj.(*metav1.PartialObjectMetadata); ok {
		return &named{objectName{m.Namespace, m.Name}, unixOrZero(m.CreationTimestamp)}, nil
	}
	return obj, nil
}

// unixOrZero returns a creation time in Unix seconds, 0 when unset.
func unixOrZero(t metav1.Time) int64 {
	if t.IsZero() || t.Unix() <= 0 {
		return 0
	}
	return t.Unix()
}
