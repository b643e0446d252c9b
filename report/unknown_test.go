package report

import (
	"bytes"
	"encoding/json"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/capability-exporter/capability_exporter/collector"
	"github.com/capability-exporter/capability_exporter/triggers"
)

const kubeNotConfigured = "sources.kubernetes is not configured"

// noKubernetesState is the fixture's evaluation with no Kubernetes source:
// every tool and every Kubernetes measure is unknown, so is the Velero
// foundation (detected by its tool), while Prometheus answers.
func noKubernetesState(t *testing.T) *collector.State {
	t.Helper()
	st := fixtureState(t)
	snap := snapshotOf(st.Evaluation)
	for name, v := range snap {
		if v.Source == "kubernetes" {
			snap[name] = triggers.UnknownValue(triggers.CodeNotConfigured, kubeNotConfigured, "kubernetes")
		}
	}
	st.Evaluation = triggers.Evaluate(st.Config.Rules, snap, evaluatedAt)
	return st
}

// between returns the part of s from the first start to the following end.
func between(t *testing.T, s, start, end string) string {
	t.Helper()
	i := strings.Index(s, start)
	if i < 0 {
		t.Fatalf("no %q in:\n%s", start, s)
	}
	j := strings.Index(s[i:], end)
	if j < 0 {
		t.Fatalf("no %q after %q", end, start)
	}
	return s[i : i+j+len(end)]
}

var cellRE = regexp.MustCompile(`(?s)<td class="(tools|foundations)">(.*?)</td>`)

