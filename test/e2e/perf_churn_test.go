//go:build e2e && perf

package e2e

import (
	"context"
	"fmt"
	"math"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
)

const (
	perfChurnInterval = 50 * time.Millisecond
	perfChurnCycles   = 1000
	perfChurnLive     = 250 // churned Deployments (each with its Service) alive at once
	perfChurnWorkers  = 4
	perfChurnBudget   = 6 * time.Minute
	perfGrowthGoal    = 0.10
)

// perfChurner creates Deployments with their Services, deletes the oldest
// once perfChurnLive are alive, and patches a standing Deployment on every
// step: the add, update and delete events a busy cluster sends.
type perfChurner struct {
	k                         kubernetes.Interface
	next                      atomic.Int64
	creates, deletes, patches atomic.Int64
	mu                        sync.Mutex
	live                      []types.NamespacedName
	errs                      atomic.Int64
	firstErr                  atomic.Value
}

// step runs to its end even when the churn is stopped meanwhile, so that
// every object it creates is in live, to be deleted by drain.
func (ch *perfChurner) step() {
	ctx := context.Background()
	k := int(ch.next.Add(1))
	ns, name := perfNamespace(k%perfNamespaces), fmt.Sprintf("churn-%d", k)
	fail := func(err error) {
		if err != nil {
			ch.errs.Add(1)
			ch.firstErr.CompareAndSwap(nil, err)
		}
	}
	if _, err := ch.k.AppsV1().Deployments(ns).Create(ctx, perfDeployment(ns, name, 1), metav1.CreateOptions{}); err != nil {
		fail(err)
		return
	}
	_, err := ch.k.CoreV1().Services(ns).Create(ctx, perfService(ns, name), metav1.CreateOptions{})
	fail(err)
	ch.creates.Add(2)
	ch.mu.Lock()
	ch.live = append(ch.live, types.NamespacedName{Namespace: ns, Name: name})
	var old *types.NamespacedName
	if len(ch.live) > perfChurnLive {
		old = &ch.live[0]
		ch.live = ch.live[1:]
	}
	ch.mu.Unlock()
	if old != nil {
		ch.delete(ctx, *old, fail)
	}
	patch := fmt.Sprintf(`{"metadata":{"annotations":{"shop.example/churn":"%d"}}}`, k)
	_, err = ch.k.AppsV1().Deployments(ns).Patch(ctx, "svc-1", types.MergePatchType, []byte(patch), metav1.PatchOptions{})
	fail(err)
	ch.patches.Add(1)
}

func (ch *perfChurner) delete(ctx context.Context, n types.NamespacedName, fail func(error)) {
	fail(ch.k.AppsV1().Deployments(n.Namespace).Delete(ctx, n.Name, metav1.DeleteOptions{}))
	fail(ch.k.CoreV1().Services(n.Namespace).Delete(ctx, n.Name, metav1.DeleteOptions{}))
	ch.deletes.Add(2)
}

// run churns on perfChurnWorkers workers until ctx ends.
func (ch *perfChurner) run(ctx context.Context) *sync.WaitGroup {
	var wg sync.WaitGroup
	for range perfChurnWorkers {
		wg.Go(func() {
			for ctx.Err() == nil {
				ch.step()
			}
		})
	}
	return &wg
}

// drain deletes the churned objects still alive, leaving the cluster as
// populated.
func (ch *perfChurner) drain() {
	ch.mu.Lock()
	live := ch.live
	ch.live = nil
	ch.mu.Unlock()
	fail := func(err error) {
		if err != nil {
			ch.errs.Add(1)
			ch.firstErr.CompareAndSwap(nil, err)
		}
	}
	perfPool(perfChurnWorkers*4, live, func(n types.NamespacedName) error {
		ch.delete(context.Background(), n, fail)
		return nil
	})
}

