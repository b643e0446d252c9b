package report

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/capability-exporter/capability_exporter/collector"
	"github.com/capability-exporter/capability_exporter/history"
	"github.com/capability-exporter/capability_exporter/triggers"
)

// historyState runs the fixture's evaluation through a History: first as
// it is, then with the incident history at 20m for three evaluations
// (published at the third), then with Prometheus down for one (stale).
func historyState(t *testing.T) (*Handlers, *history.History) {
	t.Helper()
	st := fixtureState(t)
	rules := st.Config.Rules
	base := triggers.Snapshot{}
	for _, s := range st.Evaluation.Signals {
		base[s.Name] = s.Value
	}
	for _, tool := range st.Evaluation.Tools {
		base["tool."+tool.ID] = triggers.KnownValue(map[triggers.Truth]float64{triggers.True: 1}[tool.Detected], "kubernetes")
	}
	h := history.New(3, 0)
	step := 5 * time.Minute
	at := evaluatedAt
	evaluate := func(change triggers.Snapshot) *triggers.Evaluation {
		snap := triggers.Snapshot{}
		for k, v := range base {
			snap[k] = v
		}
		for k, v := range change {
			snap[k] = v
		}
		ev := triggers.EvaluateFrom(rules, snap, at, h.Truths())
		var pub *triggers.Evaluation
		h, pub = h.Next(rules, ev, step, false)
		at = at.Add(step)
		return pub
	}
	evaluate(nil)
	fast := triggers.Snapshot{"incident_mttr": triggers.KnownValue(1200, "prometheus")}
	for range 3 {
		evaluate(fast)
	}
	down := triggers.Snapshot{"incident_mttr": triggers.UnknownValue(triggers.CodeSourceDown, "prometheus: "+promError, "prometheus")}
	ev := evaluate(down)
	st.Evaluation, st.History = ev, h
	return &Handlers{Current: func() *collector.State { return st }, MetricsPath: "/metrics", Now: func() time.Time { return at }}, h
}

func TestPageAndAPIShowChangesPendingAndStale(t *testing.T) {
	h, hist := historyState(t)
	changes := hist.Changes()
	// One signal moved several decisions: tracing and the mesh among them.
	byCapability := map[string]history.Change{}
	for _, ch := range changes {
		byCapability[ch.Capability] = ch
	}
	ch, ok := byCapability["distributed_tracing"]
	if _, mesh := byCapability["service_mesh"]; !ok || !mesh {
		t.Fatalf("changes %+v, want distributed_tracing's and service_mesh's", changes)
	}
	if ch.From != triggers.StateNow || ch.To != triggers.StateConsider {
		t.Fatalf("change %+v, want now → consider", ch)
	}

	rec := get(h.Changes(), ChangesPath)
	var doc ChangesDoc
	if err := json.Unmarshal(rec.Body.Bytes(), &doc); err != nil || rec.Code != 200 {
		t.Fatalf("status %d, %v: %s", rec.Code, err, rec.Body)
	}
	if doc.DecisionHold != 3 || len(doc.Changes) != len(changes) {
		t.Errorf("changes document %+v", doc)
	}
	body := rec.Body.String()
	for _, want := range []string{`"signal": "incident_mttr"`, `"text": "2h30m"`, `"text": "20m"`, `"condition": "incident_mttr > 1h"`} {
		if !strings.Contains(body, want) {
			t.Errorf("changes JSON lacks %s:\n%s", want, body)
		}
	}
	var mesh ChangesDoc
	if err := json.Unmarshal(get(h.Changes(), ChangesPath+"?capability=service_mesh").Body.Bytes(), &mesh); err != nil ||
		len(mesh.Changes) != 1 || mesh.Changes[0].Capability != "service_mesh" {
		t.Errorf("filtered to service_mesh: %+v %v", mesh, err)
	}

	var r Report
	if err := json.Unmarshal(get(h.JSON(), APIPath).Body.Bytes(), &r); err != nil {
		t.Fatal(err)
	}
	var dt *Capability
	for i := range r.Capabilities {
		if r.Capabilities[i].ID == "distributed_tracing" {
			dt = &r.Capabilities[i]
		}
	}
	if dt == nil || dt.Stale == nil || dt.Pending == nil || dt.Pending.Decision != "unknown" || dt.ChangesTotal != 1 {
		t.Fatalf("distributed_tracing %+v, want stale with unknown pending and one change", dt)
	}
	if s := dt.Stale.Signals; len(s) != 1 || s[0].Signal != "incident_mttr" || s[0].Source != "prometheus" {
		t.Errorf("stale signals %+v", s)
	}
	if dt.Decision != string(ch.To) || len(r.RecentChanges) != len(changes) {
		t.Errorf("decision %s, recent %d: want the published %s and %d changes", dt.Decision, len(r.RecentChanges), ch.To, len(changes))
	}

	page := get(h.Page(), "/").Body.String()
	for _, want := range []string{"Recent changes", "incident_mttr 2h30m → 20m (prometheus)", `data-stale="true"`, `data-pending="unknown"`} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	for _, secret := range configSecrets {
		if strings.Contains(page, secret) || strings.Contains(body, secret) {
			t.Errorf("secret %q leaked", secret)
		}
	}
}

func TestMarkdownShowsChangesAndStale(t *testing.T) {
	h, _ := historyState(t)
	var b strings.Builder
	if err := WriteMarkdown(&b, Build(h.Current(), Options{Now: h.Now()})); err != nil {
		t.Fatal(err)
	}
	md := b.String()
	for _, want := range []string{"## Recent changes", "| distributed\\_tracing | now → consider | `incident_mttr 2h30m → 20m (prometheus)` |", "**Stale** since", "Pending: unknown since"} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q:\n%s", want, md)
		}
	}
}
