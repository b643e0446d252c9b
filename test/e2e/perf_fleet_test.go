//go:build e2e && perf

package e2e

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/model"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/capability-exporter/capability_exporter/collector"
	"github.com/capability-exporter/capability_exporter/collector/httpapi"
	"github.com/capability-exporter/capability_exporter/config"
	"github.com/capability-exporter/capability_exporter/scope"
)

// The fleet: one Prometheus holding 20 clusters' 35-day histories, every
// series labelled with its cluster as a shared Thanos, Mimir or
// VictoriaMetrics holds them; 3 real kube-apiservers; one exporter per
// kube-apiserver, scoped to its cluster by sources.prometheus.matchers. The
// clusters differ (incidents, cost growth, microservices), so a signal that
// summed another cluster's series in would show.
const (
	fleetClusters = 20
	fleetKube     = 3
)

// fleetOwn are the clusters that have a kube-apiserver and an exporter; the
// other 17 are in the store only.
var fleetOwn = [fleetKube]int{1, 7, 14}

func fleetName(i int) string { return fmt.Sprintf("c%02d", i) }

// TestPerfFleet runs the fleet: each exporter's signals against its own
// cluster's truth, the fleet dashboard on the exporters' metrics, and the
// load one exporter puts on the shared store per hour.
func TestPerfFleet(t *testing.T) {
	doc := newPerfDoc(t, "36-fleet", "Fleet: 20 clusters in one store, one exporter per cluster")
	began := time.Now()
	exporterBinary(t) // built before anything is timed

	end := time.Now()
	shops := make([]*webshop, fleetClusters)
	for i := range shops {
		shops[i] = fleetShop(i, end)
	}
	dataDir := t.TempDir()
	type backfilled struct {
		bytes int64
		took  time.Duration
		err   error
	}
	bf := make(chan backfilled, 1)
	promtool, tmp := requireBinary(t, "promtool", "PROMTOOL", "prometheus"), t.TempDir()
	go func() {
		t0 := time.Now()
		n, err := fleetBackfill(promtool, tmp, shops, dataDir)
		bf <- backfilled{n, time.Since(t0), err}
	}()

	// The kube-apiservers start while the history is written.
	t0 := time.Now()
	clusters := make([]*kubeCluster, fleetKube)
	micro := make([]int, fleetKube)
	for k := range clusters {
		c := startKubeCluster(t)
		clusters[k] = c
		micro[k] = 3 + k
		ctx := context.Background()
		if _, err := c.Client.CoreV1().Namespaces().Create(ctx, kubeNamespace("shop", nil), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		for j := range micro[k] {
			name := fmt.Sprintf("svc-%d", j)
			if _, err := c.Client.AppsV1().Deployments("shop").Create(ctx, kubeDeployment("shop", name, 2, kubeShopContainer(name)), metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
			kubeCreateService(t, c.Client, "shop", name, map[string]string{"app": name})
		}
	}
	kubeTook := time.Since(t0)
	b := <-bf
	if b.err != nil {
		t.Fatal(b.err)
	}
	t0 = time.Now()
	store := startPrometheus(t, dataDir, writeFile(t, t.TempDir(), "rules.yml", webshopRulesYAML()))
	storeReady := time.Since(t0)
	samples := newSamplesProxy(t, store.URL)

	// One exporter per kube-apiserver, each through its own counting proxy.
	dir := t.TempDir()
	exporters := make([]*exporter, fleetKube)
	proxies := make([]*perfProxy, fleetKube)
	configs := make([]string, fleetKube)
	for k, c := range clusters {
		proxies[k] = newPerfProxy(t, samples.URL, "", false)
		kubeconfig := c.WriteKubeconfig(t, c.Admin, "exporter")
		configs[k] = writeFile(t, dir, fleetName(fleetOwn[k])+".yml", fmt.Sprintf(
			"sources:\n  prometheus:\n    url: %s\n    matchers: ['cluster=%q']\n  kubernetes:\n    kubeconfig: %s\n    context: exporter\n",
			proxies[k].URL, fleetName(fleetOwn[k]), kubeconfig))
	}
	for k := range exporters {
		exporters[k] = startExporter(t, configs[k], "--evaluation.interval=10m")
	}
	evaluatedAt := time.Now()

	doc.Para("One Prometheus (%s) holds %d clusters' histories: the e2e tier's webshop, 35 days each, every series labelled `cluster=\"c00\"` … `cluster=\"c19\"`, and the clusters differ: cluster i leaves out i mod 5 of the webshop's paging incidents of the last 29 days, adds i mod 3 incidents of its own, and scaled its frontend to 2 + i mod 4 replicas ten days ago, so its incident count, time to resolve, alert rate and cost growth are its own. %.0f MB of OpenMetrics written and backfilled with promtool, two clusters at a time, one 35-day block per cluster (%s; the store ready %s later). %d real kube-apiservers on etcd, started meanwhile (%s), each with its own number of microservices; one exporter binary per kube-apiserver, with the default rules, `sources.kubernetes` on its API server and `sources.prometheus` on the shared store with `matchers: ['cluster=\"<its cluster>\"']`. The history is generated at the step the e2e tier uses (alerts every minute, the rest every 5 minutes), not shortened.",
		store.Version, fleetClusters, float64(b.bytes)/1e6, b.took.Round(time.Second), storeReady.Round(time.Millisecond), fleetKube, kubeTook.Round(time.Second))

	// Each exporter reads its own cluster and nothing of the others.
	var rows [][]string
	leaks := 0
	for k, e := range exporters {
		m := perfScrape(t, e.URL+"/metrics")
		truth := fleetTruth(shops[fleetOwn[k]], evaluatedAt, micro[k])
		for _, signal := range []string{"critical_incidents", "incident_mttr_seconds", "critical_alerts_per_day", "paging_alert_share", "cost_growth_ratio", "traffic_growth_ratio", "microservices"} {
			want, tol := truth[signal][0], truth[signal][1]
			got := m.Value(fmt.Sprintf(`capability_signal_value{signal="%s"}`, signal))
			verdict := "equal"
			if got != want {
				verdict = fmt.Sprintf("within %s", fleetTolerance(tol))
			}
			if math.IsNaN(got) || math.Abs(got-want) > tol+1e-9 {
				verdict = "**differs**"
				leaks++
				t.Errorf("%s: %s = %v, want %v (its own cluster's truth)", fleetName(fleetOwn[k]), signal, got, want)
			}
			rows = append(rows, []string{fleetName(fleetOwn[k]), signal, fmt.Sprintf("%.4g", got), fmt.Sprintf("%.4g", want), verdict})
		}
	}
	var fleetIncidents int
	for _, w := range shops {
		fleetIncidents += w.incidents(isPaging, evaluatedAt.Truncate(historyStep), 30*shopDay).Incidents
	}
	doc.Para("Each exporter's signals against its own cluster's truth, worked out from that cluster's model (the Kubernetes one from the objects created). The store's 20 clusters together had %d paging incidents in the 30 days, so a count that read one other cluster's series would differ; the share of paging alert names and the traffic growth are the same in every cluster by construction, and check only that the scoped query still answers. The time to resolve is read on the 5-minute step of the alert history, hence its tolerance:", fleetIncidents)
	doc.Table([]string{"exporter (cluster)", "signal", "exporter", "own cluster's truth", ""}, rows)

	// The fleet dashboard, on a Prometheus that scrapes the three exporters
	// with their cluster label.
	var targets strings.Builder
	for k, e := range exporters {
		fmt.Fprintf(&targets, "      - targets: ['%s']\n        labels: {cluster: %s}\n", strings.TrimPrefix(e.URL, "http://"), fleetName(fleetOwn[k]))
	}
	scraped := time.Now()
	api := startFleetStore(t, "prometheus", writeFile(t, dir, "scrape.yml",
		"global: {scrape_interval: 1s, scrape_timeout: 1s}\nscrape_configs:\n  - job_name: capability_exporter\n    static_configs:\n"+targets.String()))
	waitFor(t, 60*time.Second, "the three clusters' metrics scraped", func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		v, _, err := api.Query(ctx, `count by (cluster) (capability_exporter_build_info)`, time.Now())
		vec, _ := v.(model.Vector)
		return err == nil && len(vec) == fleetKube
	})
	time.Sleep(2 * time.Second)
	panels := runFleetPanels(t, api, fleetDashboard(t), scraped)
	var prow [][]string
	for _, title := range []string{"Decisions across the fleet", "Recommended next step per cluster", "Decision changes in the last 7 days", "Source health per cluster", "Evaluation age per cluster"} {
		per := map[string]int{}
		for _, smp := range panels[title] {
			per[string(smp.Metric["cluster"])]++
		}
		rowsPer := map[int]bool{}
		for _, n := range per {
			rowsPer[n] = true
		}
		ok := len(per) == fleetKube && len(rowsPer) == 1
		for _, i := range fleetOwn {
			ok = ok && per[fleetName(i)] > 0
		}
		if !ok {
			t.Errorf("panel %q: rows per cluster %v; want the same rows for each of the %d clusters", title, per, fleetKube)
		}
		var counts []string
		for _, i := range fleetOwn {
			counts = append(counts, fmt.Sprintf("%s: %d", fleetName(i), per[fleetName(i)]))
		}
		prow = append(prow, []string{title, fmt.Sprint(len(per)), strings.Join(counts, ", ")})
	}
	doc.Para("The fleet dashboard's queries, run as Grafana runs them with every cluster selected, against a second Prometheus that scrapes the three exporters every second and labels each with its cluster:")
	doc.Table([]string{"panel", "clusters", "rows per cluster"}, prow)

	// The load on the store: per exporter, an hour of evaluations (12 at
	// the default 5m interval, back to back), with the slow cadence at its
	// default and off.
	hour := func(k int, slow time.Duration) perfFleetHour {
		cfg, err := config.Load(configs[k])
		if err != nil {
			t.Fatal(err)
		}
		sched := collector.NewScheduler(cfg, 2*time.Minute, slog.New(slog.DiscardHandler), collector.WithSlowInterval(slow))
		defer sched.Close()
		from, s0, q0 := len(proxies[k].Requests()), samples.samples.Load(), samples.queries.Load()
		t0 := time.Now()
		for range 12 {
			if sched.Evaluate(context.Background()) == nil {
				t.Fatal("no evaluation")
			}
		}
		h := perfFleetHour{took: time.Since(t0), samples: samples.samples.Load() - s0, queries: samples.queries.Load() - q0}
		for _, r := range proxies[k].Requests()[from:] {
			h.requests++
			if r.Path == "/api/v1/query_range" && r.Window >= 30*shopDay {
				h.monthRange++
			}
			if r.Path == "/api/v1/query" {
				if d, err := scope.PromQLWindow(r.Query); err == nil && d >= httpapi.SlowWindow {
					h.slowInstant++
				}
			}
		}
		return h
	}
	var on, off [fleetKube]perfFleetHour
	var lrows [][]string
	for k := range configs {
		on[k], off[k] = hour(k, time.Hour), hour(k, 0)
		lrows = append(lrows, []string{fleetName(fleetOwn[k]),
			fmt.Sprintf("%d / %d", on[k].requests, off[k].requests),
			fmt.Sprintf("%d / %d", on[k].monthRange, off[k].monthRange),
			fmt.Sprintf("%d / %d", on[k].slowInstant, off[k].slowInstant),
			fmt.Sprintf("%d / %d", on[k].samples, off[k].samples),
			fmt.Sprintf("%s / %s", on[k].took.Round(time.Millisecond), off[k].took.Round(time.Millisecond))})
	}
	doc.Para("What each exporter asks of the shared store in an hour: 12 evaluations (the default `--evaluation.interval` of 5m) run back to back with the exporter's own config, in-process, through its counting proxy, with `--evaluation.slow-interval` at its default of 1h and at 0 (every query every evaluation). Samples are the store's own count of the samples each query read (`totalQueryableSamples` of the query stats, which a proxy in front of the store asks for); the Kubernetes source sends nothing to the store. Each cell is slow interval 1h / 0.")
	doc.Table([]string{"exporter (cluster)", "requests to the store", "30-day range queries", "instant queries over a day or more", "samples read", "time for the 12 evaluations"}, lrows)
	var sumOn, sumOff, rangeOn, rangeOff int64
	for k := range on {
		sumOn, sumOff = sumOn+on[k].samples, sumOff+off[k].samples
		rangeOn, rangeOff = rangeOn+int64(on[k].monthRange), rangeOff+int64(off[k].monthRange)
	}
	ratio := math.Inf(1)
	if rangeOn > 0 {
		ratio = float64(rangeOff) / float64(rangeOn)
	}
	doc.Para("Per exporter and hour, on average: %.0f samples read with the slow cadence against %.0f without (%.1f× fewer). N exporters on one store cost N times one: the scoped queries read only their own cluster's series, so one exporter's cost does not grow with the number of clusters the store holds.",
		float64(sumOn)/fleetKube, float64(sumOff)/fleetKube, float64(sumOff)/math.Max(1, float64(sumOn)))
	doc.Target("fleet: 30-day range queries per exporter per hour, slow interval on against off", "at least 10× fewer",
		fmt.Sprintf("%.0f against %.0f (%.0f×)", float64(rangeOn)/fleetKube, float64(rangeOff)/fleetKube, ratio), rangeOn > 0 && ratio >= 10,
		"find which 30-day range query is sent outside the slow cadence")
	doc.Target("fleet: signals that differ from their own cluster's truth", "0", fmt.Sprint(leaks), leaks == 0, "find the query that is not scoped")
	var mrows [][]string
	peak := 0.0
	mem := func(what string, pid int) {
		rss, hwm := procMemory(pid)
		peak += hwm
		mrows = append(mrows, []string{what, mib(rss), mib(hwm)})
	}
	mem("the store (Prometheus, 20 clusters)", store.Pid())
	for k, c := range clusters {
		mem(fmt.Sprintf("kube-apiserver of %s", fleetName(fleetOwn[k])), c.APIServer.Pid())
		mem(fmt.Sprintf("etcd of %s", fleetName(fleetOwn[k])), c.Etcd.Pid())
		mem(fmt.Sprintf("exporter of %s", fleetName(fleetOwn[k])), exporters[k].Pid())
	}
	doc.Para("Memory of the servers at the end of the run (from /proc: resident now, and the peak):")
	doc.Table([]string{"process", "resident", "peak resident"}, mrows)
	doc.Para("Their peaks add up to %s; the fleet run took %s in all, on the shared 2 cores.", mib(peak), time.Since(began).Round(time.Second))
	if rangeOn == 0 || sumOff == 0 {
		t.Fatalf("nothing counted: on %+v, off %+v", on, off)
	}
}

type perfFleetHour struct {
	requests, monthRange, slowInstant int
	samples, queries                  int64
	took                              time.Duration
}

// fleetTolerance names a truth's tolerance for the table.
func fleetTolerance(tol float64) string {
	if tol >= 1 {
		return fmt.Sprintf("%.0f s", tol)
	}
	return fmt.Sprintf("%g", tol)
}
