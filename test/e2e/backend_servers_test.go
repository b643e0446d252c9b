//go:build e2e

package e2e

// The Prometheus-compatible stores the Prometheus source is tested against
// besides Debian's Prometheus 2.42: Prometheus 3 ($PROMETHEUS3, built by
// hack/build-prometheus3.sh) and single-node VictoriaMetrics
// ($VICTORIAMETRICS, built by hack/build-victoriametrics.sh). Each holds the
// webshop's history; Prometheus loads the webshop's rules too, while
// VictoriaMetrics has no rules API of its own (vmalert evaluates rules).

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// backendBinary finds a store's binary: the env var when set, else the
// binary its hack/ script caches (built first if needed; .ci/run builds it
// before the tests).
func backendBinary(t testing.TB, envVar, script string) string {
	t.Helper()
	if p := os.Getenv(envVar); p != "" {
		return p
	}
	out, err := exec.Command("bash", filepath.Join(repoRoot(), "hack", script)).Output()
	if err != nil {
		t.Fatalf("set %s, or run hack/%s: %v", envVar, script, err)
	}
	return strings.TrimSpace(string(out))
}

func versionLine(bin string) string {
	out, _ := exec.Command(bin, "--version").CombinedOutput()
	return strings.SplitN(strings.TrimSpace(string(out)), "\n", 2)[0]
}

// startPrometheus3 runs Prometheus 3 on dataDir with the rules files loaded,
// as startPrometheus runs 2.42 (3 has no console flags).
func startPrometheus3(t testing.TB, dataDir string, ruleFiles ...string) *prometheusServer {
	t.Helper()
	return startPrometheus3With(t, dataDir, nil, ruleFiles...)
}

// startPrometheus3With is startPrometheus3 with extra flags (query limits,
// for one).
func startPrometheus3With(t testing.TB, dataDir string, flags []string, ruleFiles ...string) *prometheusServer {
	t.Helper()
	bin := backendBinary(t, "PROMETHEUS3", "build-prometheus3.sh")
	var cfg strings.Builder
	cfg.WriteString("global:\n  evaluation_interval: 30s\nrule_files:\n")
	for _, f := range ruleFiles {
		fmt.Fprintf(&cfg, "  - %s\n", f)
	}
	cfgFile := writeFile(t, t.TempDir(), "prometheus.yml", cfg.String())
	p := &prometheusServer{dataDir: dataDir, Version: versionLine(bin)}
	p.server = startServer(t, serverSpec{
		Name:  "prometheus3",
		Bin:   bin,
		Ports: 1,
		Args: func(ports []int) []string {
			return append([]string{
				"--config.file=" + cfgFile,
				"--storage.tsdb.path=" + dataDir,
				"--storage.tsdb.retention.time=90d",
				fmt.Sprintf("--web.listen-address=127.0.0.1:%d", ports[0]),
			}, flags...)
		},
		Ready: httpReady("/-/ready"),
	})
	p.URL = p.PortURL(0)
	return p
}

// victoriaMetrics is a running single-node VictoriaMetrics.
type victoriaMetrics struct {
	URL     string
	Version string
	*server
}

// startVictoriaMetrics runs VictoriaMetrics on an empty data directory.
// Retention covers any backfilled history (its default is one month, less
// than the 35 days the webshop holds). -search.latencyOffset=0s: by default
// it hides the last 30 s from queries, for samples still in flight from
// scrapers; here nothing is in flight, and the history ends at the minute
// the test evaluates. -search.disableCache: its rollup cache assumes no
// samples arrive in the past, which is all a backfill does.
// Extra flags go after the defaults (a scrape config, for one).
func startVictoriaMetrics(t testing.TB, extraArgs ...string) *victoriaMetrics {
	t.Helper()
	bin := backendBinary(t, "VICTORIAMETRICS", "build-victoriametrics.sh")
	dataDir := t.TempDir()
	vm := &victoriaMetrics{Version: versionLine(bin)}
	vm.server = startServer(t, serverSpec{
		Name:  "victoriametrics",
		Bin:   bin,
		Ports: 1,
		Args: func(ports []int) []string {
			return append([]string{
				"-storageDataPath=" + dataDir,
				fmt.Sprintf("-httpListenAddr=127.0.0.1:%d", ports[0]),
				"-retentionPeriod=100y",
				"-search.latencyOffset=0s",
				"-search.disableCache",
				"-loggerLevel=WARN",
			}, extraArgs...)
		},
		Ready: httpReady("/health"),
	})
	vm.URL = vm.PortURL(0)
	return vm
}

