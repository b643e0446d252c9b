package triggers

import (
	"testing"
	"time"
)

// webshop is the framework's own case as plain signal values: a Dutch
// webshop with about 8 microservices, 14 developers, compliance duties,
// slow cross-service debugging, costs growing 25% a month, three teams on one
// cluster, users in one region and an HA setup still being built.
func webshop() Snapshot {
	s := Snapshot{}
	set := func(v float64, names ...string) {
		for _, n := range names {
			s[n] = KnownValue(v, "test")
		}
	}
	set(8, "microservices")
	set(14, "developers")
	set(3, "tenants")
	set(3, "nodes")
	set(12, "rbac_human_subjects")
	set(1, "user_regions")
	set(24, "dr_rto_hours")
	set(0.3, "replicated_workload_ratio")
	set(0.1, "pdb_workload_ratio")
	set(0.6, "probed_workload_ratio")
	set(0.8, "networkpolicy_namespace_ratio")
	set(0.5, "pod_security_namespace_ratio")
	set(0.7, "limited_container_ratio")
	set(0.9, "stateless_workload_ratio")
	set(0, "privileged_containers")
	set(2*3600, "incident_mttr_seconds", "debugging_per_incident")
	set(6, "critical_incidents")
	set(2, "critical_alerts_per_day")
	set(0.25, "cost_growth_ratio")
	set(0.3, "idle_cpu_ratio")
	set(0.05, "traffic_growth_ratio")
	set(3, "alerting_rules_without_severity")
	set(0, "slo_recording_rules")
	set(0.3, "paging_alert_share")
	set(1, "prometheus_reachable", "loki_reachable",
		"compliance_required", "budget_concern", "network_policies_sufficient", "production_environment",
		"priority1_stable", "platform_team_capacity", "team_kubernetes_experience", "security_team")
	set(0, "ha_tested", "fixed_costs", "manual_review_works", "mtls_required", "data_residency_required",
		"database_multi_region_ready")
	for _, tool := range []string{"cilium", "prometheus", "loki", "grafana", "velero", "argocd"} {
		set(1, ToolSignalPrefix+tool)
	}
	r, _ := Default()
	for _, t := range r.Tools {
		if _, ok := s[t.SignalName()]; !ok {
			set(0, t.SignalName())
		}
	}
	return s
}

// The framework closes with the webshop case: probably yes for distributed
// tracing, cost visibility and policy enforcement; probably not now for
// service mesh, multi-region and chaos engineering. The default rules must
// reach the same answers from the same facts.
func TestDefaultRulesOnTheWebshopCase(t *testing.T) {
	r, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	ev := Evaluate(r, webshop(), time.Unix(0, 0))
	want := map[string][]State{
		"distributed_tracing": {StateNow},
		"cost_visibility":     {StateNow},
		"policy_enforcement":  {StateNow},
		"service_mesh":        {StateSkip, StateLater},
		"multi_region":        {StateSkip, StateLater},
		"chaos_engineering":   {StateLater},
	}
	for id, states := range want {
		d := ev.Decision(id)
		if d == nil {
			t.Fatalf("no decision for %s", id)
		}
		ok := false
		for _, s := range states {
			ok = ok || d.State == s
		}
		if !ok {
			t.Errorf("%s = %s (decided by %s, unknown %v), want one of %v", id, d.State, d.DecidedBy, d.UnknownSignals, states)
		}
	}
	// One at a time: the lowest complexity of the three nows.
	if ev.Recommended != "cost_visibility" {
		t.Errorf("recommended next = %q, want cost_visibility (complexity low)", ev.Recommended)
	}
	for _, d := range ev.Decisions {
		if d.State == StateUnknown {
			continue
		}
		for _, c := range d.Conditions {
			if c.Says == "" {
				t.Errorf("%s: condition %q has no framework words to show as its reason", d.Capability, c.Expr)
			}
		}
	}
}

// Every capability id of the framework is in the default rules, in order.
func TestDefaultRulesCoverTheFramework(t *testing.T) {
	r, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"service_mesh", "distributed_tracing", "chaos_engineering", "policy_enforcement",
		"cost_visibility", "multi_region", "observability", "security_auditing"}
	if len(r.Capabilities) != len(want) {
		t.Fatalf("%d capabilities, want %d", len(r.Capabilities), len(want))
	}
	for i, c := range r.Capabilities {
		if c.ID != want[i] {
			t.Errorf("capability %d = %s, want %s", i, c.ID, want[i])
		}
		if c.Trigger == nil || len(c.Questions) == 0 {
			t.Errorf("%s lacks a trigger or decision questions", c.ID)
		}
	}
	// The facts the config reference promises.
	facts := map[string]bool{}
	for _, f := range r.Facts() {
		facts[f.Name] = true
	}
	for _, f := range []string{"compliance_required", "security_team", "platform_team_capacity", "team_kubernetes_experience",
		"mtls_required", "dr_rto_hours", "user_regions", "data_residency_required", "trace_storage_budget",
		"budget_concern", "fixed_costs", "manual_review_works", "database_multi_region_ready", "developers"} {
		if !facts[f] {
			t.Errorf("the default rules do not read fact %s", f)
		}
	}
}

// With nothing measured and nothing declared, no capability may be decided:
// unknown is never read as false.
func TestDefaultRulesWithNothingKnown(t *testing.T) {
	r, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range Evaluate(r, Snapshot{}, time.Unix(0, 0)).Decisions {
		if d.State != StateUnknown || len(d.UnknownSignals) == 0 {
			t.Errorf("%s = %s with no signals (unknown: %v)", d.Capability, d.State, d.UnknownSignals)
		}
	}
}
