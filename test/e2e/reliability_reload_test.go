//go:build e2e

package e2e

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// slowQueryRules read one signal from Prometheus, so that each evaluation
// sends exactly one query of slowQuery and the stub can count evaluations.
const (
	slowQuery      = "vector(7)"
	slowQueryRules = `
signals:
  slow_signal:
    help: A signal whose query takes a second.
    prometheus: {query: 'vector(7)'}
capabilities:
  distributed_tracing:
    title: Distributed Tracing
    complexity: medium
    trigger: slow_signal > 5
    now: slow_signal > 6
`
)

// slowPrometheus answers the Prometheus API as a real one would, taking
// delay over each query of slowQuery, and counts them.
type slowPrometheus struct {
	URL      string
	started  atomic.Int64
	inFlight atomic.Int64
}

func newSlowPrometheus(t *testing.T, delay time.Duration) *slowPrometheus {
	p := &slowPrometheus{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/api/v1/status/buildinfo":
			fmt.Fprint(w, `{"status":"success","data":{"version":"2.42.0","revision":"stub"}}`)
		case "/api/v1/query":
			if r.FormValue("query") == slowQuery {
				p.started.Add(1)
				p.inFlight.Add(1)
				defer p.inFlight.Add(-1)
				select {
				case <-time.After(delay):
				case <-r.Context().Done():
					return
				}
			}
			fmt.Fprintf(w, `{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[%d,"7"]}]}}`, time.Now().Unix())
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	p.URL = srv.URL
	return p
}

// 1,000 POST /-/reload in 10 s while each evaluation takes a second: the
// reloads coalesce into at most one evaluation behind the running one, so
// once the burst ends at most two more start, and the exporter's goroutines
// and resident memory return to where they were.
func TestReloadBurstCoalesces(t *testing.T) {
	prom := newSlowPrometheus(t, time.Second)
	dir := t.TempDir()
	writeFile(t, dir, "rules.yml", slowQueryRules)
	cfg := writeFile(t, dir, "config.yml", fmt.Sprintf("rules_file: rules.yml\nsources:\n  prometheus: {url: %s, timeout: 20s}\n", prom.URL))
	e := startExporter(t, cfg, "--evaluation.interval=1h", "--evaluation.timeout=30s")

	// Settled: the first evaluation is done; the scrape cache serves go_* and
	// process_* up to two seconds old.
	time.Sleep(2500 * time.Millisecond)
	before := scrapeExporter(t, e)
	goroutinesBefore, heapBefore, rssBefore := before.must(t, "go_goroutines", nil),
		before.must(t, "go_memstats_heap_inuse_bytes", nil), before.must(t, "process_resident_memory_bytes", nil)
	startedBefore := prom.started.Load()

	const reloads, burst, workers = 1000, 10 * time.Second, 4
	client := &http.Client{Timeout: 10 * time.Second}
	var failed atomic.Int64
	var wg sync.WaitGroup
	t0 := time.Now()
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < reloads; i += workers {
				// Spread evenly over the burst.
				time.Sleep(time.Until(t0.Add(burst * time.Duration(i) / reloads)))
				resp, err := client.Post(e.URL+"/-/reload", "", nil)
				if err != nil || resp.StatusCode != http.StatusOK {
					failed.Add(1)
				}
				if resp != nil {
					resp.Body.Close()
				}
			}
		}()
	}
	wg.Wait()
	took := time.Since(t0)
	startedDuring := prom.started.Load() - startedBefore
	if n := failed.Load(); n > 0 {
		t.Errorf("%d of %d reloads failed", n, reloads)
	}

	// Every evaluation the burst asked for is done once nothing is in flight
	// for longer than one evaluation takes.
	waitFor(t, 30*time.Second, "evaluations to stop", func() bool {
		if prom.inFlight.Load() > 0 {
			return false
		}
		n := prom.started.Load()
		time.Sleep(1500 * time.Millisecond)
		return prom.inFlight.Load() == 0 && prom.started.Load() == n
	})
	startedAfter := prom.started.Load() - startedBefore - startedDuring
	t.Logf("%d reloads in %s: %d evaluations started during the burst, %d after it", reloads, took.Round(time.Millisecond), startedDuring, startedAfter)
	if startedAfter > 2 {
		t.Errorf("%d evaluations started after the burst, want at most 2", startedAfter)
	}

	// Back to where it was: goroutines within a few (HTTP keep-alives), the
	// Go heap within 16 MiB, and resident memory within 16 MiB, as the Go
	// runtime returns freed pages lazily. Under -race the detector's shadow
	// memory follows the heap's high-water mark and is not returned, so the
	// resident bound is 64 MiB there; the heap bound still catches a leak.
	rssSlack := float64(16 << 20)
	if raceEnabled {
		rssSlack = 64 << 20
	}
	var goroutinesAfter, heapAfter, rssAfter float64
	deadline := time.Now().Add(30 * time.Second)
	for {
		time.Sleep(time.Second)
		s := scrapeExporter(t, e)
		goroutinesAfter, heapAfter, rssAfter = s.must(t, "go_goroutines", nil),
			s.must(t, "go_memstats_heap_inuse_bytes", nil), s.must(t, "process_resident_memory_bytes", nil)
		if goroutinesAfter <= goroutinesBefore+5 && heapAfter <= heapBefore+16<<20 && rssAfter <= rssBefore+rssSlack {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("30s after the burst: goroutines %.0f (before %.0f, bound +5), Go heap in use %.1f MiB (before %.1f, bound +16), RSS %.1f MiB (before %.1f, bound +%.0f)",
				goroutinesAfter, goroutinesBefore, heapAfter/(1<<20), heapBefore/(1<<20), rssAfter/(1<<20), rssBefore/(1<<20), rssSlack/(1<<20))
		}
	}
	t.Logf("goroutines %.0f before, %.0f after; Go heap in use %.1f MiB before, %.1f MiB after; RSS %.1f MiB before, %.1f MiB after",
		goroutinesBefore, goroutinesAfter, heapBefore/(1<<20), heapAfter/(1<<20), rssBefore/(1<<20), rssAfter/(1<<20))
}
