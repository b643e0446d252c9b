package main

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/capability-exporter/capability_exporter/collector"
	"github.com/capability-exporter/capability_exporter/config"
	"github.com/capability-exporter/capability_exporter/triggers"
)

const rules = `
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
`

func writeFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// The rules the binary prints load unchanged as a rules file, and a file
// that extends them is checked against the union.
func TestRulesCommand(t *testing.T) {
	var printed, errOut bytes.Buffer
	if code := run([]string{"rules"}, &printed, &errOut); code != 0 {
		t.Fatalf("rules: exit %d: %s", code, errOut.String())
	}
	if !bytes.Equal(printed.Bytes(), triggers.DefaultRulesYAML()) {
		t.Fatal("rules printed something else than the embedded rules")
	}
	dir := writeFiles(t, map[string]string{
		"r.yml":      printed.String(),
		"c.yml":      "rules_file: r.yml\n",
		"ext.yml":    "extends: default\ntools:\n  traefik_mesh: {capability: service_mesh, workloads: [traefik-mesh-controller]}\n",
		"cext.yml":   "rules_file: ext.yml\n",
		"badext.yml": "extends: default\nadd_conditions:\n  service_mesh:\n    now: microservice > 3\n",
		"cbad.yml":   "rules_file: badext.yml\n",
	})
	var out bytes.Buffer
	if code := run([]string{"check", "--config.file=" + filepath.Join(dir, "c.yml")}, &out, &errOut); code != 0 {
		t.Fatalf("check with the printed rules: exit %d: %s", code, errOut.String())
	}
	if !strings.Contains(out.String(), "8 capabilities from "+filepath.Join(dir, "r.yml")) {
		t.Errorf("check output: %q", out.String())
	}
	out.Reset()
	if code := run([]string{"check", "--config.file=" + filepath.Join(dir, "cext.yml")}, &out, &errOut); code != 0 {
		t.Fatalf("check with extending rules: exit %d: %s", code, errOut.String())
	}
	def, _ := triggers.Default()
	want := fmt.Sprintf("%d tools, %d foundations, 8 capabilities from %s extending %s", len(def.Tools)+1, len(def.Foundations),
		filepath.Join(dir, "ext.yml"), triggers.DefaultRulesFile)
	if !strings.Contains(out.String(), want) {
		t.Errorf("check output %q lacks %q", out.String(), want)
	}
	errOut.Reset()
	if code := run([]string{"check", "--config.file=" + filepath.Join(dir, "cbad.yml")}, &out, &errOut); code != 1 {
		t.Fatalf("check with a bad extending file: exit %d", code)
	}
	want = filepath.Join(dir, "badext.yml") + `:4: add_conditions.service_mesh.now: unknown signal "microservice"`
	if !strings.Contains(errOut.String(), want) {
		t.Errorf("check error %q lacks %q", errOut.String(), want)
	}
}

func TestCheck(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"rules.yml":   rules,
		"good.yml":    "rules_file: rules.yml\nfacts:\n  compliance_required: true\n",
		"bad.yml":     "rules_file: rules.yml\nfacts:\n  compliance_required: maybe\nsources:\n  prometheus:\n    url: http://x:9090\n    scrape: 1\n",
		"badrules.y":  "signals: {}\ncapabilities:\n  x:\n    complexity: medium\n    trigger: nothing > 1\n",
		"usesbad.yml": "rules_file: badrules.y\n",
	})
	var out, errOut bytes.Buffer
	if code := run([]string{"check", "--config.file=" + filepath.Join(dir, "good.yml")}, &out, &errOut); code != 0 {
		t.Fatalf("check good config: exit %d: %s", code, errOut.String())
	}
	if !strings.Contains(out.String(), "OK") {
		t.Errorf("check output: %q", out.String())
	}

	out.Reset()
	errOut.Reset()
	if code := run([]string{"check", "--config.file=" + filepath.Join(dir, "bad.yml")}, &out, &errOut); code == 0 {
		t.Fatal("check accepted a bad config")
	}
	want := filepath.Join(dir, "bad.yml") + ":7: sources.prometheus.scrape: unknown field in source"
	if !strings.Contains(errOut.String(), want) {
		t.Errorf("check error %q lacks %q", errOut.String(), want)
	}

	errOut.Reset()
	if code := run([]string{"check", "--config.file=" + filepath.Join(dir, "usesbad.yml")}, &out, &errOut); code == 0 {
		t.Fatal("check accepted a bad rules file")
	}
	want = filepath.Join(dir, "badrules.y") + `:5: capabilities.x.trigger: unknown signal "nothing"`
	if !strings.Contains(errOut.String(), want) {
		t.Errorf("check error %q lacks %q", errOut.String(), want)
	}
}

