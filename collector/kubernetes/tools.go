package kubernetes

import (
	"cmp"
	"maps"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/capability-exporter/capability_exporter/collector/source"
	"github.com/capability-exporter/capability_exporter/triggers"
)

// Tool detection: a tool of the rules file is adopted when it runs, or
// when its custom resources are in use. It runs when a Deployment,
// StatefulSet (with replicas) or DaemonSet whose name matches one of its
// workload patterns (anchored) exists in any namespace, or any of them in one
// of its namespaces. Its resources are in use when a CustomResourceDefinition
// of one of its API groups holds objects. CRDs that hold nothing while
// nothing of the tool runs are what an uninstalled Helm release leaves
// behind: they read "CRDs only (not running)" and mark nothing adopted. Any
// one criterion suffices, so a criterion that cannot be read makes the tool
// unknown only when no other one detected it.

var toolWorkloadResources = []resourceID{resDeployments, resStatefulSets, resDaemonSets}

// Why a tool that is not adopted still shows traces of itself.
const (
	reasonCRDsOnly      = "CRDs only (not running)"
	reasonNamespaceOnly = "namespace only (nothing running)"
)

// toolNeeds returns the resources a tool's detection reads.
func toolNeeds(t *triggers.Tool) []resourceID {
	var ids []resourceID
	if len(t.CRDGroups) > 0 {
		ids = append(ids, resCRDs)
	}
	if len(t.Namespaces) > 0 {
		ids = append(ids, resNamespaces)
	}
	if len(t.Workloads)+len(t.Namespaces) > 0 {
		ids = append(ids, toolWorkloadResources...)
	}
	return ids
}

// tool answers tool.<id>: 1 when adopted, 0 when every criterion was read
// and none holds, unknown otherwise. A detected tool's value carries, as
// Since, the creation time of the earliest running workload (or, for a
// tool seen only by its custom resources, object) that shows it.
func (v *clusterView) tool(t *triggers.Tool) triggers.Value {
	var why []string
	var code triggers.ReasonCode // the first reason's
	unreadable := func(id resourceID) bool {
		if e := v.unready[id]; e != nil {
			why = append(why, e.Error())
			code = cmp.Or(code, e.Reason.Code())
			return true
		}
		return false
	}
	detected := func(created int64) triggers.Value {
		d := triggers.KnownValue(1, "kubernetes")
		if created > 0 {
			d.Since = time.Unix(created, 0)
		}
		return d
	}
	earliest, nsExists, err := v.runs(t, unreadable)
	if err != nil {
		why = append(why, "tool "+t.ID+": "+err.Error())
		code = cmp.Or(code, source.CodeOf(err, triggers.CodeNotCollected))
	}
	if earliest >= 0 {
		return detected(earliest)
	}
	var crds []string
	if len(t.CRDGroups) > 0 && !unreadable(resCRDs) {
		crds = v.toolCRDs(t)
	}
	found, first := false, int64(0)
	for _, name := range crds {
		created, holds, err := v.s.crdEarliestObject(name)
		switch {
		case err != nil:
			why = append(why, err.Error())
			code = cmp.Or(code, source.CodeOf(err, triggers.CodeNotCollected))
		case holds:
			found, first = true, earlier(first, created)
		}
	}
	if found {
		return detected(first)
	}
	if len(why) > 0 {
		return triggers.UnknownValue(cmp.Or(code, triggers.CodeNotCollected), strings.Join(why, "; "), "kubernetes")
	}
	absent := triggers.KnownValue(0, "kubernetes")
	switch {
	case len(crds) > 0:
		absent.Reason = reasonCRDsOnly
	case nsExists:
		absent.Reason = reasonNamespaceOnly
	}
	return absent
}

// earlier returns the earlier of two creation times, 0 standing for none.
func earlier(a, b int64) int64 {
	if a <= 0 || (b > 0 && b < a) {
		return b
	}
	return a
}

