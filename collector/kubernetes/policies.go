package kubernetes

import (
	"fmt"
	"slices"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/tools/cache"

	"github.com/capability-exporter/capability_exporter/triggers"
)

// Network policies beyond networking.k8s.io: a Cilium or Calico shop writes
// its CNI's policies, and AdminNetworkPolicy and BaselineAdminNetworkPolicy
// set cluster-wide rules. Their
// informers run only while the cluster serves their API: the CRD informer
// (which watches, so an install after start is picked up at the next
// evaluation) says which exist, and an informer whose CRD is deleted stops.
// projectcalico.org/v3 is served by Calico's API server rather than a CRD
// and stores its policies in the crd.projectcalico.org/v1 CRDs, so it is read
// only when those are absent and its APIService (or its own CRD) exists.
//
// A policy that lives in a namespace covers it. A clusterwide policy covers
// an app namespace when it applies to every pod there, which the exporter can
// tell from the namespace's name and labels alone: it selects all, or only
// by namespace. One that also selects by pod labels is not counted (the
// exporter does not read pods), so coverage can only be undercounted by it.
// A selector the exporter cannot evaluate leaves coverage unknown unless the
// rest already covers every app namespace.

var policyResources = []resourceID{
	resCiliumNetworkPolicies, resCiliumClusterwideNetworkPolicies,
	resCalicoNetworkPolicies, resCalicoGlobalNetworkPolicies,
	resCalicoV3NetworkPolicies, resCalicoV3GlobalNetworkPolicies,
	resAdminNetworkPolicies, resBaselineAdminNetworkPolicies,
}

// calicoV3APIService is the APIService of Calico's API server.
const calicoV3APIService = "v3.projectcalico.org"

// policyAPIs says which policy resources the cluster serves, from the CRD
// and APIService informers; ok is false when the CRDs cannot be read.
func (s *Source) policyAPIs() (present map[resourceID]bool, ok bool) {
	crds := s.runningInformer(resCRDs)
	if crds == nil || crds.readiness() != nil {
		return nil, false
	}
	present = map[resourceID]bool{}
	for _, id := range policyResources {
		_, present[id], _ = crds.informer.GetStore().GetByKey(id.String())
	}
	if !present[resCalicoNetworkPolicies] && !present[resCalicoGlobalNetworkPolicies] {
		if as := s.runningInformer(resAPIServices); as != nil && as.readiness() == nil {
			if _, served, _ := as.informer.GetStore().GetByKey(calicoV3APIService); served {
				present[resCalicoV3NetworkPolicies], present[resCalicoV3GlobalNetworkPolicies] = true, true
			}
		}
	} else {
		present[resCalicoV3NetworkPolicies], present[resCalicoV3GlobalNetworkPolicies] = false, false
	}
	return present, true
}

// policyInformers starts the informers of the policy resources the cluster
// serves, stops those whose API went away, and returns the running ones.
func (s *Source) policyInformers() []*informerState {
	present, ok := s.policyAPIs()
	if !ok {
		return nil
	}
	return s.servedInformers(policyResources, present)
}

// servedInformers starts the informers of those of resources the cluster
// serves (present), stops the running ones it no longer serves, and returns
// the running ones: resources whose API comes and goes with a CRD or an
// APIService.
func (s *Source) servedInformers(resources []resourceID, present map[resourceID]bool) []*informerState {
	var want []resourceID
	s.mu.Lock()
	for _, id := range resources {
		if present[id] {
			want = append(want, id)
		} else if st := s.running[id]; st != nil {
			st.stop()
			delete(s.running, id)
		}
	}
	s.mu.Unlock()
	return s.informers(want)
}

func (s *Source) runningInformer(id resourceID) *informerState {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.running[id]
}

// clusterwideRule is one rule of a clusterwide policy: whether it applies to
// every pod of a namespace (true), none (false), or some by their labels
// (unknown), and whether it denies all ingress to the pods it selects.
type clusterwideRule struct {
	applies func(ns *namespaceInfo) triggers.Truth
	deny    bool
}