func TestCheckDefaultRules(t *testing.T) {
	dir := writeFiles(t, map[string]string{"empty.yml": "{}\n"})
	var out, errOut bytes.Buffer
	if code := run([]string{"check", "--config.file=" + filepath.Join(dir, "empty.yml")}, &out, &errOut); code != 0 {
		t.Fatalf("the embedded default rules fail check: %s", errOut.String())
	}
}

// A reload with a broken file keeps the old config and decisions, reports
// the failure, and recovers on the next good file.
func TestReloadKeepsOldConfigOnError(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"rules.yml":  rules,
		"config.yml": "rules_file: rules.yml\nfacts:\n  compliance_required: true\n",
	})
	file := filepath.Join(dir, "config.yml")
	cfg, err := config.Load(file)
	if err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.DiscardHandler)
	sched := collector.NewScheduler(cfg, time.Second, logger)
	sched.Evaluate(context.Background())
	r := newReloader(file, sched, logger, func() { sched.Evaluate(context.Background()) })

	if err := os.WriteFile(file, []byte("rules_file: rules.yml\nfacts:\n  compliance_required: [\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	r.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/-/reload", nil))
	if rec.Code != http.StatusInternalServerError || !strings.Contains(rec.Body.String(), "config.yml:") {
		t.Errorf("POST /-/reload of a broken file: %d %q", rec.Code, rec.Body.String())
	}
	if ok, _ := sched.ReloadStatus(); ok {
		t.Error("reload status must be failed")
	}
	if sched.Config() != cfg {
		t.Error("a failed reload replaced the config")
	}
	if d := sched.Current().Evaluation.Decision("security_auditing"); d.State != triggers.StateNow {
		t.Errorf("decision after failed reload = %s, want the old now", d.State)
	}

	if err := os.WriteFile(file, []byte("rules_file: rules.yml\nfacts:\n  compliance_required: false\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	rec = httptest.NewRecorder()
	r.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/-/reload", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("POST /-/reload of a good file: %d %q", rec.Code, rec.Body.String())
	}
	if ok, _ := sched.ReloadStatus(); !ok {
		t.Error("reload status must be successful again")
	}
	if d := sched.Current().Evaluation.Decision("security_auditing"); d.State != triggers.StateSkip {
		t.Errorf("decision after good reload = %s, want skip", d.State)
	}
}

