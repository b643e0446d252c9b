//go:build e2e && perf

package e2e

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// perfKubeStateMetrics runs kube-state-metrics, the usual reference, with
// its default resources on the same cluster through its own counting proxy,
// and sets its figures beside the exporter's. Its binary comes from
// $KUBE_STATE_METRICS (hack/bench.sh builds it from the Go module proxy);
// when there is none the section says why, from
// $KUBE_STATE_METRICS_UNAVAILABLE.
func perfKubeStateMetrics(t *testing.T, c *kubeCluster, doc, first *perfDoc, ours perfExporterFigures) {
	bin := os.Getenv("KUBE_STATE_METRICS")
	if bin == "" {
		why := os.Getenv("KUBE_STATE_METRICS_UNAVAILABLE")
		if why == "" {
			why = "$KUBE_STATE_METRICS was not set"
		}
		doc.Para("kube-state-metrics was not run beside the exporter: %s.", why)
		first.Para("kube-state-metrics was not run beside the exporter: %s.", why)
		t.Skip(why)
	}
	version := os.Getenv("KUBE_STATE_METRICS_VERSION")
	k := perfStartKSM(t, c, bin)
	proxy, metricsURL, telemetryURL, start, synced, body := k.proxy, k.metricsURL, k.telemetryURL, k.start, k.synced, k.body
	syncBytes := proxy.Bytes()
	telemetry0 := perfScrape(t, telemetryURL)
	afterSync, syncCPU := telemetry0.Memory(), telemetry0.Value("process_cpu_seconds_total")
	first.Para("Beside %s on the same cluster, each measured the same way: from starting the process until a poll every 100 ms finds the complete answer (the exporter's `/-/ready`; kube-state-metrics' `/metrics` exposing every Deployment, Service, PDB and Node). kube-state-metrics lists each resource at resourceVersion 0, whole in one answer from the API server's watch cache; the exporter asks each for a streaming list (a watch that sends the current objects one by one from the watch cache, then their end; asked uncompressed, as the API server would compress it event by event), where the API server cannot stream, lists page by page (500 objects, no page buffered beyond the one in flight), and either way reduces each object as it arrives, which keeps its heap a fraction of kube-state-metrics' (see the Kubernetes section).", "kube-state-metrics "+os.Getenv("KUBE_STATE_METRICS_VERSION"))
	first.Table([]string{"", "capability_exporter", "kube-state-metrics"}, [][]string{{"time to a complete first answer", ms(ours.sync), ms(synced)},
		{"CPU used until then (`process_cpu_seconds_total`)", fmt.Sprintf("%.0f ms", ours.syncCPU*1000), fmt.Sprintf("%.0f ms", syncCPU*1000)}})
	_, _, ksmLists := perfSyncBreakdown(proxy.Requests(), start, start.Add(synced))
	var rows [][]string
	for _, rs := range ksmLists {
		if rs.pages > 0 && (rs.lastListEnd > 100*time.Millisecond || rs.pages > 1) {
			rows = append(rows, []string{"`" + rs.path + "`", fmt.Sprint(rs.pages), ms(rs.listTime), ms(rs.lastListEnd)})
		}
	}
	first.Para("kube-state-metrics' initial lists, on the same clock (its resources whose list took past 100 ms or more than one request):")
	first.Table([]string{"resource", "list requests", "their time, added up", "last answered at"}, rows)
	total, _ := perfSeries(body)

	var scrapes []time.Duration
	client := clientWith(&http.Transport{DisableCompression: true})
	for range 5 {
		d, err := perfTimedScrape(client, metricsURL)
		if err != nil {
			t.Fatal(err)
		}
		scrapes = append(scrapes, d)
	}
	// After ten seconds of nothing happening, as the exporter after ten
	// evaluations at 1s.
	time.Sleep(10 * time.Second)
	idle := perfScrape(t, telemetryURL).Memory()

	name := "kube-state-metrics " + version
	doc.Para("Beside %s with its default resources, on the same cluster and through its own counting proxy, as the admin. This cluster has no Pods, ReplicaSets, Endpoints or Jobs (no controllers run), which is where kube-state-metrics spends most in a real cluster; its figures here are a floor.", name)
	doc.Table([]string{"figure", "capability_exporter", name}, [][]string{
		{"time to a complete first answer", ms(ours.sync), ms(synced)},
		{"RSS after sync", mib(ours.afterSync.rss), mib(afterSync.rss)},
		{"Go heap in use after sync", mib(ours.afterSync.heapInuse), mib(afterSync.heapInuse)},
		{"RSS 10 s later (the exporter: after 10 evaluations at 1s)", mib(ours.after10.rss), mib(idle.rss)},
		{"bytes received during the initial sync", kib(float64(ours.syncBytes)), kib(float64(syncBytes))},
		{"/metrics series", fmt.Sprint(ours.series), fmt.Sprint(total)},
		{"/metrics bytes (text format)", fmt.Sprint(ours.scrapeSize), fmt.Sprint(len(body) - 1)},
		{"one scrape (gzip, sequential, p50 of 5)", "see the scrape section", ms(percentile(scrapes, 50))},
	})
	doc.Target("Go heap in use after sync, against kube-state-metrics' on the same cluster", fmt.Sprintf("at most ¼ of kube-state-metrics' %s (%s)", mib(afterSync.heapInuse), mib(afterSync.heapInuse/4)),
		fmt.Sprintf("%s (%.2f×)", mib(ours.afterSync.heapInuse), ours.afterSync.heapInuse/afterSync.heapInuse), ours.afterSync.heapInuse <= afterSync.heapInuse/4,
		"trim what the informers keep per object, or what the initial lists hold at once")
}