// runs returns the creation time (Unix seconds, 0 when unset) of the
// earliest running workload of the tool, by name anywhere or any in one of
// its namespaces, or -1 when none runs; and whether one of its namespaces
// exists.
func (v *clusterView) runs(t *triggers.Tool, unreadable func(resourceID) bool) (earliest int64, nsExists bool, err error) {
	earliest = -1
	seen := func(created int64) {
		if earliest < 0 {
			earliest = created
		} else {
			earliest = earlier(earliest, created)
		}
	}
	if len(t.Workloads) > 0 {
		re, err := v.s.workloadPattern(t.Workloads)
		if err != nil {
			return -1, false, err
		}
		for _, id := range toolWorkloadResources {
			if unreadable(id) {
				continue
			}
			for name, created := range v.running(id) {
				if re.MatchString(name) {
					seen(created)
				}
			}
		}
	}
	if len(t.Namespaces) > 0 && !unreadable(resNamespaces) {
		for _, ns := range t.Namespaces {
			if !v.namespaceExists(ns) {
				continue
			}
			nsExists = true
			for _, id := range toolWorkloadResources {
				if v.unready[id] != nil {
					continue
				}
				for _, o := range v.byNamespace(id, ns) {
					if running(o) {
						seen(createdOf(o))
					}
				}
			}
		}
	}
	return earliest, nsExists, nil
}

// createdOf returns a reduced object's creation time in Unix seconds, or 0.
// running returns the running objects of a resource by name, each name
// with the earliest creation among its objects; once per view.
func (v *clusterView) running(id resourceID) map[string]int64 {
	if names, ok := v.runningNames[id]; ok {
		return names
	}
	names := map[string]int64{}
	for _, o := range v.list(id) {
		n, ok := o.(objectNamer)
		if !ok || !running(o) {
			continue
		}
		name, created := n.objectShortName(), createdOf(o)
		if c, seen := names[name]; seen {
			created = earlier(c, created)
		}
		names[name] = created
	}
	v.runningNames[id] = names
	return names
}

func createdOf(o any) int64 {
	switch o := o.(type) {
	case *workload:
		return o.created
	case *named:
		return o.created
	}
	return 0
}

// running reports whether a workload object runs pods: a Deployment or
// StatefulSet scaled to zero does not; a DaemonSet is read by name only.
func running(o any) bool {
	if w, ok := o.(*workload); ok {
		return w.replicas > 0
	}
	return true
}

// toolCRDs returns the names of the CRDs of the tool's API groups.
func (v *clusterView) toolCRDs(t *triggers.Tool) []string {
	var out []string
	for _, o := range v.list(resCRDs) {
		if c, ok := o.(*crd); ok && slices.Contains(t.CRDGroups, c.group) {
			out = append(out, c.name)
		}
	}
	slices.Sort(out)
	return out
}

// idleToolCRDs returns the CRDs of the tools whose detection hinges on
// whether their CRDs hold objects: nothing of them runs.
func (v *clusterView) idleToolCRDs(tools []*triggers.Tool) []string {
	var out []string
	for _, t := range tools {
		if len(t.CRDGroups) == 0 || v.unready[resCRDs] != nil {
			continue
		}
		if earliest, _, _ := v.runs(t, func(id resourceID) bool { return v.unready[id] != nil }); earliest < 0 {
			out = append(out, v.toolCRDs(t)...)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
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

// workloadPattern compiles a tool's workload patterns into one anchored
// alternation, once per distinct list, so that detection costs one match
// per workload name and tool.
func (s *Source) workloadPattern(patterns []string) (*regexp.Regexp, error) {
	expr := workloadExpr(patterns)
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

func workloadExpr(patterns []string) string {
	return "^(?:(?:" + strings.Join(patterns, ")|(?:") + "))$"
}

// keepPatternsOf drops the compiled patterns no tool of this request uses:
// the source outlives reloads, and the rules a reload removed must not
// stay in memory.
func (s *Source) keepPatternsOf(tools []*triggers.Tool) {
	used := make(map[string]bool, len(tools))
	for _, t := range tools {
		used[workloadExpr(t.Workloads)] = true
	}
	s.mu.Lock()
	maps.DeleteFunc(s.regexps, func(expr string, _ *regexp.Regexp) bool { return !used[expr] })
	s.mu.Unlock()
}