func policyReducer(id resourceID) cache.TransformFunc {
	var reduce func(*networkPolicy, map[string]any) error
	kind := ""
	switch id {
	case resCiliumNetworkPolicies:
		kind, reduce = "CiliumNetworkPolicy", reduceCilium
	case resCiliumClusterwideNetworkPolicies:
		kind, reduce = "CiliumClusterwideNetworkPolicy", reduceCilium
	case resCalicoNetworkPolicies, resCalicoV3NetworkPolicies:
		kind, reduce = "Calico NetworkPolicy", reduceCalico
	case resCalicoGlobalNetworkPolicies, resCalicoV3GlobalNetworkPolicies:
		kind, reduce = "Calico GlobalNetworkPolicy", reduceCalico
	case resAdminNetworkPolicies:
		kind, reduce = "AdminNetworkPolicy", reduceAdminNetworkPolicy
	case resBaselineAdminNetworkPolicies:
		// The cluster's baseline, where the API puts a default deny: the
		// same subject and rules, below every NetworkPolicy.
		kind, reduce = "BaselineAdminNetworkPolicy", reduceAdminNetworkPolicy
	}
	return func(obj any) (any, error) {
		u, ok := obj.(*unstructured.Unstructured)
		if !ok {
			return obj, nil
		}
		np := &networkPolicy{objectName: objectName{u.GetNamespace(), u.GetName()}, kind: kind}
		if err := reduce(np, u.Object); err != nil {
			np.unevaluable = err.Error()
		}
		return np, nil
	}
}

func (np *networkPolicy) ref() string {
	if np.namespace == "" {
		return np.kind + " " + np.name
	}
	return np.kind + " " + np.namespace + "/" + np.name
}

// fromUnstructured decodes the fields a reduction reads; unknown fields are
// ignored, a field of another type is an error.
func fromUnstructured(obj map[string]any, into any) error {
	return runtime.DefaultUnstructuredConverter.FromUnstructured(obj, into)
}

// ---------------------------------------------------------------- Cilium

type ciliumPolicy struct {
	Spec  *ciliumRule  `json:"spec"`
	Specs []ciliumRule `json:"specs"`
}

type ciliumRule struct {
	EndpointSelector  *metav1.LabelSelector `json:"endpointSelector"`
	NodeSelector      *metav1.LabelSelector `json:"nodeSelector"`
	Ingress           []map[string]any      `json:"ingress"`
	IngressDeny       []ciliumDenyRule      `json:"ingressDeny"`
	EnableDefaultDeny struct {
		Ingress *bool `json:"ingress"`
	} `json:"enableDefaultDeny"`
}

type ciliumDenyRule struct {
	FromEntities []string `json:"fromEntities"`
	ToPorts      []any    `json:"toPorts"`
}

// denies reports whether the rule denies all ingress to what it selects: an
// ingress section of empty rules (Cilium's "deny all ingress"), or an
// ingressDeny from the entity all on every port.
func (r *ciliumRule) denies() bool {
	if r.EnableDefaultDeny.Ingress != nil && !*r.EnableDefaultDeny.Ingress {
		return false
	}
	empty := len(r.Ingress) > 0
	for _, in := range r.Ingress {
		empty = empty && len(in) == 0
	}
	if empty {
		return true
	}
	for _, d := range r.IngressDeny {
		if slices.Contains(d.FromEntities, "all") && len(d.ToPorts) == 0 {
			return true
		}
	}
	return false
}

// Cilium labels an endpoint with its namespace's name and labels; every
// other label of an endpoint selector is a pod's.
const (
	ciliumNamespaceKey       = "io.kubernetes.pod.namespace"
	ciliumNamespaceLabelsKey = "io.cilium.k8s.namespace.labels."
)

func ciliumLookup(ns *namespaceInfo) labelLookup {
	return func(key string) (string, bool, bool) {
		key = strings.TrimPrefix(strings.TrimPrefix(key, "k8s:"), "any:")
		switch {
		case key == ciliumNamespaceKey:
			return ns.name, true, true
		case strings.HasPrefix(key, ciliumNamespaceLabelsKey):
			v, ok := ns.labels[strings.TrimPrefix(key, ciliumNamespaceLabelsKey)]
			return v, ok, true
		}
		return "", false, false
	}
}

