package triggers

import (
	"testing"
	"time"
)

// "Team has no time for service instrumentation" says the team is not
// ready, not that tracing is not needed: with debugging at 2h an incident
// the need stands and the gate holds tracing back (later), as the mesh's
// "no capacity" does.
func TestNoInstrumentationTimeHoldsTracingBack(t *testing.T) {
	r := mustDefault(t)
	snap := webshopWith(Snapshot{
		"instrumentation_capacity": known(0),
		"debugging_per_incident":   known((2 * time.Hour).Seconds()),
		"logs_metrics_sufficient":  known(0),
	})
	d, _ := Decide(r, "distributed_tracing", snap)
	if d.State != StateLater || d.DecidedBy != KindGate {
		t.Errorf("tracing = %s by %s, want later by the gate", d.State, d.DecidedBy)
	}
	if d.Need != NeedYes && d.Need != NeedProbably {
		t.Errorf("tracing need = %s, want the need to stand (yes or probably)", d.Need)
	}
}

// "You want per-service security (mTLS without code changes)" is a want,
// which "Network policies (L3/L4) are sufficient for your security model"
// answers; "You require security compliance (mTLS everywhere)" is an
// obligation no NOT bullet argues away.
func TestMTLSWantedIsAnsweredRequiredIsNot(t *testing.T) {
	r := mustDefault(t)
	base := Snapshot{
		"microservices":                      known(4),
		"network_policies_sufficient":        known(1),
		"complex_service_communication":      known(0),
		"service_metrics_sufficient":         known(1),
		"canary_or_traffic_splitting_needed": known(0),
		"service_dependencies_unknown":       known(0),
		"mtls_required":                      known(0),
	}
	wanted := webshopWith(base)
	wanted["mtls_wanted"] = known(1)
	d, _ := Decide(r, "service_mesh", wanted)
	if d.Need != NeedNo || d.DecidedBy == KindMust {
		t.Errorf("mTLS wanted, network policies sufficient: %s need %s by %s, want need no (the want answered)", d.State, d.Need, d.DecidedBy)
	}
	wanted["network_policies_sufficient"] = known(0)
	d, _ = Decide(r, "service_mesh", wanted)
	if d.Need != NeedYes || d.DecidedBy == KindMust {
		t.Errorf("mTLS wanted, network policies not sufficient: %s need %s by %s, want need yes, not by must", d.State, d.Need, d.DecidedBy)
	}
	required := webshopWith(base)
	required["mtls_required"] = known(1)
	d, _ = Decide(r, "service_mesh", required)
	if d.Need != NeedYes || d.DecidedBy != KindMust {
		t.Errorf("mTLS required, network policies sufficient: %s need %s by %s, want need yes by must", d.State, d.Need, d.DecidedBy)
	}
}

// "You > 10 developers have die niet allemaal K8s-experts are": the count
// and who they are. Twelve developers who are all Kubernetes experts, with
// no compliance, misconfiguration or audit trail, do not trigger policy
// enforcement on their number.
func TestManyDevelopersWhoAreAllExpertsDoNotTriggerPolicy(t *testing.T) {
	r := mustDefault(t)
	snap := webshopWith(Snapshot{"developers": known(12), "developers_all_kubernetes_experts": known(1),
		"compliance_required": known(0), "security_incidents_from_misconfig": known(0), "audit_trail_required": known(0),
		"privileged_containers": known(0)})
	if d, _ := Decide(r, "policy_enforcement", snap); d.Need != NeedNo {
		t.Errorf("12 developers, all experts: %s need %s by %s, want need no", d.State, d.Need, d.DecidedBy)
	}
	snap["developers_all_kubernetes_experts"] = known(0)
	if d, _ := Decide(r, "policy_enforcement", snap); d.Need != NeedYes {
		t.Errorf("12 developers, not all experts: %s need %s by %s, want need yes", d.State, d.Need, d.DecidedBy)
	}
}

// mustDefault parses the embedded default rules, failing the test on an error.
func mustDefault(t *testing.T) *Rules {
	t.Helper()
	r, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	return r
}
