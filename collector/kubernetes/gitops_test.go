package kubernetes

import (
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
)

var gitopsMeasureNames = []string{"gitops_apps", "gitops_apps_failing"}

// Without a GitOps tool's CRD there are no applications to fail: 0 and 0,
// known, which the rules read as the GitOps foundation missing.
func TestGitOpsAbsentIsZero(t *testing.T) {
	fc := newFakeCluster(t, []runtime.Object{namespaceObj("kube-system", nil)}, nil, nil)
	res := fc.collect(t, request(gitopsMeasureNames))
	for _, name := range gitopsMeasureNames {
		if v := res.Values[name]; !v.Known || v.Number != 0 {
			t.Errorf("%s = %+v, want known 0", name, v)
		}
	}
	if len(fc.dyn.Actions()) != 0 {
		t.Errorf("dynamic client asked %v, want nothing without the CRDs", fc.dyn.Actions())
	}
}

// An Argo CD Application counts as failing once it has stayed OutOfSync for
// the grace period, as the source has seen it; a HelmRelease by Ready=False.
func TestGitOpsOutOfSyncForLongAndHelmReleases(t *testing.T) {
	release := func(name, ready string) *unstructured.Unstructured {
		return unstructuredObj("helm.toolkit.fluxcd.io/v2", "HelmRelease", "flux-system", name, map[string]any{
			"status": map[string]any{"conditions": []any{map[string]any{"type": "Ready", "status": ready}}}})
	}
	fc := newFakeCluster(t, []runtime.Object{
		crdObj("applications.argoproj.io"), crdObj("helmreleases.helm.toolkit.fluxcd.io"),
		argoApp("catalog", "OutOfSync", "Healthy"), argoApp("shop", "Synced", "Progressing"),
		release("ingress", "True"), release("cert-manager", "False"), release("upgrading", "Unknown"),
	}, nil, nil)
	req := request(gitopsMeasureNames)
	eventually(t, fc, req, map[string]float64{"gitops_apps": 5, "gitops_apps_failing": 1})

	fc.src.mu.Lock()
	key := "Argo CD Application argocd/catalog"
	if _, ok := fc.src.outOfSync[key]; !ok {
		t.Errorf("outOfSync = %v, want %s recorded", fc.src.outOfSync, key)
	}
	fc.src.outOfSync[key] = time.Now().Add(-outOfSyncGrace - time.Minute)
	fc.src.mu.Unlock()
	if v := fc.collect(t, req).Values["gitops_apps_failing"]; !v.Known || v.Number != 2 {
		t.Errorf("after an hour OutOfSync: gitops_apps_failing = %+v, want 2", v)
	}
}

// A GitOps resource the exporter may not read leaves both measures
// unknown: its applications may be failing.
func TestGitOpsForbidden(t *testing.T) {
	fc := newFakeCluster(t, []runtime.Object{crdObj("applications.argoproj.io"), argoApp("shop", "Synced", "Healthy")}, nil,
		func(fc *fakeCluster) { forbid(&fc.dyn.Fake, "list", "applications", "argoproj.io") })
	res := fc.collect(t, request(gitopsMeasureNames))
	for _, name := range gitopsMeasureNames {
		if v := res.Values[name]; v.Known || !strings.Contains(v.Reason, "forbidden") || !strings.Contains(v.Reason, "applications.argoproj.io") {
			t.Errorf("%s = %+v, want unknown, forbidden applications.argoproj.io", name, v)
		}
	}
}

// Regions are unknown, not 0, while no node carries the label.
func TestRegionsUnknownWithoutTheLabel(t *testing.T) {
	fc := newFakeCluster(t, []runtime.Object{withReady(nodeObj("n1", labelsOf(labelZone, "a")), corev1.ConditionTrue)}, nil, nil)
	res := fc.collect(t, request([]string{"regions", "nodes_not_ready"}))
	if v := res.Values["regions"]; v.Known || !strings.Contains(v.Reason, "no node carries the topology.kubernetes.io/region label") {
		t.Errorf("regions = %+v, want unknown naming the label", v)
	}
	if v := res.Values["nodes_not_ready"]; !v.Known || v.Number != 0 {
		t.Errorf("nodes_not_ready = %+v, want 0", v)
	}
}
