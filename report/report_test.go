package report

import (
	"bytes"
	"encoding/json"
	"html"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/capability-exporter/capability_exporter/collector"
	"github.com/capability-exporter/capability_exporter/triggers"
)

func fixtureReport(t testing.TB) *Report {
	return Build(fixtureState(t), Options{Now: generatedAt, Version: "0.0.0-test"})
}

func TestGoldenJSON(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteJSON(&buf, fixtureReport(t)); err != nil {
		t.Fatal(err)
	}
	goldenDir(t, "evaluation", splitEvaluation(t, buf.Bytes()))
}

func TestGoldenMarkdown(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteMarkdown(&buf, fixtureReport(t)); err != nil {
		t.Fatal(err)
	}
	golden(t, "report.md", buf.Bytes())
}

// The fixture is only worth its golden files if it shows every state.
func TestFixtureCoversEveryState(t *testing.T) {
	r := fixtureReport(t)
	got := map[string]string{}
	for _, c := range r.Capabilities {
		got[c.ID] = c.Decision
	}
	want := map[string]string{"service_mesh": "now", "distributed_tracing": "now", "chaos_engineering": "later",
		"policy_enforcement": "skip", "cost_visibility": "adopted", "multi_region": "unknown",
		"observability": "consider", "security_auditing": "not_triggered"}
	for id, state := range want {
		if got[id] != state {
			t.Errorf("%s = %q, want %q", id, got[id], state)
		}
	}
	if r.RecommendedNext == nil || *r.RecommendedNext != "distributed_tracing" {
		t.Errorf("recommended_next = %v, want distributed_tracing (the lower complexity of two now)", r.RecommendedNext)
	}
}

// The JSON contract: timestamps are RFC 3339, values are numbers, and every
// unknown is null with a non-empty reason beside it (and only then).
func TestJSONUnknownIsNullWithReason(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteJSON(&buf, fixtureReport(t)); err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	for _, field := range []string{"generated_at", "evaluated_at"} {
		if _, err := time.Parse(time.RFC3339, doc[field].(string)); err != nil {
			t.Errorf("%s: %v", field, err)
		}
	}
	checkValue := func(where string, m map[string]any, valueKey string) {
		v, reason := m[valueKey], m["reason"]
		switch {
		case v == nil && (reason == nil || reason == ""):
			t.Errorf("%s: %s is null without a reason", where, valueKey)
		case v != nil && reason != nil:
			t.Errorf("%s: %s is %v but has a reason %q", where, valueKey, v, reason)
		}
		if _, isNum := v.(float64); v != nil && !isNum && valueKey == "value" {
			t.Errorf("%s: value %v is a %T, want a number", where, v, v)
		}
		code, _ := m["reason_code"].(string)
		switch {
		case v == nil && !slices.Contains(triggers.ReasonCodes(), triggers.ReasonCode(code)):
			t.Errorf("%s: %s is null with reason_code %v, want one of the codes", where, valueKey, m["reason_code"])
		case v != nil && m["reason_code"] != nil:
			t.Errorf("%s: %s is %v but has a reason_code %v", where, valueKey, v, m["reason_code"])
		}
	}
	unknowns := 0
	for _, s := range doc["signals"].([]any) {
		m := s.(map[string]any)
		checkValue("signal "+m["name"].(string), m, "value")
		if m["value"] == nil {
			unknowns++
		}
	}
	for _, f := range doc["foundations"].([]any) {
		m := f.(map[string]any)
		checkValue("foundation "+m["id"].(string), m, "present")
	}
	for _, c := range doc["capabilities"].([]any) {
		cm := c.(map[string]any)
		for _, u := range cm["unknown_signals"].([]any) {
			m := u.(map[string]any)
			if code, _ := m["reason_code"].(string); !slices.Contains(triggers.ReasonCodes(), triggers.ReasonCode(code)) {
				t.Errorf("%s: unknown signal %s has reason_code %v, want one of the codes", cm["id"], m["signal"], m["reason_code"])
			}
		}
		for _, cond := range cm["conditions"].([]any) {
			m := cond.(map[string]any)
			checkValue(cm["id"].(string)+" "+m["expr"].(string), m, "value")
			if (m["holds"] == nil) != (m["value"] == nil) {
				t.Errorf("%s %s: holds %v with value %v", cm["id"], m["expr"], m["holds"], m["value"])
			}
		}
		for _, tool := range cm["tools"].([]any) {
			checkValue(cm["id"].(string)+" tool", tool.(map[string]any), "detected")
		}
	}
	if unknowns == 0 {
		t.Error("the fixture has no unknown signal; the check above proved nothing")
	}
}

