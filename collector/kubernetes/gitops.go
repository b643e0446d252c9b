package kubernetes

import (
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// GitOps works when the applications of the GitOps tools are in the state
// their tool calls healthy: Argo CD Applications Synced and Healthy, Flux
// Kustomizations and HelmReleases Ready. Their informers run only while the
// cluster serves their CRD, as the policies of CNIs do (policies.go): a
// cluster without Argo CD or Flux has no applications to fail, which the
// rules show as the GitOps foundation missing, never as a failure. Their
// status is read from the dynamic client; only the few status fields below
// are kept.

var gitopsResources = []resourceID{resArgoApplications, resFluxKustomizations, resFluxHelmReleases}

// outOfSyncGrace is how long an Argo CD Application may stay OutOfSync
// before it counts as failing: a change merged in Git is OutOfSync until
// the next sync, which is normal for minutes and a problem after an hour.
const outOfSyncGrace = time.Hour

// gitopsApp is one application of a GitOps tool, reduced to whether it
// fails now and whether it is OutOfSync (Argo CD only; whether that fails
// depends on how long it has been so).
type gitopsApp struct {
	objectName
	kind      string // as in messages: Argo CD Application, Flux Kustomization, Flux HelmRelease
	failing   bool   // Argo CD health Degraded, or Flux Ready=False while not suspended
	outOfSync bool   // Argo CD sync status OutOfSync
}

func (a *gitopsApp) key() string { return a.kind + " " + a.namespace + "/" + a.name }

func reduceArgoApplication(obj any) (any, error) {
	u, ok := obj.(*unstructured.Unstructured)
	if !ok {
		return obj, nil
	}
	health, _, _ := unstructured.NestedString(u.Object, "status", "health", "status")
	sync, _, _ := unstructured.NestedString(u.Object, "status", "sync", "status")
	return &gitopsApp{objectName: objectName{u.GetNamespace(), u.GetName()}, kind: "Argo CD Application",
		failing: health == "Degraded", outOfSync: sync == "OutOfSync"}, nil
}

// reduceFluxObject reads the Ready condition of a Kustomization or
// HelmRelease. Ready=Unknown is a reconciliation in progress; a suspended
// object keeps its last condition, which says nothing about now.
func reduceFluxObject(obj any) (any, error) {
	u, ok := obj.(*unstructured.Unstructured)
	if !ok {
		return obj, nil
	}
	a := &gitopsApp{objectName: objectName{u.GetNamespace(), u.GetName()}, kind: "Flux " + u.GetKind()}
	if suspended, _, _ := unstructured.NestedBool(u.Object, "spec", "suspend"); suspended {
		return a, nil
	}
	conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
	for _, c := range conds {
		m, ok := c.(map[string]any)
		if ok && m["type"] == "Ready" && m["status"] == "False" {
			a.failing = true
		}
	}
	return a, nil
}

// gitopsAPIs says which GitOps resources the cluster serves, from the CRD
// informer; ok is false when the CRDs cannot be read.
func (s *Source) gitopsAPIs() (present map[resourceID]bool, ok bool) {
	crds := s.runningInformer(resCRDs)
	if crds == nil || crds.readiness() != nil {
		return nil, false
	}
	present = map[resourceID]bool{}
	for _, id := range gitopsResources {
		_, present[id], _ = crds.informer.GetStore().GetByKey(id.String())
	}
	return present, true
}

// gitopsInformers starts the informers of the GitOps resources the cluster
// serves, stops those whose CRD went away, and returns the running ones.
func (s *Source) gitopsInformers() []*informerState {
	present, ok := s.gitopsAPIs()
	if !ok {
		return nil
	}
	return s.servedInformers(gitopsResources, present)
}

type gitopsCounts struct {
	apps, failing int
	doubt         []string // why the counts cannot be told
}

// gitopsStats counts the applications of the GitOps tools and those that
// fail: Degraded or OutOfSync for longer than outOfSyncGrace (Argo CD),
// Ready=False (Flux). How long an application has been OutOfSync is what
// the source has seen across evaluations, so after a start an application
// counts as failing once it has stayed OutOfSync for the grace period.
func (v *clusterView) gitopsStats() *gitopsCounts {
	if v.gitops != nil {
		return v.gitops
	}
	c := &gitopsCounts{}
	v.gitops = c
	if e := v.unready[resCRDs]; e != nil {
		c.doubt = append(c.doubt, "the GitOps tools' CRDs cannot be read: "+e.Error())
		return c
	}
	now := time.Now()
	v.s.mu.Lock()
	defer v.s.mu.Unlock()
	since := map[string]time.Time{}
	for _, id := range gitopsResources {
		st := v.s.running[id]
		if st == nil {
			continue
		}
		if e := v.unready[id]; e != nil {
			c.doubt = append(c.doubt, e.Error())
			continue
		}
		for _, o := range st.informer.GetStore().List() {
			a, ok := o.(*gitopsApp)
			if !ok {
				continue
			}
			c.apps++
			if a.outOfSync {
				first, seen := v.s.outOfSync[a.key()]
				if !seen {
					first = now
				}
				since[a.key()] = first
				if now.Sub(first) >= outOfSyncGrace {
					c.failing++
					continue
				}
			}
			if a.failing {
				c.failing++
			}
		}
	}
	v.s.outOfSync = since
	return c
}

// gitopsValue answers a GitOps measure: unknown while any of the tools'
// resources cannot be read.
func gitopsValue(v *clusterView, n func(*gitopsCounts) int) (float64, string) {
	c := v.gitopsStats()
	if len(c.doubt) > 0 {
		return 0, strings.Join(c.doubt, "; ")
	}
	return float64(n(c)), ""
}
