package report

import (
	"encoding/json"
	"html"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/capability-exporter/capability_exporter/collector"
)

// Each way a decision would move carries the what-if that asks it: a fact
// under facts by the fact's name, a measured signal or a tool under
// overrides, each value written as the config writes it.
func TestChangeCarriesItsWhatIf(t *testing.T) {
	r := fixtureReport(t)
	var sets []*WhatIfValues
	for _, c := range r.Capabilities {
		for _, ch := range c.WhatWouldChange {
			if ch.Set == nil {
				t.Errorf("%s → %s (%s): no what-if", c.ID, ch.To, ch.If)
				continue
			}
			if len(ch.Set.Facts)+len(ch.Set.Overrides) != len(ch.Signals) {
				t.Errorf("%s → %s: set %+v for signals %v", c.ID, ch.To, ch.Set, ch.Signals)
			}
			sets = append(sets, ch.Set)
		}
	}
	if len(sets) == 0 {
		t.Fatal("the fixture has no change")
	}

	w := &WhatIfValues{Facts: map[string]any{"compliance_required": true},
		Overrides: map[string]any{"tool.jaeger": true, "deploy_frequency_per_day": 12.0, "cost_growth": "15%"}}
	if got, want := w.AssessLine(), "capability_exporter assess --set fact.compliance_required=true --set override.cost_growth=15% --set override.deploy_frequency_per_day=12 --set override.tool.jaeger=true"; got != want {
		t.Errorf("assess line\n got: %s\nwant: %s", got, want)
	}
	curl := w.CurlLine("https://exporter:9877")
	body, _ := json.Marshal(w)
	if want := "curl -s -H 'Content-Type: application/json' -d '" + string(body) + "' https://exporter:9877/api/v1/what-if"; curl != want {
		t.Errorf("curl line\n got: %s\nwant: %s", curl, want)
	}
	if !strings.Contains(curl, `{"facts":{"compliance_required":true},"overrides":{"cost_growth":"15%","deploy_frequency_per_day":12,"tool.jaeger":true}}`) {
		t.Errorf("curl body: %s", curl)
	}
}

// The page shows, beside each way the decision would move, the assess
// --set line and the curl line that ask it of this exporter, at the address
// the reader used.
func TestPageShowsTheWhatIfLines(t *testing.T) {
	st := fixtureState(t)
	h := Handlers{Current: func() *collector.State { return st }, MetricsPath: "/metrics",
		Now: func() time.Time { return generatedAt }}
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	req.Host = "exporter.example:9877"
	rec := httptest.NewRecorder()
	h.Page().ServeHTTP(rec, req)
	page := html.UnescapeString(rec.Body.String())

	r := fixtureReport(t)
	shown := 0
	for _, c := range r.Capabilities {
		for _, ch := range c.WhatWouldChange {
			if ch.Set == nil {
				continue
			}
			for _, line := range []string{ch.Set.AssessLine(), ch.Set.CurlLine("http://exporter.example:9877")} {
				if !strings.Contains(page, "<code>"+line+"</code>") {
					t.Errorf("%s → %s: the page lacks %s", c.ID, ch.To, line)
				}
			}
			shown++
		}
	}
	if shown == 0 {
		t.Fatal("the fixture has no what-if to show")
	}
}
