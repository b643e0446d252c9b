package report

import (
	"bytes"
	"html/template"
	"strings"
	"testing"
	"time"

	"github.com/capability-exporter/capability_exporter/collector"
	"github.com/capability-exporter/capability_exporter/triggers"
)

// defaultRulesState evaluates snap on the default rules, with the fixture's
// sources and config around it.
func defaultRulesState(t *testing.T, snap triggers.Snapshot) *collector.State {
	t.Helper()
	r, err := triggers.Default()
	if err != nil {
		t.Fatal(err)
	}
	for _, tool := range r.Tools { // none runs unless the case says so
		if _, ok := snap[tool.SignalName()]; !ok {
			snap[tool.SignalName()] = known(0, "kubernetes")
		}
	}
	st := fixtureState(t)
	cfg := *st.Config
	cfg.Rules = r
	st.Config = &cfg
	st.Evaluation = triggers.Evaluate(r, snap, evaluatedAt)
	return st
}

// renders returns the page, the Markdown and the report of st.
func renders(t *testing.T, st *collector.State) (page, markdown string, r *Report) {
	t.Helper()
	h := Handlers{Current: func() *collector.State { return st }, MetricsPath: "/metrics",
		Now: func() time.Time { return generatedAt }}
	page = get(h.Page(), "/").Body.String()
	r = Build(st, Options{Now: generatedAt})
	var md bytes.Buffer
	if err := WriteMarkdown(&md, r); err != nil {
		t.Fatal(err)
	}
	return page, md.String(), r
}

func known(v float64, source string) triggers.Value { return triggers.KnownValue(v, source) }

// A monolith with mTLS required: the structural NOT case outweighs the
// declared obligation, and both renders say the obligation is met another
// way or moot rather than "outweighed" in the ladder's words.
func TestStructuralSkipSaysObligationMoot(t *testing.T) {
	st := defaultRulesState(t, triggers.Snapshot{"microservices": known(1, "kubernetes"), "mtls_required": known(1, "fact")})
	page, md, r := renders(t, st)
	var mesh *Capability
	for i := range r.Capabilities {
		if r.Capabilities[i].ID == "service_mesh" {
			mesh = &r.Capabilities[i]
		}
	}
	if mesh == nil || mesh.Decision != "skip" || mesh.DecidedBy != triggers.KindStructural {
		t.Fatalf("service mesh %+v, want skip by the structural NOT case", mesh)
	}
	section := between(t, page, `id="cap-service_mesh"`, "</section>")
	for _, out := range []string{section, between(t, md, "## Service Mesh", "### What would change it")} {
		if !strings.Contains(out, "obligation met another way or moot") {
			t.Errorf("no moot obligation in:\n%s", out)
		}
		if strings.Contains(out, "Decided by the") && strings.Contains(out, "but the Decided") {
			t.Errorf("the ladder's phrase doubled in:\n%s", out)
		}
	}
}

// With nothing declared, the answers the measures point to are labelled
// probable everywhere, with what is still possible and what settles it;
// the questions lead, as facts: lines ready to uncomment.
func TestProbableIsLabelledAndQuestionsLead(t *testing.T) {
	st := defaultRulesState(t, triggers.Snapshot{
		"microservices": known(8, "kubernetes"), "developers": known(14, "loki"), "tenants": known(3, "kubernetes"),
		"cost_growth_ratio": known(0.25, "prometheus"), "default_deny_namespace_ratio": known(1, "kubernetes"),
		"incident_mttr_seconds": known(7200, "prometheus"),
	})
	page, md, r := renders(t, st)
	if len(r.Questions) == 0 {
		t.Fatal("no questions with nothing declared")
	}
	probable := 0
	for _, c := range r.Capabilities {
		if !c.Probable {
			continue
		}
		probable++
		row := between(t, page, `<tr data-capability="`+c.ID+`"`, "</tr>")
		if !strings.Contains(row, "probably "+stateWords(c.Decision)) {
			t.Errorf("%s: probable %s not labelled probable in the table: %s", c.ID, c.Decision, row)
		}
		section := between(t, page, `id="cap-`+c.ID+`"`, "</section>")
		if !strings.Contains(section, "Still possible: <strong>"+c.PossibleWords()) {
			t.Errorf("%s: possible states missing from:\n%s", c.ID, section)
		}
		for _, s := range c.SettleWith {
			if !strings.Contains(section, "<code>"+s+"</code>") {
				t.Errorf("%s: settle_with %s missing", c.ID, s)
			}
		}
		for _, p := range c.Presumed {
			if !strings.Contains(section, template.HTMLEscapeString(p.Says)) {
				t.Errorf("%s: presumption %q not shown with its measure", c.ID, p.Says)
			}
		}
		if !strings.Contains(md, "| **probably "+stateWords(c.Decision)+"**") {
			t.Errorf("%s: probable decision not labelled in the Markdown table", c.ID)
		}
	}
	if probable == 0 {
		t.Fatal("no probable decision: the case tests nothing")
	}
	q := r.Questions[0]
	line := "# " + q.Fact + ": "
	for name, out := range map[string]string{"page": page, "markdown": md} {
		first := strings.Index(out, "To get decisions")
		if first < 0 || first > strings.Index(out, "ecommended next step") {
			t.Errorf("%s: the questions do not lead", name)
		}
		if !strings.Contains(out, line) || !strings.Contains(out, "settles "+strings.Join(q.Settles, ", ")+" — "+q.Question) {
			t.Errorf("%s: first question %q not given as a facts: line with what it settles and its question", name, q.Fact)
		}
	}
	if n := strings.Count(between(t, md, "## To get decisions", "## Recommended"), "\n# "); n > firstRunLines {
		t.Errorf("%d fact lines, want at most %d", n, firstRunLines)
	}
}

// A NOT bullet answers only its own motive: "network policies are
// sufficient" answers the mesh's security motive, not canary releases. With
// 40 services that need them and default-deny everywhere, the mesh stays
// needed and both renders name the motive that remains.
func TestRemainingMotiveIsNamed(t *testing.T) {
	st := defaultRulesState(t, triggers.Snapshot{
		"microservices": known(40, "kubernetes"), "default_deny_namespace_ratio": known(1, "kubernetes"),
		"network_policies_sufficient":        known(1, "fact"),
		"canary_or_traffic_splitting_needed": known(1, "fact"), "mtls_required": known(0, "fact"),
	})
	page, md, r := renders(t, st)
	for _, c := range r.Capabilities {
		if c.ID != "service_mesh" {
			continue
		}
		if c.Decision == "skip" || len(c.Motives) == 0 {
			t.Fatalf("service mesh %s with motives %+v: want it still relevant", c.Decision, c.Motives)
		}
		want := c.Remains()
		if want == "" || !strings.Contains(want, c.Motives[0].Says) {
			t.Fatalf("remains %q, want the motive %q named", want, c.Motives[0].Says)
		}
		if !strings.Contains(between(t, page, `id="cap-service_mesh"`, "</section>"), template.HTMLEscapeString(want)) {
			t.Errorf("page does not say %q", want)
		}
		if !strings.Contains(md, mdEscaper.Replace(want)) {
			t.Errorf("markdown does not say %q", want)
		}
	}
}
