package main

import (
	"bytes"
	"context"
	"log/slog"
	"maps"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/capability-exporter/capability_exporter/collector"
)

// newMetricsHandler serves the capability metrics of sched beside self, the
// exporter's own metrics (process, Go, requests), which change between
// evaluations. With reuse, the capability metrics are rendered once per
// evaluation, format and encoding (collector.NewScrapeHandler) and only
// self's per response, and a whole response is served again for up to a
// second (scrapeCache); without, every scrape renders everything anew, as
// the perf tier measures to compare. Either way the collectors are
// registered together, so that a name in both fails at start.
func newMetricsHandler(sched *collector.Scheduler, reuse bool, logger *slog.Logger, self ...prometheus.Collector) http.Handler {
	exporter := collector.NewExporter(sched)
	all := prometheus.NewRegistry()
	all.MustRegister(append([]prometheus.Collector{exporter}, self...)...)
	opts := promhttp.HandlerOpts{ErrorLog: slog.NewLogLogger(logger.Handler(), slog.LevelError), EnableOpenMetrics: true}
	if !reuse {
		return promhttp.HandlerFor(all, opts)
	}
	own := prometheus.NewRegistry()
	own.MustRegister(self...)
	return newScrapeCache(collector.NewScrapeHandler(exporter, own, opts),
		func() scrapeVersion { return scrapeVersion{sched.Current(), sched.Reloads()} })
}

// scrapeCacheMaxAge is how long a rendered /metrics response is served again
// to scrapes that ask for it the same way. The capability metrics change
// only when an evaluation is published and the reload metrics only when a
// reload is tried (either renders anew at once); what a second's reuse can
// make stale is the exporter's own Go and process metrics and its what-if
// and MCP counters, by less than any scrape interval. Rendering a response
// with the capability metrics already rendered (collector.NewScrapeHandler)
// still costs about a millisecond of CPU (the process collector reads
// /proc; the Go collector; encoding and compressing them), which aligned
// scrapes from many Prometheus servers would otherwise pay each.
// A response past that age but within twice it is still served while one
// new rendering runs in the background, so that under steady scraping no
// scrape waits for a rendering; an older one is rendered anew first, so a
// response is never more than two seconds old.
const scrapeCacheMaxAge = time.Second

// scrapeCacheEntries bounds the cache: one entry per distinct request
// (see scrapeKey), and scrapers send few; past the bound a request is
// rendered for itself, never answered from another request's entry.
const scrapeCacheEntries = 16

// scrapeCache serves one rendering of the metrics handler to every scrape
// that asks the same way within scrapeCacheMaxAge, as long as its version
// is unchanged (no evaluation published, no reload tried); scrapes that
// arrive while it renders wait for it rather than render again.
type scrapeCache struct {
	next    http.Handler
	version func() scrapeVersion
	now     func() time.Time

	mu      sync.Mutex
	entries map[scrapeKey]*scrapeEntry
}

// scrapeKey is everything in a request that changes the body promhttp
// renders: the format and escaping (Accept), the compression
// (Accept-Encoding) and the URL query, whose name[] parameters filter the
// families served. promhttp's HandlerOpts has no cache of its own to lean
// on, so the key must cover all three: keyed on the headers alone, a
// filtered scrape's few families were served to the next plain scrape, and
// every other series vanished for the Prometheus that asked. The raw query
// is kept as sent rather than parsed, so that any parameter a later
// promhttp reads is covered too; reordered queries only cost a rendering.
type scrapeKey struct{ accept, encoding, query string }

// scrapeVersion is what the metrics show beside the Go and process
// metrics: a rendering of another version is never served.
type scrapeVersion struct {
	state   *collector.State
	reloads uint64
}

type scrapeEntry struct {
	done       chan struct{} // closed once rendered
	version    scrapeVersion
	at         time.Time
	refreshing bool // a newer rendering runs in the background (under mu)
	status     int
	header     http.Header
	body       []byte
}

func newScrapeCache(next http.Handler, version func() scrapeVersion) *scrapeCache {
	return &scrapeCache{next: next, version: version, now: time.Now, entries: map[scrapeKey]*scrapeEntry{}}
}

func (c *scrapeCache) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		c.next.ServeHTTP(w, r)
		return
	}
	key := scrapeKey{r.Header.Get("Accept"), r.Header.Get("Accept-Encoding"), r.URL.RawQuery}
	e, render, refresh := c.entry(key)
	switch {
	case e == nil:
		c.next.ServeHTTP(w, r) // the cache is full of fresh entries: no reuse for an odd client
		return
	case render:
		c.render(key, e, r)
	case refresh != nil:
		go c.render(key, refresh, r.Clone(context.Background()))
	}
	select {
	case <-e.done:
	case <-r.Context().Done():
		return
	}
	maps.Copy(w.Header(), e.header)
	w.WriteHeader(e.status)
	_, _ = w.Write(e.body)
}

// render fills e from the handler and makes it the entry of key; an error
// is answered once, not reused.
func (c *scrapeCache) render(key scrapeKey, e *scrapeEntry, r *http.Request) {
	rec := &scrapeRecorder{header: http.Header{}, status: http.StatusOK}
	c.next.ServeHTTP(rec, r)
	e.status, e.header, e.body = rec.status, rec.header, rec.body.Bytes()
	close(e.done)
	c.mu.Lock()
	defer c.mu.Unlock()
	old := c.entries[key]
	switch {
	case e.status != http.StatusOK:
		if old == e {
			delete(c.entries, key)
		} else if old != nil {
			old.refreshing = false
		}
	case old == nil || old.version == e.version && !old.at.After(e.at):
		c.entries[key] = e
	}
}

// entry returns the entry to answer key from, whether the caller must
// render it first, and a newer entry to render in the background.
func (c *scrapeCache) entry(key scrapeKey) (e *scrapeEntry, render bool, refresh *scrapeEntry) {
	v, now := c.version(), c.now()
	c.mu.Lock()
	defer c.mu.Unlock()
	if e := c.entries[key]; e != nil && e.version == v {
		age := now.Sub(e.at)
		switch {
		case !e.rendered() || age <= scrapeCacheMaxAge:
			return e, false, nil
		case age <= 2*scrapeCacheMaxAge:
			if !e.refreshing {
				e.refreshing = true
				refresh = &scrapeEntry{done: make(chan struct{}), version: v, at: now}
			}
			return e, false, refresh
		}
	}
	if _, ok := c.entries[key]; !ok && len(c.entries) >= scrapeCacheEntries {
		for k, e := range c.entries {
			if e.rendered() && now.Sub(e.at) > 2*scrapeCacheMaxAge {
				delete(c.entries, k)
			}
		}
		if len(c.entries) >= scrapeCacheEntries {
			return nil, false, nil
		}
	}
	e = &scrapeEntry{done: make(chan struct{}), version: v, at: now}
	c.entries[key] = e
	return e, true, nil
}

func (e *scrapeEntry) rendered() bool {
	select {
	case <-e.done:
		return true
	default:
		return false
	}
}

// scrapeRecorder keeps a response to serve it again.
type scrapeRecorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (r *scrapeRecorder) Header() http.Header         { return r.header }
func (r *scrapeRecorder) WriteHeader(status int)      { r.status = status }
func (r *scrapeRecorder) Write(p []byte) (int, error) { return r.body.Write(p) }
