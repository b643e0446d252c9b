package report

import (
	"bytes"
	"encoding/json"
	"html"
	"strings"
	"testing"

	"github.com/capability-exporter/capability_exporter/collector"
	"github.com/capability-exporter/capability_exporter/config"
	"github.com/capability-exporter/capability_exporter/triggers"
)

// The organisation's 15% for cost growth, against the framework's 20%, is
// shown on the page, in the JSON and in assess's Markdown, beside the
// conditions that compare with it, and 17% growth triggers cost visibility.
func TestThresholdsShownWithWhoseTheyAre(t *testing.T) {
	cfg, err := config.Parse("config.yml", []byte("thresholds:\n  cost_growth_per_month: 15%\n"))
	if err != nil {
		t.Fatal(err)
	}
	snap := triggers.Snapshot{"cost_growth_ratio": triggers.KnownValue(0.17, "prometheus")}
	st := &collector.State{Config: cfg, Evaluation: triggers.Evaluate(cfg.Rules, snap, evaluatedAt)}
	r := Build(st, Options{Now: generatedAt})

	const own = "15% (yours; the framework says 20%)"
	byName := map[string]Threshold{}
	for _, th := range r.Thresholds {
		byName[th.Name] = th
	}
	if th := byName["cost_growth_per_month"]; th.Text != own || th.SetBy != SetByOrganisation || th.Value != 0.15 || th.Default != 0.2 {
		t.Errorf("cost_growth_per_month = %+v", th)
	}
	if th := byName["many_developers"]; th.Text != "10 (the framework's)" || th.SetBy != SetByFramework {
		t.Errorf("many_developers = %+v", th)
	}
	var cost *Capability
	for i := range r.Capabilities {
		if r.Capabilities[i].ID == "cost_visibility" {
			cost = &r.Capabilities[i]
		}
	}
	if cost == nil || cost.Steps.Trigger == nil || !*cost.Steps.Trigger {
		t.Fatalf("cost_visibility trigger = %+v, want true at 17%% against 15%%", cost.Steps)
	}
	var noted bool
	for _, c := range cost.Conditions {
		if c.ThresholdName != nil && *c.ThresholdName == "cost_growth_per_month" {
			noted = c.ThresholdNote != nil && *c.ThresholdNote == "yours; the framework says 20%" && c.ThresholdText == "15%" &&
				c.Expr == "cost_growth_ratio > {cost_growth_per_month}"
		}
	}
	if !noted {
		t.Errorf("no condition of cost_visibility notes the organisation's threshold: %+v", cost.Conditions)
	}

	js, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(js, []byte(`"text":"`+own+`"`)) || !bytes.Contains(js, []byte(`"set_by":"organisation"`)) {
		t.Error("the JSON does not carry the threshold with whose it is")
	}
	h := Handlers{Current: func() *collector.State { return st }, MetricsPath: "/metrics"}
	page := html.UnescapeString(get(h.Page(), "/").Body.String())
	if !strings.Contains(page, own) {
		t.Errorf("the page does not show %q", own)
	}
	if !strings.Contains(page, "> 15% <span class=\"dim\">(yours; the framework says 20%)</span>") {
		t.Error("the page's conditions do not note the organisation's threshold")
	}
	var md bytes.Buffer
	if err := WriteMarkdown(&md, r); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(md.String(), "| `cost_growth_per_month` | "+own+" |") {
		t.Errorf("assess's Markdown does not list %q", own)
	}
}

// Whose number a threshold is: the framework's only where the framework
// states it; the default rules' own numbers say so, and that the framework
// gives none; an organisation's rules file's are "your rules'"; a value the
// config sets is the organisation's, beside whose it replaced.
func TestThresholdsSayWhoseNumberTheyAre(t *testing.T) {
	def, err := triggers.Default()
	if err != nil {
		t.Fatal(err)
	}
	ours, err := triggers.Parse("ours.yml", []byte(`extends: default
thresholds:
  our_services:
    value: 3
    help: Three services call for tracing here.
add_conditions:
  distributed_tracing:
    trigger: {if: 'microservices > {our_services}', says: Our services call each other}
`))
	if err != nil {
		t.Fatal(err)
	}
	set := def.WithThresholds(map[string]float64{"idle_cpu_share": 0.4, "many_services": 8})
	oursSet := ours.WithThresholds(map[string]float64{"our_services": 5})
	for _, c := range []struct {
		rules       *triggers.Rules
		name        string
		text, setBy string
	}{
		{def, "cost_growth_per_month", "20% (the framework's)", SetByFramework},
		{def, "many_services", "5 (the framework's)", SetByFramework},
		{def, "idle_cpu_share", "50% (these rules' own; the framework gives no number)", SetByRules},
		{def, "alert_fatigue_per_day", "4 (these rules' own; the framework gives no number)", SetByRules},
		{def, "slow_incident_resolution", "1h (these rules' own; the framework gives no number)", SetByRules},
		{set, "idle_cpu_share", "40% (yours; these rules say 50%)", SetByOrganisation},
		{set, "many_services", "8 (yours; the framework says 5)", SetByOrganisation},
		{ours, "our_services", "3 (your rules')", SetByRules},
		{ours, "many_services", "5 (the framework's)", SetByFramework},
		{oursSet, "our_services", "5 (yours; your rules say 3)", SetByOrganisation},
	} {
		th := c.rules.Threshold(c.name)
		if th == nil {
			t.Fatalf("no threshold %s", c.name)
		}
		if got := thresholdOf(th); got.Text != c.text || got.SetBy != c.setBy {
			t.Errorf("%s = %q set by %s, want %q set by %s", c.name, got.Text, got.SetBy, c.text, c.setBy)
		}
	}
}
