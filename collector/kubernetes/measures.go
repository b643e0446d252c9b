package kubernetes

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/tools/cache"

	"github.com/capability-exporter/capability_exporter/collector/source"
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

// namespaceNeeds are what the app namespace measures read: the namespaces,
// and the workloads that make default an app namespace.
var namespaceNeeds = append([]resourceID{resNamespaces}, workloadResources...)

// policyMeasureNeeds are what the policy coverage measures cannot do
// without; they also read the CRDs and APIServices to find the policy APIs
// of CNIs (policySoftNeeds), which they can answer without when the
// NetworkPolicies alone cover every app namespace.
var (
	policyMeasureNeeds = append([]resourceID{resNetworkPolicies}, namespaceNeeds...)
	policySoftNeeds    = map[string][]resourceID{
		"networkpolicy_namespace_ratio": {resCRDs, resAPIServices},
		"default_deny_namespace_ratio":  {resCRDs, resAPIServices},
		"networkpolicies":               {resCRDs, resAPIServices},
	}
	// gitopsMeasures read the applications of GitOps tools, whose informers
	// start once the CRDs say which tools are installed (gitops.go).
	gitopsMeasures = map[string]bool{"gitops_apps": true, "gitops_apps_failing": true}
	// leftOutBy name what a measure's known count deliberately left out.
	leftOutBy = map[string]func(*clusterView) *triggers.LeftOut{
		"microservices": func(v *clusterView) *triggers.LeftOut { return v.microservices().leftOut },
	}
)

