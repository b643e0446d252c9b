package main

import (
	"bytes"
	"encoding/json"
	"net"
	"path/filepath"
	"strings"
	"testing"

	"github.com/capability-exporter/capability_exporter/report"
)

// Two capabilities: one decided from a fact, one that hinges on Kubernetes
// (its tool) before Prometheus.
const assessRules = `
signals:
  compliance_required:
    help: A compliance regime applies.
    type: bool
    fact: compliance_required
  incident_mttr:
    help: Mean time to resolve critical alerts.
    type: duration
    prometheus:
      alert_history: {selector: 'ALERTS{severity="critical"}', window: 30d, measure: mean_resolution}
tools:
  jaeger: {title: Jaeger, capability: distributed_tracing, crd_groups: [jaegertracing.io]}
capabilities:
  security_auditing:
    title: Security Auditing
    complexity: medium
    trigger: {if: compliance_required == true, says: GDPR or DORA compliance}
    skip: compliance_required == false
    now: compliance_required == true
    questions:
      - Which events must be audited, and for how long?
  distributed_tracing:
    title: Distributed Tracing
    complexity: medium
    trigger: incident_mttr > 1h
    now: incident_mttr > 1h
`

func runAssess(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = run(append([]string{"assess", "--log.level=error"}, args...), &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestAssess(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"rules.yml": assessRules,
		// No Prometheus configured: distributed_tracing cannot be decided.
		"partial.yml": "rules_file: rules.yml\nfacts:\n  compliance_required: true\n",
		// Only the fact-based capability: everything is decided.
		"decided.yml": "rules_file: decided_rules.yml\nfacts:\n  compliance_required: true\n",
		"decided_rules.yml": assessRules[:strings.Index(assessRules, "  incident_mttr:")] +
			assessRules[strings.Index(assessRules, "capabilities:"):strings.Index(assessRules, "  distributed_tracing:")],
	})
	partial, decided := filepath.Join(dir, "partial.yml"), filepath.Join(dir, "decided.yml")

	code, md, stderr := runAssess(t, "--config.file="+partial)
	if code != 0 {
		t.Fatalf("assess without --fail-on-unknown: exit %d, want 0: %s", code, stderr)
	}
	for _, want := range []string{"# Platform capability decisions, ", "## Recommended next step\n\n**Security Auditing**",
		"**Decision: now** (recommended next step)", "GDPR or DORA compliance: `compliance_required == true`",
		"- [ ] Which events must be audited, and for how long?", "**Decision: unknown**",
		"sources.prometheus is not configured", "### What would change it"} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q:\n%s", want, md)
		}
	}
	if strings.Contains(md, "unchanged since") {
		t.Error("a single run claims a decision history it does not have")
	}

	code, js, _ := runAssess(t, "--config.file="+partial, "--format=json")
	if code != 0 {
		t.Fatalf("assess --format=json: exit %d", code)
	}
	var doc struct {
		RecommendedNext string `json:"recommended_next"`
		Capabilities    []struct {
			ID, Decision string
		} `json:"capabilities"`
	}
	if err := json.Unmarshal([]byte(js), &doc); err != nil {
		t.Fatalf("assess --format=json is not JSON: %v\n%s", err, js)
	}
	if doc.RecommendedNext != "security_auditing" || len(doc.Capabilities) != 2 {
		t.Errorf("json: %+v", doc)
	}

	code, _, stderr = runAssess(t, "--config.file="+partial, "--fail-on-unknown")
	if code != exitUnknown {
		t.Errorf("--fail-on-unknown with an undecided capability: exit %d, want %d", code, exitUnknown)
	}
	// Not detected, the trigger's signal decides: both settle it.
	if want := "distributed_tracing: unknown, possible adopted|now|not_triggered; settled by tool.jaeger " +
		"(sources.kubernetes is not configured), incident_mttr (sources.prometheus is not configured)\n"; !strings.Contains(stderr, want) {
		t.Errorf("stderr %q lacks %q", stderr, want)
	}
	if strings.Contains(stderr, "security_auditing") {
		t.Errorf("stderr names a decided capability: %q", stderr)
	}

	if code, _, stderr := runAssess(t, "--config.file="+decided, "--fail-on-unknown"); code != 0 {
		t.Errorf("--fail-on-unknown with every decision known: exit %d, want 0: %s", code, stderr)
	}

	if code, _, _ := runAssess(t, "--config.file="+filepath.Join(dir, "missing.yml")); code != 1 {
		t.Errorf("assess with a missing config: exit %d, want 1", code)
	}
	if code, _, _ := runAssess(t, "--config.file="+partial, "--format=html"); code != 2 {
		t.Errorf("assess --format=html: exit %d, want the usage error 2", code)
	}
}

