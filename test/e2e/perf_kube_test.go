//go:build e2e && perf

package e2e

import (
	"fmt"
	"math"
	"regexp"
	"strings"
	"testing"
	"time"

	"k8s.io/client-go/rest"
)

const (
	perfHeapGoal     = 64 << 20
	perfCycleGoal    = time.Second
	perfSyncInterval = time.Second
	perfSteadyCycles = 10
)

// perfExporterFigures are the exporter's figures on the synthetic cluster,
// set beside kube-state-metrics'.
type perfExporterFigures struct {
	sync       time.Duration
	syncCPU    float64 // CPU seconds used until the first answer
	afterSync  perfMemory
	after10    perfMemory
	syncBytes  int64
	series     int
	scrapeSize int
}

// TestPerfKubernetes measures the exporter binary on a kube-apiserver that
// holds the synthetic cluster: the initial sync, memory after it and after
// ten evaluations, the bytes it receives and the requests it sends per
// evaluation; then kube-state-metrics on the same cluster; then the memory
// over 1,000 evaluations while objects come and go.
func TestPerfKubernetes(t *testing.T) {
	c := startKubeCluster(t)
	doc := newPerfDoc(t, "20-kubernetes", "Kubernetes at scale")
	took, objects := perfPopulate(t, c)
	doc.Para("A real kube-apiserver v1.37.2 on etcd %s, both on loopback, holding %d objects: %d namespaces, %d Deployments, %d Services, %d PodDisruptionBudgets, %d NetworkPolicies, %d RoleBindings, %d Nodes and %d CRDs (written by %d parallel workers in %s, %.0f objects/s). The exporter binary runs as a separate process with the embedded default rules, as deploy/rbac's ServiceAccount, through a kubeconfig whose server is a counting reverse proxy in front of the API server: the bytes are the response bodies the API server sent (compressed where it compressed them), the requests are those the proxy saw.",
		perfEtcdVersion(t), objects, perfNamespaces, perfNamespaces*perfDeploymentsPerNS, perfNamespaces*perfDeploymentsPerNS, perfNamespaces*perfPDBsPerNS,
		perfNamespaces*perfPoliciesPerNS, perfNamespaces*perfRoleBindingsPerNS, perfNodes, perfCRDs, perfCreateWorkers,
		took.Round(time.Second), float64(objects)/took.Seconds())

	_, sa := kubeApplyExporterRBAC(t, c)
	token := c.ServiceAccountConfig(t, sa.Namespace, sa.Name).BearerToken
	first := newPerfDoc(t, "21-first-answer", "Time to a complete first answer")
	var ours perfExporterFigures
	t.Run("sync", func(t *testing.T) { ours = perfKubeSync(t, c, doc, first, token) })
	if t.Failed() {
		return
	}
	t.Run("kube-state-metrics", func(t *testing.T) { perfKubeStateMetrics(t, c, doc, first, ours) })
	t.Run("first-answer", func(t *testing.T) { perfFirstAnswerRounds(t, c, first, token) })
	t.Run("churn", func(t *testing.T) { perfChurn(t, c, doc, token) })
}

// perfKubeExporter starts the exporter on the cluster through a fresh
// counting proxy, with the default rules and debug logs (one line per
// evaluation, which is how cycles are counted).
func perfKubeExporter(t *testing.T, c *kubeCluster, token string, interval time.Duration) (*exporter, *perfProxy, time.Duration) {
	e, proxy, _, ready := perfKubeExporterAt(t, c, token, interval)
	return e, proxy, ready
}

// perfKubeExporterAt is perfKubeExporter that also returns when the
// process was started.
func perfKubeExporterAt(t *testing.T, c *kubeCluster, token string, interval time.Duration) (*exporter, *perfProxy, time.Time, time.Duration) {
	t.Helper()
	exporterBinary(t) // built before the clock starts
	proxy := newPerfProxy(t, c.URL, c.CAFile, true)
	kubeconfig := c.WriteKubeconfig(t, &rest.Config{Host: proxy.URL, BearerToken: token,
		TLSClientConfig: rest.TLSClientConfig{CAFile: proxy.CAFile}}, "exporter")
	cfg := writeFile(t, t.TempDir(), "config.yml",
		fmt.Sprintf("sources:\n  kubernetes:\n    kubeconfig: %s\n    context: exporter\n", kubeconfig))
	start := time.Now()
	e := startExporter(t, cfg, "--evaluation.interval="+interval.String(), "--log.level=debug")
	return e, proxy, start, time.Since(start)
}

