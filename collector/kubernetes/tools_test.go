package kubernetes

import (
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/capability-exporter/capability_exporter/collector/source"
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
		metaObj("kyverno.io/v1", "ClusterPolicy", "", "require-labels", nil),
		daemonSetObj("kube-system", "cilium"),
		deploymentObj("shop", "jaeger-collector", nil, podTemplate(nil, goodContainer("c"))),
		statefulSetObj("shop", "vault", nil, podTemplate(nil, goodContainer("c"))),
		deploymentObj("shop", "my-velero-backup", nil, podTemplate(nil, goodContainer("c"))),
		deploymentObj("shop", "tempo", ptr[int32](0), podTemplate(nil, goodContainer("c"))),
		deploymentObj("mesh-system", "meshd", nil, podTemplate(nil, goodContainer("c"))),
	}
}

// serveGroups makes the fake discovery serve these group versions, as the
// API server does for installed CRDs.
func serveGroups(fc *fakeCluster, groupVersions ...string) {
	for _, gv := range groupVersions {
		fc.client.Resources = append(fc.client.Resources, &metav1.APIResourceList{GroupVersion: gv})
	}
}

func toolsClusterGroups(fc *fakeCluster) { serveGroups(fc, "linkerd.io/v1alpha2", "kyverno.io/v1") }