// The README's quick start: the example config, which declares only what
// no system can measure besides the overrides it runs on, gives the
// framework's webshop answers, each with its reasons.
func TestAssessExampleGivesTheWebshopAnswers(t *testing.T) {
	code, js, stderr := runAssess(t, "--config.file="+filepath.Join("..", "..", "examples", "webshop.yml"), "--format=json", "--fail-on-unknown")
	if code != 0 {
		t.Fatalf("assess examples/webshop.yml --fail-on-unknown: exit %d: %s", code, stderr)
	}
	var doc struct {
		RecommendedNext string `json:"recommended_next"`
		Capabilities    []struct {
			ID, Decision string
			DecidedBy    string `json:"decided_by"`
			Outweighed   []struct{ Kind, Says string }
			Foundations  []struct {
				ID      string
				Present *bool
				Advice  *string
			}
		} `json:"capabilities"`
	}
	if err := json.Unmarshal([]byte(js), &doc); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"distributed_tracing": "now", "cost_visibility": "now", "policy_enforcement": "now",
		"service_mesh": "skip", "multi_region": "skip", "chaos_engineering": "later"}
	for _, c := range doc.Capabilities {
		if w, ok := want[c.ID]; ok && c.Decision != w {
			t.Errorf("%s = %s by %s, want %s", c.ID, c.Decision, c.DecidedBy, w)
		}
		if c.ID == "service_mesh" && len(c.Outweighed) == 0 {
			t.Error("service mesh lists no outweighed now condition, though the shop runs microservices in production")
		}
		for _, f := range c.Foundations {
			if f.Present != nil && !*f.Present && f.Advice == nil {
				t.Errorf("%s builds on %s (missing) without advice", c.ID, f.ID)
			}
		}
	}
	if doc.RecommendedNext != "cost_visibility" {
		t.Errorf("recommended next = %q, want cost_visibility (complexity low)", doc.RecommendedNext)
	}
}

// A first real config: a Prometheus that does not answer, no facts. Its
// source says down with the first request that failed, and no signal's
// reason names another signal's query.
func TestAssessNamesTheCauseOfADownSource(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there any more
	dir := writeFiles(t, map[string]string{
		"c.yml": "sources:\n  prometheus:\n    url: http://" + addr + "\n    max_concurrency: 1\n",
	})
	_, js, stderr := runAssess(t, "--config.file="+filepath.Join(dir, "c.yml"), "--format=json")
	var r report.Report
	if err := json.Unmarshal([]byte(js), &r); err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	for _, s := range r.Sources {
		switch s.Name {
		case "prometheus":
			if s.Status != "down" || s.Cause == nil || !strings.HasPrefix(*s.Cause, "unreachable: ") || !strings.Contains(*s.Cause, "connection refused") {
				t.Errorf("prometheus: status %q, cause %v; want down, unreachable with connection refused", s.Status, s.Cause)
			}
		case "loki", "kubernetes":
			if s.Status != "not_configured" || s.Cause != nil {
				t.Errorf("%s: status %q, cause %v; want not_configured", s.Name, s.Status, s.Cause)
			}
		}
	}
	// The fault is said once, under the source, in words; every signal it
	// could not give says only that it is down.
	for _, s := range r.Sources {
		if s.Name == "prometheus" && (s.Fault == nil || !strings.Contains(*s.Fault, "connection refused") || strings.Contains(*s.Fault, "query=") || strings.Contains(*s.Fault, `query "`)) {
			t.Errorf("prometheus fault %q, want connection refused, without query text", derefOr(s.Fault))
		}
	}
	down := 0
	for _, s := range r.Signals {
		if s.Source != "prometheus" || s.Reason == nil {
			continue
		}
		if !strings.HasPrefix(*s.Reason, "prometheus is down") {
			t.Errorf("%s: reason %q, want only that prometheus is down", s.Name, *s.Reason)
		}
		down++
	}
	if down == 0 {
		t.Error("no prometheus signal reads that prometheus is down")
	}
	if strings.Count(stderr, "connection refused") != 1 {
		t.Errorf("stderr names the fault %d times, want once:\n%s", strings.Count(stderr, "connection refused"), stderr)
	}
}

func derefOr(s *string) string {
	if s == nil {
		return "<nil>"
	}
	return *s
}