var perfEvaluatedRE = regexp.MustCompile(`msg=Evaluated duration=(\S+)`)

// perfCycles returns the duration of each evaluation the exporter has
// logged so far, in order.
func perfCycles(e *exporter) []time.Duration {
	var out []time.Duration
	for _, m := range perfEvaluatedRE.FindAllStringSubmatch(e.Logs(), -1) {
		if d, err := time.ParseDuration(m[1]); err == nil {
			out = append(out, d)
		}
	}
	return out
}

// perfWaitCycles waits until the exporter has logged n evaluations.
func perfWaitCycles(t *testing.T, e *exporter, n int, timeout time.Duration) []time.Duration {
	t.Helper()
	var cycles []time.Duration
	waitFor(t, timeout, fmt.Sprintf("%d evaluations", n), func() bool {
		cycles = perfCycles(e)
		return len(cycles) >= n
	})
	return cycles
}

// perfCheckTruth fails unless the exporter measured the whole cluster: a
// figure taken on a partial sync would flatter it.
func perfCheckTruth(t *testing.T, m perfMetrics, extraWorkloads int) {
	t.Helper()
	for signal, want := range perfClusterTruth {
		if signal == "microservices" {
			want += float64(extraWorkloads)
		}
		got := m.Value(fmt.Sprintf(`capability_signal_value{signal="%s"}`, signal))
		if math.IsNaN(got) || math.Abs(got-want) > 1e-9 {
			t.Errorf("signal %s = %v, want %v", signal, got, want)
		}
	}
	if up := m.Value(`capability_exporter_source_up{source="kubernetes"}`); up != 1 {
		t.Errorf("capability_exporter_source_up{source=\"kubernetes\"} = %v", up)
	}
	// Every reason's counter exists from the first evaluation at 0; only a
	// counted error is one.
	var errs []string
	for _, l := range metricLines(string(m), "capability_exporter_source_errors_total") {
		if strings.Contains(l, `source="kubernetes"`) && !strings.HasSuffix(l, " 0") {
			errs = append(errs, l)
		}
	}
	if len(errs) > 0 {
		t.Errorf("kubernetes source errors: %v", errs)
	}
	if t.Failed() {
		t.FailNow()
	}
}

