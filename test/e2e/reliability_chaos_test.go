//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// chaosRules give each source one capability whose decision holds while its
// signal is known: a flip of it is explained only by its own source.
const chaosRules = `
signals:
  prom_value:
    help: A constant from Prometheus.
    prometheus: {query: 'vector(5)'}
  loki_value:
    help: A constant from Loki.
    loki: {query: 'sum(count_over_time({app="shop"}[1h]))'}
  kube_namespaces:
    help: App namespaces in the cluster.
    kubernetes: app_namespaces
  team_size:
    help: People in the team, as declared.
    fact: team_size
capabilities:
  service_mesh:
    title: Service Mesh
    complexity: medium_high
    trigger: prom_value > 1
  distributed_tracing:
    title: Distributed Tracing
    complexity: medium
    trigger: loki_value > 1
  chaos_engineering:
    title: Chaos Engineering
    complexity: high
    trigger: kube_namespaces >= 0
  cost_visibility:
    title: Cost Visibility
    complexity: low_medium
    trigger: team_size > 1
`

// chaosAddedCapability is what the rules file gains mid-evaluation.
const chaosAddedCapability = `  policy_enforcement:
    title: Policy Enforcement
    complexity: medium
    trigger: team_size > 1
`

// capabilitySource says which source each chaos capability depends on.
var capabilitySource = map[string]string{"service_mesh": "prometheus", "distributed_tracing": "loki",
	"chaos_engineering": "kubernetes", "cost_visibility": "fact", "policy_enforcement": "fact"}

// lokiStub answers Loki's query and build info API on a port it keeps
// across Stop and Start.
type lokiStub struct {
	addr string
	srv  *http.Server
}

func startLokiStub(t *testing.T) *lokiStub {
	l := &lokiStub{addr: fmt.Sprintf("127.0.0.1:%d", freePort(t))}
	l.Start(t)
	t.Cleanup(l.Stop)
	return l
}

func (l *lokiStub) Start(t *testing.T) {
	t.Helper()
	ln, err := net.Listen("tcp", l.addr)
	if err != nil {
		t.Fatal(err)
	}
	l.srv = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/loki/api/v1/status/buildinfo":
			fmt.Fprint(w, `{"version":"3.4.0","revision":"stub"}`)
		case "/loki/api/v1/query":
			fmt.Fprintf(w, `{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[%d,"3"]}]}}`, time.Now().Unix())
		default:
			http.NotFound(w, r)
		}
	})}
	go func() { _ = l.srv.Serve(ln) }()
}

func (l *lokiStub) Stop() { _ = l.srv.Close() }

// chaosScrape is one scrape of the load: when, its status, how long, and
// the decisions and source_up it showed.
type chaosScrape struct {
	at        time.Time
	status    int
	took      time.Duration
	decisions map[string]string
	up        map[string]bool
}

// chaosScraper scrapes /metrics at a fixed rate, each scrape on its own.
type chaosScraper struct {
	mu      sync.Mutex
	scrapes []chaosScrape
}

func (c *chaosScraper) run(ctx context.Context, url string, perSecond int) *sync.WaitGroup {
	var wg sync.WaitGroup
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	tick := time.NewTicker(time.Second / time.Duration(perSecond))
	wg.Go(func() {
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			wg.Go(func() {
				s := chaosScrape{at: time.Now(), decisions: map[string]string{}, up: map[string]bool{}}
				resp, err := client.Get(url)
				if err == nil {
					var body []byte
					body, err = io.ReadAll(resp.Body)
					resp.Body.Close()
					if err != nil {
						body = nil // a body cut short is a failed scrape: status 0
					} else {
						s.status = resp.StatusCode
					}
					for _, l := range metricLines(string(body), "capability_decision") {
						if strings.HasSuffix(l, " 1") {
							s.decisions[between(l, `capability="`, `"`)] = between(l, `state="`, `"`)
						}
					}
					for _, l := range metricLines(string(body), "capability_exporter_source_up") {
						s.up[between(l, `source="`, `"`)] = strings.HasSuffix(l, " 1")
					}
				}
				s.took = time.Since(s.at)
				c.mu.Lock()
				c.scrapes = append(c.scrapes, s)
				c.mu.Unlock()
			})
		}
	})
	return &wg
}

