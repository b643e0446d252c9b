//go:build e2e

package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The Prometheus tier: a real Prometheus ($PROMETHEUS, else the Debian
// package's) on a free loopback port, holding history backfilled with
// promtool ($PROMTOOL) and the rules files the test gives it.

type prometheusServer struct {
	URL     string
	Version string
	dataDir string
	*server
}

// backfill writes the webshop's history as OpenMetrics and turns it into
// TSDB blocks in dataDir. promtool's hidden --max-block-duration keeps it to
// a few large blocks: by default it writes one 2h block per pass over the
// input, 420 passes for 35 days.
func backfill(t testing.TB, w *webshop, dataDir string) {
	t.Helper()
	promtool := requireBinary(t, "promtool", "PROMTOOL", "prometheus")
	input := filepath.Join(t.TempDir(), "webshop.om")
	f, err := os.Create(input)
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Now()
	if err := w.WriteOpenMetrics(f); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	st, _ := os.Stat(input)
	t1 := time.Now()
	out, err := exec.Command(promtool, "tsdb", "create-blocks-from", "openmetrics", "--max-block-duration=960h", "--quiet", input, dataDir).CombinedOutput()
	if err != nil {
		t.Fatalf("promtool tsdb create-blocks-from openmetrics: %v\n%s", err, out)
	}
	t.Logf("history: %.0f MB of OpenMetrics written in %s, backfilled in %s", float64(st.Size())/1e6,
		t1.Sub(t0).Round(time.Millisecond), time.Since(t1).Round(time.Millisecond))
}

// startPrometheus runs Prometheus on dataDir with the rules files loaded and
// waits until it is ready. Retention is long enough to keep the backfilled
// history; nothing is scraped, so the history is all there is. Stop and
// Start stop it and run it again on the same port and data.
func startPrometheus(t testing.TB, dataDir string, ruleFiles ...string) *prometheusServer {
	t.Helper()
	bin := requireBinary(t, "prometheus", "PROMETHEUS", "prometheus")
	cfgDir := t.TempDir()
	var cfg strings.Builder
	cfg.WriteString("global:\n  evaluation_interval: 30s\nrule_files:\n")
	for _, f := range ruleFiles {
		fmt.Fprintf(&cfg, "  - %s\n", f)
	}
	cfgFile := writeFile(t, cfgDir, "prometheus.yml", cfg.String())
	p := &prometheusServer{dataDir: dataDir}
	if out, err := exec.Command(bin, "--version").CombinedOutput(); err == nil {
		p.Version = strings.SplitN(string(out), "\n", 2)[0]
	}
	p.server = startServer(t, serverSpec{
		Name:  "prometheus",
		Bin:   bin,
		Ports: 1,
		Args: func(ports []int) []string {
			return []string{
				"--config.file=" + cfgFile,
				"--storage.tsdb.path=" + dataDir,
				"--storage.tsdb.retention.time=90d",
				fmt.Sprintf("--web.listen-address=127.0.0.1:%d", ports[0]),
				"--web.console.templates=" + cfgDir, "--web.console.libraries=" + cfgDir,
			}
		},
		Ready: httpReady("/-/ready"),
	})
	p.URL = p.PortURL(0)
	return p
}

// waitRules waits until the rules API lists n rules: Prometheus is ready
// before its first rule evaluation.
func (p *prometheusServer) waitRules(t testing.TB, n int) {
	t.Helper()
	waitFor(t, 30*time.Second, fmt.Sprintf("%d rules loaded", n), func() bool {
		resp, err := testClient.Get(p.URL + "/api/v1/rules")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		var body struct {
			Data struct {
				Groups []struct {
					Rules []json.RawMessage `json:"rules"`
				} `json:"groups"`
			} `json:"data"`
		}
		if json.NewDecoder(resp.Body).Decode(&body) != nil {
			return false
		}
		got := 0
		for _, g := range body.Data.Groups {
			got += len(g.Rules)
		}
		return got == n
	})
}

// webshopPrometheus generates the webshop's history ending now, backfills
// it and starts Prometheus on it with the webshop's rules.
func webshopPrometheus(t testing.TB) (*webshop, *prometheusServer) {
	t.Helper()
	w := newWebshop(time.Now())
	dataDir := t.TempDir()
	backfill(t, w, dataDir)
	rules := writeFile(t, t.TempDir(), "webshop-rules.yml", webshopRulesYAML())
	t0 := time.Now()
	p := startPrometheus(t, dataDir, rules)
	n := 0
	for _, g := range webshopRuleGroups {
		n += len(g.Rules)
	}
	p.waitRules(t, n)
	t.Logf("%s ready on the history in %s", p.Version, time.Since(t0).Round(time.Millisecond))
	return w, p
}