func reduceCilium(np *networkPolicy, obj map[string]any) error {
	var p ciliumPolicy
	if err := fromUnstructured(obj, &p); err != nil {
		return err
	}
	rules := p.Specs
	if p.Spec != nil {
		rules = append([]ciliumRule{*p.Spec}, rules...)
	}
	own := &namespaceInfo{objectName: objectName{name: np.namespace}}
	for i := range rules {
		r := &rules[i]
		if r.EndpointSelector == nil { // a host policy (nodeSelector): no pod's
			continue
		}
		if err := checkSelector(r.EndpointSelector); err != nil {
			return fmt.Errorf("endpointSelector: %w", err)
		}
		sel, deny := r.EndpointSelector, r.denies()
		if np.namespace != "" {
			np.denyIngress = np.denyIngress || deny && selectorTruth(sel, ciliumLookup(own)) == triggers.True
			continue
		}
		np.rules = append(np.rules, clusterwideRule{deny: deny,
			applies: func(ns *namespaceInfo) triggers.Truth { return selectorTruth(sel, ciliumLookup(ns)) }})
	}
	return nil
}

// checkSelector rejects operators the exporter cannot evaluate.
func checkSelector(sel *metav1.LabelSelector) error {
	for _, e := range sel.MatchExpressions {
		switch e.Operator {
		case metav1.LabelSelectorOpIn, metav1.LabelSelectorOpNotIn, metav1.LabelSelectorOpExists, metav1.LabelSelectorOpDoesNotExist:
		default:
			return fmt.Errorf("operator %q", e.Operator)
		}
	}
	return nil
}

// selectorTruth evaluates a label selector (checked by checkSelector) on
// labels of which some may be unknown. An empty selector selects all.
func selectorTruth(sel *metav1.LabelSelector, lk labelLookup) triggers.Truth {
	t := triggers.True
	for k, want := range sel.MatchLabels {
		t = t.And(labelTest(k, func(v string, present bool) bool { return present && v == want })(lk))
	}
	for _, e := range sel.MatchExpressions {
		var f func(string, bool) bool
		switch e.Operator {
		case metav1.LabelSelectorOpIn:
			f = func(v string, present bool) bool { return present && slices.Contains(e.Values, v) }
		case metav1.LabelSelectorOpNotIn:
			f = func(v string, present bool) bool { return !present || !slices.Contains(e.Values, v) }
		case metav1.LabelSelectorOpExists:
			f = func(_ string, present bool) bool { return present }
		default:
			f = func(_ string, present bool) bool { return !present }
		}
		t = t.And(labelTest(e.Key, f)(lk))
	}
	return t
}

// ---------------------------------------------------------------- Calico

type calicoPolicy struct {
	Spec struct {
		Selector               string           `json:"selector"`
		NamespaceSelector      string           `json:"namespaceSelector"`
		ServiceAccountSelector string           `json:"serviceAccountSelector"`
		Types                  []string         `json:"types"`
		Ingress                []map[string]any `json:"ingress"`
		Egress                 []map[string]any `json:"egress"`
	} `json:"spec"`
}

// Calico labels a pod's endpoint with its namespace's name, and with its
// namespace's labels under the pcns. prefix; a namespace selector sees the
// namespace's labels and its name as projectcalico.org/name.
const (
	calicoNamespaceKey         = "projectcalico.org/namespace"
	calicoNamespaceLabelPrefix = "pcns."
	calicoNamespaceNameKey     = "projectcalico.org/name"
)

func calicoEndpointLookup(ns *namespaceInfo, nsLabelsKnown bool) labelLookup {
	return func(key string) (string, bool, bool) {
		switch {
		case key == calicoNamespaceKey:
			return ns.name, true, true
		case strings.HasPrefix(key, calicoNamespaceLabelPrefix) && nsLabelsKnown:
			v, ok := ns.labels[strings.TrimPrefix(key, calicoNamespaceLabelPrefix)]
			return v, ok, true
		}
		return "", false, false
	}
}

func calicoNamespaceLookup(ns *namespaceInfo) labelLookup {
	return func(key string) (string, bool, bool) {
		if key == calicoNamespaceNameKey {
			return ns.name, true, true
		}
		v, ok := ns.labels[key]
		return v, ok, true
	}
}