// A threshold of the wrong type fails check and reload with its line; the
// reload keeps the organisation's value in force.
func TestThresholdsCheckedAndKeptOnReload(t *testing.T) {
	dir := writeFiles(t, map[string]string{"config.yml": "thresholds:\n  cost_growth_per_month: 15%\n"})
	file := filepath.Join(dir, "config.yml")
	var out, errOut bytes.Buffer
	if code := run([]string{"check", "--config.file=" + file}, &out, &errOut); code != 0 || !strings.Contains(out.String(), "1 of ") {
		t.Fatalf("check: exit %d, %q %q", code, out.String(), errOut.String())
	}
	cfg, err := config.Load(file)
	if err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.DiscardHandler)
	sched := collector.NewScheduler(cfg, time.Second, logger)
	sched.Evaluate(context.Background())
	r := newReloader(file, sched, logger, func() { sched.Evaluate(context.Background()) })

	if err := os.WriteFile(file, []byte("thresholds:\n  cost_growth_per_month: 2h\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	want := file + ":2: thresholds.cost_growth_per_month:"
	errOut.Reset()
	if code := run([]string{"check", "--config.file=" + file}, &out, &errOut); code == 0 || !strings.Contains(errOut.String(), want) {
		t.Errorf("check of a duration for a ratio: exit %d, %q, want %q", code, errOut.String(), want)
	}
	rec := httptest.NewRecorder()
	r.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/-/reload", nil))
	if rec.Code != http.StatusInternalServerError || !strings.Contains(rec.Body.String(), want) {
		t.Errorf("POST /-/reload of a bad threshold: %d %q", rec.Code, rec.Body.String())
	}
	if th := sched.Config().Rules.Threshold("cost_growth_per_month"); th == nil || !th.Own || th.Value != 0.15 {
		t.Errorf("threshold after a failed reload = %+v, want the config's 15%% still", th)
	}
}

func TestReloadRequiresPost(t *testing.T) {
	r := newReloader("unused.yml", nil, slog.New(slog.DiscardHandler), nil)
	for _, m := range []string{http.MethodGet, http.MethodPut, http.MethodDelete} {
		rec := httptest.NewRecorder()
		r.ServeHTTP(rec, httptest.NewRequest(m, "/-/reload", nil))
		if rec.Code != http.StatusMethodNotAllowed || rec.Header().Get("Allow") != http.MethodPost {
			t.Errorf("%s /-/reload: %d, Allow=%q", m, rec.Code, rec.Header().Get("Allow"))
		}
	}
}

func TestVersionAndBadFlags(t *testing.T) {
	for _, tc := range []struct {
		args   []string
		code   int
		stdout string // what stdout must hold
	}{
		{args: []string{"--version"}, code: 0, stdout: "capability_exporter, version "},
		{args: []string{"run", "--version"}, code: 0, stdout: "capability_exporter, version "},
		{args: []string{"--help"}, code: 0, stdout: "--config.file"},
		{args: []string{"--no-such-flag"}, code: 2},
	} {
		var out, errOut bytes.Buffer
		// The config file does not exist: reaching the server would fail
		// with 1, not return the flag's code.
		args := append([]string{"--config.file=" + filepath.Join(t.TempDir(), "absent.yml")}, tc.args...)
		if code := run(args, &out, &errOut); code != tc.code {
			t.Errorf("%v: exit %d, want %d\nstdout: %s\nstderr: %s", tc.args, code, tc.code, out.String(), errOut.String())
		}
		if !strings.Contains(out.String(), tc.stdout) {
			t.Errorf("%v: stdout lacks %q:\n%s", tc.args, tc.stdout, out.String())
		}
	}
}

// The config reference, docs/config.md, lists every fact the default rules
// read, with its type.
func TestConfigDocListsEveryFact(t *testing.T) {
	doc, err := os.ReadFile("../../docs/config.md")
	if err != nil {
		t.Fatal(err)
	}
	r, err := triggers.Default()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range r.Facts() {
		if !strings.Contains(string(doc), "| `"+f.Name+"` | "+string(f.Type)+" |") {
			t.Errorf("docs/config.md does not list fact %s (%s)", f.Name, f.Type)
		}
	}
}

// check --probe warns, at the url's line, about a configured server that
// does not answer, and says nothing about one that does.
func TestCheckProbe(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"status":"success","data":{"version":"2.42.0"}}`)
	}))
	defer up.Close()
	down := httptest.NewServer(http.NotFoundHandler())
	downURL := down.URL
	down.Close() // nothing listens there any more
	dir := writeFiles(t, map[string]string{
		"c.yml": "# a first config\nsources:\n  prometheus:\n    url: " + up.URL + "\n  loki:\n    url: " + downURL + "\n",
	})
	cfg := filepath.Join(dir, "c.yml")
	var out, errOut bytes.Buffer
	if code := run([]string{"check", "--probe", "--config.file=" + cfg}, &out, &errOut); code != 0 {
		t.Fatalf("check --probe: exit %d: %s", code, errOut.String())
	}
	want := cfg + ":6: sources.loki.url: warning: " + downURL + " did not answer (unreachable: "
	if !strings.Contains(errOut.String(), want) {
		t.Errorf("check --probe said %q, want %q", errOut.String(), want)
	}
	if strings.Contains(errOut.String(), "sources.prometheus") {
		t.Errorf("check --probe warns about the server that answers: %s", errOut.String())
	}
	errOut.Reset()
	if run([]string{"check", "--config.file=" + cfg}, &out, &errOut); errOut.Len() != 0 {
		t.Errorf("check without --probe asks no server, and warns: %s", errOut.String())
	}
}

// With no config file, the error says what to run.
func TestNoConfigSaysWhatToRun(t *testing.T) {
	_, err := loadConfig(filepath.Join(t.TempDir(), "capability_exporter.yml"))
	if err == nil {
		t.Fatal("no error for a missing config")
	}
	for _, want := range []string{"no such file", "--config.file=examples/webshop.yml", "deploy/config.yml", "check --config.file"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
}
