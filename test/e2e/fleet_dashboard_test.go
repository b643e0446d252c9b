//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	promapi "github.com/prometheus/client_golang/api"
	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"

	"github.com/capability-exporter/capability_exporter/dashboards"
	"github.com/capability-exporter/capability_exporter/triggers"
)

// A fleet: two clusters, each with its own exporter, scraped into one store
// that labels each cluster's series, as a shared Thanos, Mimir or
// VictoriaMetrics does. The fleet dashboard's queries, run as Grafana runs
// them with every cluster selected, show each cluster's own decisions, next
// step, decision changes and source health, one row per cluster and never
// one cluster's values in another's row; and every panel of every bundled
// dashboard shows data. It runs against Prometheus 2.42 and 3 and against
// VictoriaMetrics (its own scraper, MetricsQL).
func TestFleetDashboardKeepsClustersApart(t *testing.T) {
	d := fleetDashboard(t)
	for _, store := range []string{"prometheus", "prometheus-3", "victoriametrics"} {
		t.Run(store, func(t *testing.T) {
			dir := t.TempDir()
			started := time.Now()
			clusters := map[string]*exporter{}
			facts := map[string]string{"eu": factsNow, "us": factsNow}
			for _, c := range []string{"eu", "us"} {
				writeFleetConfig(t, filepath.Join(dir, c), facts[c])
				clusters[c] = startExporter(t, filepath.Join(dir, c, "config.yml"), "--evaluation.interval=1s")
			}
			scrape := writeFile(t, dir, "scrape.yml", fmt.Sprintf(`
global: {scrape_interval: 1s, scrape_timeout: 1s}
scrape_configs:
  - job_name: capability_exporter
    static_configs:
      - targets: ['%s']
        labels: {cluster: eu}
      - targets: ['%s']
        labels: {cluster: us}
`, strings.TrimPrefix(clusters["eu"].URL, "http://"), strings.TrimPrefix(clusters["us"].URL, "http://")))
			api := startFleetStore(t, store, scrape)

			query := func(q string) model.Vector {
				t.Helper()
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				v, _, err := api.Query(ctx, q, time.Now())
				if err != nil {
					t.Fatalf("%s: %v", q, err)
				}
				return v.(model.Vector)
			}
			waitFor(t, 60*time.Second, "both clusters' decisions in the store", func() bool {
				return len(query(`count by (cluster) (capability_decision{capability="distributed_tracing"})`)) == 2
			})
			// us's distributed_tracing goes from now to not triggered: a
			// change the fleet board must show for us and not for eu.
			time.Sleep(3 * time.Second)
			writeFleetConfig(t, filepath.Join(dir, "us"), factsQuiet)
			if code := reload(t, clusters["us"]); code != 200 {
				t.Fatalf("reload: %d", code)
			}
			waitFor(t, 30*time.Second, "us's new decision in the store", func() bool {
				return len(query(`capability_decision{cluster="us",capability="distributed_tracing",state="not_triggered"} == 1`)) == 1
			})
			time.Sleep(2 * time.Second)

			// Each cluster's own truth, from its exporter.
			want := map[string]map[string]string{}
			for c, e := range clusters {
				want[c] = currentStates(e.Get(t, "/metrics"))
			}
			if want["eu"]["distributed_tracing"] != "now" || want["us"]["distributed_tracing"] != "not_triggered" {
				t.Fatalf("exporters decide %v; want distributed_tracing now in eu, not_triggered in us", want)
			}

			results := runFleetPanels(t, api, d, started)
			rowsOf := func(title string) model.Vector {
				t.Helper()
				v, ok := results[title]
				if !ok {
					t.Fatalf("no panel %q", title)
				}
				return v
			}

			// The grid: each cell the cluster's own decision.
			codes := map[string]float64{}
			for i, s := range triggers.States() {
				codes[string(s)] = float64(i + 1)
			}
			grid := rowsOf("Decisions across the fleet")
			seen := map[string]bool{}
			for _, smp := range grid {
				c, capability := string(smp.Metric["cluster"]), string(smp.Metric["capability"])
				seen[c+"/"+capability] = true
				if w := codes[want[c][capability]]; float64(smp.Value) != w {
					t.Errorf("grid %s/%s = %v, want %v (%s, as its exporter decides)", c, capability, smp.Value, w, want[c][capability])
				}
			}
			for c, states := range want {
				for capability := range states {
					if !seen[c+"/"+capability] {
						t.Errorf("grid has no cell %s/%s", c, capability)
					}
				}
			}

			// One row per cluster: eu's next step, none in us.
			next := map[string]string{}
			for _, smp := range rowsOf("Recommended next step per cluster") {
				c := string(smp.Metric["cluster"])
				if _, dup := next[c]; dup {
					t.Errorf("cluster %s has two next-step rows", c)
				}
				next[c] = string(smp.Metric["capability"])
				if (next[c] == "") != (smp.Value == 0) {
					t.Errorf("next step row %v = %v: want 1 with a capability, 0 without", smp.Metric, smp.Value)
				}
			}
			if next["eu"] != "distributed_tracing" || next["us"] != "" || len(next) != 2 {
				t.Errorf("next steps %v; want distributed_tracing in eu, nothing in us", next)
			}

			// us changed, eu did not and still has its row.
			changed := map[string]float64{}
			for _, smp := range rowsOf("Decision changes in the last 7 days") {
				changed[string(smp.Metric["cluster"])+"/"+string(smp.Metric["capability"])] = float64(smp.Value)
			}
			if changed["us/distributed_tracing"] != 2 || changed["eu/"] != 0 || len(changed) != 2 {
				t.Errorf("decisions held %v; want us/distributed_tracing with 2 and eu's row at 0", changed)
			}

			// Every panel of every dashboard shows data on this store, with
			// each variable at its first value and at All.
			all, err := dashboards.Load(filepath.Join(repoRoot(), "dashboards"))
			if err != nil {
				t.Fatal(err)
			}
			for _, db := range all {
				for _, useAll := range []bool{false, true} {
					checkDashboardQueries(t, api, started, db, useAll, store == "victoriametrics")
				}
			}

			// Source health and evaluation age: each cluster's own rows.
			for _, title := range []string{"Source health per cluster", "Evaluation age per cluster"} {
				per := map[string]int{}
				for _, smp := range rowsOf(title) {
					per[string(smp.Metric["cluster"])]++
				}
				if len(per) != 2 || per["eu"] == 0 || per["us"] == 0 || per["eu"] != per["us"] {
					t.Errorf("%s: rows per cluster %v; want the same rows for eu and us", title, per)
				}
			}
		})
	}
}

