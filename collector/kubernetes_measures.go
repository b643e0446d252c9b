package collector

import (
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/tools/cache"

	"github.com/capability-exporter/capability_exporter/triggers"
)

// measure is one built-in measure: the resources it reads and how it counts
// them. value returns an empty reason when the measure is defined, and a
// reason when it is not (a ratio over nothing).
type measure struct {
	needs []resourceID
	value func(v *clusterView) (float64, string)
}

var workloadResources = []resourceID{resDeployments, resStatefulSets}

// measures implements triggers.KubernetesMeasures; a unit test keeps the
// two lists equal.
var measures = map[string]measure{
	"microservices": {append([]resourceID{resServices}, workloadResources...), func(v *clusterView) (float64, string) {
		return float64(v.selectedWorkloads()), ""
	}},
	"workloads": {workloadResources, func(v *clusterView) (float64, string) { return float64(v.workloadStats().workloads), "" }},
	"replicated_workload_ratio": {workloadResources, func(v *clusterView) (float64, string) {
		w := v.workloadStats()
		return ratio(w.replicated, w.workloads, noWorkloads)
	}},
	"pdb_workload_ratio": {append([]resourceID{resPDBs}, workloadResources...), func(v *clusterView) (float64, string) {
		return ratio(v.pdbWorkloads(), v.workloadStats().workloads, noWorkloads)
	}},
	"probed_workload_ratio": {workloadResources, func(v *clusterView) (float64, string) {
		w := v.workloadStats()
		return ratio(w.probed, w.workloads, noWorkloads)
	}},
	"stateless_workload_ratio": {workloadResources, func(v *clusterView) (float64, string) {
		w := v.workloadStats()
		return ratio(w.workloads-w.stateful, w.workloads, noWorkloads)
	}},
	"privileged_containers": {workloadResources, func(v *clusterView) (float64, string) {
		return float64(v.workloadStats().privileged), ""
	}},
	"containers_without_limits": {workloadResources, func(v *clusterView) (float64, string) {
		w := v.workloadStats()
		return float64(w.containers - w.limited), ""
	}},
	"limited_container_ratio": {workloadResources, func(v *clusterView) (float64, string) {
		w := v.workloadStats()
		return ratio(w.limited, w.containers, "no containers in workloads outside platform namespaces")
	}},
	"app_namespaces": {[]resourceID{resNamespaces}, func(v *clusterView) (float64, string) {
		return float64(v.namespaceStats().apps), ""
	}},
	// Without a team label on any app namespace the count says nothing
	// about tenants: the organisation may name teams some other way.
	"tenants": {[]resourceID{resNamespaces}, func(v *clusterView) (float64, string) {
		n := v.namespaceStats()
		switch {
		case n.apps == 0:
			return 0, noAppNamespaces
		case n.tenants == 0:
			return 0, "no app namespace carries any of team_labels [" + strings.Join(v.s.teamLabels, ", ") + "]"
		}
		return float64(n.tenants), ""
	}},
	"pod_security_namespace_ratio": {[]resourceID{resNamespaces}, func(v *clusterView) (float64, string) {
		n := v.namespaceStats()
		return ratio(n.enforced, n.apps, noAppNamespaces)
	}},
	"networkpolicy_namespace_ratio": {[]resourceID{resNamespaces, resNetworkPolicies}, func(v *clusterView) (float64, string) {
		withPolicy, _ := v.policyNamespaces()
		return ratio(withPolicy, v.namespaceStats().apps, noAppNamespaces)
	}},
	"default_deny_namespace_ratio": {[]resourceID{resNamespaces, resNetworkPolicies}, func(v *clusterView) (float64, string) {
		_, denying := v.policyNamespaces()
		return ratio(denying, v.namespaceStats().apps, noAppNamespaces)
	}},
	"nodes":   {[]resourceID{resNodes}, func(v *clusterView) (float64, string) { return float64(v.topology().nodes), "" }},
	"zones":   {[]resourceID{resNodes}, func(v *clusterView) (float64, string) { return float64(v.topology().zones), "" }},
	"regions": {[]resourceID{resNodes}, func(v *clusterView) (float64, string) { return float64(v.topology().regions), "" }},
	"rbac_human_subjects": {[]resourceID{resRoleBindings, resClusterRoleBindings}, func(v *clusterView) (float64, string) {
		return float64(v.humanSubjects()), ""
	}},
	// Collect answers it before any store is read; here it only records
	// that it needs no informer.
	"reachable": {nil, func(*clusterView) (float64, string) { return 1, "" }},
}

