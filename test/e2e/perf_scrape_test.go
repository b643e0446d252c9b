//go:build e2e && perf

package e2e

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// The Accept header Prometheus 2.x sends: OpenMetrics first.
const perfPrometheusAccept = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"

const (
	perfScrapers      = 50
	perfScrapeWarmup  = 2 * time.Second
	perfScrapeLoad    = 10 * time.Second
	perfBurstEvery    = 100 * time.Millisecond
	perfBursts        = 100
	perfScrapeP99Goal = 5 * time.Millisecond
	// perfScrapeRenderGap is longer than the exporter serves a rendered
	// response (cmd/capability_exporter/scrape_cache.go).
	perfScrapeRenderGap = 2100 * time.Millisecond
)

// TestPerfScrape serves /metrics from the exporter binary with the default
// rules and the example config (every signal declared, so every capability
// series is present): to one scraper at a time, to 50 scrapers at once in
// bursts, and to 50 scrapers each asking again as soon as answered. The load
// generator shares the machine's cores with the exporter.
func TestPerfScrape(t *testing.T) {
	doc := newPerfDoc(t, "10-scrape", "Scrape: /metrics under 50 concurrent scrapers")
	e := startExporter(t, filepath.Join(repoRoot(), "examples", "webshop.yml"))
	url := e.URL + "/metrics"

	text := perfGet(t, url, "text/plain", "")
	om := perfGet(t, url, perfPrometheusAccept, "")
	gz := perfGet(t, url, perfPrometheusAccept, "gzip")
	if !strings.Contains(string(text), `capability_decision{capability="service_mesh",state=`) {
		t.Fatalf("the exposition has no decisions:\n%s", text)
	}
	total, own := perfSeries(string(text))
	doc.Para("The exporter binary with the embedded default rules and `examples/webshop.yml` (all signals declared, so every capability series is present). Scrapes ask as Prometheus does: OpenMetrics, gzip.")
	doc.Table([]string{"exposition", "value"}, [][]string{
		{"series (all)", fmt.Sprint(total)},
		{"series of the capability rules (`capability_*`, not `capability_exporter_*`)", fmt.Sprint(own)},
		{"text format 0.0.4", fmt.Sprintf("%d bytes", len(text))},
		{"OpenMetrics", fmt.Sprintf("%d bytes", len(om))},
		{"OpenMetrics, gzip (on the wire)", fmt.Sprintf("%d bytes", len(gz))},
	})

	// One scraper: the latency of a scrape on an idle exporter, each one
	// rendered (further apart than the exporter reuses a rendering), then
	// back to back.
	client := clientWith(&http.Transport{DisableCompression: true})
	timed := func(n int, pause time.Duration) []time.Duration {
		var out []time.Duration
		for range n {
			time.Sleep(pause)
			d, err := perfTimedScrape(client, url)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, d)
		}
		return out
	}
	rendered := timed(6, perfScrapeRenderGap)
	single := timed(500, 0)

	// The exporter reuses a rendering for a second: wait that out so the
	// CPU counter read around the load is fresh.
	time.Sleep(perfScrapeRenderGap)
	cpu0 := perfScrape(t, url).Value("process_cpu_seconds_total")
	lat, all, errs := perfScrapeLoadRun(url, perfScrapers, perfScrapeWarmup, perfScrapeLoad)
	scrapes := len(lat)
	time.Sleep(perfScrapeRenderGap)
	cpu1 := perfScrape(t, url).Value("process_cpu_seconds_total")
	if len(errs) > 0 {
		t.Fatalf("%d scrapes failed under load, e.g. %v", len(errs), errs[0])
	}
	bursts, burstErrs := perfScrapeBursts(url, perfScrapers, perfBurstEvery, perfBursts)
	if len(burstErrs) > 0 {
		t.Fatalf("%d scrapes failed in bursts, e.g. %v", len(burstErrs), burstErrs[0])
	}
	p99 := percentile(bursts, 99)

	// The same loads on an exporter that renders every scrape: what reuse
	// of a rendering saves, measured in this run.
	raw := startExporter(t, filepath.Join(repoRoot(), "examples", "webshop.yml"), "--no-web.metrics-reuse")
	rawURL := raw.URL + "/metrics"
	rawCPU0 := perfScrape(t, rawURL).Value("process_cpu_seconds_total")
	rawLat, rawAll, rawErrs := perfScrapeLoadRun(rawURL, perfScrapers, perfScrapeWarmup, perfScrapeLoad)
	rawCPU1 := perfScrape(t, rawURL).Value("process_cpu_seconds_total")
	if len(rawErrs) > 0 {
		t.Fatalf("without reuse, %d scrapes failed under load, e.g. %v", len(rawErrs), rawErrs[0])
	}
	rawBursts, rawBurstErrs := perfScrapeBursts(rawURL, perfScrapers, perfBurstEvery, perfBursts)
	if len(rawBurstErrs) > 0 {
		t.Fatalf("without reuse, %d scrapes failed in bursts, e.g. %v", len(rawBurstErrs), rawBurstErrs[0])
	}
	raw.Stop()
	doc.Table([]string{"load", "scrapes", "scrapes/s", "p50", "p90", "p99", "max", "exporter CPU per scrape"}, [][]string{
		{fmt.Sprintf("1 scraper, a scrape every %s (each one rendered)", perfScrapeRenderGap), fmt.Sprint(len(rendered)), "",
			ms(percentile(rendered, 50)), ms(percentile(rendered, 90)), ms(percentile(rendered, 99)), ms(percentile(rendered, 100)), ""},
		{"1 scraper, back to back", fmt.Sprint(len(single)), "", ms(percentile(single, 50)), ms(percentile(single, 90)),
			ms(percentile(single, 99)), ms(percentile(single, 100)), ""},
		{fmt.Sprintf("**%d scrapers at once, every %s** (%d bursts)", perfScrapers, perfBurstEvery, perfBursts), fmt.Sprint(len(bursts)),
			fmt.Sprintf("%.0f", float64(perfScrapers)/perfBurstEvery.Seconds()), ms(percentile(bursts, 50)), ms(percentile(bursts, 90)), ms(p99),
			ms(percentile(bursts, 100)), ""},
		{fmt.Sprintf("%d scrapers, closed loop, %s", perfScrapers, perfScrapeLoad), fmt.Sprint(scrapes),
			fmt.Sprintf("%.0f", float64(scrapes)/perfScrapeLoad.Seconds()), ms(percentile(lat, 50)), ms(percentile(lat, 90)), ms(percentile(lat, 99)),
			ms(percentile(lat, 100)), fmt.Sprintf("%.0f µs", (cpu1-cpu0)/float64(all)*1e6)},
		{fmt.Sprintf("without reuse: %d scrapers at once, every %s (%d bursts)", perfScrapers, perfBurstEvery, perfBursts), fmt.Sprint(len(rawBursts)),
			fmt.Sprintf("%.0f", float64(perfScrapers)/perfBurstEvery.Seconds()), ms(percentile(rawBursts, 50)), ms(percentile(rawBursts, 90)),
			ms(percentile(rawBursts, 99)), ms(percentile(rawBursts, 100)), ""},
		{fmt.Sprintf("without reuse: %d scrapers, closed loop, %s", perfScrapers, perfScrapeLoad), fmt.Sprint(len(rawLat)),
			fmt.Sprintf("%.0f", float64(len(rawLat))/perfScrapeLoad.Seconds()), ms(percentile(rawLat, 50)), ms(percentile(rawLat, 90)),
			ms(percentile(rawLat, 99)), ms(percentile(rawLat, 100)), fmt.Sprintf("%.0f µs", (rawCPU1-rawCPU0)/float64(rawAll)*1e6)},
	})
	doc.Para("Latency is from sending the request to reading the last byte of the gzip body. The exporter renders a response once and serves it again, for up to a second, to scrapes that ask the same way (a new evaluation renders at once), so of 50 scrapes that arrive together one renders and 49 wait for it. \"50 scrapers at once\" is the target's load: 50 scrapes in flight together, as from 50 Prometheus servers whose schedules align, every %s. The closed loop (each scraper asks again as soon as it has read its answer) measures saturation: its latency is 50 divided by the throughput, and on these two cores the scrapers' own CPU is most of it. CPU per scrape is read from the exporter's own `process_cpu_seconds_total`. The rows \"without reuse\" are the same loads on a second exporter started with `--no-web.metrics-reuse`, which renders every scrape (the capability series are still built once per evaluation): the difference is what serving a rendering again saves.", perfBurstEvery)
	doc.Target("/metrics p99, 50 scrapes at once", ms(perfScrapeP99Goal), ms(p99), p99 < perfScrapeP99Goal,
		perfScrapeBreakdown(bursts, perfScrapers, rendered, single, (cpu1-cpu0)/float64(all)))
}