// measures implements triggers.KubernetesMeasures; a unit test keeps the
// two lists equal.
var measures = map[string]measure{
	"microservices": {append([]resourceID{resServices}, workloadResources...), func(v *clusterView) (float64, string) {
		return float64(v.microservices().count), ""
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
	"app_namespaces": {namespaceNeeds, func(v *clusterView) (float64, string) {
		return float64(v.namespaceStats().apps), ""
	}},
	// Without a team label on any app namespace the count says nothing
	// about tenants: the organisation may name teams some other way.
	"tenants": {namespaceNeeds, func(v *clusterView) (float64, string) {
		n := v.namespaceStats()
		switch {
		case n.apps == 0:
			return 0, noAppNamespaces
		case n.tenants == 0:
			return 0, "no app namespace carries any of team_labels [" + strings.Join(v.s.teamLabels, ", ") + "]"
		}
		return float64(n.tenants), ""
	}},
	"pod_security_namespace_ratio": {namespaceNeeds, func(v *clusterView) (float64, string) {
		n := v.namespaceStats()
		return ratio(n.enforced, n.apps, noAppNamespaces)
	}},
	"networkpolicy_namespace_ratio": {policyMeasureNeeds, func(v *clusterView) (float64, string) {
		c := v.policyCoverage()
		return coverage(c.with, v.namespaceStats().apps, c.withDoubt)
	}},
	"default_deny_namespace_ratio": {policyMeasureNeeds, func(v *clusterView) (float64, string) {
		c := v.policyCoverage()
		return coverage(c.deny, v.namespaceStats().apps, c.denyDoubt)
	}},
	"nodes": {[]resourceID{resNodes}, func(v *clusterView) (float64, string) { return float64(v.topology().nodes), "" }},
	"zones": {[]resourceID{resNodes}, func(v *clusterView) (float64, string) { return float64(v.topology().zones), "" }},
	// Without the label on any node the count says nothing about where the
	// cluster runs: unlabelled clusters (bare metal, kind) are common.
	"regions": {[]resourceID{resNodes}, func(v *clusterView) (float64, string) {
		t := v.topology()
		switch {
		case t.nodes == 0:
			return 0, "no nodes"
		case t.regions == 0:
			return 0, "no node carries the " + labelRegion + " label"
		}
		return float64(t.regions), ""
	}},
	"nodes_not_ready": {[]resourceID{resNodes}, func(v *clusterView) (float64, string) { return float64(v.topology().notReady), "" }},
	"deployments_unavailable": {[]resourceID{resDeployments}, func(v *clusterView) (float64, string) {
		return float64(v.deploymentHealth().unavailable), ""
	}},
	"deployments_stuck": {[]resourceID{resDeployments}, func(v *clusterView) (float64, string) {
		return float64(v.deploymentHealth().stuck), ""
	}},
	"networkpolicies": {[]resourceID{resNetworkPolicies}, func(v *clusterView) (float64, string) {
		n, doubt := v.policyCount()
		if n == 0 && len(doubt) > 0 {
			return 0, "no network policy counted, but " + strings.Join(doubt, "; ")
		}
		return float64(n), ""
	}},
	"gitops_apps": {[]resourceID{resCRDs}, func(v *clusterView) (float64, string) {
		return gitopsValue(v, func(c *gitopsCounts) int { return c.apps })
	}},
	"gitops_apps_failing": {[]resourceID{resCRDs}, func(v *clusterView) (float64, string) {
		return gitopsValue(v, func(c *gitopsCounts) int { return c.failing })
	}},
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

// coverage is n of the app namespaces; when something the count may have
// missed is named in doubt, it is unknown unless n is already all of them.
func coverage(n, apps int, doubt []string) (float64, string) {
	if apps > 0 && n < apps && len(doubt) > 0 {
		if len(doubt) > 3 {
			doubt = append(doubt[:3:3], fmt.Sprintf("%d more", len(doubt)-3))
		}
		return 0, fmt.Sprintf("%d of %d app namespaces counted, but %s", n, apps, strings.Join(doubt, "; "))
	}
	return ratio(n, apps, noAppNamespaces)
}

func ratio(n, d int, undefined string) (float64, string) {
	if d == 0 {
		return 0, undefined
	}
	return float64(n) / float64(d), ""
}

// clusterView is one evaluation's look at the informers' stores. Aggregates
// are computed on first use and shared by the measures that read them.
type clusterView struct {
	s              *Source
	toolNamespaces map[string]bool
	platform       map[string]bool // memo of isPlatformNamespace
	datastores     datastoreMatcher
	unready        map[resourceID]*source.Error
	perNamespace   map[namespacedKey][]any
	// lists are the stores' objects, listed once per view: a store's List
	// copies every entry, and the measures and tool detections read the
	// same resources many times over.
	lists map[resourceID][]any
	// runningNames are the running workloads of a resource by name, with
	// the earliest creation among those of one name: a tool's name patterns
	// are matched once per distinct name, not once per workload (the same
	// names recur in every namespace).
	runningNames map[resourceID]map[string]int64

	workloads  *workloadCounts
	services   *serviceCounts
	namespaces *namespaceCounts
	policies   *policyCounts
	nodes      *topologyCounts
	gitops     *gitopsCounts
	health     *deploymentCounts
}

// newClusterView looks at the stores for one request: its tools' namespaces
// are platform namespaces, and its rules say which workloads are datastores
// (none without rules).
func (s *Source) newClusterView(tools []*triggers.Tool, rules *triggers.Rules) *clusterView {
	var ds triggers.Datastores
	if rules != nil {
		ds = rules.Datastores
	}
	v := &clusterView{s: s, toolNamespaces: map[string]bool{}, platform: map[string]bool{},
		unready: map[resourceID]*source.Error{}, perNamespace: map[namespacedKey][]any{}, datastores: newDatastoreMatcher(ds),
		lists: map[resourceID][]any{}, runningNames: map[resourceID]map[string]int64{}}
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
	m, ok := v.s.measures[name]
	if !ok {
		return triggers.UnknownValue(triggers.CodeNotServed, fmt.Sprintf("unknown kubernetes measure %q", name), "kubernetes")
	}
	var why []string
	var code triggers.ReasonCode // the first unreadable resource's
	for _, id := range m.needs {
		if e := v.unready[id]; e != nil {
			why = append(why, e.Error())
			code = cmp.Or(code, e.Reason.Code())
		}
	}
	if len(why) > 0 {
		return triggers.UnknownValue(code, strings.Join(why, "; "), "kubernetes")
	}
	n, undefined := m.value(v)
	if undefined != "" {
		return triggers.UnknownValue(triggers.CodeNoData, undefined, "kubernetes")
	}
	val := triggers.KnownValue(n, "kubernetes")
	if left := leftOutBy[name]; left != nil {
		val.LeftOut = left(v)
	}
	return val
}

// list returns a running informer's objects; measure only calls it for
// resources it has checked are ready.
func (v *clusterView) list(id resourceID) []any {
	if objs, ok := v.lists[id]; ok {
		return objs
	}
	v.s.mu.Lock()
	st := v.s.running[id]
	v.s.mu.Unlock()
	var objs []any
	if st != nil {
		objs = st.informer.GetStore().List()
	}
	v.lists[id] = objs
	return objs
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

type serviceCounts struct {
	count   int
	leftOut *triggers.LeftOut // nil when no datastore was selected
}

// microservices counts the workloads a Service of their namespace selects,
// leaving out the datastores the rules list (datastores.go), which it names
// with why.
func (v *clusterView) microservices() *serviceCounts {
	if v.services != nil {
		return v.services
	}
	c := &serviceCounts{}
	var left []triggers.LeftOutObject
	v.appWorkloads(func(w *workload) {
		if !v.selected(w) {
			return
		}
		if why := v.datastores.reason(w); why != "" {
			left = append(left, triggers.LeftOutObject{Name: w.namespace + "/" + w.name, Reason: why})
			return
		}
		c.count++
	})
	if len(left) > 0 {
		slices.SortFunc(left, func(a, b triggers.LeftOutObject) int { return strings.Compare(a.Name, b.Name) })
		c.leftOut = &triggers.LeftOut{Objects: slices.Clip(left[:min(len(left), triggers.MaxLeftOut)]), Total: len(left)}
	}
	v.services = c
	return c
}

// selected reports whether a Service of w's namespace selects it.
func (v *clusterView) selected(w *workload) bool {
	for _, o := range v.byNamespace(resServices, w.namespace) {
		if svc, ok := o.(*service); ok && svc.selects(w.labels) {
			return true
		}
	}
	return false
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

// holdsWorkloads reports whether a Deployment or StatefulSet is in the
// namespace. default is an app namespace only then: every cluster has it,
// mostly empty, and an empty one would only dilute the coverage ratios; a
// shop that deploys there has its apps counted.
func (v *clusterView) holdsWorkloads(ns string) bool {
	for _, id := range workloadResources {
		if len(v.byNamespace(id, ns)) > 0 {
			return true
		}
	}
	return false
}

type namespaceCounts struct {
	apps, tenants, enforced int
	names                   map[string]bool // the app namespaces
	infos                   []*namespaceInfo
}

func (v *clusterView) namespaceStats() *namespaceCounts {
	if v.namespaces != nil {
		return v.namespaces
	}
	c := &namespaceCounts{names: map[string]bool{}}
	teams := map[string]bool{}
	for _, o := range v.list(resNamespaces) {
		ns, ok := o.(*namespaceInfo)
		if !ok || v.isPlatform(ns.name) || ns.name == metav1.NamespaceDefault && !v.holdsWorkloads(ns.name) {
			continue
		}
		c.apps++
		c.names[ns.name] = true
		c.infos = append(c.infos, ns)
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

type policyCounts struct {
	with, deny int // app namespaces with a policy, with a default-deny ingress policy
	// What the counts may have missed: policies or policy APIs the exporter
	// could not read or evaluate.
	withDoubt, denyDoubt []string
}

// policyCoverage counts the app namespaces that a network policy covers,
// and those where one denies all ingress by default (policies.go
// says how the policies of CNIs and clusterwide ones count).
func (v *clusterView) policyCoverage() *policyCounts {
	if v.policies != nil {
		return v.policies
	}
	c := &policyCounts{}
	doubt := func(why string) {
		c.withDoubt = append(c.withDoubt, why)
		c.denyDoubt = append(c.denyDoubt, why)
	}
	nsc := v.namespaceStats()
	with, deny := map[string]bool{}, map[string]bool{}
	ids := []resourceID{resNetworkPolicies}
	if e := v.unready[resCRDs]; e != nil {
		doubt("the policy APIs of CNIs cannot be found: " + e.Error())
	}
	for _, id := range policyResources {
		if e := v.unready[id]; e != nil {
			doubt(e.Error())
		} else {
			ids = append(ids, id)
		}
	}
	if e := v.unready[resAPIServices]; e != nil && v.s.runningInformer(resCalicoNetworkPolicies) == nil {
		doubt("whether Calico's API server serves policies cannot be told: " + e.Error())
	}
	for _, id := range ids {
		for _, o := range v.list(id) {
			np, ok := o.(*networkPolicy)
			if !ok {
				continue
			}
			if np.namespace != "" {
				if !nsc.names[np.namespace] {
					continue
				}
				with[np.namespace] = true
				deny[np.namespace] = deny[np.namespace] || np.denyIngress
				if np.unevaluable != "" {
					c.denyDoubt = append(c.denyDoubt, "cannot evaluate "+np.ref()+": "+np.unevaluable)
				}
				continue
			}
			if np.unevaluable != "" {
				doubt("cannot evaluate " + np.ref() + ": " + np.unevaluable)
				continue
			}
			for _, ns := range nsc.infos {
				for _, r := range np.rules {
					if r.applies(ns) == triggers.True {
						with[ns.name] = true
						deny[ns.name] = deny[ns.name] || r.deny
					}
				}
			}
		}
	}
	c.with, c.deny = len(with), 0
	for _, d := range deny {
		if d {
			c.deny++
		}
	}
	v.policies = c
	return c
}

type topologyCounts struct{ nodes, zones, regions, notReady int }

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
		if n.notReady {
			c.notReady++
		}
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
