package whatif

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/capability-exporter/capability_exporter/collector"
	"github.com/capability-exporter/capability_exporter/config"
	"github.com/capability-exporter/capability_exporter/report"
)

var testNow = time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)

// webshop is the quick start's config evaluated once, as the exporter
// publishes it: no source is configured, so nothing leaves the process.
func webshop(t testing.TB) *collector.Scheduler {
	t.Helper()
	cfg, err := config.Load("../examples/webshop.yml")
	if err != nil {
		t.Fatal(err)
	}
	sched := collector.NewScheduler(cfg, time.Minute, slog.New(slog.DiscardHandler), collector.WithHold(3))
	t.Cleanup(sched.Close)
	if sched.Evaluate(context.Background()) == nil || sched.Current() == nil {
		t.Fatal("the webshop evaluation was not published")
	}
	return sched
}

func newService(sched *collector.Scheduler, o Options) *Service {
	o.Now = func() time.Time { return testNow }
	return New(sched.Current, o)
}

func ask(t *testing.T, s *Service, body string) *Answer {
	t.Helper()
	w, err := ParseJSON([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	ans, err := s.Ask(context.Background(), ViaAPI, w)
	if err != nil {
		t.Fatal(err)
	}
	return ans
}

func capabilityOf(t *testing.T, caps []report.Capability, id string) report.Capability {
	t.Helper()
	for _, c := range caps {
		if c.ID == id {
			return c
		}
	}
	t.Fatalf("no capability %s", id)
	return report.Capability{}
}

// The framework's webshop without compliance, with fixed costs and one
// tenant: cost visibility is not needed (the framework's "single tenant
// with fixed costs"), and policy enforcement is no longer an obligation.
func TestWebshopWithoutComplianceFixedCostsOneTenant(t *testing.T) {
	s := newService(webshop(t), Options{})
	pub := report.Build(s.current(), report.Options{Now: testNow})
	if d := capabilityOf(t, pub.Capabilities, "policy_enforcement").DecidedBy; d != "must" {
		t.Fatalf("published policy_enforcement decided_by %q; the webshop declares compliance, want must", d)
	}
	ans := ask(t, s, `{"facts": {"compliance_required": false, "fixed_costs": true, "tenants": 1}}`)
	cost := capabilityOf(t, ans.Capabilities, "cost_visibility")
	if cost.Decision != "skip" && cost.Decision != "not_triggered" {
		t.Errorf("cost_visibility = %s (%s), want skip or not_triggered", cost.Decision, cost.Summary)
	}
	policy := capabilityOf(t, ans.Capabilities, "policy_enforcement")
	if policy.DecidedBy == "must" {
		t.Errorf("policy_enforcement decided_by must without compliance: %s", policy.Summary)
	}
	var diffs []string
	for _, d := range ans.Differences {
		diffs = append(diffs, d.Capability)
		if d.Pending {
			t.Errorf("%s: pending without any change held back", d.Capability)
		}
	}
	if !slices.Contains(diffs, "cost_visibility") || !slices.Contains(diffs, "policy_enforcement") {
		t.Errorf("differences %v, want cost_visibility and policy_enforcement among them", diffs)
	}
	if !reflect.DeepEqual(ans.Asked, []string{"fact.compliance_required=false", "fact.fixed_costs=true", "fact.tenants=1"}) {
		t.Errorf("asked = %q", ans.Asked)
	}
	var signals []string
	for _, sg := range ans.Signals {
		signals = append(signals, sg.Signal)
	}
	for _, want := range []string{"compliance_required", "fixed_costs", "tenants"} {
		if !slices.Contains(signals, want) {
			t.Errorf("signals that differ %v lack %s", signals, want)
		}
	}
}

// An empty what-if is the published result, whatever form "empty" takes.
func TestEmptyWhatIfIsThePublishedResult(t *testing.T) {
	s := newService(webshop(t), Options{})
	pub := report.Build(s.current(), report.Options{Now: testNow})
	for _, body := range []string{``, `{}`, `{"facts": {}}`, `{"facts": null, "overrides": {}, "thresholds": null}`} {
		ans := ask(t, s, body)
		if !reflect.DeepEqual(ans.Capabilities, pub.Capabilities) {
			t.Errorf("%q: the capabilities differ from the published ones", body)
		}
		if len(ans.Differences) != 0 || len(ans.Signals) != 0 {
			t.Errorf("%q: differences %+v, signals %+v", body, ans.Differences, ans.Signals)
		}
		if !reflect.DeepEqual(ans.RecommendedNext, pub.RecommendedNext) {
			t.Errorf("%q: recommended %v, published %v", body, ans.RecommendedNext, pub.RecommendedNext)
		}
	}
	// Declaring what the config already declares decides the same.
	ans := ask(t, s, `{"facts": {"compliance_required": true, "tenants": 3}, "overrides": {"microservices": 8}}`)
	if len(ans.Differences) != 0 || len(ans.Signals) != 0 {
		t.Errorf("the config's own values: differences %+v, signals %+v", ans.Differences, ans.Signals)
	}
	for i, c := range ans.Capabilities {
		p := pub.Capabilities[i]
		if c.Decision != p.Decision || c.Summary != p.Summary || !reflect.DeepEqual(c.Conditions, p.Conditions) {
			t.Errorf("%s: %s (%s), published %s (%s)", c.ID, c.Decision, c.Summary, p.Decision, p.Summary)
		}
	}
}

// A what-if publishes nothing: /metrics, the evaluation, /api/v1/changes and
// the published State read the same before and after many of them.
func TestWhatIfChangesNothingPublished(t *testing.T) {
	sched := webshop(t)
	s := newService(sched, Options{})
	reg := prometheus.NewRegistry()
	reg.MustRegister(collector.NewExporter(sched))
	pages := report.Handlers{Current: sched.Current, Now: func() time.Time { return testNow }}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	mux.Handle(report.APIPath, pages.JSON())
	mux.Handle(report.ChangesPath, pages.Changes())
	mux.Handle(Path, s.Handler())
	srv := httptest.NewServer(mux)
	defer srv.Close()
	get := func(path string) string {
		resp, err := srv.Client().Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	paths := []string{"/metrics", report.APIPath, report.ChangesPath}
	before := map[string]string{}
	for _, p := range paths {
		before[p] = get(p)
	}
	st := sched.Current()
	snapshot := maps.Clone(st.Snapshot)
	facts, overrides := maps.Clone(st.Config.FactValues), maps.Clone(st.Config.OverrideValues)
	truths := maps.Clone(st.History.Truths())
	thresholds := report.Build(st, report.Options{Now: testNow}).Thresholds

	var wg sync.WaitGroup
	for _, body := range []string{
		`{"facts": {"compliance_required": false, "fixed_costs": true, "tenants": 1}}`,
		`{"overrides": {"microservices": 40, "tool.*": true}, "thresholds": {"cost_growth_per_month": "5%"}}`,
		`{"facts": {"compliance_required": null}, "overrides": {"microservices": null}}`,
		`{"facts": {"compliance_requird": true}}`,
	} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := srv.Client().Post(srv.URL+Path, "application/json", strings.NewReader(body))
			if err != nil {
				t.Error(err)
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}()
	}
	wg.Wait()

	for _, p := range paths {
		if after := get(p); after != before[p] {
			t.Errorf("%s changed after what-ifs:\n%s", p, firstDifference(before[p], after))
		}
	}
	if sched.Current() != st {
		t.Error("a what-if published a State")
	}
	if !reflect.DeepEqual(st.Snapshot, snapshot) || !reflect.DeepEqual(st.Config.FactValues, facts) ||
		!reflect.DeepEqual(st.Config.OverrideValues, overrides) || !reflect.DeepEqual(st.History.Truths(), truths) {
		t.Error("a what-if changed the published snapshot, config or history")
	}
	if got := report.Build(st, report.Options{Now: testNow}).Thresholds; !reflect.DeepEqual(got, thresholds) {
		t.Error("a what-if changed the thresholds in force")
	}
}

func firstDifference(a, b string) string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := range min(len(al), len(bl)) {
		if al[i] != bl[i] {
			return "- " + al[i] + "\n+ " + bl[i]
		}
	}
	return "lengths differ"
}

func post(t *testing.T, h http.Handler, body string) (*httptest.ResponseRecorder, errorBody) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, Path, strings.NewReader(body)))
	var eb errorBody
	if rec.Code != http.StatusOK {
		if err := json.Unmarshal(rec.Body.Bytes(), &eb); err != nil {
			t.Fatalf("%d: %s: %v", rec.Code, rec.Body, err)
		}
	}
	return rec, eb
}

