package report

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/capability-exporter/capability_exporter/collector"
	"github.com/capability-exporter/capability_exporter/impact"
	"github.com/capability-exporter/capability_exporter/triggers"
)

// impactState is the fixture with tracing's impact since Jaeger was
// adopted 30 days ago, and cost visibility's exit question.
func impactState(t *testing.T) *collector.State {
	t.Helper()
	st := fixtureState(t)
	adopted := evaluatedAt.Add(-40 * 24 * time.Hour)
	st.Impact = []impact.Result{{
		Capability: "distributed_tracing", Adopted: impact.Adoption{Time: adopted, From: impact.FromKubernetes},
		Tools: []string{"Jaeger"}, Window: (30 * 24 * time.Hour).Seconds(), MeasuredAt: evaluatedAt,
		Signals: []impact.Signal{{Signal: "incident_mttr", Type: triggers.TypeDuration, Better: triggers.BetterLower,
			Before: impact.Value{Known: true, Number: 9000}, After: impact.Value{Known: true, Number: 2400},
			Ratio: 2400.0 / 9000, RatioKnown: true, Change: 2400.0/9000 - 1, Improved: true}},
	}, {
		Capability: "cost_visibility", Adopted: impact.Adoption{Time: evaluatedAt.Add(-61 * 24 * time.Hour), From: impact.FromDeclared},
		Tools: []string{"OpenCost"}, Window: (30 * 24 * time.Hour).Seconds(), MeasuredAt: evaluatedAt,
		Signals: []impact.Signal{{Signal: "cost_growth", Type: triggers.TypeRatio, Better: triggers.BetterLower,
			Before: impact.Value{Known: true, Number: 0.05}, After: impact.Value{Reason: "the data does not reach back", Code: triggers.CodeTooYoung}}},
		ExitQuestion: "No impact signal of Cost Visibility improved. The framework's exit question: can we go back if it does not work?",
		Exit:         []impact.ExitPath{{Tool: "opencost", Title: "OpenCost", Exit: "Uninstall OpenCost"}},
		Options:      impact.Options{MinWindow: 14 * 24 * time.Hour, Judging: 90 * 24 * time.Hour, Margin: 0.25},
	}}
	return st
}

func TestImpactOnPageJSONAndMarkdown(t *testing.T) {
	st := impactState(t)
	h := Handlers{Current: func() *collector.State { return st }, MetricsPath: "/metrics", Now: func() time.Time { return evaluatedAt }}
	rec := httptest.NewRecorder()
	h.JSON().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/api/v1/evaluation", nil))
	var rep Report
	if err := json.Unmarshal(rec.Body.Bytes(), &rep); err != nil {
		t.Fatal(err)
	}
	var tracing, cost *Impact
	for _, c := range rep.Capabilities {
		switch c.ID {
		case "distributed_tracing":
			tracing = c.Impact
		case "cost_visibility":
			cost = c.Impact
		}
	}
	if cost == nil || len(cost.Signals) != 1 {
		t.Fatalf("cost impact = %+v", cost)
	}
	if s := cost.Signals[0]; s.BeforeReasonCode != nil || s.AfterReasonCode == nil || *s.AfterReasonCode != triggers.CodeTooYoung {
		t.Errorf("cost impact signal codes = %v, %v: want null before, too_young after", s.BeforeReasonCode, s.AfterReasonCode)
	}
	if tracing == nil || len(tracing.Signals) != 1 {
		t.Fatalf("tracing impact = %+v", tracing)
	}
	s := tracing.Signals[0]
	wantText := "incident_mttr 2h30m in the 30 days before Jaeger, 40m since: -73% (improved)"
	if *s.Before != 9000 || *s.After != 2400 || s.Text != wantText || !s.Improved || *tracing.AdoptedAt != evaluatedAt.Add(-40*24*time.Hour).UTC() {
		t.Errorf("tracing impact signal = %+v", s)
	}

	rec = httptest.NewRecorder()
	h.Page().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	page := rec.Body.String()
	var b strings.Builder
	if err := WriteMarkdown(&b, Build(st, Options{Now: evaluatedAt})); err != nil {
		t.Fatal(err)
	}
	for name, out := range map[string]string{"page": page, "markdown": b.String()} {
		for _, want := range []string{"Impact since adoption", "40m since: -73% (improved)", "Exit question", "can we go back if it does not work?",
			"OpenCost: Uninstall OpenCost", "since: the data does not reach back",
			"Improved means moved the wanted way by 25% or more; the exit question comes 90 days after adoption where none did."} {
			if !strings.Contains(out, want) {
				t.Errorf("%s lacks %q", name, want)
			}
		}
	}
}
