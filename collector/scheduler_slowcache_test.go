package collector

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/capability-exporter/capability_exporter/config"
)

// TestReloadOfUnchangedRulesFileKeepsSlowAnswers reloads a config whose
// rules_file is read anew on every load: rules that send the same queries
// keep the answers of the slow ones, and a changed query is sent.
func TestReloadOfUnchangedRulesFileKeepsSlowAnswers(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	sent := map[string]int{}
	prom := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		mu.Lock()
		sent[r.Form.Get("query")]++
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"status":"success","data":{"resultType":"scalar","result":[1773151651,"42"]}}`)
	}))
	t.Cleanup(prom.Close)
	sentOf := func(q string) int {
		mu.Lock()
		defer mu.Unlock()
		return sent[q]
	}

	dir := t.TempDir()
	writeRules := func(query string) {
		t.Helper()
		rules := fmt.Sprintf(`
signals:
  cost_growth:
    help: Month over month growth of CPU requests.
    type: ratio
    prometheus: {query: '%s'}
capabilities:
  cost_visibility:
    title: Cost Visibility
    complexity: low
    trigger: cost_growth > 20%%
`, query)
		if err := os.WriteFile(filepath.Join(dir, "rules.yml"), []byte(rules), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cfgFile := filepath.Join(dir, "config.yml")
	if err := os.WriteFile(cfgFile, []byte(fmt.Sprintf("rules_file: rules.yml\nsources:\n  prometheus: {url: %s, timeout: 1s}\n", prom.URL)), 0o644); err != nil {
		t.Fatal(err)
	}
	load := func() *config.Config {
		t.Helper()
		cfg, err := config.Load(cfgFile)
		if err != nil {
			t.Fatal(err)
		}
		return cfg
	}

	monthly := `sum(rate(cpu_seconds_total[30d]))`
	writeRules(monthly)
	sched := NewScheduler(load(), 5*time.Second, slog.New(slog.DiscardHandler), WithSlowInterval(time.Hour))
	defer sched.Close()
	sched.Evaluate(context.Background())
	if n := sentOf(monthly); n != 1 {
		t.Fatalf("first evaluation sent %s %d times, want 1", monthly, n)
	}

	sched.Reload(load())
	st := sched.Evaluate(context.Background())
	if n := sentOf(monthly); n != 1 {
		t.Errorf("after a reload with the same rules file, %s was sent %d times in all, want 1: the slow answer is reused", monthly, n)
	}
	if v := signal(t, st, "cost_growth"); !v.Known || v.Number != 42 || v.MeasuredAt.IsZero() {
		t.Errorf("cost_growth = %+v, want 42 reused with when it was measured", v)
	}

	weekly := `sum(rate(cpu_seconds_total[7d]))`
	writeRules(weekly)
	sched.Reload(load())
	st = sched.Evaluate(context.Background())
	if n := sentOf(weekly); n != 1 {
		t.Errorf("after a reload that changes the query, %s was sent %d times, want 1", weekly, n)
	}
	if v := signal(t, st, "cost_growth"); !v.Known || !v.MeasuredAt.IsZero() {
		t.Errorf("cost_growth = %+v, want the answer to the new query", v)
	}
}

// Two schedulers in one process keep their own slow interval: the one built
// without it sends the monthly query every evaluation, the other once.
func TestSchedulersKeepTheirOwnSlowInterval(t *testing.T) {
	t.Parallel()
	monthly := `sum(rate(cpu_seconds_total[30d]))`
	counts := make([]int, 2)
	var mu sync.Mutex
	scheds := make([]*Scheduler, 2)
	for i, opts := range [][]Option{{WithSlowInterval(time.Hour)}, nil} {
		prom := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_ = r.ParseForm()
			if r.Form.Get("query") == monthly {
				mu.Lock()
				counts[i]++
				mu.Unlock()
			}
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, `{"status":"success","data":{"resultType":"scalar","result":[1773151651,"42"]}}`)
		}))
		t.Cleanup(prom.Close)
		dir := t.TempDir()
		rules := fmt.Sprintf(`
signals:
  cost_growth:
    help: Month over month growth of CPU requests.
    type: ratio
    prometheus: {query: '%s'}
capabilities:
  cost_visibility:
    title: Cost Visibility
    complexity: low
    trigger: cost_growth > 20%%
`, monthly)
		if err := os.WriteFile(filepath.Join(dir, "rules.yml"), []byte(rules), 0o644); err != nil {
			t.Fatal(err)
		}
		cfg, err := config.Parse(filepath.Join(dir, "config.yml"),
			[]byte(fmt.Sprintf("rules_file: rules.yml\nsources:\n  prometheus: {url: %s, timeout: 1s}\n", prom.URL)))
		if err != nil {
			t.Fatal(err)
		}
		scheds[i] = NewScheduler(cfg, 5*time.Second, slog.New(slog.DiscardHandler), opts...)
		t.Cleanup(scheds[i].Close)
	}
	for range 3 {
		for _, s := range scheds {
			s.Evaluate(context.Background())
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if counts[0] != 1 || counts[1] != 3 {
		t.Errorf("monthly query sent %d times by the scheduler with a 1h slow interval (want 1), %d by the one without (want 3)", counts[0], counts[1])
	}
}