func fleetDashboard(t *testing.T) dashboards.Dashboard {
	t.Helper()
	ds, err := dashboards.Load(filepath.Join(repoRoot(), "dashboards"))
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range ds {
		if d.UID == "capability-fleet" {
			return d
		}
	}
	t.Fatal("no fleet dashboard (uid capability-fleet)")
	return dashboards.Dashboard{}
}

// writeFleetConfig writes dir/config.yml and dir/rules.yml: the alerting
// stack's rules on the given facts.
func writeFleetConfig(t *testing.T, dir, facts string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, dir, "rules.yml", stackRules)
	var b strings.Builder
	b.WriteString("rules_file: rules.yml\nsources: {}\nfacts:\n")
	for _, l := range strings.Split(strings.TrimSpace(facts), "\n") {
		b.WriteString("  " + l + "\n")
	}
	writeFile(t, dir, "config.yml", b.String())
}

func reload(t *testing.T, e *exporter) int {
	t.Helper()
	resp, err := testClient.Post(e.URL+"/-/reload", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// startFleetStore starts the store scraping with the given config and
// returns its query API.
func startFleetStore(t *testing.T, store, scrapeConfig string) promv1.API {
	t.Helper()
	var url string
	switch store {
	case "prometheus", "prometheus-3":
		bin := requireBinary(t, "prometheus", "PROMETHEUS", "prometheus")
		if store == "prometheus-3" {
			bin = backendBinary(t, "PROMETHEUS3", "build-prometheus3.sh")
		}
		dataDir := t.TempDir()
		s := startServer(t, serverSpec{
			Name: "prometheus", Bin: bin, Ports: 1,
			Args: func(ports []int) []string {
				return []string{"--config.file=" + scrapeConfig, "--storage.tsdb.path=" + dataDir,
					fmt.Sprintf("--web.listen-address=127.0.0.1:%d", ports[0])}
			},
			Ready: httpReady("/-/ready"),
		})
		url = s.PortURL(0)
	case "victoriametrics":
		url = startVictoriaMetrics(t, "-promscrape.config="+scrapeConfig).URL
	}
	client, err := promapi.NewClient(promapi.Config{Address: url})
	if err != nil {
		t.Fatal(err)
	}
	return promv1.NewAPI(client)
}

// runFleetPanels runs every instant query of the fleet dashboard as Grafana
// would with cluster and instance at All and job at its first value, and
// returns each panel's result by title (a panel with several queries is not
// expected on this board).
func runFleetPanels(t *testing.T, api promv1.API, d dashboards.Dashboard, started time.Time) map[string]model.Vector {
	t.Helper()
	end := time.Now()
	rangeText := fmt.Sprintf("%ds", int(end.Sub(started).Seconds())+1)
	chosen := map[string]string{}
	for _, v := range d.Templating.List {
		if v.Type != "query" {
			continue
		}
		if v.IncludeAll {
			chosen[v.Name] = v.AllValue
			continue
		}
		m := gfLabelValuesRE.FindStringSubmatch(strings.TrimSpace(v.QueryText()))
		if m == nil {
			t.Fatalf("variable %s: %q is not label_values(selector, label)", v.Name, v.QueryText())
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		got, _, err := api.LabelValues(ctx, m[2], []string{gfInterpolate(m[1], chosen, nil)}, started, end)
		cancel()
		if err != nil || len(got) == 0 {
			t.Fatalf("variable %s: values %v, %v", v.Name, got, err)
		}
		chosen[v.Name] = gfFormat(v, string(got[0]))
	}
	out := map[string]model.Vector{}
	for _, p := range dashboards.AllPanels(d.Panels) {
		for _, tg := range p.Targets {
			if !tg.Instant {
				t.Errorf("panel %q: a range query on the fleet board; this test runs instant ones", p.Title)
				continue
			}
			r := rangeText
			if p.TimeFrom != "" {
				r = p.TimeFrom
			}
			q := gfInterpolate(tg.Expr, chosen, map[string]string{"__range": r})
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			v, _, err := api.Query(ctx, q, end)
			cancel()
			if err != nil {
				t.Errorf("panel %q: %s: %v", p.Title, q, err)
				continue
			}
			vec, _ := v.(model.Vector)
			for _, smp := range vec {
				if math.IsNaN(float64(smp.Value)) {
					t.Errorf("panel %q: NaN in %v", p.Title, smp.Metric)
				}
			}
			out[p.Title] = vec
			t.Logf("panel %q: %d rows", p.Title, len(vec))
		}
	}
	return out
}