func reduceCalico(np *networkPolicy, obj map[string]any) error {
	var p calicoPolicy
	if err := fromUnstructured(obj, &p); err != nil {
		return err
	}
	spec := &p.Spec
	sel, err := parseCalicoSelector(spec.Selector)
	if err != nil {
		return fmt.Errorf("selector %q: %w", spec.Selector, err)
	}
	nsSel, err := parseCalicoSelector(spec.NamespaceSelector)
	if err != nil {
		return fmt.Errorf("namespaceSelector %q: %w", spec.NamespaceSelector, err)
	}
	// Without types, a policy applies to ingress unless it has only
	// egress rules.
	ingress := slices.Contains(spec.Types, "Ingress") || len(spec.Types) == 0 && (len(spec.Ingress) > 0 || len(spec.Egress) == 0)
	deny := ingress && len(spec.Ingress) == 0 && strings.TrimSpace(spec.ServiceAccountSelector) == ""
	if np.namespace != "" {
		own := &namespaceInfo{objectName: objectName{name: np.namespace}}
		np.denyIngress = deny && sel(calicoEndpointLookup(own, false)) == triggers.True
		return nil
	}
	np.rules = []clusterwideRule{{deny: deny, applies: func(ns *namespaceInfo) triggers.Truth {
		return nsSel(calicoNamespaceLookup(ns)).And(sel(calicoEndpointLookup(ns, true)))
	}}}
	return nil
}

// ---------------------------------------------------- AdminNetworkPolicy

type adminNetworkPolicy struct {
	Spec struct {
		Subject struct {
			Namespaces *metav1.LabelSelector `json:"namespaces"`
			Pods       *struct {
				NamespaceSelector metav1.LabelSelector `json:"namespaceSelector"`
				PodSelector       metav1.LabelSelector `json:"podSelector"`
			} `json:"pods"`
		} `json:"subject"`
		Ingress []struct {
			Action string `json:"action"`
			From   []struct {
				Namespaces *metav1.LabelSelector `json:"namespaces"`
			} `json:"from"`
			Ports []any `json:"ports"`
		} `json:"ingress"`
	} `json:"spec"`
}

func namespaceLabelLookup(ns *namespaceInfo) labelLookup {
	return func(key string) (string, bool, bool) {
		v, ok := ns.labels[key]
		return v, ok, true
	}
}

// reduceAdminNetworkPolicy reads the subject, and whether an ingress rule
// denies traffic from every namespace on every port: an AdminNetworkPolicy
// denies nothing it does not name.
func reduceAdminNetworkPolicy(np *networkPolicy, obj map[string]any) error {
	var p adminNetworkPolicy
	if err := fromUnstructured(obj, &p); err != nil {
		return err
	}
	deny := false
	for _, r := range p.Spec.Ingress {
		if r.Action != "Deny" || len(r.Ports) > 0 {
			continue
		}
		for _, f := range r.From {
			deny = deny || f.Namespaces != nil && len(f.Namespaces.MatchLabels)+len(f.Namespaces.MatchExpressions) == 0
		}
	}
	subj := &p.Spec.Subject
	var applies func(*namespaceInfo) triggers.Truth
	switch {
	case subj.Namespaces != nil:
		sel := subj.Namespaces
		if err := checkSelector(sel); err != nil {
			return fmt.Errorf("subject.namespaces: %w", err)
		}
		applies = func(ns *namespaceInfo) triggers.Truth { return selectorTruth(sel, namespaceLabelLookup(ns)) }
	case subj.Pods != nil:
		nsSel, podSel := &subj.Pods.NamespaceSelector, &subj.Pods.PodSelector
		if err := checkSelector(nsSel); err != nil {
			return fmt.Errorf("subject.pods.namespaceSelector: %w", err)
		}
		if err := checkSelector(podSel); err != nil {
			return fmt.Errorf("subject.pods.podSelector: %w", err)
		}
		applies = func(ns *namespaceInfo) triggers.Truth {
			return selectorTruth(nsSel, namespaceLabelLookup(ns)).And(
				selectorTruth(podSel, func(string) (string, bool, bool) { return "", false, false }))
		}
	default:
		return fmt.Errorf("subject selects neither namespaces nor pods")
	}
	np.rules = []clusterwideRule{{applies: applies, deny: deny}}
	return nil
}