// Where nothing could be checked the page says unknown, with why, and never
// "none"; the JSON and the Markdown say the same of the same capability.
func TestUnknownToolsAndFoundationsAreNotNone(t *testing.T) {
	st := noKubernetesState(t)
	h := Handlers{Current: func() *collector.State { return st }, MetricsPath: "/metrics",
		Now: func() time.Time { return generatedAt }}
	page := get(h.Page(), "/").Body.String()
	r := Build(st, Options{Now: generatedAt})
	var mdOut bytes.Buffer
	if err := WriteMarkdown(&mdOut, r); err != nil {
		t.Fatal(err)
	}
	var js bytes.Buffer
	if err := WriteJSON(&js, r); err != nil {
		t.Fatal(err)
	}
	var doc Report
	if err := json.Unmarshal(js.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	byID := map[string]Capability{}
	for _, c := range doc.Capabilities {
		byID[c.ID] = c
	}

	cells := func(id string) map[string]string {
		row := between(t, page, `<tr data-capability="`+id+`"`, "</tr>")
		out := map[string]string{}
		for _, m := range cellRE.FindAllStringSubmatch(row, -1) {
			out[m[1]] = m[2]
		}
		return out
	}
	for _, tt := range []struct {
		id                 string
		tools, foundations string // what the page's cells must hold
		mdTools, mdFound   string // and the Markdown's lines
	}{
		// Tools unknown, the one foundation known present.
		{"service_mesh", `<span class="unk">unknown</span><div class="reason">Linkerd: ` + kubeNotConfigured + `</div>`,
			`<span class="dim">none</span>`, "Tools: Linkerd unknown", "Builds on (Priority 1): Prometheus present"},
		// Both tools unknown for one reason, which reads once.
		{"distributed_tracing", `<div class="reason">Jaeger, Grafana Tempo: ` + kubeNotConfigured + `</div>`,
			`<span class="dim">none</span>`, "Tools: Jaeger unknown, Grafana Tempo unknown", ""},
		// A foundation unknown beside one present.
		{"chaos_engineering", `>unknown</span>`, `<span class="unk">unknown</span><div class="reason">Velero: tool.velero: ` + kubeNotConfigured + `</div>`,
			"Tools: Chaos Mesh unknown", "Builds on (Priority 1): Prometheus present, Velero unknown"},
		// No tools at all, no foundations: nothing unknown to claim.
		{"security_auditing", `<span class="dim">none defined</span>`, `<span class="dim">none required</span>`,
			"Tools: none defined", "Builds on (Priority 1): none required"},
	} {
		got := cells(tt.id)
		if !strings.Contains(got["tools"], tt.tools) {
			t.Errorf("%s: tools cell %q lacks %q", tt.id, got["tools"], tt.tools)
		}
		if !strings.Contains(got["foundations"], tt.foundations) {
			t.Errorf("%s: foundations cell %q lacks %q", tt.id, got["foundations"], tt.foundations)
		}
		if strings.Contains(got["tools"], ">unknown<") && !strings.Contains(got["tools"], `<div class="reason">`) {
			t.Errorf("%s: an unknown tools cell shows no reason: %q", tt.id, got["tools"])
		}
		section := between(t, mdOut.String(), "## "+byID[tt.id].Title+"\n", "### What would change it")
		for _, want := range []string{tt.mdTools, tt.mdFound} {
			if !strings.Contains(section, md(want)) {
				t.Errorf("%s: Markdown lacks %q:\n%s", tt.id, want, section)
			}
		}
		c := byID[tt.id]
		toolUnknown := strings.Contains(got["tools"], ">unknown<")
		anyNil := slices.ContainsFunc(c.Tools, func(x Tool) bool { return x.Detected == nil })
		anyTrue := slices.ContainsFunc(c.Tools, func(x Tool) bool { return x.Detected != nil && *x.Detected })
		if toolUnknown != (anyNil && !anyTrue) {
			t.Errorf("%s: the page says tools unknown=%v, the JSON's tools %+v", tt.id, toolUnknown, c.Tools)
		}
		foundUnknown := strings.Contains(got["foundations"], ">unknown<")
		if foundUnknown != (len(c.FoundationsUnknown) > 0 && len(c.FoundationsMissing) == 0) {
			t.Errorf("%s: the page says foundations unknown=%v, the JSON missing %q unknown %q",
				tt.id, foundUnknown, c.FoundationsMissing, c.FoundationsUnknown)
		}
	}
	if got := byID["chaos_engineering"].FoundationsUnknown; !slices.Equal(got, []string{"velero"}) {
		t.Errorf("chaos_engineering foundations_unknown = %q, want [velero]", got)
	}
}

// An unknown decision names the fewest signals that settle it, first and
// alone in the summary: a service mesh whose tools and services are unknown
// needs both, since with no Linkerd the service count decides.
func TestUnknownDecisionNamesWhatSettlesIt(t *testing.T) {
	st := noKubernetesState(t)
	r := Build(st, Options{Now: generatedAt})
	var c *Capability
	for i := range r.Capabilities {
		if r.Capabilities[i].ID == "service_mesh" {
			c = &r.Capabilities[i]
		}
	}
	if c == nil || c.Decision != "unknown" || !slices.Equal(c.SettleWith, []string{"tool.linkerd", "microservices"}) {
		t.Fatalf("service_mesh = %+v, want unknown, settled by tool.linkerd and microservices", c)
	}
	if want := "Unknown: knowing tool.linkerd (kubernetes), microservices (kubernetes) settles it."; c.Summary != want {
		t.Errorf("summary %q, want %q", c.Summary, want)
	}
	var names []string
	for _, u := range c.UnknownSignals {
		names = append(names, u.Signal)
		if !u.Blocking {
			t.Errorf("%s blocking = %v", u.Signal, u.Blocking)
		}
	}
	if want := []string{"tool.linkerd", "microservices"}; !slices.Equal(names, want) {
		t.Errorf("unknown signals %q, want %q", names, want)
	}

	var md bytes.Buffer
	if err := WriteMarkdown(&md, r); err != nil {
		t.Fatal(err)
	}
	section := between(t, md.String(), "## Service Mesh\n", "### What would change it")
	want := "The decision waits for these unknown signals:\n\n- `tool.linkerd` (kubernetes): `" + kubeNotConfigured + "`\n" +
		"- `microservices` (kubernetes): `" + kubeNotConfigured + "`\n"
	if !strings.Contains(section, want) {
		t.Errorf("Markdown lacks\n%s\nin\n%s", want, section)
	}
	if section := between(t, md.String(), "## Security Auditing\n", "### What would change it"); strings.Contains(section, "nknown signals") {
		t.Errorf("security_auditing reads no Kubernetes signal, yet lists unknown ones:\n%s", section)
	}

	h := Handlers{Current: func() *collector.State { return st }, MetricsPath: "/metrics",
		Now: func() time.Time { return generatedAt }}
	rec := get(h.Page(), "/")
	if rec.Code != http.StatusOK {
		t.Fatalf("page: status %d", rec.Code)
	}
	waits := between(t, between(t, rec.Body.String(), `id="cap-service_mesh"`, "</section>"), `<div class="blocked">`, "</div>")
	if !strings.Contains(waits, "<code>tool.linkerd</code>") || !strings.Contains(waits, "<code>microservices</code>") {
		t.Errorf("the page's service mesh waits for %q, want tool.linkerd and microservices", waits)
	}
}

// A known decision says of its unknown signals that they cannot change it:
// every step before the deciding one is known.
func TestKnownDecisionWithUnknownSignals(t *testing.T) {
	st := fixtureState(t)
	snap := snapshotOf(st.Evaluation)
	snap["alerting_rules"] = triggers.KnownValue(10, "prometheus")
	snap["alerts_without_severity"] = triggers.UnknownValue(triggers.CodeSourceDown, "query: timeout", "prometheus")
	st.Evaluation = triggers.Evaluate(st.Config.Rules, snap, evaluatedAt)
	var md bytes.Buffer
	if err := WriteMarkdown(&md, Build(st, Options{Now: generatedAt})); err != nil {
		t.Fatal(err)
	}
	section := between(t, md.String(), "## Observability Maturity\n", "### What would change it")
	if want := "**Decision: not triggered**"; !strings.Contains(section, want) {
		t.Fatalf("observability is not %s:\n%s", want, section)
	}
	want := "Unknown signals; none of them can change this decision:\n\n- `alerts_without_severity` (prometheus): `query: timeout`\n"
	if !strings.Contains(section, want) {
		t.Errorf("Markdown lacks\n%s\nin\n%s", want, section)
	}
}

// A lower bound that cannot settle a comparison says so, with its value,
// rather than reading "not collected".
func TestLowerBoundExplained(t *testing.T) {
	rules := parseRules(t, `
signals:
  developers: {help: People., kubernetes: rbac_human_subjects, lower_bound: true}
capabilities:
  policy:
    complexity: medium
    trigger: developers > 10
    skip: developers < 5
`)
	ev := triggers.Evaluate(rules, triggers.Snapshot{"developers": triggers.KnownValue(3, "kubernetes")}, time.Unix(0, 0))
	r := Build(&collector.State{Evaluation: ev}, Options{Now: time.Unix(60, 0)})
	c := r.Capabilities[0]
	// Settled it waits for developers; the probable answer follows the
	// measure, as a presumption, and says so.
	if c.Decision != "skip" || !c.Probable || len(c.UnknownSignals) == 0 {
		t.Fatalf("decision %s (probable %v), unknown %+v: want probably skip, developers still open", c.Decision, c.Probable, c.UnknownSignals)
	}
	if u := c.UnknownSignals[0]; u.Signal != "developers" || !strings.Contains(u.Reason, "at least 3") {
		t.Errorf("unknown signal %+v, want developers, measured at least 3", u)
	}
	if s := r.Signals[0]; !s.LowerBound || s.Text != "at least 3" {
		t.Errorf("signal %+v, want lower_bound and text 'at least 3'", s)
	}
}

// upperBoundRules read a measure that bounds its signal from above.
const upperBoundRules = `
signals:
  debugging:
    help: d
    type: duration
    prometheus: {alert_history: {selector: 'ALERTS', window: 30d, measure: median_resolution}}
    upper_bound: true
capabilities:
  tracing:
    complexity: medium
    trigger: debugging > 1h
`

// An upper bound that cannot settle a comparison says so, with its value
// and the code upper_bound, rather than reading "not collected".
func TestUpperBoundExplained(t *testing.T) {
	rules := parseRules(t, upperBoundRules)
	ev := triggers.Evaluate(rules, triggers.Snapshot{"debugging": triggers.KnownValue(7200, "prometheus")}, time.Unix(0, 0))
	r := Build(&collector.State{Evaluation: ev}, Options{Now: time.Unix(60, 0)})
	c := r.Capabilities[0]
	// Settled it waits for debugging; the probable answer follows the
	// measure, as a presumption, and says so.
	if c.Decision != "consider" || !c.Probable || len(c.UnknownSignals) == 0 {
		t.Fatalf("decision %s (probable %v), unknown %+v: want probably consider, debugging still open", c.Decision, c.Probable, c.UnknownSignals)
	}
	u := c.UnknownSignals[0]
	if u.Signal != "debugging" || !strings.Contains(u.Reason, "at most 2h") || u.ReasonCode != triggers.CodeUpperBound {
		t.Errorf("unknown signal %+v, want debugging, measured at most 2h, code upper_bound", u)
	}
	if s := r.Signals[0]; !s.UpperBound || s.LowerBound || s.Text != "at most 2h" {
		t.Errorf("signal %+v, want upper_bound and text 'at most 2h'", s)
	}
}

// snapshotOf rebuilds the snapshot an evaluation saw from what it recorded:
// every signal's value and every tool's detection.
func snapshotOf(ev *triggers.Evaluation) triggers.Snapshot {
	s := triggers.Snapshot{}
	for _, sig := range ev.Signals {
		// A derived value is worked out again by each decision.
		if sig.Value.Source != "derived" {
			s[sig.Name] = sig.Value
		}
	}
	for _, t := range ev.Tools {
		v := triggers.UnknownValue(t.Code, t.Reason, "kubernetes")
		if t.Detected != triggers.Unknown {
			v = triggers.KnownValue(boolFloat(t.Detected == triggers.True), "kubernetes")
		}
		s[triggers.ToolSignalPrefix+t.ID] = v
	}
	return s
}
