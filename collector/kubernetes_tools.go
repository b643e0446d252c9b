package collector

import (
	"regexp"
	"strings"

	"github.com/capability-exporter/capability_exporter/triggers"
)

// Tool detection: a tool of the rules file is detected when a
// CustomResourceDefinition of one of its API groups exists, or one of its
// namespaces, or a Deployment, StatefulSet or DaemonSet in any namespace
// whose name matches one of its workload patterns (anchored). Any one
// criterion suffices, so a criterion that cannot be read makes the tool
// unknown only when no other one detected it.

var toolWorkloadResources = []resourceID{resDeployments, resStatefulSets, resDaemonSets}

// toolNeeds returns the resources a tool's detection reads.
func toolNeeds(t *triggers.Tool) []resourceID {
	var ids []resourceID
	if len(t.CRDGroups) > 0 {
		ids = append(ids, resCRDs)
	}
	if len(t.Namespaces) > 0 {
		ids = append(ids, resNamespaces)
	}
	if len(t.Workloads) > 0 {
		ids = append(ids, toolWorkloadResources...)
	}
	return ids
}

// tool answers tool.<id>: 1 when detected, 0 when every criterion was read
// and none matched, unknown otherwise.
func (v *clusterView) tool(t *triggers.Tool) triggers.Value {
	var why []string
	unreadable := func(id resourceID) bool {
		if e := v.unready[id]; e != nil {
			why = append(why, e.Error())
			return true
		}
		return false
	}
	detected := triggers.KnownValue(1, "kubernetes")
	if len(t.CRDGroups) > 0 && !unreadable(resCRDs) {
		groups := v.crdGroupSet()
		for _, g := range t.CRDGroups {
			if groups[g] {
				return detected
			}
		}
	}
	if len(t.Namespaces) > 0 && !unreadable(resNamespaces) {
		for _, ns := range t.Namespaces {
			if v.namespaceExists(ns) {
				return detected
			}
		}
	}
	if len(t.Workloads) > 0 {
		re, err := v.s.workloadPattern(t.Workloads)
		if err != nil {
			why = append(why, "tool "+t.ID+": "+err.Error())
		} else {
			for _, id := range toolWorkloadResources {
				if !unreadable(id) && v.anyNameMatches(id, re) {
					return detected
				}
			}
		}
	}
	if len(why) > 0 {
		return triggers.UnknownValue(strings.Join(why, "; "), "kubernetes")
	}
	return triggers.KnownValue(0, "kubernetes")
}

func (v *clusterView) crdGroupSet() map[string]bool {
	if v.crdGroups == nil {
		v.crdGroups = map[string]bool{}
		for _, o := range v.list(resCRDs) {
			if c, ok := o.(*crd); ok {
				v.crdGroups[c.group] = true
			}
		}
	}
	return v.crdGroups
}

func (v *clusterView) namespaceExists(name string) bool {
	v.s.mu.Lock()
	st := v.s.running[resNamespaces]
	v.s.mu.Unlock()
	if st == nil {
		return false
	}
	_, ok, _ := st.informer.GetStore().GetByKey(name)
	return ok
}

// objectNamer is implemented by every reduced object through objectName.
type objectNamer interface{ objectShortName() string }

func (o *objectName) objectShortName() string { return o.name }

func (v *clusterView) anyNameMatches(id resourceID, re *regexp.Regexp) bool {
	for _, o := range v.list(id) {
		if n, ok := o.(objectNamer); ok && re.MatchString(n.objectShortName()) {
			return true
		}
	}
	return false
}

// workloadPattern compiles a tool's workload patterns into one anchored
// alternation, once per distinct list, so that detection costs one match
// per workload name and tool.
func (s *KubernetesSource) workloadPattern(patterns []string) (*regexp.Regexp, error) {
	expr := "^(?:(?:" + strings.Join(patterns, ")|(?:") + "))$"
	s.mu.Lock()
	defer s.mu.Unlock()
	if re, ok := s.regexps[expr]; ok {
		return re, nil
	}
	re, err := regexp.Compile(expr)
	if err != nil {
		return nil, err
	}
	s.regexps[expr] = re
	return re, nil
}
