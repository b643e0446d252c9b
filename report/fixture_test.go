package report

import (
	"testing"
	"time"

	"github.com/capability-exporter/capability_exporter/collector"
	"github.com/capability-exporter/capability_exporter/config"
	"github.com/capability-exporter/capability_exporter/triggers"
)

var (
	evaluatedAt = time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	generatedAt = evaluatedAt.Add(3*time.Minute + 12*time.Second)
)

// Every secret in testdata/config.yml. None may appear in any output.
var configSecrets = []string{"url-pass-1234", "query-token-5678", "basic-pass-9012", "tenant-webshop-3456",
	"bearer-token-7890", "custom-header-secret-2468", "team-value-1357"}

// The errors a real run against testdata/config.yml might meet, with the
// secrets a careless server would echo back.
const (
	lokiError = `unreachable: Post "http://loki.example:3100/loki/api/v1/query": 401 Unauthorized for tenant ` +
		`tenant-webshop-3456 with token bearer-token-7890 and X-Custom-Auth custom-header-secret-2468`
	promError = `query: Get "https://alice:url-pass-1234@prometheus.example:9090/api/v1/rules?token=query-token-5678": ` +
		`context deadline exceeded (basic auth basic-pass-9012)`
)

// reused marks v as an answer from an earlier evaluation, as the slow
// cadence reuses a query over a day or longer.
func reused(v triggers.Value, at time.Time) triggers.Value {
	v.MeasuredAt = at
	return v
}

// fixtureState is one evaluation of testdata/rules.yml with a decision in
// every state: the evaluation is the real triggers.Evaluate on a snapshot
// the sources could have produced.
func fixtureState(t testing.TB) *collector.State {
	t.Helper()
	cfg, err := config.Load("testdata/config.yml")
	if err != nil {
		t.Fatal(err)
	}
	k := func(v float64) triggers.Value { return triggers.KnownValue(v, "kubernetes") }
	p := func(v float64) triggers.Value { return triggers.KnownValue(v, "prometheus") }
	snap := triggers.Snapshot{
		"microservices":           k(12),
		"incident_mttr":           reused(p(9000), evaluatedAt.Add(-25*time.Minute)),
		"developers":              triggers.KnownValue(8, "fact"),
		"compliance_required":     triggers.KnownValue(0, "fact"),
		"security_team":           triggers.KnownValue(0, "fact"),
		"tenants":                 k(3),
		"replicated_ratio":        k(0.35),
		"alerting_rules":          p(35),
		"alerts_without_severity": p(3),
		// As the scheduler gives it: a source that is down is named, its
		// fault said once under the source.
		"regions_with_users": triggers.UnknownValue(triggers.CodeNotConfigured, "no alternative known: not declared under facts:; loki is down", "first_known"),
		"prometheus_up":      p(1),
		"loki_up":            triggers.KnownValue(0, "loki"),
		"tool.jaeger":        k(0),
		"tool.tempo":         k(0),
		"tool.linkerd":       k(0),
		"tool.kyverno":       k(0),
		"tool.opencost":      k(1),
		"tool.chaos_mesh":    k(0),
		"tool.velero":        k(0),
	}
	ev := triggers.Evaluate(cfg.Rules, snap, evaluatedAt)
	lastChange := map[string]time.Time{}
	for _, d := range ev.Decisions {
		lastChange[d.Capability] = evaluatedAt.Add(-72 * time.Hour)
	}
	lastChange["distributed_tracing"] = evaluatedAt.Add(-26 * time.Hour)
	return &collector.State{
		Config:     cfg,
		Evaluation: ev,
		Sources: []collector.SourceStatus{
			{Name: "fact", Configured: true, Up: true, Signals: 5},
			{Name: "kubernetes", Configured: true, Up: true, Duration: 840 * time.Millisecond, Signals: 12},
			{Name: "loki", Configured: true, Up: false, Duration: 2 * time.Second, Signals: 2, Errors: []string{lokiError}},
			{Name: "prometheus", Configured: true, Up: true, Duration: 310 * time.Millisecond, Signals: 4, Errors: []string{promError}},
		},
		Duration:   2*time.Second + 40*time.Millisecond,
		LastChange: lastChange,
	}
}