// last returns the latest scrape that began after since and answered.
func (c *chaosScraper) since(since time.Time) []chaosScrape {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []chaosScrape
	for _, s := range c.scrapes {
		if s.at.After(since) && s.status == http.StatusOK {
			out = append(out, s)
		}
	}
	return out
}

// waitScrapes waits until a scrape that began after since satisfies cond,
// and returns when that scrape began.
func (c *chaosScraper) wait(t *testing.T, timeout time.Duration, since time.Time, what string, cond func(chaosScrape) bool) time.Time {
	t.Helper()
	var at time.Time
	waitFor(t, timeout, what, func() bool {
		for _, s := range c.since(since) {
			if cond(s) {
				at = s.at
				return true
			}
		}
		return false
	})
	return at
}

// chaosFault is one fault: the source it took away, when, when the source
// was back, and when the exporter showed it recovered.
type chaosFault struct {
	name, source           string
	start, back, recovered time.Time
	downSeen               time.Time
	downState              string
}

// The chaos pass: the exporter on all four sources, scraped 50 times a
// second, while Prometheus, Loki and the kube-apiserver are each killed and
// brought back, etcd is paused past the evaluation timeout, and the rules
// file is replaced while an evaluation is running. Every scrape is
// answered, a decision leaves its steady state only while its own source
// is away (and then only for unknown), and each source's signals are back
// within one evaluation interval of its return.
func TestChaosPass(t *testing.T) {
	const interval, evalTimeout, perSecond = time.Second, 3 * time.Second, 50
	prom := startPrometheus(t, t.TempDir())
	loki := startLokiStub(t)
	cluster := startKubeCluster(t)
	for _, ns := range []string{"shop", "payments"} {
		if _, err := cluster.Client.CoreV1().Namespaces().Create(context.Background(),
			&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	kubeconfig := cluster.WriteKubeconfig(t, cluster.Admin, "admin")

	dir := t.TempDir()
	rulesPath := writeFile(t, dir, "rules.yml", chaosRules)
	cfg := writeFile(t, dir, "config.yml", fmt.Sprintf(`rules_file: rules.yml
sources:
  prometheus: {url: %s, timeout: 2s}
  loki: {url: http://%s, timeout: 2s}
  kubernetes: {kubeconfig: %s, context: admin, timeout: 2s}
facts:
  team_size: 6
`, prom.URL, loki.addr, kubeconfig))
	e := startExporter(t, cfg, "--evaluation.interval="+interval.String(), "--evaluation.timeout="+evalTimeout.String())
	steady := map[string]string{"service_mesh": "consider", "distributed_tracing": "consider",
		"chaos_engineering": "consider", "cost_visibility": "consider"}
	waitScrape(t, e, 30*time.Second, "every source up and every decision steady", func(s metricsScrape) bool {
		for c, want := range steady {
			if s.decision(c) != want {
				return false
			}
		}
		return true
	})

	ctx, stopLoad := context.WithCancel(context.Background())
	load := &chaosScraper{}
	began := time.Now()
	loadDone := load.run(ctx, e.URL+"/metrics", perSecond)
	defer func() { stopLoad(); loadDone.Wait() }()
	time.Sleep(2 * time.Second) // a steady baseline under load

	var faults []*chaosFault
	// takeAway runs one fault on a source: down, wait until the exporter
	// shows it, bring it back, wait until its capability is steady again.
	takeAway := func(name, source, capability string, down func(), back func(), downShows func(chaosScrape) bool) *chaosFault {
		f := &chaosFault{name: name, source: source, start: time.Now()}
		faults = append(faults, f)
		down()
		f.downSeen = load.wait(t, 3*evalTimeout, f.start, name+": the exporter to show it", downShows)
		for _, s := range load.since(f.downSeen.Add(-time.Nanosecond)) {
			if s.at.Equal(f.downSeen) {
				f.downState = s.decisions[capability]
			}
		}
		time.Sleep(2 * interval) // several evaluations with the source away
		back()
		f.back = time.Now()
		f.recovered = load.wait(t, 30*time.Second, f.back, name+": recovery", func(s chaosScrape) bool {
			return s.up[source] && s.decisions[capability] == steady[capability]
		})
		t.Logf("%s: seen by the exporter after %s (decision %s); recovered %s after the source was back",
			name, f.downSeen.Sub(f.start).Round(time.Millisecond), f.downState, f.recovered.Sub(f.back).Round(time.Millisecond))
		return f
	}

	takeAway("Prometheus killed (SIGKILL) and restarted", "prometheus", "service_mesh",
		prom.Kill, func() { prom.Start(t) }, func(s chaosScrape) bool { return !s.up["prometheus"] })
	takeAway("Loki stopped and restarted", "loki", "distributed_tracing",
		loki.Stop, func() { loki.Start(t) }, func(s chaosScrape) bool { return !s.up["loki"] })
	takeAway("kube-apiserver killed (SIGKILL) and restarted under watch", "kubernetes", "chaos_engineering",
		cluster.APIServer.Kill, func() { cluster.APIServer.Start(t) }, func(s chaosScrape) bool { return !s.up["kubernetes"] })
	// The watches are open again: a namespace created now is counted.
	watchT0 := time.Now()
	if _, err := cluster.Client.CoreV1().Namespaces().Create(context.Background(),
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "after-restart"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitScrape(t, e, 30*time.Second, "the namespace created after the restart to be counted", func(s metricsScrape) bool {
		return s.signal("kube_namespaces") == 3
	})
	watchLag := time.Since(watchT0)
	t.Logf("a namespace created after the kube-apiserver restart was counted after %s", watchLag.Round(time.Millisecond))

	// etcd paused past the evaluation timeout: the API server stays up on
	// its watch cache, so the informers keep their last state.
	etcd := &chaosFault{name: fmt.Sprintf("etcd paused (SIGSTOP) for %s", evalTimeout+2*time.Second), source: "kubernetes", start: time.Now()}
	faults = append(faults, etcd)
	cluster.Etcd.Signal(t, syscall.SIGSTOP)
	time.Sleep(evalTimeout + 2*time.Second)
	cluster.Etcd.Signal(t, syscall.SIGCONT)
	etcd.back = time.Now()
	etcd.recovered = load.wait(t, 30*time.Second, etcd.back, "etcd: recovery", func(s chaosScrape) bool {
		return s.up["kubernetes"] && s.decisions["chaos_engineering"] == steady["chaos_engineering"]
	})
	t.Logf("%s: recovered %s after SIGCONT", etcd.name, etcd.recovered.Sub(etcd.back).Round(time.Millisecond))

	// The rules file replaced while an evaluation runs: Prometheus frozen
	// makes each evaluation wait its 2s query timeout.
	rules := &chaosFault{name: "rules file replaced mid-evaluation (Prometheus frozen)", source: "prometheus", start: time.Now()}
	faults = append(faults, rules)
	prom.Signal(t, syscall.SIGSTOP)
	time.Sleep(1500 * time.Millisecond) // an evaluation is waiting on Prometheus now
	tmp := rulesPath + ".new"
	writeFile(t, dir, filepath.Base(tmp), chaosRules+chaosAddedCapability)
	if err := os.Rename(tmp, rulesPath); err != nil {
		t.Fatal(err)
	}
	resp, err := testClient.Post(e.URL+"/-/reload", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("reload mid-evaluation: HTTP %d", resp.StatusCode)
	}
	reloaded := time.Now()
	added := load.wait(t, 10*time.Second, reloaded, "the replaced rules' new capability", func(s chaosScrape) bool {
		return s.decisions["policy_enforcement"] == "consider"
	})
	prom.Signal(t, syscall.SIGCONT)
	rules.back = time.Now()
	steady["policy_enforcement"] = "consider"
	rules.recovered = load.wait(t, 30*time.Second, rules.back, "prometheus thawed: recovery", func(s chaosScrape) bool {
		return s.up["prometheus"] && s.decisions["service_mesh"] == steady["service_mesh"]
	})
	t.Logf("%s: reload answered 200, new capability published %s after the reload, Prometheus signals back %s after SIGCONT",
		rules.name, added.Sub(reloaded).Round(time.Millisecond), rules.recovered.Sub(rules.back).Round(time.Millisecond))

	time.Sleep(time.Second)
	stopLoad()
	loadDone.Wait()
	ended := time.Now()

	// Judge every scrape.
	load.mu.Lock()
	scrapes := slices.Clone(load.scrapes)
	load.mu.Unlock()
	var failed, server5xx, unexplained int
	var lat []time.Duration
	var examples []string
	for _, s := range scrapes {
		lat = append(lat, s.took)
		switch {
		case s.status == 0:
			failed++
			continue
		case s.status >= 500:
			server5xx++
			continue
		case s.status != http.StatusOK:
			failed++
			continue
		}
		for c, want := range steady {
			got, ok := s.decisions[c]
			if c == "policy_enforcement" && s.at.Before(added) {
				continue // not in the rules yet
			}
			if !ok || got == want {
				if !ok {
					unexplained++
					examples = append(examples, fmt.Sprintf("%s: no decision for %s", s.at.Format("15:04:05.000"), c))
				}
				continue
			}
			explained := false
			for _, f := range faults {
				if f.source == capabilitySource[c] && !s.at.Before(f.start) && !s.at.After(f.recovered) && got == "unknown" {
					explained = true
				}
			}
			if !explained {
				unexplained++
				if len(examples) < 10 {
					examples = append(examples, fmt.Sprintf("%s: %s = %s", s.at.Format("15:04:05.000"), c, got))
				}
			}
		}
	}
	slices.Sort(lat)
	took := ended.Sub(began)
	rate := float64(len(scrapes)) / took.Seconds()
	t.Logf("CHAOS scrapes=%d over %s (%.1f/s) failed=%d 5xx=%d unexplained=%d p50=%s p99=%s max=%s",
		len(scrapes), took.Round(time.Millisecond), rate, failed, server5xx, unexplained,
		chaosPercentile(lat, 50), chaosPercentile(lat, 99), lat[len(lat)-1])
	for _, f := range faults {
		t.Logf("CHAOS fault=%q seen=%s recovered_after_back=%s", f.name, durOrDash(f.downSeen, f.start), f.recovered.Sub(f.back).Round(time.Millisecond))
	}
	t.Logf("CHAOS watch_after_restart=%s rules_reload_published=%s", watchLag.Round(time.Millisecond), added.Sub(reloaded).Round(time.Millisecond))
	if failed+server5xx > 0 {
		t.Errorf("%d scrapes failed and %d answered 5xx of %d; want every scrape answered", failed, server5xx, len(scrapes))
	}
	if unexplained > 0 {
		t.Errorf("%d decisions left their steady state without their own source away, or for a state other than unknown: %s", unexplained, strings.Join(examples, "; "))
	}
	if rate < 0.9*perSecond {
		t.Errorf("the load reached %.1f scrapes/s, want %d", rate, perSecond)
	}
	for _, f := range faults {
		// One interval, plus the evaluation that starts on it.
		if d := f.recovered.Sub(f.back); d > interval+evalTimeout/3 {
			t.Errorf("%s: recovered %s after the source was back, want within one interval (%s)", f.name, d.Round(time.Millisecond), interval)
		}
	}
}

func durOrDash(a, b time.Time) string {
	if a.IsZero() {
		return "-"
	}
	return a.Sub(b).Round(time.Millisecond).String()
}

// chaosPercentile is the p-th percentile of sorted durations.
func chaosPercentile(sorted []time.Duration, p int) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[min(len(sorted)-1, len(sorted)*p/100)].Round(time.Microsecond)
}