// Every wrong input is 400 and names the field, checked as the config's
// sections are.
func TestBadInputNamesTheField(t *testing.T) {
	h := newService(webshop(t), Options{}).Handler()
	for _, tc := range []struct{ body, field, message string }{
		{`{"facts": {"compliance_requird": true}}`, "facts.compliance_requird", "unknown fact"},
		{`{"facts": {"compliance_required": "yes"}}`, "facts.compliance_required", "want true or false"},
		{`{"facts": {"compliance_required": "true"}}`, "facts.compliance_required", "want true or false"},
		{`{"facts": {"tenants": "three"}}`, "facts.tenants", "want a number"},
		{`{"facts": {"adopted": {"cost_visibility": "2026-01-01"}}}`, "facts.adopted", "adoption dates"},
		{`{"facts": ["compliance_required"]}`, "facts", "want a mapping"},
		{`{"overrides": {"compliance_required": true}}`, "overrides.compliance_required", "declare it under facts"},
		{`{"overrides": {"microservicez": 3}}`, "overrides.microservicez", "unknown signal"},
		{`{"overrides": {"tool.nope": true}}`, "overrides.tool.nope", "unknown tool"},
		{`{"overrides": {"incident_mttr_seconds": "soon"}}`, "overrides.incident_mttr_seconds", ""},
		{`{"thresholds": {"cost_growth_per_month": 15}}`, "thresholds.cost_growth_per_month", "is a ratio"},
		{`{"thresholds": {"no_such_threshold": 1}}`, "thresholds.no_such_threshold", "unknown threshold"},
		{`{"thresholds": {"no_such_threshold": null}}`, "thresholds.no_such_threshold", "unknown threshold"},
		{`{"fact": {"compliance_required": true}}`, "fact", "unknown field"},
		{`{"facts": {"compliance_required": true}`, "body", "JSON"},
		{`{} {}`, "body", "one JSON object"},
	} {
		rec, eb := post(t, h, tc.body)
		if rec.Code != http.StatusBadRequest {
			t.Errorf("%s: %d, want 400: %s", tc.body, rec.Code, rec.Body)
			continue
		}
		if len(eb.Errors) == 0 || eb.Errors[0].Field != tc.field || !strings.Contains(eb.Errors[0].Message, tc.message) {
			t.Errorf("%s: errors %+v, want field %s saying %q", tc.body, eb.Errors, tc.field, tc.message)
		}
		if !strings.Contains(eb.Error, tc.field) {
			t.Errorf("%s: error %q does not name %s", tc.body, eb.Error, tc.field)
		}
	}
	// Every problem is listed, not only the first.
	_, eb := post(t, h, `{"facts": {"compliance_requird": true, "tenants": "x"}, "thresholds": {"nope": 1}}`)
	if len(eb.Errors) != 3 {
		t.Errorf("errors %+v, want three", eb.Errors)
	}

	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, Path, nil))
	if rec.Code != http.StatusMethodNotAllowed || rec.Header().Get("Allow") != http.MethodPost {
		t.Errorf("GET: %d, Allow %q", rec.Code, rec.Header().Get("Allow"))
	}
	rec, eb = post(t, h, `{"facts": {"x": "`+strings.Repeat("a", DefaultMaxBody)+`"}}`)
	if rec.Code != http.StatusRequestEntityTooLarge || eb.Errors[0].Field != "body" {
		t.Errorf("a body over the limit: %d %+v", rec.Code, eb.Errors)
	}
}

