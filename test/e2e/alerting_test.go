//go:build e2e

package e2e

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"
)

// A capability turned now reaches the team through the real path: the
// exporter's decision, Prometheus evaluating deploy/rules, Alertmanager, a
// webhook. The notification names the capability and why; driving the facts
// back resolves it. A failed reload and a dead exporter alert the same way,
// and nothing else alerts: not the Kubernetes source, which is unconfigured,
// nor staleness.
func TestAlertsReachWebhookThroughAlertmanager(t *testing.T) {
	t.Parallel()
	s := startAlertingStack(t, factsQuiet)

	// Quiet: several times the rewritten for: passes with nothing pending or
	// firing, though the Kubernetes source reads source_up 0 (unconfigured).
	if got := s.Query(t, `capability_exporter_source_up{source="kubernetes"}`); len(got) != 1 || got[0].Value != 0 {
		t.Fatalf("want the unconfigured kubernetes source at source_up 0, got %v", got)
	}
	// The rules' operands match the real series label for label, so their
	// silence is a verdict and not a mismatch: every source pairs with its
	// configured, and the age with the 2s interval.
	ups := s.Query(t, `capability_exporter_source_up`)
	if got := s.Query(t, `capability_exporter_source_up + capability_exporter_source_configured`); len(ups) < 2 || len(got) != len(ups) {
		t.Fatalf("want source_up to match source_configured for every source: %d pairs of %v", len(got), ups)
	}
	if got := s.Query(t, `capability_exporter_source_configured{source="kubernetes"} == 0`); len(got) != 1 {
		t.Fatalf("want the kubernetes source reported not configured, got %v", got)
	}
	if got := s.Query(t, `time() - capability_exporter_last_evaluation_timestamp_seconds < 3 * capability_exporter_evaluation_interval_seconds`); len(got) != 1 {
		t.Fatalf("want the evaluation age to match the exported interval and be under three of it, got %v", got)
	}
	if got := s.Query(t, `capability_exporter_evaluation_interval_seconds`); len(got) != 1 || got[0].Value != 2 {
		t.Fatalf("want capability_exporter_evaluation_interval_seconds 2 (--evaluation.interval=2s), got %v", got)
	}
	// Nothing pending or firing on any evaluation until every alerting rule
	// has been evaluated past the rewritten for: since now: what was not
	// pending by then is not about to fire. Evaluations, not a sleep, say
	// when that is, so a stalled rule evaluation fails instead of passing.
	// Prometheus evaluates rules before its first scrape of the exporter,
	// and with for: rewritten to 2s CapabilityExporterAbsent can fire for
	// that moment; the quiet starts once that has cleared.
	waitFor(t, 30*time.Second, "startup alerts to clear", func() bool { return len(s.ActiveAlerts(t)) == 0 })
	quietSince := time.Now()
	waitFor(t, 30*time.Second, "every alerting rule evaluated past for: with nothing active", func() bool {
		if active := s.ActiveAlerts(t); len(active) > 0 {
			t.Fatalf("alerts active with nothing wrong: %v", active)
		}
		return s.RulesEvaluatedAfter(t, quietSince.Add(stackFor+time.Second))
	})
	if active := s.ActiveAlerts(t); len(active) > 0 {
		t.Fatalf("alerts active with nothing wrong: %v", active)
	}
	// Prometheus runs the rewritten copy of every rule, and each evaluates
	// without error against the exporter's real series.
	rules, err := s.prom.Rules(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	loaded := 0
	for _, g := range rules.Groups {
		for _, r := range g.Rules {
			a, ok := r.(promv1.AlertingRule)
			if !ok {
				continue
			}
			loaded++
			if a.Duration != stackFor.Seconds() || a.Health != promv1.RuleHealthGood {
				t.Errorf("rule %s: for %gs, health %q %s; want the rewritten for and health ok", a.Name, a.Duration, a.Health, a.LastError)
			}
		}
	}
	if loaded != s.alertRules {
		t.Errorf("Prometheus loaded %d alerting rules, deploy/rules has %d", loaded, s.alertRules)
	}

	// Drive distributed_tracing to now.
	s.WriteFacts(t, factsNow)
	if code := s.Reload(t); code != http.StatusOK {
		t.Fatalf("reload: HTTP %d", code)
	}
	drove := time.Now()
	now := s.hook.Wait(t, 30*time.Second, drove, "CapabilityDecisionNow firing", func(a notifiedAlert) bool {
		return a.Status == "firing" && a.Labels["alertname"] == "CapabilityDecisionNow"
	})
	t.Logf("CapabilityDecisionNow notified %s after the reload: %s", now.Received.Sub(drove).Round(time.Millisecond), now.Annotations["description"])
	wantLabels := map[string]string{"capability": "distributed_tracing", "state": "now", "severity": "warning",
		"cluster": "e2e", "job": "capability_exporter"}
	for k, v := range wantLabels {
		if now.Labels[k] != v {
			t.Errorf("CapabilityDecisionNow label %s = %q, want %q (labels %v)", k, now.Labels[k], v, now.Labels)
		}
	}
	for _, want := range []string{"distributed_tracing", "Distributed Tracing", "trigger: incident_debugging > 1h (now 10800)",
		"trigger: microservices > 5 (now 12)", "now: incident_debugging > 1h", "It is the recommended next step."} {
		if !strings.Contains(now.Annotations["description"], want) {
			t.Errorf("CapabilityDecisionNow description lacks %q:\n%s", want, now.Annotations["description"])
		}
	}
	if !strings.Contains(now.Annotations["summary"], "distributed_tracing") {
		t.Errorf("CapabilityDecisionNow summary does not name the capability: %q", now.Annotations["summary"])
	}
	trig := s.hook.Wait(t, 10*time.Second, drove, "CapabilityTriggerFired firing", func(a notifiedAlert) bool {
		return a.Status == "firing" && a.Labels["alertname"] == "CapabilityTriggerFired"
	})
	if trig.Labels["capability"] != "distributed_tracing" || trig.Labels["severity"] != "info" {
		t.Errorf("CapabilityTriggerFired labels %v, want capability distributed_tracing, severity info", trig.Labels)
	}
	if d := trig.Annotations["description"]; !strings.Contains(d, "incident_debugging > 1h") || !strings.Contains(d, "microservices > 5") {
		t.Errorf("CapabilityTriggerFired description lacks the trigger conditions:\n%s", d)
	}
	if pend := now.Received.Sub(drove); pend < stackFor {
		t.Errorf("notified %s after the decision changed, before for: %s passed", pend, stackFor)
	}

	// Drive it back: both resolve once keep_firing_for has passed. Until
	// then Prometheus holds CapabilityDecisionNow firing though its
	// expression no longer holds; without keep_firing_for that lasts at most
	// one rule evaluation (1s).
	s.WriteFacts(t, factsQuiet)
	if code := s.Reload(t); code != http.StatusOK {
		t.Fatalf("reload: HTTP %d", code)
	}
	back := time.Now()
	const held = `ALERTS{alertname="CapabilityDecisionNow",alertstate="firing",capability="distributed_tracing"}
		unless on (capability) (capability_decision{state="now"} == 1)`
	for _, name := range []string{"CapabilityDecisionNow", "CapabilityTriggerFired"} {
		r := s.hook.Wait(t, 30*time.Second, back, name+" resolved", func(a notifiedAlert) bool {
			return a.Status == "resolved" && a.Labels["alertname"] == name && a.Labels["capability"] == "distributed_tracing"
		})
		t.Logf("%s resolved %s after the reload", name, r.Received.Sub(back).Round(time.Millisecond))
		if after := r.Received.Sub(back); after < stackKeepFiringFor {
			t.Errorf("%s resolved %s after the decision changed back, before keep_firing_for: %s passed", name, after, stackKeepFiringFor)
		}
	}
	// How long the alert stayed firing with its expression false, read
	// from what Prometheus stored rather than polled while waiting (a poll
	// slowed by a busy machine would see less of it).
	const step = 250 * time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	v, _, err := s.prom.QueryRange(ctx, held, promv1.Range{Start: back, End: time.Now(), Step: step})
	cancel()
	if err != nil {
		t.Fatalf("query_range %s: %v", held, err)
	}
	var span time.Duration
	if m, ok := v.(model.Matrix); ok {
		for _, series := range m {
			span = max(span, time.Duration(len(series.Values))*step)
		}
	}
	if span < stackKeepFiringFor/2 {
		t.Errorf("Prometheus held CapabilityDecisionNow firing after its expression stopped holding for %s (%s), want about keep_firing_for %s", span, v, stackKeepFiringFor)
	} else {
		t.Logf("keep_firing_for: Prometheus held the alert firing %s after its expression stopped holding", span)
	}

	// A broken config: the reload fails, the old config stays, and it alerts.
	writeFile(t, s.dir, "config.yml", "rules_file: rules.yml\nfacts:\n  microservices: many\n")
	if code := s.Reload(t); code != http.StatusInternalServerError {
		t.Fatalf("reload of a broken config: HTTP %d, want 500", code)
	}
	broke := time.Now()
	s.hook.Wait(t, 30*time.Second, broke, "CapabilityExporterReloadFailed firing", func(a notifiedAlert) bool {
		return a.Status == "firing" && a.Labels["alertname"] == "CapabilityExporterReloadFailed" && a.Labels["cluster"] == "e2e"
	})
	s.WriteFacts(t, factsQuiet)
	if code := s.Reload(t); code != http.StatusOK {
		t.Fatalf("reload: HTTP %d", code)
	}
	fixed := time.Now()
	s.hook.Wait(t, 30*time.Second, fixed, "CapabilityExporterReloadFailed resolved", func(a notifiedAlert) bool {
		return a.Status == "resolved" && a.Labels["alertname"] == "CapabilityExporterReloadFailed"
	})

	// The exporter dies: its target goes down and that alerts.
	s.exporter.Stop()
	died := time.Now()
	down := s.hook.Wait(t, 30*time.Second, died, "CapabilityExporterDown firing", func(a notifiedAlert) bool {
		return a.Status == "firing" && a.Labels["alertname"] == "CapabilityExporterDown"
	})
	if down.Labels["severity"] != "warning" || !strings.Contains(down.Annotations["summary"], strings.TrimPrefix(s.exporter.URL, "http://")) {
		t.Errorf("CapabilityExporterDown: labels %v, summary %q", down.Labels, down.Annotations["summary"])
	}

	want := []string{"CapabilityDecisionChanged", "CapabilityDecisionNow", "CapabilityExporterDown", "CapabilityExporterReloadFailed", "CapabilityNeeded", "CapabilityTriggerFired"}
	var got []string
	for name := range s.hook.Names() {
		got = append(got, name)
	}
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("alerts notified: %v, want exactly %v; all: %s", got, want, s.hook.Summary())
	}
	for _, a := range s.hook.All() {
		if a.Labels["severity"] == "critical" {
			t.Errorf("%s notified as critical: these are planning signals and exporter health, not pages", a.Labels["alertname"])
		}
	}
}
