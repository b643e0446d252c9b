package config

import (
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
		"c.yml:4: facts.network_policies_sufficient: warning: the declared value outranks what other measures (derived) would measure",
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
	// A fact no measure stands in for is the organisation's to declare.
	for _, g := range got {
		if strings.Contains(g, "compliance_required") {
			t.Errorf("warned about a fact only people can declare: %s", g)
		}
	}
}