// At the limit, one more what-if is refused with 429 at once, and counted;
// past the timeout the caller gets 503 while the what-if keeps its place
// until it ends.
func TestConcurrencyLimitAndTimeout(t *testing.T) {
	sched := webshop(t)
	release := make(chan struct{})
	started := make(chan struct{}, 8)
	m := NewMetrics()
	s := newService(sched, Options{Limit: 2, Timeout: time.Minute, Metrics: m,
		decide: func(st *collector.State, cfg *config.Config) (*collector.State, error) {
			started <- struct{}{}
			<-release
			return collector.WhatIf(st, cfg)
		}})
	h := s.Handler()
	body := `{"facts": {"tenants": 1}}`
	results := make(chan int, 2)
	for range 2 {
		go func() {
			rec, _ := post(t, h, body)
			results <- rec.Code
		}()
	}
	<-started
	<-started
	rec, eb := post(t, h, body)
	if rec.Code != http.StatusTooManyRequests || rec.Header().Get("Retry-After") == "" {
		t.Errorf("over the limit: %d %q, Retry-After %q", rec.Code, eb.Error, rec.Header().Get("Retry-After"))
	}
	close(release)
	for range 2 {
		if code := <-results; code != http.StatusOK {
			t.Errorf("a what-if under the limit: %d", code)
		}
	}
	if got := counterValue(t, m, "rejected"); got != 1 {
		t.Errorf("rejected what-ifs counted %v, want 1", got)
	}
	if got := counterValue(t, m, "answered"); got != 2 {
		t.Errorf("answered what-ifs counted %v, want 2", got)
	}

	slow := make(chan struct{})
	s = newService(sched, Options{Limit: 1, Timeout: 50 * time.Millisecond,
		decide: func(st *collector.State, cfg *config.Config) (*collector.State, error) {
			<-slow
			return collector.WhatIf(st, cfg)
		}})
	w, _ := ParseJSON([]byte(body))
	if _, err := s.Ask(context.Background(), ViaAPI, w); !errors.Is(err, ErrTimeout) {
		t.Errorf("a slow what-if: %v, want ErrTimeout", err)
	}
	// It still runs, so it still holds the only place.
	if _, err := s.Ask(context.Background(), ViaAPI, w); !errors.Is(err, ErrBusy) {
		t.Errorf("while the timed-out what-if runs: %v, want ErrBusy", err)
	}
	close(slow)
	waitFree(t, s)
	if _, err := s.Ask(context.Background(), ViaAPI, config.WhatIf{}); err != nil {
		t.Errorf("after it ended: %v", err)
	}
}