// startVictoriaMetricsWithVMAlert runs VictoriaMetrics with vmalert behind
// its rules API (-vmalert.proxyURL), as a VictoriaMetrics store serves
// rules; vmalert evaluates the rules file against it and writes back what
// they record, as a deployment does (vmalert refuses recording rules without). vmalert is the one
// hack/build-victoriametrics.sh builds beside VictoriaMetrics.
func startVictoriaMetricsWithVMAlert(t testing.TB, rules string) *victoriaMetrics {
	t.Helper()
	bin := backendBinary(t, "VICTORIAMETRICS", "build-victoriametrics.sh")
	vmalert := filepath.Join(filepath.Dir(bin), strings.Replace(filepath.Base(bin), "victoria-metrics", "vmalert", 1))
	if _, err := os.Stat(vmalert); err != nil {
		t.Fatalf("vmalert: want it beside $VICTORIAMETRICS (hack/build-victoriametrics.sh builds both): %v", err)
	}
	// Each needs the other's address: vmalert's port is picked first.
	port := freePort(t)
	vm := startVictoriaMetrics(t, fmt.Sprintf("-vmalert.proxyURL=http://127.0.0.1:%d", port))
	startServer(t, serverSpec{
		Name: "vmalert",
		Bin:  vmalert,
		Args: func([]int) []string {
			return []string{fmt.Sprintf("-httpListenAddr=127.0.0.1:%d", port), "-datasource.url=" + vm.URL,
				"-rule=" + rules, "-remoteWrite.url=" + vm.URL, "-notifier.blackhole", "-evaluationInterval=30s", "-loggerLevel=WARN"}
		},
		Ready: func([]int) bool { return httpOK(fmt.Sprintf("http://127.0.0.1:%d/health", port)) },
	})
	return vm
}

// importOpenMetrics loads OpenMetrics text (as the webshop writes it for
// promtool) through /api/v1/import/prometheus, which takes the Prometheus
// text format: timestamps in milliseconds, no # EOF. It posts in chunks of
// whole lines and then flushes, so that the data is searchable at once.
func (vm *victoriaMetrics) importOpenMetrics(t testing.TB, r io.Reader) (samples int) {
	t.Helper()
	const chunk = 8 << 20
	var body bytes.Buffer
	post := func() {
		if body.Len() == 0 {
			return
		}
		resp, err := testClient.Post(vm.URL+"/api/v1/import/prometheus", "text/plain", &body)
		if err != nil {
			t.Fatal(err)
		}
		msg, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode/100 != 2 {
			t.Fatalf("import: %s: %s", resp.Status, msg)
		}
		body.Reset()
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		secs, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("import: timestamp of %q: %v", line, err)
		}
		body.WriteString(line[:i+1])
		body.WriteString(strconv.FormatInt(int64(secs*1000+0.5), 10))
		body.WriteByte('\n')
		samples++
		if body.Len() >= chunk {
			post()
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	post()
	resp, err := testClient.Get(vm.URL + "/internal/force_flush")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return samples
}

// webshopRuleCount is how many rules the webshop's Prometheus loads.
func webshopRuleCount() int {
	n := 0
	for _, g := range webshopRuleGroups {
		n += len(g.Rules)
	}
	return n
}
