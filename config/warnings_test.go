package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A fact that outranks a measure, and every override, is named with its
// line: such a config reports its own answers, not the cluster's.
func TestWarningsNameWhatSilencesAMeasure(t *testing.T) {
	cfg, err := Parse("c.yml", []byte(`facts:
  compliance_required: true
  developers: 14
  network_policies_sufficient: true
overrides:
  microservices: 8
  tool.linkerd: false
`))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, w := range cfg.Warnings() {
		got = append(got, w.Error())
	}
	want := []string{
		"c.yml:3: facts.developers: warning: the declared value outranks what loki and kubernetes would measure",
		"c.yml:6: overrides.microservices: warning: replaces what kubernetes would measure",
		"c.yml:7: overrides.tool.linkerd: warning: replaces the Kubernetes source's detection",
	}
	if len(got) != len(want) {
		t.Fatalf("warnings:\n%s\nwant %d", strings.Join(got, "\n"), len(want))
	}
	for i := range want {
		if !strings.HasPrefix(got[i], want[i]) {
			t.Errorf("warning %d = %q, want it to start %q", i, got[i], want[i])
		}
	}
	// A fact no measure stands in for is the organisation's to declare; one
	// a measure only suggests (presume:) is too.
	for _, g := range got {
		if strings.Contains(g, "compliance_required") || strings.Contains(g, "network_policies_sufficient") {
			t.Errorf("warned about a fact only people can declare: %s", g)
		}
	}
}

// A Prometheus query the parser does not read (MetricsQL) and that declares
// no window reads unknown; check says so at the rule's line.
func TestWarningsNameQueriesWithoutAReadableWindow(t *testing.T) {
	dir := t.TempDir()
	rules := filepath.Join(dir, "rules.yml")
	if err := os.WriteFile(rules, []byte(`signals:
  growth:
    help: Growth.
    prometheus: {query: 'sum(rate(x[30d])) keep_metric_names'}
  declared:
    help: Declared.
    prometheus: {query: 'sum(rate(x[30d])) keep_metric_names', window: 30d}
  plain:
    help: PromQL.
    prometheus: {query: 'sum(rate(x[30d]))'}
capabilities:
  c: {title: C, complexity: low, trigger: {any: [growth > 1, declared > 1, plain > 1]}}
`), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := Parse(filepath.Join(dir, "config.yml"), []byte("rules_file: "+rules+"\nsources:\n  prometheus: {url: http://prom.example:9090}\n"))
	if err != nil {
		t.Fatal(err)
	}
	// The warnings name the lines of the file that was loaded, even when the
	// file on disk has changed since.
	if err := os.WriteFile(rules, []byte("# edited after the load\n\n\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, w := range cfg.Warnings() {
		got = append(got, w.Error())
	}
	want := rules + ":4: signals.growth.prometheus.query: warning: the Prometheus parser does not read this query"
	if len(got) != 1 || !strings.HasPrefix(got[0], want) || !strings.Contains(got[0], "declare window:") {
		t.Errorf("warnings:\n%s\nwant one starting %q", strings.Join(got, "\n"), want)
	}
}
