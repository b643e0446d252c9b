package deploy

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/capability-exporter/capability_exporter/config"
)

var update = flag.Bool("update", false, "rewrite the generated files (prometheusrule.yaml) from their sources")

const (
	rulesFile          = "rules/capability-exporter.rules.yml"
	prometheusRuleFile = "prometheusrule.yaml"
	configFile         = "config.yml"
	exampleConfig      = "../examples/webshop.yml"
)

// renderPrometheusRule wraps the groups of a plain Prometheus rules file in a
// PrometheusRule, comments included.
func renderPrometheusRule(rules []byte) ([]byte, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(rules, &doc); err != nil {
		return nil, err
	}
	groups := mappingValue(doc.Content[0], "groups")
	labels := mapping("app.kubernetes.io/name", scalar("capability-exporter"))
	out := mapping(
		"apiVersion", scalar("monitoring.coreos.com/v1"),
		"kind", scalar("PrometheusRule"),
		"metadata", mapping("name", scalar("capability-exporter"), "labels", labels),
		"spec", mapping("groups", groups),
	)
	var b bytes.Buffer
	b.WriteString(`# Generated from rules/capability-exporter.rules.yml by
#   go test ./deploy -run TestPrometheusRuleInSync -update
# Do not edit: edit the rules file, which promtool tests, and regenerate.
# A Prometheus whose ruleSelector wants a label (kube-prometheus-stack:
# release: <name>) needs it added in an overlay.
`)
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(out); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

func scalar(v string) *yaml.Node { return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: v} }

func mapping(kv ...any) *yaml.Node {
	n := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
	for i := 0; i+1 < len(kv); i += 2 {
		n.Content = append(n.Content, scalar(kv[i].(string)), kv[i+1].(*yaml.Node))
	}
	return n
}

func mappingValue(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

func TestPrometheusRuleInSync(t *testing.T) {
	rules, err := os.ReadFile(rulesFile)
	if err != nil {
		t.Fatal(err)
	}
	want, err := renderPrometheusRule(rules)
	if err != nil {
		t.Fatal(err)
	}
	if *update {
		if err := os.WriteFile(prometheusRuleFile, want, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(prometheusRuleFile)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s differs from what %s generates; run go test ./deploy -run TestPrometheusRuleInSync -update", prometheusRuleFile, rulesFile)
	}

	// Whatever the bytes, the operator must see the same rules Prometheus
	// loads from the plain file.
	var plain struct {
		Groups []any `yaml:"groups"`
	}
	var cr struct {
		Kind string `yaml:"kind"`
		Spec struct {
			Groups []any `yaml:"groups"`
		} `yaml:"spec"`
	}
	if err := yaml.Unmarshal(rules, &plain); err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(got, &cr); err != nil {
		t.Fatal(err)
	}
	if cr.Kind != "PrometheusRule" || len(plain.Groups) == 0 || !reflect.DeepEqual(plain.Groups, cr.Spec.Groups) {
		t.Fatalf("%s: kind %q, groups differ from %s", prometheusRuleFile, cr.Kind, rulesFile)
	}
}

// topLevelBlock returns the byte range of a top-level key's block in a YAML
// text: from its line to the next top-level key, without the blank lines and
// column-0 comments that introduce the next key.
func topLevelBlock(text, key string) (start, end int, ok bool) {
	lines := strings.SplitAfter(text, "\n")
	pos, startLine := 0, -1
	offsets := make([]int, len(lines)+1)
	for i, l := range lines {
		offsets[i] = pos
		pos += len(l)
	}
	offsets[len(lines)] = pos
	endLine := len(lines)
	for i, l := range lines {
		top := len(l) > 0 && l[0] != ' ' && l[0] != '#' && l[0] != '\n' && l[0] != '-'
		if startLine < 0 && top && strings.HasPrefix(l, key+":") {
			startLine = i
			continue
		}
		if startLine >= 0 && top {
			endLine = i
			break
		}
	}
	if startLine < 0 {
		return 0, 0, false
	}
	for endLine > startLine+1 {
		l := strings.TrimRight(lines[endLine-1], "\n")
		if l == "" || strings.HasPrefix(l, "#") {
			endLine--
			continue
		}
		break
	}
	return offsets[startLine], offsets[endLine], true
}

// The in-cluster config ships no one's facts: `kubectl apply -k deploy/`
// must report the cluster it runs in, not the example's webshop. Facts are
// commented placeholders (an undeclared fact reads unknown), nothing
// overrides a measure, and `check` has nothing to warn about.
func TestDeployedConfigDeclaresNoFacts(t *testing.T) {
	deployed, err := os.ReadFile(configFile)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Parse(filepath.Join("deploy", configFile), deployed)
	if err != nil {
		t.Fatalf("%s does not load: %v", configFile, err)
	}
	if len(cfg.FactValues) > 0 || len(cfg.OverrideValues) > 0 {
		t.Errorf("%s declares %d facts and %d overrides; ship placeholders, so that undeclared facts read unknown",
			configFile, len(cfg.FactValues), len(cfg.OverrideValues))
	}
	for _, w := range cfg.Warnings() {
		t.Errorf("check warns: %v", w)
	}
	// Every fact the default rules read is there to uncomment.
	for _, f := range cfg.Rules.Facts() {
		if !strings.Contains(string(deployed), "# "+f.Name+":") && !strings.Contains(string(deployed), f.Name+",") &&
			!strings.HasSuffix(strings.TrimSpace(string(deployed)), f.Name) {
			t.Errorf("%s has no placeholder for fact %s", configFile, f.Name)
		}
	}
	s := cfg.Sources
	if s.Prometheus == nil || s.Loki == nil || s.Kubernetes == nil {
		t.Fatalf("%s: want the prometheus, loki and kubernetes sources configured in-cluster, got %s", configFile, cfg.Redacted())
	}
	if s.Kubernetes.Kubeconfig != "" {
		t.Errorf("%s: kubernetes.kubeconfig %q, want in-cluster (empty)", configFile, s.Kubernetes.Kubeconfig)
	}
	for name, u := range map[string]string{"prometheus": s.Prometheus.URL.Host, "loki": s.Loki.URL.Host} {
		if !strings.Contains(u, ".svc") {
			t.Errorf("%s: %s url host %q is not a cluster Service", configFile, name, u)
		}
	}
}

func TestTopLevelBlock(t *testing.T) {
	text := "a: 1\nfacts:\n  x: 1 # c\n  # y\n  y: 2\n\n# next\nb: 3\n"
	s, e, ok := topLevelBlock(text, "facts")
	if !ok || text[s:e] != "facts:\n  x: 1 # c\n  # y\n  y: 2\n" {
		t.Fatalf("got %q, %v", text[s:e], ok)
	}
	s, e, ok = topLevelBlock("facts: {}\n", "facts")
	if !ok || "facts: {}\n"[s:e] != "facts: {}\n" {
		t.Fatalf("flow mapping: got %d..%d, %v", s, e, ok)
	}
	if _, _, ok := topLevelBlock("factsheet: 1\n", "facts"); ok {
		t.Fatal("matched a longer key")
	}
}