const (
	noWorkloads     = "no Deployments or StatefulSets outside platform namespaces"
	noAppNamespaces = "no namespaces outside platform namespaces"
)

func ratio(n, d int, undefined string) (float64, string) {
	if d == 0 {
		return 0, undefined
	}
	return float64(n) / float64(d), ""
}

// clusterView is one evaluation's look at the informers' stores. Aggregates
// are computed on first use and shared by the measures that read them.
type clusterView struct {
	s              *KubernetesSource
	toolNamespaces map[string]bool
	platform       map[string]bool // memo of isPlatformNamespace
	unready        map[resourceID]*SourceError
	perNamespace   map[namespacedKey][]any

	workloads  *workloadCounts
	namespaces *namespaceCounts
	nodes      *topologyCounts
	crdGroups  map[string]bool
}

func (s *KubernetesSource) newClusterView(tools []*triggers.Tool) *clusterView {
	v := &clusterView{s: s, toolNamespaces: map[string]bool{}, platform: map[string]bool{},
		unready: map[resourceID]*SourceError{}, perNamespace: map[namespacedKey][]any{}}
	for _, t := range tools {
		for _, ns := range t.Namespaces {
			v.toolNamespaces[ns] = true
		}
	}
	return v
}

func (v *clusterView) isPlatform(ns string) bool {
	p, ok := v.platform[ns]
	if !ok {
		p = v.s.isPlatformNamespace(ns, v.toolNamespaces)
		v.platform[ns] = p
	}
	return p
}

// measure answers one measure, unknown when a resource it reads is not
// readable or when it is a ratio over nothing.
func (v *clusterView) measure(name string) triggers.Value {
	m, ok := measures[name]
	if !ok {
		return triggers.UnknownValue(fmt.Sprintf("unknown kubernetes measure %q", name), "kubernetes")
	}
	var why []string
	for _, id := range m.needs {
		if e := v.unready[id]; e != nil {
			why = append(why, e.Error())
		}
	}
	if len(why) > 0 {
		return triggers.UnknownValue(strings.Join(why, "; "), "kubernetes")
	}
	n, undefined := m.value(v)
	if undefined != "" {
		return triggers.UnknownValue(undefined, "kubernetes")
	}
	return triggers.KnownValue(n, "kubernetes")
}

// list returns a running informer's objects; measure only calls it for
// resources it has checked are ready.
func (v *clusterView) list(id resourceID) []any {
	v.s.mu.Lock()
	st := v.s.running[id]
	v.s.mu.Unlock()
	if st == nil {
		return nil
	}
	return st.informer.GetStore().List()
}

// byNamespace returns a running informer's objects in one namespace. The
// index lookup copies, so each namespace is looked up once per evaluation,
// not once per workload.
func (v *clusterView) byNamespace(id resourceID, ns string) []any {
	key := namespacedKey{id, ns}
	if objs, ok := v.perNamespace[key]; ok {
		return objs
	}
	v.s.mu.Lock()
	st := v.s.running[id]
	v.s.mu.Unlock()
	var objs []any
	if st != nil {
		objs, _ = st.informer.GetIndexer().ByIndex(cache.NamespaceIndex, ns)
	}
	v.perNamespace[key] = objs
	return objs
}

type namespacedKey struct {
	id resourceID
	ns string
}

// appWorkloads calls f for each Deployment and StatefulSet outside platform
// namespaces.
func (v *clusterView) appWorkloads(f func(*workload)) {
	for _, id := range workloadResources {
		for _, o := range v.list(id) {
			if w, ok := o.(*workload); ok && !v.isPlatform(w.namespace) {
				f(w)
			}
		}
	}
}

