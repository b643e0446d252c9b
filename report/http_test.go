package report

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/capability-exporter/capability_exporter/collector"
	"github.com/capability-exporter/capability_exporter/config"
)

// Two rule sets with nothing in common, so any answer that mixes them shows.
const (
	rulesA = `
signals:
  developers:
    help: People who deploy.
    fact: developers
capabilities:
  alpha:
    title: Alpha Capability
    complexity: low
    trigger: {if: developers > 10, says: Alpha trigger words}
    now: developers > 20
    questions:
      - Alpha question?
  beta:
    title: Beta Capability
    complexity: medium
    trigger: developers > 5
    skip: developers < 3
`
	rulesB = `
signals:
  compliance_required:
    help: A compliance regime applies.
    type: bool
    fact: compliance_required
capabilities:
  gamma:
    title: Gamma Capability
    complexity: high
    trigger: {if: compliance_required == true, says: Gamma trigger words}
    questions:
      - Gamma question?
`
)

type ruleSet struct {
	file   string
	caps   []string
	marker []string // text only this rule set's page shows
}

func loadConfigs(t *testing.T) (a, b *config.Config, sets map[string]ruleSet) {
	t.Helper()
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	ra, rb := write("a_rules.yml", rulesA), write("b_rules.yml", rulesB)
	var err error
	if a, err = config.Load(write("a.yml", "rules_file: a_rules.yml\nfacts:\n  developers: 25\n")); err != nil {
		t.Fatal(err)
	}
	if b, err = config.Load(write("b.yml", "rules_file: b_rules.yml\nfacts:\n  compliance_required: true\n")); err != nil {
		t.Fatal(err)
	}
	return a, b, map[string]ruleSet{
		ra: {ra, []string{"alpha", "beta"}, []string{"Alpha Capability", "Beta Capability", "Alpha question?", "Alpha trigger words"}},
		rb: {rb, []string{"gamma"}, []string{"Gamma Capability", "Gamma question?", "Gamma trigger words"}},
	}
}

// checkJSON fails unless body is one rule set's evaluation, whole.
func checkJSON(t *testing.T, body []byte, sets map[string]ruleSet) {
	t.Helper()
	var r Report
	if err := json.Unmarshal(body, &r); err != nil {
		t.Errorf("bad JSON: %v", err)
		return
	}
	set, ok := sets[r.RulesFile]
	if !ok {
		t.Errorf("rules_file %q is neither rule set", r.RulesFile)
		return
	}
	var ids []string
	for _, c := range r.Capabilities {
		ids = append(ids, c.ID)
		for _, q := range c.OpenQuestions {
			if !strings.HasPrefix(q, strings.ToUpper(c.ID[:1])+c.ID[1:]) {
				t.Errorf("%s carries the question %q of another rule set", c.ID, q)
			}
		}
	}
	if !slices.Equal(ids, set.caps) {
		t.Errorf("rules %s with capabilities %v, want %v", r.RulesFile, ids, set.caps)
	}
}

// checkPage fails unless body shows exactly one rule set.
func checkPage(t *testing.T, body string, sets map[string]ruleSet) {
	t.Helper()
	var shown []string
	for file, set := range sets {
		n := 0
		for _, m := range set.marker {
			if strings.Contains(body, m) {
				n++
			}
		}
		switch n {
		case len(set.marker):
			shown = append(shown, file)
		case 0:
		default:
			t.Errorf("the page shows part of %s", file)
		}
	}
	if len(shown) != 1 {
		t.Errorf("the page shows rule sets %v, want exactly one", shown)
	}
}

func get(h http.Handler, path string) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	return rec
}