func waitFree(t *testing.T, s *Service) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for len(s.slots) > 0 {
		if time.Now().After(deadline) {
			t.Fatal("the what-if never gave its place back")
		}
		time.Sleep(time.Millisecond)
	}
}

func counterValue(t *testing.T, m *Metrics, outcome string) float64 {
	t.Helper()
	reg := prometheus.NewRegistry()
	reg.MustRegister(m)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "capability_exporter_what_if_requests_total" {
			continue
		}
		for _, mt := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range mt.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["via"] == ViaAPI && labels["outcome"] == outcome {
				return mt.GetCounter().GetValue()
			}
		}
	}
	t.Fatalf("no series for outcome %s", outcome)
	return 0
}

func TestNotReady(t *testing.T) {
	s := New(func() *collector.State { return nil }, Options{})
	rec, eb := post(t, s.Handler(), `{}`)
	if rec.Code != http.StatusServiceUnavailable || !strings.Contains(eb.Error, "first evaluation") {
		t.Errorf("%d %q", rec.Code, eb.Error)
	}
}

func TestParseSet(t *testing.T) {
	w, err := ParseSet([]string{"fact.compliance_required=true", "threshold.cost_growth_per_month=15%",
		"override.microservices=12", "fact.tenants=null", "override.tool.*=false"})
	if err != nil {
		t.Fatal(err)
	}
	if got := Asked(w); !reflect.DeepEqual(got, []string{"fact.compliance_required=true", "fact.tenants=null",
		"override.microservices=12", "override.tool.*=false", "threshold.cost_growth_per_month=15%"}) {
		t.Errorf("asked = %q", got)
	}
	for _, tc := range []struct{ set, field string }{
		{"facts.compliance_required=true", "--set facts.compliance_required=true"},
		{"compliance_required=true", "--set compliance_required=true"},
		{"fact.compliance_required", "--set fact.compliance_required"},
		{"fact.=1", "--set fact.=1"},
		{"fact.tenants=", "facts.tenants"},
		{"fact.tenants=[1, 2]", "facts.tenants"},
	} {
		_, err := ParseSet([]string{tc.set})
		var we *config.WhatIfError
		if !errors.As(err, &we) || we.Problems[0].Field != tc.field {
			t.Errorf("%s: %v, want a problem with field %s", tc.set, err, tc.field)
		}
	}
}

