//go:build e2e

package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The Prometheus tier: a real Prometheus (the Debian package's, or the one
// $PROMETHEUS_BIN names) on a free loopback port, holding history backfilled
// with promtool ($PROMTOOL_BIN) and the rules files the test gives it.

type prometheusServer struct {
	URL      string
	Version  string
	bin      string
	args     []string
	dataDir  string
	cmd      *exec.Cmd
	logs     *syncBuffer
	waitDone chan struct{}
}

// backfill writes the webshop's history as OpenMetrics and turns it into
// TSDB blocks in dataDir. promtool's hidden --max-block-duration keeps it to
// a few large blocks: by default it writes one 2h block per pass over the
// input, 420 passes for 35 days.
func backfill(t testing.TB, w *webshop, dataDir string) {
	t.Helper()
	promtool := requireBinary(t, "promtool", "PROMTOOL_BIN", "prometheus")
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
// history; nothing is scraped, so the history is all there is.
func startPrometheus(t testing.TB, dataDir string, ruleFiles ...string) *prometheusServer {
	t.Helper()
	bin := requireBinary(t, "prometheus", "PROMETHEUS_BIN", "prometheus")
	cfgDir := t.TempDir()
	var cfg strings.Builder
	cfg.WriteString("global:\n  evaluation_interval: 30s\nrule_files:\n")
	for _, f := range ruleFiles {
		fmt.Fprintf(&cfg, "  - %s\n", f)
	}
	cfgFile := writeFile(t, cfgDir, "prometheus.yml", cfg.String())
	port := freePort(t)
	p := &prometheusServer{
		URL:     fmt.Sprintf("http://127.0.0.1:%d", port),
		bin:     bin,
		dataDir: dataDir,
		args: []string{
			"--config.file=" + cfgFile,
			"--storage.tsdb.path=" + dataDir,
			"--storage.tsdb.retention.time=90d",
			fmt.Sprintf("--web.listen-address=127.0.0.1:%d", port),
			"--web.console.templates=" + cfgDir, "--web.console.libraries=" + cfgDir,
		},
		logs: &syncBuffer{},
	}
	if out, err := exec.Command(bin, "--version").CombinedOutput(); err == nil {
		p.Version = strings.SplitN(string(out), "\n", 2)[0]
	}
	p.Start(t)
	t.Cleanup(func() {
		p.Stop()
		if t.Failed() {
			t.Logf("prometheus log:\n%s", p.logs.String())
		}
	})
	return p
}

// Start runs the server (again, on the same port and data) and waits until
// it answers ready.
func (p *prometheusServer) Start(t testing.TB) {
	t.Helper()
	p.cmd = exec.Command(p.bin, p.args...)
	p.cmd.Stdout, p.cmd.Stderr = p.logs, p.logs
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p.waitDone = make(chan struct{})
	go func(cmd *exec.Cmd, done chan struct{}) { _ = cmd.Wait(); close(done) }(p.cmd, p.waitDone)
	waitFor(t, 60*time.Second, "prometheus ready at "+p.URL, func() bool {
		select {
		case <-p.waitDone:
			t.Fatalf("prometheus exited:\n%s", p.logs.String())
		default:
		}
		resp, err := http.Get(p.URL + "/-/ready")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
}

// Stop ends the server and waits for it to exit; safe to call twice.
func (p *prometheusServer) Stop() {
	if p.cmd == nil || p.cmd.Process == nil {
		return
	}
	select {
	case <-p.waitDone:
		return
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.waitDone:
	case <-time.After(15 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.waitDone
	}
}

// waitRules waits until the rules API lists n rules: Prometheus is ready
// before its first rule evaluation.
func (p *prometheusServer) waitRules(t testing.TB, n int) {
	t.Helper()
	waitFor(t, 30*time.Second, fmt.Sprintf("%d rules loaded", n), func() bool {
		resp, err := http.Get(p.URL + "/api/v1/rules")
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
