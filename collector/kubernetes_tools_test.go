package collector

import (
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/runtime"

	"github.com/capability-exporter/capability_exporter/triggers"
)

func toolsCluster() []runtime.Object {
	return []runtime.Object{
		namespaceObj("kube-system", nil),
		namespaceObj("shop", nil),
		namespaceObj("argocd", nil),
		namespaceObj("mesh-system", nil),
		crdObj("serviceprofiles.linkerd.io"),
		crdObj("clusterpolicies.kyverno.io"),
		crdObj("policies.kyverno.io"),
		daemonSetObj("kube-system", "cilium"),
		deploymentObj("shop", "jaeger-collector", nil, podTemplate(nil, goodContainer("c"))),
		statefulSetObj("shop", "vault", nil, podTemplate(nil, goodContainer("c"))),
		deploymentObj("shop", "my-velero-backup", nil, podTemplate(nil, goodContainer("c"))),
		deploymentObj("mesh-system", "meshd", nil, podTemplate(nil, goodContainer("c"))),
	}
}

func TestKubernetesToolDetection(t *testing.T) {
	for _, tc := range []struct {
		tool triggers.Tool
		want float64
	}{
		{triggers.Tool{ID: "linkerd", CRDGroups: []string{"linkerd.io"}}, 1},
		{triggers.Tool{ID: "kyverno", CRDGroups: []string{"kyverno.io", "wgpolicyk8s.io"}}, 1},
		{triggers.Tool{ID: "istio", CRDGroups: []string{"networking.istio.io"}, Namespaces: []string{"istio-system"}}, 0},
		// The group is exact: no suffix or prefix match.
		{triggers.Tool{ID: "partial", CRDGroups: []string{"io", "linkerd"}}, 0},
		{triggers.Tool{ID: "argocd", CRDGroups: []string{"argoproj.io"}, Namespaces: []string{"argocd"}}, 1},
		// A DaemonSet in a platform namespace counts: tools live there.
		{triggers.Tool{ID: "cilium", Workloads: []string{"cilium(-operator)?"}}, 1},
		{triggers.Tool{ID: "jaeger", Workloads: []string{"jaeger", "jaeger-(collector|query)"}}, 1},
		{triggers.Tool{ID: "vault", Workloads: []string{"vault"}}, 1},
		// Anchored: "velero" does not match my-velero-backup.
		{triggers.Tool{ID: "velero", Workloads: []string{"velero"}}, 0},
		{triggers.Tool{ID: "velero_loose", Workloads: []string{".*velero.*"}}, 1},
		// Flags in one pattern do not leak into the next.
		{triggers.Tool{ID: "flags", Workloads: []string{"(?i)NOPE", "MESHD"}}, 0},
	} {
		t.Run(tc.tool.ID, func(t *testing.T) {
			fc := newFakeCluster(t, toolsCluster(), nil, nil)
			res := fc.collect(t, request(nil, &tc.tool))
			v := res.Values["tool."+tc.tool.ID]
			if !v.Known || v.Number != tc.want {
				t.Errorf("tool.%s = %+v, want %v", tc.tool.ID, v, tc.want)
			}
			if len(res.Errors) > 0 {
				t.Errorf("errors %v", res.Errors)
			}
		})
	}
}

// A tool is detected by any one criterion, so a criterion the exporter may
// not read makes it unknown only when nothing else detected it.
func TestKubernetesToolDetectionWithForbiddenCRDs(t *testing.T) {
	fc := newFakeCluster(t, toolsCluster(), nil, func(fc *fakeCluster) {
		forbid(&fc.meta.Fake, "list", "customresourcedefinitions", "apiextensions.k8s.io")
	})
	res := fc.collect(t, request(nil,
		&triggers.Tool{ID: "argocd", CRDGroups: []string{"argoproj.io"}, Namespaces: []string{"argocd"}},
		&triggers.Tool{ID: "cilium", CRDGroups: []string{"cilium.io"}, Workloads: []string{"cilium"}},
		&triggers.Tool{ID: "linkerd", CRDGroups: []string{"linkerd.io"}, Namespaces: []string{"linkerd"}},
		&triggers.Tool{ID: "vault", Workloads: []string{"vault"}},
	))
	for id, want := range map[string]float64{"argocd": 1, "cilium": 1, "vault": 1} {
		if v := res.Values["tool."+id]; !v.Known || v.Number != want {
			t.Errorf("tool.%s = %+v, want %v", id, v, want)
		}
	}
	if v := res.Values["tool.linkerd"]; v.Known || !strings.Contains(v.Reason, "forbidden") {
		t.Errorf("tool.linkerd = %+v, want unknown: its CRDs cannot be read and nothing else found it", v)
	}
	if len(res.Errors) != 1 || res.Errors[0].Reason != "forbidden" {
		t.Errorf("errors = %v, want one forbidden", res.Errors)
	}
}