func perfKubeSync(t *testing.T, c *kubeCluster, doc, first *perfDoc, token string) perfExporterFigures {
	lists0 := c.Metric(t, "apiserver_request_total", map[string]string{"verb": "LIST"})
	e, proxy, started, ready := perfKubeExporterAt(t, c, token, perfSyncInterval)
	synced := perfScrape(t, e.URL+"/metrics")
	syncBytes, syncCounts := proxy.Bytes(), proxy.Counts()
	listsSync := c.Metric(t, "apiserver_request_total", map[string]string{"verb": "LIST"})
	perfCheckTruth(t, synced, 0)
	firstCycles := perfCycles(e)
	if len(firstCycles) == 0 {
		t.Fatal("ready before an evaluation was logged")
	}
	afterSync := synced.Memory()
	cpu0 := synced.Value("process_cpu_seconds_total")

	n0 := len(firstCycles)
	cycles := perfWaitCycles(t, e, n0+perfSteadyCycles, 2*perfSteadyCycles*perfSyncInterval+30*time.Second)
	steady := perfScrape(t, e.URL+"/metrics")
	n := len(perfCycles(e)) - n0 // evaluations since the first scrape, at least 10
	lists1 := c.Metric(t, "apiserver_request_total", map[string]string{"verb": "LIST"})
	bytes, counts := proxy.Bytes()-syncBytes, proxy.Counts()
	after10 := steady.Memory()
	cycleTimes := cycles[n0:]
	sourceDur := steady.Value(`capability_exporter_source_duration_seconds{source="kubernetes"}`)
	evalDur := steady.Value("capability_exporter_evaluation_duration_seconds")
	cpu := (steady.Value("process_cpu_seconds_total") - cpu0) / float64(n)
	perCycle := func(a, b int) string { return fmt.Sprintf("%.2f", float64(b-a)/float64(n)) }
	body := e.Get(t, "/metrics")
	total, _ := perfSeries(body)

	doc.Table([]string{"figure", "value"}, [][]string{
		{"initial sync: exporter start to first evaluation published (`/-/ready`)", ms(ready)},
		{"initial sync: the first evaluation (informers started, listed, synced, counted)", ms(firstCycles[0])},
		{"requests during the initial sync (proxy)", fmt.Sprintf("%d streaming lists, %d lists, %d watches, %d /version", syncCounts.watchLists, syncCounts.lists, syncCounts.watches, syncCounts.version)},
		{"LIST requests during the initial sync (`apiserver_request_total{verb=\"LIST\"}` delta, all clients)", fmt.Sprintf("%.0f", listsSync-lists0)},
		{"bytes received during the initial sync", kib(float64(syncBytes))},
		{"Go heap in use after sync (`go_memstats_heap_inuse_bytes`)", mib(afterSync.heapInuse)},
		{"RSS after sync (`process_resident_memory_bytes`)", mib(afterSync.rss)},
		{fmt.Sprintf("Go heap in use after %d more evaluations", n), mib(after10.heapInuse)},
		{fmt.Sprintf("RSS after %d more evaluations", n), mib(after10.rss)},
		{"one evaluation after sync, p50 / max of the exporter's logged durations", ms(percentile(cycleTimes, 50)) + " / " + ms(percentile(cycleTimes, 100))},
		{"last evaluation: `capability_exporter_evaluation_duration_seconds`", ms(time.Duration(evalDur * float64(time.Second)))},
		{"last evaluation: `capability_exporter_source_duration_seconds{source=\"kubernetes\"}`", ms(time.Duration(sourceDur * float64(time.Second)))},
		{"CPU per evaluation after sync (`process_cpu_seconds_total`)", fmt.Sprintf("%.1f ms", cpu*1000)},
		{"requests per evaluation after sync: lists (proxy)", perCycle(syncCounts.lists+syncCounts.watchLists, counts.lists+counts.watchLists)},
		{"requests per evaluation after sync: watches opened (proxy)", perCycle(syncCounts.watches, counts.watches)},
		{"requests per evaluation after sync: GET /version, the reachability check (proxy)", perCycle(syncCounts.version, counts.version)},
		{"LIST requests the API server counted during these evaluations (`apiserver_request_total{verb=\"LIST\"}` delta, all clients)", fmt.Sprintf("%.0f", lists1-listsSync)},
		{"bytes received per evaluation after sync (watch events and /version)", kib(float64(bytes) / float64(n))},
		{"exporter /metrics: series, bytes", fmt.Sprintf("%d, %d", total, len(body))},
	})
	perfSyncSection(first, e, proxy, started, ready, firstCycles[0], cpu0)
	doc.Target("Go heap in use after sync, 5,000 Deployments", mib(perfHeapGoal), mib(afterSync.heapInuse), afterSync.heapInuse < perfHeapGoal,
		"trim what the informers keep per object")
	doc.Target(fmt.Sprintf("Go heap in use after %d evaluations", n), mib(perfHeapGoal), mib(after10.heapInuse), after10.heapInuse < perfHeapGoal,
		"trim what an evaluation allocates")
	slowest := percentile(cycleTimes, 100)
	doc.Target("one evaluation after sync (slowest of the steady cycles)", ms(perfCycleGoal), ms(slowest), slowest < perfCycleGoal,
		"profile the evaluation's measures")
	newLists := counts.lists + counts.watchLists - syncCounts.lists - syncCounts.watchLists
	doc.Target("LIST requests per evaluation after sync", "0", perCycle(0, newLists), newLists == 0,
		"find which informer relists and why")
	return perfExporterFigures{sync: ready, syncCPU: cpu0, afterSync: afterSync, after10: after10, syncBytes: syncBytes, series: total, scrapeSize: len(body)}
}

// perfCountLines counts the lines of a /metrics body that start with name{.
func perfCountLines(body, name string) int {
	return strings.Count(body, "\n"+name+"{")
}