// Null takes the config's declaration away: a fact becomes unknown, an
// override leaves the measure (here none: the webshop has no source), a
// threshold takes the rules' value again.
func TestNullTakesTheConfigsDeclarationAway(t *testing.T) {
	s := newService(webshop(t), Options{})
	ans := ask(t, s, `{"facts": {"compliance_required": null}, "thresholds": {"cost_growth_per_month": "5%"}}`)
	for _, sg := range ans.Signals {
		if sg.Signal == "compliance_required" && sg.WhatIf != "unknown" {
			t.Errorf("compliance_required: %+v, want unknown", sg)
		}
	}
	var set bool
	for _, th := range ans.Thresholds {
		if th.Name == "cost_growth_per_month" {
			set = th.SetBy == "organisation" && th.ValueText == "5%"
		}
	}
	if !set {
		t.Errorf("cost_growth_per_month not set by the what-if: %+v", ans.Thresholds)
	}
	sched := webshop(t)
	cfg, err := sched.Current().Config.WhatIf(mustSet(t, "threshold.cost_growth_per_month=5%"))
	if err != nil {
		t.Fatal(err)
	}
	back, err := cfg.WhatIf(mustSet(t, "threshold.cost_growth_per_month=null"))
	if err != nil {
		t.Fatal(err)
	}
	if th := back.Rules.Threshold("cost_growth_per_month"); th.Own || th.Value != th.Default {
		t.Errorf("null threshold: %+v, want the rules' value", th)
	}
}

func mustSet(t *testing.T, sets ...string) config.WhatIf {
	t.Helper()
	w, err := ParseSet(sets)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// Each way the page and the API say a decision would move carries the
// what-if that asks it; asked, through the JSON body and through assess's
// --set, the decision moves there, or stays unknown where other signals it
// needs are still unknown. The published state keeps its history, whose
// hysteresis holds a comparison's truth within its band, as the live
// exporter's does.
func TestEachChangesSetAsksIt(t *testing.T) {
	s := newService(webshop(t), Options{})
	pub := report.Build(s.current(), report.Options{Now: testNow})
	asked := 0
	for _, c := range pub.Capabilities {
		for _, ch := range c.WhatWouldChange {
			if ch.Set == nil {
				continue
			}
			asked++
			body, err := json.Marshal(ch.Set)
			if err != nil {
				t.Fatal(err)
			}
			viaSet, err := ParseSet(ch.Set.SetArgs())
			if err != nil {
				t.Fatalf("%s → %s: assess --set %v: %v", c.ID, ch.To, ch.Set.SetArgs(), err)
			}
			for via, w := range map[string]config.WhatIf{"api": mustJSON(t, body), "--set": viaSet} {
				ans, err := s.Ask(context.Background(), ViaAPI, w)
				if err != nil {
					t.Fatalf("%s → %s: %s %s: %v", c.ID, ch.To, via, body, err)
				}
				got := capabilityOf(t, ans.Capabilities, c.ID)
				if got.Decision != ch.To && (got.Decision != "unknown" || len(got.SettleWith) == 0) {
					t.Errorf("%s → %s if %s: %s %s gives %s: %s", c.ID, ch.To, ch.If, via, body, got.Decision, got.Summary)
				}
			}
		}
	}
	if asked == 0 {
		t.Fatal("no change of the webshop carries a what-if")
	}
}

func mustJSON(t *testing.T, body []byte) config.WhatIf {
	t.Helper()
	w, err := ParseJSON(body)
	if err != nil {
		t.Fatal(err)
	}
	return w
}
