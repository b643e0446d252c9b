package main

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/capability-exporter/capability_exporter/collector"
)

// countingHandler answers with its render count, slowly enough that
// concurrent scrapes overlap one rendering.
type countingHandler struct {
	renders atomic.Int64
	status  int
	delay   time.Duration
}

func (h *countingHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	n := h.renders.Add(1)
	time.Sleep(h.delay)
	w.Header().Set("Content-Type", "text/plain; for="+r.Header.Get("Accept"))
	if h.status != 0 {
		w.WriteHeader(h.status)
	}
	fmt.Fprintf(w, "render %d", n)
}

func scrapeWith(t *testing.T, h http.Handler, accept string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
	req.Header.Set("Accept", accept)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func TestScrapeCache(t *testing.T) {
	next := &countingHandler{delay: 20 * time.Millisecond}
	state := &collector.State{}
	clock := time.Unix(1000, 0)
	var mu sync.Mutex
	var reloads uint64
	c := newScrapeCache(next, func() scrapeVersion { mu.Lock(); defer mu.Unlock(); return scrapeVersion{state, reloads} })
	c.now = func() time.Time { mu.Lock(); defer mu.Unlock(); return clock }

	// 50 scrapes at once: one rendering, the same answer for all.
	var wg sync.WaitGroup
	bodies := make([]string, 50)
	for i := range bodies {
		wg.Go(func() { bodies[i] = scrapeWith(t, c, "text/plain").Body.String() })
	}
	wg.Wait()
	if n := next.renders.Load(); n != 1 {
		t.Fatalf("50 concurrent scrapes rendered %d times, want 1", n)
	}
	for _, b := range bodies {
		if b != "render 1" {
			t.Fatalf("a scrape got %q, want the one rendering", b)
		}
	}

	// Another format renders on its own; its header follows it.
	if rec := scrapeWith(t, c, "application/openmetrics-text"); rec.Body.String() != "render 2" ||
		rec.Header().Get("Content-Type") != "text/plain; for=application/openmetrics-text" {
		t.Fatalf("other Accept: %q %q", rec.Body, rec.Header().Get("Content-Type"))
	}

	advance := func(d time.Duration) { mu.Lock(); clock = clock.Add(d); mu.Unlock() }
	advance(scrapeCacheMaxAge)
	if b := scrapeWith(t, c, "text/plain").Body.String(); b != "render 1" {
		t.Fatalf("at max age: %q, want the first rendering again", b)
	}
	// Past it, the scrape is still answered from the last rendering while
	// a new one runs in the background; the scrapes after it get that one.
	advance(time.Millisecond)
	if b := scrapeWith(t, c, "text/plain").Body.String(); b != "render 1" {
		t.Fatalf("past max age: %q, want the last rendering while the next renders", b)
	}
	deadline := time.Now().Add(5 * time.Second)
	for scrapeWith(t, c, "text/plain").Body.String() != "render 3" {
		if time.Now().After(deadline) {
			t.Fatal("the background rendering never replaced the old one")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if n := next.renders.Load(); n != 3 {
		t.Fatalf("%d renderings, want 3", n)
	}
	// Past twice the max age nothing that old is served.
	advance(2*scrapeCacheMaxAge + time.Millisecond)
	if b := scrapeWith(t, c, "text/plain").Body.String(); b != "render 4" {
		t.Fatalf("past twice max age: %q, want a new rendering", b)
	}

	// A new evaluation renders at once, whatever the age.
	mu.Lock()
	state = &collector.State{}
	mu.Unlock()
	if b := scrapeWith(t, c, "text/plain").Body.String(); b != "render 5" {
		t.Fatalf("after a new evaluation: %q, want a new rendering", b)
	}
	// So does a reload, failed or not: the reload metrics are never stale.
	mu.Lock()
	reloads++
	mu.Unlock()
	if b := scrapeWith(t, c, "text/plain").Body.String(); b != "render 6" {
		t.Fatalf("after a reload: %q, want a new rendering", b)
	}
}

func TestScrapeCacheDoesNotKeepErrors(t *testing.T) {
	next := &countingHandler{status: http.StatusInternalServerError}
	c := newScrapeCache(next, func() scrapeVersion { return scrapeVersion{} })
	for i := 1; i <= 2; i++ {
		if rec := scrapeWith(t, c, "text/plain"); rec.Code != http.StatusInternalServerError || rec.Body.String() != fmt.Sprintf("render %d", i) {
			t.Fatalf("scrape %d: %d %q", i, rec.Code, rec.Body)
		}
	}
}

func TestScrapeCacheBounded(t *testing.T) {
	next := &countingHandler{}
	c := newScrapeCache(next, func() scrapeVersion { return scrapeVersion{} })
	for i := range scrapeCacheEntries + 5 {
		if b := scrapeWith(t, c, fmt.Sprintf("type/%d", i)).Body.String(); b != fmt.Sprintf("render %d", i+1) {
			t.Fatalf("Accept %d: %q", i, b)
		}
	}
	if len(c.entries) > scrapeCacheEntries {
		t.Fatalf("%d entries, want at most %d", len(c.entries), scrapeCacheEntries)
	}
}