// perfScrapeBreakdown says where this run's burst latency went, from this
// run's figures alone: how many bursts had a scrape over the target and
// how slow their slowest one was, what a rendering costs with no one
// waiting, the CPU per scrape, and how busy the machine was.
func perfScrapeBreakdown(bursts []time.Duration, n int, rendered, single []time.Duration, cpuPerScrape float64) string {
	slow, worst := 0, time.Duration(0)
	rounds := len(bursts) / n
	for r := range rounds {
		m := slices.Max(bursts[r*n : (r+1)*n])
		if m >= perfScrapeP99Goal {
			slow++
			worst = max(worst, m)
		}
	}
	load := "unknown"
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		if f := strings.Fields(string(b)); len(f) > 0 {
			load = f[0]
		}
	}
	return fmt.Sprintf("in this run %d of %d bursts had a scrape at or over %s (the slowest %s); with no one waiting, a rendered scrape took %s at the median and a reused one %s; %.0f µs of exporter CPU per scrape; load average %s at the end, on %d CPUs",
		slow, rounds, ms(perfScrapeP99Goal), ms(worst), ms(percentile(rendered, 50)), ms(percentile(single, 50)), cpuPerScrape*1e6, load, runtime.NumCPU())
}

// perfScrapeBursts sends n scrapes at once, every interval, rounds times,
// each scraper on its own keep-alive connection, and returns the latencies.
func perfScrapeBursts(url string, n int, every time.Duration, rounds int) (lat []time.Duration, errs []error) {
	type result struct {
		d   time.Duration
		err error
	}
	start := make([]chan struct{}, n)
	results := make(chan result, n)
	for i := range start {
		start[i] = make(chan struct{})
		go func(go_ <-chan struct{}) {
			c := clientWith(&http.Transport{DisableCompression: true, MaxIdleConnsPerHost: 1})
			for range go_ {
				d, err := perfTimedScrape(c, url)
				results <- result{d, err}
			}
		}(start[i])
	}
	tick := time.NewTicker(every)
	defer tick.Stop()
	for range rounds {
		<-tick.C
		for _, ch := range start {
			ch <- struct{}{}
		}
		for range n {
			r := <-results
			if r.err != nil {
				errs = append(errs, r.err)
				continue
			}
			lat = append(lat, r.d)
		}
	}
	for _, ch := range start {
		close(ch)
	}
	return lat, errs
}

