package report

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/capability-exporter/capability_exporter/collector"
	"github.com/capability-exporter/capability_exporter/config"
	"github.com/capability-exporter/capability_exporter/triggers"
)

// A fact derived from measures is shown with its parts, each with the value
// it read, in the JSON, the page and the Markdown record alike.
func TestDerivedFactShowsItsParts(t *testing.T) {
	rules := parseRules(t, `
signals:
  nodes_not_ready: {help: n, kubernetes: nodes_not_ready}
  loki_up: {help: l, type: bool, loki: {reachable: true}}
  stable:
    help: s
    type: bool
    first_known:
      - fact: stable
      - derive:
          true_if:
            all:
              - {if: nodes_not_ready == 0, says: Every node is Ready}
              - {if: loki_up == true, says: Logs answer}
          false_if: {if: nodes_not_ready > 0, says: A node is NotReady}
capabilities:
  mesh:
    complexity: medium_high
    trigger: stable == true
`)
	snap := triggers.Snapshot{"nodes_not_ready": triggers.KnownValue(2, "kubernetes"),
		"loki_up": triggers.UnknownValue(triggers.CodeSourceDown, "Loki unreachable", "loki")}
	st := &collector.State{Config: &config.Config{Rules: rules}, Evaluation: triggers.Evaluate(rules, snap, evaluatedAt)}
	r := Build(st, Options{Now: generatedAt})

	var stable Signal
	for _, s := range r.Signals {
		if s.Name == "stable" {
			stable = s
		}
		if s.Name != "stable" && s.DerivedFrom != nil {
			t.Errorf("%s has derived_from, but is not derived", s.Name)
		}
	}
	if stable.Value == nil || *stable.Value != 0 || stable.Source != "derived" || len(stable.DerivedFrom) != 3 {
		t.Fatalf("stable = %+v, want derived false with 3 parts", stable)
	}
	js, err := json.Marshal(stable)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"derived_from":[{"kind":"true_if","expr":"nodes_not_ready == 0"`, `"kind":"false_if"`, `"holds":true`} {
		if !strings.Contains(string(js), want) {
			t.Errorf("JSON lacks %s: %s", want, js)
		}
	}

	var md strings.Builder
	if err := WriteMarkdown(&md, r); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"## Facts derived from measures",
		"- `stable` is **no** (derived)",
		"  - `false_if` A node is NotReady: `nodes_not_ready > 0` holds: makes it false, `nodes_not_ready` is 2",
		"  - `true_if` Logs answer: `loki_up == true` unknown (`Loki unreachable`)",
	} {
		if !strings.Contains(md.String(), want) {
			t.Errorf("Markdown lacks %q:\n%s", want, md.String())
		}
	}

	rec := httptest.NewRecorder()
	Handlers{Current: func() *collector.State { return st }, Now: func() time.Time { return generatedAt }}.Page().
		ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	page := rec.Body.String()
	for _, want := range []string{`<li data-part="nodes_not_ready"><code>false_if</code> A node is NotReady: <code>nodes_not_ready &gt; 0</code> holds: makes it false, <code>nodes_not_ready</code> is 2</li>`,
		`<li data-part="loki_up"><code>true_if</code> Logs answer: <code>loki_up == true</code> <span class="unk">unknown</span><div class="reason">Loki unreachable</div></li>`} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %s", want)
		}
	}
}
