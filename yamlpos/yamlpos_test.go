package yamlpos

import (
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

func TestNodeLine(t *testing.T) {
	const src = `# a comment first, so the top node does not start on line 1

signals:
  developers:
    first_known:
      - fact: developers
      - kubernetes: rbac_human_subjects
  "odd[0]": {fact: odd}
capabilities:
  tracing:
    trigger:
      any:
        - microservices > 5
        - mttr > 1h
`
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(src), &doc); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		path []string
		want int
	}{
		{nil, 3},
		{[]string{"signals"}, 3},
		{[]string{"signals", "developers", "first_known[1]"}, 7},
		{[]string{"signals", "developers", "first_known[1]", "kubernetes"}, 7},
		{[]string{"signals", "odd[0]"}, 8}, // a key with brackets of its own
		{[]string{"capabilities", "tracing", "trigger", "any[0]"}, 13},
		{[]string{"capabilities", "tracing", "trigger", "any[1]"}, 14},
		// The deepest part present: the missing field's parent.
		{[]string{"capabilities", "tracing", "skip"}, 10},
		{[]string{"capabilities", "tracing", "trigger", "any[7]"}, 12},
		{[]string{"capabilities", "tracing", "trigger", "any[x]"}, 12},
		{[]string{"signals", "developers", "first_known[0]", "fact", "deeper"}, 6},
		// Not even the first part: the top node.
		{[]string{"tools", "jaeger"}, 3},
	} {
		if got := NodeLine(&doc, tt.path...); got != tt.want {
			t.Errorf("NodeLine(%q) = %d, want %d", tt.path, got, tt.want)
		}
	}
	// Any node in the document will do as the start.
	if got := NodeLine(doc.Content[0], "capabilities", "tracing"); got != 10 {
		t.Errorf("NodeLine from the top mapping = %d, want 10", got)
	}
	if got := FieldLine(doc.Content[0], "signals.developers.first_known[0].fact"); got != 6 {
		t.Errorf("FieldLine = %d, want 6", got)
	}
}

// An error reads file:line: field: message, and leaves out what it does not
// know.
func TestErrorNamesFileLineAndField(t *testing.T) {
	for _, tt := range []struct {
		e    Error
		want string
	}{
		{Error{File: "c.yml", Line: 4, Field: "sources.prometheus.url", Msg: "missing url"}, "c.yml:4: sources.prometheus.url: missing url"},
		{Error{File: "c.yml", Msg: "empty rules file"}, "c.yml: empty rules file"},
	} {
		if got := tt.e.Error(); got != tt.want {
			t.Errorf("Error() = %q, want %q", got, tt.want)
		}
	}
	if (Errors{}).Err() != nil {
		t.Error("no errors read as an error")
	}
}

// The walks config and triggers share: a mapping's pairs in file order, the
// value under a key, and a document's top node.
func TestMappingWalks(t *testing.T) {
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte("b: 1\na: [x]\nc: {d: 2}\n"), &doc); err != nil {
		t.Fatal(err)
	}
	root := Root(&doc)
	if root == nil || root.Kind != yaml.MappingNode || Root(root) != root {
		t.Fatalf("Root = %v", root)
	}
	if Root(&yaml.Node{Kind: yaml.DocumentNode}) != nil {
		t.Error("an empty document has a root")
	}
	var keys []string
	for k, v := range Pairs(root) {
		keys = append(keys, k.Value+"@"+v.ShortTag())
		if k.Value == "a" {
			break
		}
	}
	if got := strings.Join(keys, " "); got != "b@!!int a@!!seq" {
		t.Errorf("Pairs = %s, want file order, stopping when asked", got)
	}
	for range Pairs(MappingValue(root, "a")) {
		t.Error("a sequence has pairs")
	}
	if v := MappingValue(MappingValue(root, "c"), "d"); v == nil || v.Value != "2" || v.Line != 3 {
		t.Errorf("MappingValue(c, d) = %v", v)
	}
	if MappingValue(root, "e") != nil || MappingValue(nil, "a") != nil {
		t.Error("MappingValue of a missing key is not nil")
	}
}