func perfGet(t *testing.T, url, accept, encoding string) []byte {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	req.Header.Set("Accept", accept)
	if encoding != "" {
		req.Header.Set("Accept-Encoding", encoding)
	}
	resp, err := clientWith(&http.Transport{DisableCompression: true}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if encoding == "gzip" {
		if resp.Header.Get("Content-Encoding") != "gzip" {
			t.Fatalf("asked for gzip, got Content-Encoding %q", resp.Header.Get("Content-Encoding"))
		}
		if _, err := io.Copy(io.Discard, mustGunzip(t, body)); err != nil {
			t.Fatal(err)
		}
	}
	return body
}

func mustGunzip(t *testing.T, b []byte) io.Reader {
	t.Helper()
	r, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// perfSeries counts the samples of a text exposition, and those of the
// capability rules.
func perfSeries(body string) (total, capability int) {
	for _, l := range strings.Split(body, "\n") {
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		total++
		if strings.HasPrefix(l, "capability_") && !strings.HasPrefix(l, "capability_exporter_") {
			capability++
		}
	}
	return total, capability
}

// perfTimedScrape scrapes once as Prometheus does and returns the time to
// the last byte.
func perfTimedScrape(c *http.Client, url string) (time.Duration, error) {
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	req.Header.Set("Accept", perfPrometheusAccept)
	req.Header.Set("Accept-Encoding", "gzip")
	start := time.Now()
	resp, err := c.Do(req)
	if err != nil {
		return 0, err
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	d := time.Since(start)
	if err == nil && resp.StatusCode != http.StatusOK {
		err = fmt.Errorf("status %s", resp.Status)
	}
	return d, err
}

// perfScrapeLoadRun runs n scrapers, each on its own keep-alive connection
// as separate Prometheus servers would, for warmup and then load; it
// returns the latencies measured during load and the number of scrapes
// sent in all, warmup included.
func perfScrapeLoadRun(url string, n int, warmup, load time.Duration) (lat []time.Duration, all int, errs []error) {
	var mu sync.Mutex
	var wg sync.WaitGroup
	start := time.Now()
	measureFrom, end := start.Add(warmup), start.Add(warmup+load)
	for range n {
		wg.Go(func() {
			c := clientWith(&http.Transport{DisableCompression: true, MaxIdleConnsPerHost: 1})
			var mine []time.Duration
			var myErrs []error
			for {
				t0 := time.Now()
				if !t0.Before(end) {
					break
				}
				d, err := perfTimedScrape(c, url)
				mu.Lock()
				all++
				mu.Unlock()
				if t0.Before(measureFrom) {
					continue
				}
				if err != nil {
					myErrs = append(myErrs, err)
					continue
				}
				mine = append(mine, d)
			}
			mu.Lock()
			lat = append(lat, mine...)
			errs = append(errs, myErrs...)
			mu.Unlock()
		})
	}
	wg.Wait()
	return lat, all, errs
}