type workloadCounts struct {
	workloads, replicated, probed, stateful int
	containers, limited, privileged         int
}

func (v *clusterView) workloadStats() *workloadCounts {
	if v.workloads != nil {
		return v.workloads
	}
	c := &workloadCounts{}
	v.appWorkloads(func(w *workload) {
		c.workloads++
		if w.replicas >= 2 {
			c.replicated++
		}
		if w.probed {
			c.probed++
		}
		if w.stateful {
			c.stateful++
		}
		c.containers += int(w.containers)
		c.limited += int(w.limited)
		c.privileged += int(w.privileged)
	})
	v.workloads = c
	return c
}

// selectedWorkloads counts the workloads a Service of their namespace
// selects: the microservices.
func (v *clusterView) selectedWorkloads() int {
	n := 0
	v.appWorkloads(func(w *workload) {
		for _, o := range v.byNamespace(resServices, w.namespace) {
			if svc, ok := o.(*service); ok && svc.selects(w.labels) {
				n++
				return
			}
		}
	})
	return n
}

// pdbWorkloads counts the workloads a PodDisruptionBudget of their
// namespace selects.
func (v *clusterView) pdbWorkloads() int {
	n := 0
	v.appWorkloads(func(w *workload) {
		for _, o := range v.byNamespace(resPDBs, w.namespace) {
			if p, ok := o.(*pdb); ok && p.selector.Matches(labels.Set(w.labels)) {
				n++
				return
			}
		}
	})
	return n
}

type namespaceCounts struct {
	apps, tenants, enforced int
	names                   map[string]bool // the app namespaces
}

func (v *clusterView) namespaceStats() *namespaceCounts {
	if v.namespaces != nil {
		return v.namespaces
	}
	c := &namespaceCounts{names: map[string]bool{}}
	teams := map[string]bool{}
	for _, o := range v.list(resNamespaces) {
		ns, ok := o.(*namespaceInfo)
		if !ok || v.isPlatform(ns.name) {
			continue
		}
		c.apps++
		c.names[ns.name] = true
		if ns.team != "" {
			teams[ns.team] = true
		}
		// enforce=privileged is the label that enforces nothing.
		if ns.enforce != "" && ns.enforce != psaPrivileged {
			c.enforced++
		}
	}
	c.tenants = len(teams)
	v.namespaces = c
	return c
}

// policyNamespaces counts the app namespaces with at least one
// NetworkPolicy, and those with a default-deny ingress policy.
func (v *clusterView) policyNamespaces() (withPolicy, denying int) {
	apps := v.namespaceStats().names
	with, deny := map[string]bool{}, map[string]bool{}
	for _, o := range v.list(resNetworkPolicies) {
		np, ok := o.(*networkPolicy)
		if !ok || !apps[np.namespace] {
			continue
		}
		with[np.namespace] = true
		if np.denyIngress {
			deny[np.namespace] = true
		}
	}
	return len(with), len(deny)
}

type topologyCounts struct{ nodes, zones, regions int }

func (v *clusterView) topology() *topologyCounts {
	if v.nodes != nil {
		return v.nodes
	}
	c := &topologyCounts{}
	zones, regions := map[string]bool{}, map[string]bool{}
	for _, o := range v.list(resNodes) {
		n, ok := o.(*node)
		if !ok {
			continue
		}
		c.nodes++
		if n.zone != "" {
			zones[n.zone] = true
		}
		if n.region != "" {
			regions[n.region] = true
		}
	}
	c.zones, c.regions = len(zones), len(regions)
	v.nodes = c
	return c
}

// humanSubjects counts the distinct people and groups of people bound to a
// role: in any ClusterRoleBinding, or in a RoleBinding of an app namespace.
func (v *clusterView) humanSubjects() int {
	seen := map[string]bool{}
	for _, id := range []resourceID{resClusterRoleBindings, resRoleBindings} {
		for _, o := range v.list(id) {
			b, ok := o.(*binding)
			if !ok || (b.namespace != "" && v.isPlatform(b.namespace)) {
				continue
			}
			for _, h := range b.humans {
				seen[h] = true
			}
		}
	}
	return len(seen)
}
