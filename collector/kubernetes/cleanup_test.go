package kubernetes

import (
	"runtime"
	"testing"
	"time"

	"github.com/capability-exporter/capability_exporter/config"
	"github.com/capability-exporter/capability_exporter/triggers"
)

// The Kubernetes source keeps compiled workload patterns across
// evaluations, and only those of the tools it is asked about now.
func TestKubernetesSourceDropsPatternsOfRemovedTools(t *testing.T) {
	fc := newFakeCluster(t, shopObjects(), nil, nil)
	linkerd := &triggers.Tool{ID: "linkerd", Capability: "service_mesh", Workloads: []string{"linkerd-.*"}}
	istio := &triggers.Tool{ID: "istio", Capability: "service_mesh", Workloads: []string{"istiod"}}
	fc.collect(t, request(nil, linkerd, istio))
	fc.collect(t, request(nil, istio))
	fc.src.mu.Lock()
	defer fc.src.mu.Unlock()
	if _, ok := fc.src.regexps[workloadExpr(linkerd.Workloads)]; ok || len(fc.src.regexps) != 1 {
		t.Errorf("compiled patterns after linkerd left the rules: %v, want istio's alone", fc.src.regexps)
	}
}

// A start, a reload that rebuilds the Kubernetes source (its section
// changed) and a stop leave no goroutine behind: Close returns once the
// informers have ended.
func TestStartReloadStopLeavesNoGoroutines(t *testing.T) {
	cycle := func() {
		for _, team := range []string{"team", "owner"} {
			fc := newFakeCluster(t, shopObjects(), func(s *config.KubernetesSource) { s.TeamLabels = []string{team} }, nil)
			if v := fc.collect(t, request([]string{"microservices"})).Values["microservices"]; !v.Known {
				t.Fatalf("microservices = %+v, want known from the informers", v)
			}
			fc.src.Close()
		}
	}
	cycle() // first use starts what lives for the whole process (klog's flush daemon)
	before := settledGoroutines()
	cycle()
	// A goroutine that has signalled its WaitGroup is still counted until it
	// has returned; under the race detector on a busy machine that can take
	// a moment. One that outlives the deadline leaked.
	after := runtime.NumGoroutine()
	for deadline := time.Now().Add(5 * time.Second); after > before && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
		after = runtime.NumGoroutine()
	}
	if after > before {
		buf := make([]byte, 1<<20)
		t.Errorf("%d goroutines after a start, reload and stop, %d before:\n%s", after, before, buf[:runtime.Stack(buf, true)])
	}
}

// settledGoroutines waits until the goroutine count stops falling, so that
// goroutines still ending from earlier work do not count as "before".
func settledGoroutines() int {
	n := runtime.NumGoroutine()
	for range 50 {
		time.Sleep(20 * time.Millisecond)
		m := runtime.NumGoroutine()
		if m >= n {
			return m
		}
		n = m
	}
	return n
}