// Secrets of every kind the config accepts stay out of the page, the JSON
// and the Markdown, even when a server echoes them in an error.
func TestNoSecretInAnyOutput(t *testing.T) {
	st := fixtureState(t)
	h := Handlers{Current: func() *collector.State { return st }, MetricsPath: "/metrics", Version: "test",
		Now: func() time.Time { return generatedAt }}
	outputs := map[string]string{}
	for name, handler := range map[string]http.Handler{"page": h.Page(), "json": h.JSON()} {
		rec := httptest.NewRecorder()
		handler.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, map[string]string{"page": "/", "json": APIPath}[name], nil))
		if rec.Code != http.StatusOK {
			t.Fatalf("%s: status %d", name, rec.Code)
		}
		outputs[name] = rec.Body.String()
	}
	var md bytes.Buffer
	if err := WriteMarkdown(&md, Build(st, Options{Now: generatedAt})); err != nil {
		t.Fatal(err)
	}
	outputs["markdown"] = md.String()
	for name, out := range outputs {
		for _, secret := range configSecrets {
			if strings.Contains(out, secret) {
				t.Errorf("%s contains the secret %q", name, secret)
			}
		}
		// What may be shown is shown: the redacted endpoints and the header names.
		for _, want := range []string{"prometheus.example:9090", "<secret>", "X-Scope-OrgID", "X-Custom-Auth", "X-Team", "basic auth"} {
			if name == "page" {
				want = html.EscapeString(want)
			}
			if !strings.Contains(out, want) {
				t.Errorf("%s lacks %q", name, want)
			}
		}
		// One redaction marker everywhere.
		if strings.Contains(out, "xxxxx") {
			t.Errorf("%s hides a secret as xxxxx, not <secret>", name)
		}
	}
	if !strings.Contains(outputs["json"], "401 Unauthorized for tenant <secret>") {
		t.Error("the scrubbed Loki error is missing from the JSON; the scrubber may have dropped the whole text")
	}
}

func TestHumanUnits(t *testing.T) {
	for _, tc := range []struct {
		typ  triggers.ValueType
		v    float64
		want string
	}{
		{triggers.TypeDuration, 3600, "1h"},
		{triggers.TypeDuration, 9000, "2h30m"},
		{triggers.TypeDuration, 5423.7, "1h30m24s"},
		{triggers.TypeDuration, 0.25, "250ms"},
		{triggers.TypeDuration, 0, "0s"},
		{triggers.TypeDuration, 30 * 86400, "30d"},
		{triggers.TypeRatio, 0.2, "20%"},
		{triggers.TypeRatio, 0.04219, "4.2%"},
		{triggers.TypeRatio, 1, "100%"},
		{triggers.TypeBool, 1, "yes"},
		{triggers.TypeBool, 0, "no"},
		{triggers.TypeNumber, 12, "12"},
		{triggers.TypeNumber, 2.0 / 3, "0.67"},
		{triggers.TypeNumber, -0.001, "0"},
	} {
		if got := Human(tc.typ, tc.v); got != tc.want {
			t.Errorf("Human(%s, %v) = %q, want %q", tc.typ, tc.v, got, tc.want)
		}
	}
}

// A value reused from an earlier evaluation says when it was measured and
// how old it is, in the JSON, on the page and in the Markdown; a value of
// this evaluation has null for both.
func TestReusedValuesSayWhenMeasured(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteJSON(&buf, fixtureReport(t)); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Signals []map[string]any `json:"signals"`
	}
	if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	for _, s := range doc.Signals {
		at, age := s["measured_at"], s["age_seconds"]
		if _, ok := s["measured_at"]; !ok {
			t.Fatalf("signal %s has no measured_at field", s["name"])
		}
		if s["name"] == "incident_mttr" {
			if at != "2026-11-25T09:35:00Z" || age != float64(28*60+12) {
				t.Errorf("incident_mttr measured_at %v, age_seconds %v; want 2026-11-25T09:35:00Z, 1692", at, age)
			}
			if s["source"] != "prometheus" {
				t.Errorf("incident_mttr source %q, want the plain source kind", s["source"])
			}
			continue
		}
		if at != nil || age != nil {
			t.Errorf("signal %s of this evaluation: measured_at %v, age_seconds %v, want null", s["name"], at, age)
		}
	}
	st := fixtureState(t)
	h := Handlers{Current: func() *collector.State { return st }, MetricsPath: "/metrics", Now: func() time.Time { return generatedAt }}
	page := get(h.Page(), "/").Body.String()
	row := page[strings.Index(page, `<tr data-signal="incident_mttr">`):]
	row = row[:strings.Index(row, "</tr>")]
	if !strings.Contains(row, "measured 28m12s ago") || !strings.Contains(row, "2026-11-25T09:35:00Z") {
		t.Errorf("the page's incident_mttr row does not say when it was measured: %s", row)
	}
	fresh := page[strings.Index(page, `<tr data-signal="microservices">`):]
	if fresh = fresh[:strings.Index(fresh, "</tr>")]; strings.Contains(fresh, `class="measured"`) {
		t.Errorf("the page gives a value of this evaluation an age: %s", fresh)
	}
}
