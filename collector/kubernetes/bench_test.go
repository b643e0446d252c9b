package kubernetes

import (
	"fmt"
	"runtime"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	k8sruntime "k8s.io/apimachinery/pkg/runtime"

	"github.com/capability-exporter/capability_exporter/triggers"
)

// benchCluster is a cluster of nsCount app namespaces with perNS
// Deployments each, a Service and a PDB per workload, a default-deny policy
// and a RoleBinding per namespace, 100 nodes and 200 CRDs.
func benchCluster(nsCount, perNS int) []k8sruntime.Object {
	var objs []k8sruntime.Object
	for i := range nsCount {
		ns := fmt.Sprintf("team-%d", i)
		objs = append(objs, namespaceObj(ns, labelsOf("team", fmt.Sprintf("t%d", i%40), labelPSAEnforce, "baseline")),
			netpolObj(ns, "default-deny", nil, nil, 0), roleBindingObj(ns, "devs", user(fmt.Sprintf("dev-%d", i))))
		for j := range perNS {
			name := fmt.Sprintf("svc-%d", j)
			c := goodContainer("app")
			c.Env = []corev1.EnvVar{{Name: "A", Value: "some configuration"}, {Name: "B", Value: "more configuration"}}
			d := deploymentObj(ns, name, ptr[int32](2), podTemplate(labelsOf("app", name, "team", ns), c, goodContainer("sidecar")))
			objs = append(objs, d, serviceObj(ns, name, labelsOf("app", name)),
				pdbObj(ns, name, &metav1.LabelSelector{MatchLabels: labelsOf("app", name)}))
		}
	}
	for i := range 100 {
		objs = append(objs, nodeObj(fmt.Sprintf("node-%d", i), labelsOf(labelZone, fmt.Sprintf("z%d", i%3), labelRegion, "r1")))
	}
	for i := range 200 {
		objs = append(objs, crdObj(fmt.Sprintf("things%d.example%d.io", i, i%20)))
	}
	return objs
}

// BenchmarkKubernetesCollect measures one evaluation of every measure and
// the default rules' tools over a synced cluster of 5000 workloads, and
// reports the heap the informers hold per workload.
func BenchmarkKubernetesCollect(b *testing.B) {
	const nsCount, perNS = 250, 20
	rules, err := triggers.Default()
	if err != nil {
		b.Fatal(err)
	}
	objs := benchCluster(nsCount, perNS)
	var before, after runtime.MemStats
	fc := newFakeCluster(b, objs, nil, nil)
	runtime.GC()
	runtime.ReadMemStats(&before)
	req := request(triggers.KubernetesMeasures(), rules.Tools...)
	res := fc.collect(b, req)
	runtime.GC()
	runtime.ReadMemStats(&after)
	if v := res.Values["workloads"]; !v.Known || v.Number != nsCount*perNS {
		b.Fatalf("workloads = %+v", v)
	}
	held := float64(after.HeapAlloc-before.HeapAlloc) / (nsCount * perNS)
	for b.Loop() {
		fc.collect(b, req)
	}
	b.ReportMetric(held, "heap-B/workload")
}