// perfChurn runs the exporter at a 50ms interval for 1,000 evaluations
// while the churner adds, changes and deletes objects, and compares its RSS
// with the RSS after its first 10 evaluations under the same churn.
func perfChurn(t *testing.T, c *kubeCluster, doc *perfDoc, token string) {
	k, _ := perfClients(t, c)
	e, proxy, _ := perfKubeExporter(t, c, token, perfChurnInterval)
	ch := &perfChurner{k: k}
	ctx, stop := context.WithCancel(context.Background())
	wg := ch.run(ctx)
	defer func() { stop(); wg.Wait() }()
	started := time.Now()

	n0 := len(perfCycles(e))
	perfWaitCycles(t, e, n0+10, time.Minute)
	base := perfScrape(t, e.URL+"/metrics")
	row := func(n string, m perfMetrics) []string {
		anon, file := perfRSSSplit(e.Pid())
		return []string{n, mib(m.Memory().rss), anon, file, mib(m.Memory().heapInuse), mib(m.Value("go_memstats_next_gc_bytes"))}
	}
	rows := [][]string{row("10", base)}
	var samples []perfMemory
	bytes0, counts0, ops0 := proxy.Bytes(), proxy.Counts(), ch.creates.Load()+ch.deletes.Load()+ch.patches.Load()
	t0 := time.Now()
	var last perfMetrics
	deadline := started.Add(perfChurnBudget)
	for step := 100; step <= perfChurnCycles; step += 100 {
		perfWaitCycles(t, e, n0+step, time.Until(deadline))
		last = perfScrape(t, e.URL+"/metrics")
		samples = append(samples, last.Memory())
		rows = append(rows, row(fmt.Sprint(step), last))
	}
	elapsed := time.Since(t0)
	cycles := perfCycles(e)[n0+10:]
	stop()
	wg.Wait()
	bytes, counts := proxy.Bytes()-bytes0, proxy.Counts()
	ops := ch.creates.Load() + ch.deletes.Load() + ch.patches.Load() - ops0
	if n := ch.errs.Load(); n > 0 {
		t.Fatalf("%d churn requests failed, the first: %v", n, ch.firstErr.Load())
	}

	// With the churn stopped and its objects gone, the exporter must see
	// the cluster as populated: the watches kept up.
	ch.drain()
	n := len(perfCycles(e))
	perfWaitCycles(t, e, n+20, time.Minute)
	perfCheckTruth(t, perfScrape(t, e.URL+"/metrics"), 0)

	growth := last.Memory().rss/base.Memory().rss - 1
	peak, heapLo, heapHi := 0.0, math.Inf(1), 0.0
	for _, m := range samples {
		peak = max(peak, m.rss)
		heapLo, heapHi = min(heapLo, m.heapInuse), max(heapHi, m.heapInuse)
	}
	doc.Para("Memory under churn: a fresh exporter at `--evaluation.interval=%s` while %d workers create Deployments with their Services (%d alive at once, the oldest deleted) and patch a standing Deployment, %d requests in %s (%.0f/s) over the %d evaluations measured. Bytes received per evaluation: %s; lists during the churn: %d.",
		perfChurnInterval, perfChurnWorkers, perfChurnLive, ops, elapsed.Round(time.Second), float64(ops)/elapsed.Seconds(),
		len(cycles), kib(float64(bytes)/float64(len(cycles))), counts.lists+counts.watchLists-counts0.lists-counts0.watchLists)
	doc.Table([]string{"evaluations", "RSS", "of it anonymous", "of it file-backed", "Go heap in use", "next GC at (heap goal)"}, rows)
	doc.Para("RSS is `process_resident_memory_bytes`; its anonymous and file-backed parts are RssAnon and RssFile with RssShmem from /proc/<pid>/status at the same scrape (file-backed pages are the binary's, which the bench builds on tmpfs, read in as code paths first run; anonymous memory is the Go heap with its headroom, stacks and the runtime's own). The heap goal is `go_memstats_next_gc_bytes`: the heap the runtime lets grow before its next collection.")
	doc.Para("Evaluation time under churn: p50 %s, p99 %s, max %s.", ms(percentile(cycles, 50)), ms(percentile(cycles, 99)), ms(percentile(cycles, 100)))
	doc.Para("Over evaluations 100 to %d the Go heap in use stayed between %s and %s and RSS peaked at %s (%+.1f%% of the RSS after 10): what moves is the garbage collector's headroom (by default the heap may grow to twice what is live before a collection) and memory not yet returned to the kernel, not what the informers hold.",
		perfChurnCycles, mib(heapLo), mib(heapHi), mib(peak), (peak/base.Memory().rss-1)*100)
	doc.Target(fmt.Sprintf("RSS after %d evaluations with churn, against after 10", perfChurnCycles), fmt.Sprintf("within +%.0f%%", perfGrowthGoal*100),
		fmt.Sprintf("%+.1f%% (%s → %s)", growth*100, mib(base.Memory().rss), mib(last.Memory().rss)), growth <= perfGrowthGoal,
		"the heap in use is flat, so bound the collector's headroom (GOMEMLIMIT from the container's limit) and allocate less per evaluation")
}

// perfRSSSplit reads a process's resident anonymous and file-backed memory
// (RssFile and RssShmem: the bench builds the binary on tmpfs) from
// /proc/<pid>/status, or "?" each where it cannot.
func perfRSSSplit(pid int) (anon, file string) {
	anon, file = "?", "?"
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return anon, file
	}
	var mapped float64 // a binary on tmpfs (the bench's TMPDIR) is shared memory, not a file's pages
	for _, l := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(l, ":")
		if !ok {
			continue
		}
		var kb float64
		if _, err := fmt.Sscanf(strings.TrimSpace(v), "%f kB", &kb); err != nil {
			continue
		}
		switch k {
		case "RssAnon":
			anon = mib(kb * 1024)
		case "RssFile", "RssShmem":
			mapped += kb * 1024
			file = mib(mapped)
		}
	}
	return anon, file
}