// perfKSM is a running kube-state-metrics and how long it took to expose
// the whole cluster.
type perfKSM struct {
	proxy                    *perfProxy
	srv                      *server
	metricsURL, telemetryURL string
	start                    time.Time
	synced                   time.Duration
	body                     string // its complete /metrics, after a leading newline
}

// perfStartKSM starts kube-state-metrics with its default resources as the
// admin, through its own counting proxy, and waits until its /metrics
// exposes every Deployment, Service, PDB and Node (polled every 100 ms).
func perfStartKSM(t *testing.T, c *kubeCluster, bin string) perfKSM {
	t.Helper()
	proxy := newPerfProxy(t, c.URL, c.CAFile, true)
	kc := clientcmdapi.NewConfig()
	kc.Clusters["perf"] = &clientcmdapi.Cluster{Server: proxy.URL, CertificateAuthority: proxy.CAFile}
	kc.AuthInfos["admin"] = &clientcmdapi.AuthInfo{Token: c.Admin.BearerToken}
	kc.Contexts["perf"] = &clientcmdapi.Context{Cluster: "perf", AuthInfo: "admin"}
	kc.CurrentContext = "perf"
	kubeconfig := filepath.Join(t.TempDir(), "ksm.kubeconfig")
	if err := clientcmd.WriteToFile(*kc, kubeconfig); err != nil {
		t.Fatal(err)
	}
	port, telemetry := freePort(t), freePort(t)
	start := time.Now()
	srv := kubeStartProcess(t, "kube-state-metrics", bin, "--kubeconfig="+kubeconfig,
		"--host=127.0.0.1", fmt.Sprintf("--port=%d", port), "--telemetry-host=127.0.0.1", fmt.Sprintf("--telemetry-port=%d", telemetry))
	k := perfKSM{proxy: proxy, srv: srv, start: start,
		metricsURL:   fmt.Sprintf("http://127.0.0.1:%d/metrics", port),
		telemetryURL: fmt.Sprintf("http://127.0.0.1:%d/metrics", telemetry)}
	waitFor(t, 3*time.Minute, "kube-state-metrics to expose the whole cluster", func() bool {
		resp, err := testClient.Get(k.metricsURL)
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			return false
		}
		k.body = "\n" + string(b)
		return perfCountLines(k.body, "kube_deployment_created") >= perfNamespaces*perfDeploymentsPerNS &&
			perfCountLines(k.body, "kube_service_info") >= perfNamespaces*perfDeploymentsPerNS &&
			perfCountLines(k.body, "kube_poddisruptionbudget_created") >= perfNamespaces*perfPDBsPerNS &&
			perfCountLines(k.body, "kube_node_info") >= perfNodes
	})
	k.synced = time.Since(start)
	return k
}

// perfFirstRounds is how many times each of the exporter and
// kube-state-metrics is started for the first-answer verdict.
const perfFirstRounds = 5

// perfFirstAnswerRounds judges the first answer against kube-state-metrics
// on medians: one start of each is one sample of a figure that, on two
// cores shared with the API server and etcd, varies by a second from start
// to start. Each is started perfFirstRounds times, alternating which goes
// first, one process at a time, each stopped before the next starts.
func perfFirstAnswerRounds(t *testing.T, c *kubeCluster, first *perfDoc, token string) {
	bin := os.Getenv("KUBE_STATE_METRICS")
	if bin == "" {
		t.Skip("no kube-state-metrics to set beside the exporter")
	}
	var ours, theirs []time.Duration
	exporterStart := func() {
		e, _, ready := perfKubeExporter(t, c, token, time.Hour)
		e.Stop()
		ours = append(ours, ready)
	}
	ksmStart := func() {
		k := perfStartKSM(t, c, bin)
		k.srv.Stop()
		theirs = append(theirs, k.synced)
	}
	for round := range perfFirstRounds {
		if round%2 == 0 {
			exporterStart()
			ksmStart()
		} else {
			ksmStart()
			exporterStart()
		}
	}
	list := func(ds []time.Duration) string {
		out := make([]string, len(ds))
		for i, d := range ds {
			out[i] = fmt.Sprintf("%.0f", float64(d)/float64(time.Millisecond))
		}
		return strings.Join(out, ", ") + " ms"
	}
	mo, mk := percentile(ours, 50), percentile(theirs, 50)
	first.Para("The verdict is on medians. One start of each, as above, is one sample of a figure that on these two cores, shared with the API server and etcd, varies by up to a second from one start to the next; so each was then started %d more times, alternating which went first, one process at a time, each stopped before the next started.", perfFirstRounds)
	first.Table([]string{"", "capability_exporter", "kube-state-metrics"}, [][]string{
		{fmt.Sprintf("time to a complete first answer, %d starts, in order", perfFirstRounds), list(ours), list(theirs)},
		{"median", ms(mo), ms(mk)},
	})
	first.Target("time to a complete first answer, 15,751 objects, against kube-state-metrics on the same API server (median of "+fmt.Sprint(perfFirstRounds)+" alternating starts each)", "at most 1× kube-state-metrics' ("+ms(mk)+")",
		fmt.Sprintf("%s (%.2f×)", ms(mo), float64(mo)/float64(mk)), mo <= mk,
		"see where the time goes above: the exporter waits on the API server, which streams a list object by object (or pages it, where it cannot stream) more slowly than it sends one whole list from its cache; whole lists would cost the heap that streaming and paging save")
}