// A reload that publishes another rule set while a request is being served
// must not leak into that request: each request reads the published State
// once. The wrapper below swaps the rules right after the handler's read,
// deterministically, so a handler that read twice would mix them.
func TestReloadMidRequestDoesNotMixRules(t *testing.T) {
	a, b, sets := loadConfigs(t)
	sched := collector.NewScheduler(a, 5*time.Second, slog.New(slog.DiscardHandler))
	defer sched.Close()
	ctx := context.Background()
	sched.Evaluate(ctx)
	next := b
	var reads atomic.Int32
	h := Handlers{MetricsPath: "/metrics", Current: func() *collector.State {
		reads.Add(1)
		st := sched.Current()
		sched.Reload(next)
		sched.Evaluate(ctx)
		if next == b {
			next = a
		} else {
			next = b
		}
		return st
	}}
	for i := 0; i < 4; i++ {
		reads.Store(0)
		rec := get(h.JSON(), APIPath)
		if rec.Code != http.StatusOK {
			t.Fatalf("status %d", rec.Code)
		}
		checkJSON(t, rec.Body.Bytes(), sets)
		rec = get(h.Page(), "/")
		checkPage(t, rec.Body.String(), sets)
		if n := reads.Load(); n != 2 {
			t.Errorf("two requests read the State %d times, want once each", n)
		}
	}
}

// Under -race: reloads and evaluations run flat out while the page and the
// API are served, and every answer is one whole evaluation.
func TestPageAndJSONDuringReloads(t *testing.T) {
	a, b, sets := loadConfigs(t)
	sched := collector.NewScheduler(a, 5*time.Second, slog.New(slog.DiscardHandler))
	defer sched.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sched.Evaluate(ctx)
	h := Handlers{Current: sched.Current, MetricsPath: "/metrics"}

	var wg sync.WaitGroup
	var swaps atomic.Int64
	wg.Add(1)
	go func() {
		defer wg.Done()
		for cfg := b; ctx.Err() == nil; {
			sched.Reload(cfg)
			sched.Evaluate(ctx)
			swaps.Add(1)
			if cfg == a {
				cfg = b
			} else {
				cfg = a
			}
		}
	}()
	const readers, requests = 4, 40
	var served atomic.Int64
	for range readers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range requests {
				checkJSON(t, get(h.JSON(), APIPath).Body.Bytes(), sets)
				checkPage(t, get(h.Page(), "/").Body.String(), sets)
				served.Add(2)
			}
		}()
	}
	for served.Load() < readers*requests*2 {
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	wg.Wait()
	if swaps.Load() < 2 {
		t.Errorf("only %d reloads happened while serving; the test did not race anything", swaps.Load())
	}
}

func TestBeforeFirstEvaluation(t *testing.T) {
	h := Handlers{Current: func() *collector.State { return nil }, MetricsPath: "/metrics"}
	rec := get(h.JSON(), APIPath)
	if rec.Code != http.StatusServiceUnavailable || !strings.Contains(rec.Body.String(), `"error"`) {
		t.Errorf("JSON before the first evaluation: %d %s", rec.Code, rec.Body)
	}
	rec = get(h.Page(), "/")
	if rec.Code != http.StatusServiceUnavailable || !strings.Contains(rec.Body.String(), "first evaluation has not finished") {
		t.Errorf("page before the first evaluation: %d %s", rec.Code, rec.Body)
	}
}

func TestPageRoutesAndHeaders(t *testing.T) {
	st := fixtureState(t)
	h := Handlers{Current: func() *collector.State { return st }, MetricsPath: "/metrics"}
	if rec := get(h.Page(), "/nope"); rec.Code != http.StatusNotFound {
		t.Errorf("GET /nope: %d, want 404", rec.Code)
	}
	rec := httptest.NewRecorder()
	h.Page().ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/", nil))
	if rec.Code != http.StatusMethodNotAllowed {
		t.Errorf("POST /: %d, want 405", rec.Code)
	}
	rec = get(h.Page(), "/")
	body := rec.Body.String()
	if csp := rec.Header().Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") {
		t.Errorf("CSP %q lets scripts or outside assets in", csp)
	}
	for _, banned := range []string{"<script", "src=\"http", "href=\"http", "<link", "@import"} {
		if strings.Contains(body, banned) {
			t.Errorf("the page has %q; it must work without scripts or outside assets", banned)
		}
	}
	for _, want := range []string{`href="/metrics"`, `href="` + APIPath + `"`, "★ recommended next step",
		`data-capability="chaos_engineering" data-decision="later"`, "Velero"} {
		if !strings.Contains(body, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
	h.Now = func() time.Time { return generatedAt }
	if body := get(h.Page(), "/").Body.String(); !strings.Contains(body, "3m12s ago") {
		t.Error("the page does not say how old the evaluation is")
	}
}
