package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/capability-exporter/capability_exporter/report"
)

// assess --set lays a what-if over its own evaluation, checked as the
// config is, and says so wherever its output goes.
func TestAssessSet(t *testing.T) {
	const webshop = "--config.file=../../examples/webshop.yml"
	sets := []string{"--set", "fact.compliance_required=false", "--set", "fact.fixed_costs=true", "--set", "fact.tenants=1"}

	code, js, stderr := runAssess(t, append([]string{webshop, "--format=json"}, sets...)...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var r report.Report
	if err := json.Unmarshal([]byte(js), &r); err != nil {
		t.Fatal(err)
	}
	for _, c := range r.Capabilities {
		switch c.ID {
		case "cost_visibility":
			if c.Decision != "skip" && c.Decision != "not_triggered" {
				t.Errorf("cost_visibility %s under the what-if: %s", c.Decision, c.Summary)
			}
		case "policy_enforcement":
			if c.DecidedBy == "must" {
				t.Errorf("policy_enforcement decided by must without compliance: %s", c.Summary)
			}
		}
	}
	if want := "what-if: fact.compliance_required=false, fact.fixed_costs=true, fact.tenants=1"; !strings.Contains(stderr, want) {
		t.Errorf("stderr %q lacks %q", stderr, want)
	}

	code, md, stderr := runAssess(t, append([]string{webshop}, sets...)...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if want := "- What-if: `fact.compliance_required=false`, `fact.fixed_costs=true`, `fact.tenants=1` (`assess --set`)"; !strings.Contains(md, want) {
		t.Errorf("the record does not say it is a what-if (%q):\n%s", want, md[:min(len(md), 600)])
	}
	code, plain, _ := runAssess(t, webshop)
	if code != 0 || strings.Contains(plain, "What-if") {
		t.Errorf("without --set: exit %d, what-if line %v", code, strings.Contains(plain, "What-if"))
	}

	for _, tc := range []struct{ set, want string }{
		{"fact.compliance_requird=false", "facts.compliance_requird: unknown fact"},
		{"fact.compliance_required=maybe", "facts.compliance_required: want true or false"},
		{"threshold.cost_growth_per_month=15", "thresholds.cost_growth_per_month: cost_growth_per_month is a ratio"},
		{"override.compliance_required=true", "overrides.compliance_required: a fact, not a measured signal"},
		{"facts.tenants=1", "--set facts.tenants=1: want fact.NAME=VALUE"},
	} {
		code, _, stderr := runAssess(t, webshop, "--set", tc.set)
		if code != 2 || !strings.Contains(stderr, tc.want) {
			t.Errorf("--set %s: exit %d, stderr %q, want 2 and %q", tc.set, code, stderr, tc.want)
		}
	}
}
