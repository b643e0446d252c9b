//go:build e2e

package e2e

import (
	"fmt"
	"math"
	"net/http"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/capability-exporter/capability_exporter/triggers"
)

// TestPrometheusOutage runs the exporter binary against the real Prometheus
// holding the webshop's history and takes Prometheus away twice: stopped
// (connection refused) and frozen with SIGSTOP (answers nothing, so every
// query runs into its deadline). Each time exactly the Prometheus signals
// turn unknown, source_up{source="prometheus"} goes 0 and the errors are
// counted by reason, while the exporter keeps serving and Loki and the facts
// stay known. When Prometheus returns on the same port and data, every
// signal comes back with the value it had.
func TestPrometheusOutage(t *testing.T) {
	env := newWebshopEnv(t)
	rulesFile := filepath.Join(env.dir, "rules.yml")
	rules, err := triggers.Load(rulesFile)
	if err != nil {
		t.Fatal(err)
	}
	fromPrometheus := map[string]bool{}
	for _, s := range rules.Signals {
		only := true
		for _, alt := range s.Source.Alternatives() {
			only = only && alt.Kind() == "prometheus"
		}
		fromPrometheus[s.Name] = only
	}
	env.promTimeout = 2 * time.Second // a frozen server costs 2s a query
	cfg := env.config(t, rulesFile, "microservices: 6")

	// Every evaluation is published at once: this test follows what an
	// outage does to the decisions, not the hold that rides one out.
	ex := startExporter(t, cfg, "--evaluation.interval=1s", "--evaluation.timeout=30s", "--decision.hold=1")
	healthy := waitScrape(t, ex, 30*time.Second, "both sources up", func(s metricsScrape) bool {
		return s.sourceUp("prometheus") == 1 && s.sourceUp("loki") == 1
	})
	before := map[string]float64{}
	knownBefore := map[string]bool{}
	for _, s := range rules.Signals {
		knownBefore[s.Name] = healthy.known(s.Name)
		before[s.Name] = healthy.signal(s.Name)
	}
	for _, name := range []string{"incidents", "incident_mttr", "cost_growth", "traffic_growth", "slo_rules", "prometheus_reachable", "developers", "microservices"} {
		if !knownBefore[name] {
			t.Fatalf("%s unknown while every server is up", name)
		}
	}
	logCycle(t, "healthy", healthy)
	decisionsBefore := map[string]string{}
	for _, c := range rules.Capabilities {
		decisionsBefore[c.ID] = healthy.decision(c.ID)
	}

	expectOutage := func(s metricsScrape, reason string) {
		t.Helper()
		for _, sig := range rules.Signals {
			switch known := s.known(sig.Name); {
			case fromPrometheus[sig.Name] && known:
				t.Errorf("%s still known with Prometheus gone", sig.Name)
			case !fromPrometheus[sig.Name] && known != knownBefore[sig.Name]:
				t.Errorf("%s known=%v, was %v: not a Prometheus signal, it must not change", sig.Name, known, knownBefore[sig.Name])
			case !fromPrometheus[sig.Name] && known && s.signal(sig.Name) != before[sig.Name]:
				t.Errorf("%s = %v, was %v", sig.Name, s.signal(sig.Name), before[sig.Name])
			}
		}
		if s.sourceUp("loki") != 1 || s.sourceUp("fact") != 1 {
			t.Errorf("loki up %v, fact up %v: they must not notice", s.sourceUp("loki"), s.sourceUp("fact"))
		}
		if n := s.errors("prometheus", reason); n < 1 {
			t.Errorf("capability_exporter_source_errors_total{source=\"prometheus\",reason=%q} = %v", reason, n)
		}
		if d := s.decision("cost_visibility"); d != "unknown" {
			t.Errorf("cost_visibility = %s, want unknown: its only signal comes from Prometheus", d)
		}
		if d := s.decision("policy_enforcement"); d != decisionsBefore["policy_enforcement"] {
			t.Errorf("policy_enforcement = %s, was %s: Loki answers it", d, decisionsBefore["policy_enforcement"])
		}
		for _, path := range []string{"/-/healthy", "/-/ready"} {
			if resp, err := testClient.Get(ex.URL + path); err != nil || resp.StatusCode != http.StatusOK {
				t.Errorf("GET %s during the outage: %v %v", path, resp, err)
			}
		}
	}
	expectRecovered := func(s metricsScrape) {
		t.Helper()
		for _, sig := range rules.Signals {
			if s.known(sig.Name) != knownBefore[sig.Name] {
				t.Errorf("%s known=%v after recovery, was %v", sig.Name, s.known(sig.Name), knownBefore[sig.Name])
			} else if v := s.signal(sig.Name); knownBefore[sig.Name] && math.Abs(v-before[sig.Name]) > 1e-6*math.Max(1, math.Abs(v)) {
				t.Errorf("%s = %v after recovery, was %v", sig.Name, v, before[sig.Name])
			}
		}
		for id, d := range decisionsBefore {
			if got := s.decision(id); got != d {
				t.Errorf("%s = %s after recovery, was %s", id, got, d)
			}
		}
	}

	// Stopped: connection refused.
	env.prom.Stop()
	waitScrape(t, ex, 30*time.Second, "prometheus down", func(s metricsScrape) bool { return s.sourceUp("prometheus") == 0 })
	down := scrapeExporter(t, ex) // a whole evaluation after the change
	expectOutage(down, "unreachable")
	logCycle(t, "stopped", down)

	env.prom.Start(t)
	back := waitScrape(t, ex, 30*time.Second, "prometheus back", func(s metricsScrape) bool {
		return s.sourceUp("prometheus") == 1 && s.known("incident_mttr")
	})
	expectRecovered(back)

	// Frozen: the port accepts connections, nothing answers.
	// The server's Stop resumes it before ending it, should the test fail
	// while it is paused.
	env.prom.Signal(t, syscall.SIGSTOP)
	t0 := time.Now()
	stuck := waitScrape(t, ex, 60*time.Second, "prometheus timing out", func(s metricsScrape) bool { return s.sourceUp("prometheus") == 0 })
	expectOutage(stuck, "timeout")
	logCycle(t, fmt.Sprintf("frozen (noticed after %s)", time.Since(t0).Round(time.Second)), stuck)

	env.prom.Signal(t, syscall.SIGCONT)
	thawed := waitScrape(t, ex, 60*time.Second, "prometheus answering again", func(s metricsScrape) bool {
		return s.sourceUp("prometheus") == 1 && s.known("incident_mttr")
	})
	expectRecovered(thawed)
}

func logCycle(t *testing.T, when string, s metricsScrape) {
	t.Helper()
	eval, _ := s.value("capability_exporter_evaluation_duration_seconds", nil)
	prom, _ := s.value("capability_exporter_source_duration_seconds", map[string]string{"source": "prometheus"})
	loki, _ := s.value("capability_exporter_source_duration_seconds", map[string]string{"source": "loki"})
	t.Logf("%s: evaluation %.3fs (prometheus %.3fs, loki %.3fs)", when, eval, prom, loki)
}