// A tool's own namespace is a platform namespace even when the configured
// pattern does not name it.
func TestKubernetesToolNamespacesAreNotApps(t *testing.T) {
	fc := newFakeCluster(t, toolsCluster(), nil, nil)
	req := request([]string{"app_namespaces", "workloads"})
	res := fc.collect(t, req)
	// shop and mesh-system; argocd and kube-system match the default pattern.
	if v := res.Values["app_namespaces"]; v.Number != 2 {
		t.Fatalf("app_namespaces = %+v, want 2 without tools", v)
	}
	req.Tools = []*triggers.Tool{{ID: "meshd", Namespaces: []string{"mesh-system"}}}
	res = fc.collect(t, req)
	if v := res.Values["app_namespaces"]; v.Number != 1 {
		t.Errorf("app_namespaces = %+v, want 1: mesh-system is a tool's", v)
	}
	if v := res.Values["workloads"]; v.Number != 3 {
		t.Errorf("workloads = %+v, want 3: meshd runs in a tool's namespace", v)
	}
}

// Detection follows the CRDs present: a CRD installed after the initial
// sync marks its tool detected, and removing it clears it.
func TestKubernetesToolDetectionFollowsCRDs(t *testing.T) {
	fc := newFakeCluster(t, toolsCluster(), nil, nil)
	istio := &triggers.Tool{ID: "istio", CRDGroups: []string{"networking.istio.io"}}
	req := request(nil, istio)
	fc.collect(t, req)
	waitForWatches(t, fc, "customresourcedefinitions")
	mustDo(t, func() error { return fc.meta.Tracker().Add(crdObj("virtualservices.networking.istio.io")) })
	eventually(t, fc, req, map[string]float64{"tool.istio": 1})
	mustDo(t, func() error {
		return fc.meta.Tracker().Delete(resourceKinds[resCRDs].gvr, "", "virtualservices.networking.istio.io")
	})
	eventually(t, fc, req, map[string]float64{"tool.istio": 0})
}

// Rules read after a reload may need resources no earlier rules needed:
// their informers start then, while the running ones keep their cache.
func TestKubernetesInformersStartOnDemand(t *testing.T) {
	fc := newFakeCluster(t, toolsCluster(), nil, nil)
	fc.collect(t, request([]string{"nodes"}))
	if n := len(fc.src.running); n != 1 {
		t.Fatalf("%d informers after asking for nodes, want 1", n)
	}
	first := fc.src.running[resNodes]
	res := fc.collect(t, request([]string{"nodes", "workloads"}))
	if v := res.Values["workloads"]; !v.Known || v.Number != 4 {
		t.Errorf("workloads = %+v, want 4", v)
	}
	if fc.src.running[resNodes] != first || len(fc.src.running) != 3 {
		t.Errorf("informers %v: want the nodes one kept and deployments and statefulsets added", fc.src.running)
	}
}

func TestKubernetesCloseStopsInformers(t *testing.T) {
	fc := newFakeCluster(t, toolsCluster(), nil, nil)
	fc.collect(t, request([]string{"workloads"}))
	fc.src.Close()
	deadline := time.Now().Add(5 * time.Second)
	for _, st := range fc.src.running {
		for !st.informer.IsStopped() {
			if time.Now().After(deadline) {
				t.Fatalf("%s informer still running after Close", st.id)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	if res := fc.collect(t, request([]string{"workloads"})); res.Values["workloads"].Known {
		t.Errorf("workloads known after Close: %+v", res.Values["workloads"])
	}
}
