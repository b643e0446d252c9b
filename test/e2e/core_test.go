//go:build e2e

package e2e

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

var capabilities = []string{"service_mesh", "distributed_tracing", "chaos_engineering", "policy_enforcement",
	"cost_visibility", "multi_region", "observability", "security_auditing"}

func repoRoot() string {
	_, self, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(self), "..", "..")
}

// currentStates maps capability to its state from a /metrics body.
func currentStates(body string) map[string]string {
	out := map[string]string{}
	for _, l := range metricLines(body, "capability_decision") {
		if !strings.HasSuffix(l, " 1") {
			continue
		}
		capability := between(l, `capability="`, `"`)
		out[capability] = between(l, `state="`, `"`)
	}
	return out
}

func between(s, from, to string) string {
	i := strings.Index(s, from)
	if i < 0 {
		return ""
	}
	s = s[i+len(from):]
	if j := strings.Index(s, to); j >= 0 {
		return s[:j]
	}
	return s
}

// The README's run command: the example config on the default rules serves a
// decision for all eight capabilities within 5 seconds, and promtool accepts
// the exposition.
func TestExampleConfigServesEveryCapability(t *testing.T) {
	promtool := requireBinary(t, "promtool", "PROMTOOL", "prometheus")
	exporterBinary(t) // build outside the 5 s budget
	start := time.Now()
	e := startExporter(t, filepath.Join(repoRoot(), "examples", "webshop.yml"))
	body := e.Get(t, "/metrics")
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("first decisions after %s, want under 5s", took)
	}
	states := currentStates(body)
	for _, c := range capabilities {
		if states[c] == "" {
			t.Errorf("no decision for %s", c)
		}
	}
	if len(states) != len(capabilities) {
		t.Errorf("decisions for %d capabilities, want %d: %v", len(states), len(capabilities), states)
	}
	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = strings.NewReader(body)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("promtool check metrics: %v\n%s", err, out)
	}
}

// A SIGHUP with a broken config keeps the old decisions and reports the
// failed reload; a SIGHUP with a fixed config applies it.
func TestSighupWithBrokenConfigKeepsDecisions(t *testing.T) {
	dir := t.TempDir()
	rules := writeFile(t, dir, "rules.yml", `
signals:
  compliance_required:
    help: A compliance regime applies.
    type: bool
    fact: compliance_required
capabilities:
  security_auditing:
    title: Security Auditing
    complexity: medium
    trigger: compliance_required == true
    skip: compliance_required == false
    now: compliance_required == true
`)
	cfg := writeFile(t, dir, "config.yml", "rules_file: "+rules+"\nfacts:\n  compliance_required: true\n")
	e := startExporter(t, cfg, "--evaluation.interval=1h")
	if s := currentStates(e.Get(t, "/metrics"))["security_auditing"]; s != "now" {
		t.Fatalf("security_auditing = %q, want now", s)
	}

	if err := os.WriteFile(cfg, []byte("rules_file: "+rules+"\nfacts:\n  compliance_required: false\n  bogus: 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	e.Signal(t, syscall.SIGHUP)
	waitFor(t, 10*time.Second, "the failed reload", func() bool {
		return slices.Contains(metricLines(e.Get(t, "/metrics"), "capability_exporter_config_last_reload_successful"),
			"capability_exporter_config_last_reload_successful 0")
	})
	if s := currentStates(e.Get(t, "/metrics"))["security_auditing"]; s != "now" {
		t.Errorf("after a broken reload security_auditing = %q, want the old now", s)
	}
	if !strings.Contains(e.Logs(), "config.yml:4: facts.bogus: unknown fact") {
		t.Errorf("the log does not say why the reload failed:\n%s", e.Logs())
	}

	if err := os.WriteFile(cfg, []byte("rules_file: "+rules+"\nfacts:\n  compliance_required: false\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	e.Signal(t, syscall.SIGHUP)
	waitFor(t, 10*time.Second, "the fixed reload to apply", func() bool {
		return currentStates(e.Get(t, "/metrics"))["security_auditing"] == "skip"
	})
	if !slices.Contains(metricLines(e.Get(t, "/metrics"), "capability_exporter_config_last_reload_successful"),
		"capability_exporter_config_last_reload_successful 1") {
		t.Error("reload status did not recover")
	}
}

// check rejects a broken file with file:line and exit status 1.
func TestCheckRejectsBrokenFile(t *testing.T) {
	dir := t.TempDir()
	cfg := writeFile(t, dir, "config.yml", "sources:\n  prometheus:\n    url: http://127.0.0.1:9090\n    timeout: soon\n")
	out, err := exec.Command(exporterBinary(t), "check", "--config.file="+cfg).CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 {
		t.Fatalf("check exit: %v\n%s", err, out)
	}
	if want := cfg + ":4: sources.prometheus.timeout: bad duration"; !strings.Contains(string(out), want) {
		t.Errorf("check output %q lacks %q", out, want)
	}
}