func TestKubernetesToolDetection(t *testing.T) {
	for _, tc := range []struct {
		tool   triggers.Tool
		want   float64
		reason string
	}{
		// Its CRD holds nothing and nothing of it runs: left behind.
		{triggers.Tool{ID: "linkerd", CRDGroups: []string{"linkerd.io"}}, 0, reasonCRDsOnly},
		// A ClusterPolicy exists: in use, whatever runs it.
		{triggers.Tool{ID: "kyverno", CRDGroups: []string{"kyverno.io", "wgpolicyk8s.io"}}, 1, ""},
		{triggers.Tool{ID: "istio", CRDGroups: []string{"networking.istio.io"}, Namespaces: []string{"istio-system"}}, 0, ""},
		// The group is exact: no suffix or prefix match.
		{triggers.Tool{ID: "partial", CRDGroups: []string{"io", "linkerd"}}, 0, ""},
		// An empty namespace is not a running tool; a workload in it is.
		{triggers.Tool{ID: "argocd", CRDGroups: []string{"argoproj.io"}, Namespaces: []string{"argocd"}}, 0, reasonNamespaceOnly},
		{triggers.Tool{ID: "meshd", Namespaces: []string{"mesh-system"}}, 1, ""},
		// A DaemonSet in a platform namespace counts: tools live there.
		{triggers.Tool{ID: "cilium", Workloads: []string{"cilium(-operator)?"}}, 1, ""},
		{triggers.Tool{ID: "jaeger", Workloads: []string{"jaeger", "jaeger-(collector|query)"}}, 1, ""},
		{triggers.Tool{ID: "vault", Workloads: []string{"vault"}}, 1, ""},
		// Scaled to zero, it does not run.
		{triggers.Tool{ID: "tempo", Workloads: []string{"tempo"}}, 0, ""},
		// Anchored: "velero" does not match my-velero-backup.
		{triggers.Tool{ID: "velero", Workloads: []string{"velero"}}, 0, ""},
		{triggers.Tool{ID: "velero_loose", Workloads: []string{".*velero.*"}}, 1, ""},
		// Flags in one pattern do not leak into the next.
		{triggers.Tool{ID: "flags", Workloads: []string{"(?i)NOPE", "MESHD"}}, 0, ""},
	} {
		t.Run(tc.tool.ID, func(t *testing.T) {
			fc := newFakeCluster(t, toolsCluster(), nil, toolsClusterGroups)
			res := fc.collect(t, request(nil, &tc.tool))
			v := res.Values["tool."+tc.tool.ID]
			if !v.Known || v.Number != tc.want || v.Reason != tc.reason {
				t.Errorf("tool.%s = %+v, want %v (%q)", tc.tool.ID, v, tc.want, tc.reason)
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
		&triggers.Tool{ID: "meshd", CRDGroups: []string{"meshd.io"}, Namespaces: []string{"mesh-system"}},
		&triggers.Tool{ID: "cilium", CRDGroups: []string{"cilium.io"}, Workloads: []string{"cilium"}},
		&triggers.Tool{ID: "linkerd", CRDGroups: []string{"linkerd.io"}, Namespaces: []string{"linkerd"}},
		&triggers.Tool{ID: "vault", Workloads: []string{"vault"}},
	))
	for id, want := range map[string]float64{"meshd": 1, "cilium": 1, "vault": 1} {
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

// A CRD whose group discovery does not serve cannot be read: the tool is
// unknown, and the cause counted.
func TestKubernetesToolObjectsGroupNotServed(t *testing.T) {
	fc := newFakeCluster(t, toolsCluster(), nil, nil)
	res := fc.collect(t, request(nil, &triggers.Tool{ID: "linkerd", CRDGroups: []string{"linkerd.io"}}))
	if v := res.Values["tool.linkerd"]; v.Known || !strings.Contains(v.Reason, "serves no version of linkerd.io") {
		t.Errorf("tool.linkerd = %+v, want unknown: its group is not served", v)
	}
	if len(res.Errors) != 1 || res.Errors[0].Reason != source.ReasonNotFound {
		t.Errorf("errors = %v, want one not_found", res.Errors)
	}
}

// Objects of a CRD that cannot be listed leave the tool unknown, not absent.
func TestKubernetesToolObjectsForbidden(t *testing.T) {
	fc := newFakeCluster(t, toolsCluster(), nil, func(fc *fakeCluster) {
		toolsClusterGroups(fc)
		forbid(&fc.meta.Fake, "list", "serviceprofiles", "linkerd.io")
	})
	res := fc.collect(t, request(nil, &triggers.Tool{ID: "linkerd", CRDGroups: []string{"linkerd.io"}}))
	if v := res.Values["tool.linkerd"]; v.Known || !strings.Contains(v.Reason, "serviceprofiles.linkerd.io") {
		t.Errorf("tool.linkerd = %+v, want unknown naming the CRD", v)
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
	if v := res.Values["workloads"]; v.Number != 4 {
		t.Errorf("workloads = %+v, want 4: meshd runs in a tool's namespace", v)
	}
}

// Detection follows the CRDs and their objects: an object of a CRD
// installed after the initial sync marks its tool detected; with the object
// gone the CRD alone reads "CRDs only"; with the CRD gone, nothing.
func TestKubernetesToolDetectionFollowsCRDs(t *testing.T) {
	fc := newFakeCluster(t, toolsCluster(), nil, func(fc *fakeCluster) { serveGroups(fc, "networking.istio.io/v1") })
	istio := &triggers.Tool{ID: "istio", CRDGroups: []string{"networking.istio.io"}}
	req := request(nil, istio)
	fc.collect(t, req)
	waitForWatches(t, fc, "customresourcedefinitions")
	vs := metaObj("networking.istio.io/v1", "VirtualService", "shop", "web", nil)
	mustDo(t, func() error { return fc.meta.Tracker().Add(vs) })
	mustDo(t, func() error { return fc.meta.Tracker().Add(crdObj("virtualservices.networking.istio.io")) })
	eventually(t, fc, req, map[string]float64{"tool.istio": 1})
	waitForWatches(t, fc, "virtualservices")
	vsGVR := schema.GroupVersionResource{Group: "networking.istio.io", Version: "v1", Resource: "virtualservices"}
	mustDo(t, func() error { return fc.meta.Tracker().Delete(vsGVR, "shop", "web") })
	eventually(t, fc, req, map[string]float64{"tool.istio": 0})
	if v := fc.collect(t, req).Values["tool.istio"]; v.Reason != reasonCRDsOnly {
		t.Errorf("tool.istio = %+v, want %q", v, reasonCRDsOnly)
	}
	mustDo(t, func() error {
		return fc.meta.Tracker().Delete(resourceKinds[resCRDs].gvr, "", "virtualservices.networking.istio.io")
	})
	deadline := time.Now().Add(5 * time.Second)
	for fc.collect(t, req).Values["tool.istio"].Reason != "" {
		if time.Now().After(deadline) {
			t.Fatal("tool.istio still reads CRDs only after its CRD was deleted")
		}
		time.Sleep(20 * time.Millisecond)
	}
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
	if v := res.Values["workloads"]; !v.Known || v.Number != 5 {
		t.Errorf("workloads = %+v, want 5", v)
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

// A detected tool carries when the earliest of what shows it was created:
// the oldest running workload, never one scaled to zero; for a tool seen
// only by its custom resources, the oldest of those.
func TestKubernetesToolSince(t *testing.T) {
	at := func(days int) metav1.Time {
		return metav1.NewTime(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, days))
	}
	collector := deploymentObj("shop", "jaeger-collector", nil, podTemplate(nil, goodContainer("c")))
	collector.CreationTimestamp = at(10)
	query := deploymentObj("shop", "jaeger-query", nil, podTemplate(nil, goodContainer("c")))
	query.CreationTimestamp = at(5)
	old := deploymentObj("shop", "jaeger-old", ptr[int32](0), podTemplate(nil, goodContainer("c")))
	old.CreationTimestamp = at(1)
	policy := metaObj("kyverno.io/v1", "ClusterPolicy", "", "require-labels", nil)
	policy.CreationTimestamp = at(3)
	later := metaObj("kyverno.io/v1", "ClusterPolicy", "", "require-probes", nil)
	later.CreationTimestamp = at(7)
	objs := []runtime.Object{namespaceObj("shop", nil), crdObj("clusterpolicies.kyverno.io"), policy, later, collector, query, old}
	fc := newFakeCluster(t, objs, nil, toolsClusterGroups)
	res := fc.collect(t, request(nil,
		&triggers.Tool{ID: "jaeger", Workloads: []string{"jaeger-.+"}},
		&triggers.Tool{ID: "kyverno", CRDGroups: []string{"kyverno.io"}}))
	for id, want := range map[string]metav1.Time{"jaeger": at(5), "kyverno": at(3)} {
		if v := res.Values["tool."+id]; !v.Known || v.Number != 1 || !v.Since.Equal(want.Time) {
			t.Errorf("tool.%s = %+v, want detected since %s", id, v, want.Time)
		}
	}
}
