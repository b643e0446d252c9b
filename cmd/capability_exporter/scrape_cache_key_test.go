package main

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/capability-exporter/capability_exporter/collector"
)

// TestScrapeCacheKeyCoversTheBody: every request that changes what promhttp
// renders (the name[] filter, the format, the encoding) gets exactly the
// body the handler renders for it, whatever request was cached before it.
// With the key reduced to Accept (or Accept and Accept-Encoding), a plain
// scrape after a filtered one gets the filtered families only, and fails.
func TestScrapeCacheKeyCoversTheBody(t *testing.T) {
	reg := prometheus.NewRegistry()
	for _, name := range []string{"capability_decision", "capability_need", "capability_signal_value"} {
		g := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: name, Help: name + " help."}, []string{"capability"})
		g.WithLabelValues("service_mesh").Set(1)
		g.WithLabelValues("cost_visibility").Set(0)
		reg.MustRegister(g)
	}
	handler := promhttp.HandlerFor(reg, promhttp.HandlerOpts{EnableOpenMetrics: true})
	state := &collector.State{}
	cache := newScrapeCache(handler, func() scrapeVersion { return scrapeVersion{state, 0} })

	do := func(h http.Handler, query, accept, encoding string) (string, string, string) {
		req := httptest.NewRequest(http.MethodGet, "/metrics"+query, nil)
		req.Header.Set("Accept", accept)
		req.Header.Set("Accept-Encoding", encoding)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec.Body.String(), rec.Header().Get("Content-Type"), rec.Header().Get("Content-Encoding")
	}
	formats := []string{
		"text/plain;version=0.0.4",
		"application/openmetrics-text;version=1.0.0",
		"application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited",
	}
	encodings := []string{"", "gzip", "zstd"}
	// Each order: plain then filtered, filtered then plain, and two filters.
	orders := [][]string{
		{"", "?name[]=capability_decision"},
		{"?name[]=capability_decision", ""},
		{"?name[]=capability_need", "?name[]=capability_decision&name[]=capability_signal_value"},
	}
	for _, format := range formats {
		for _, encoding := range encodings {
			for _, order := range orders {
				for _, query := range order {
					got, gotType, gotEnc := do(cache, query, format, encoding)
					want, wantType, wantEnc := do(handler, query, format, encoding)
					if got != want || gotType != wantType || gotEnc != wantEnc {
						t.Errorf("Accept %q, Accept-Encoding %q, query %q after %q: the cache served another request's body (%d bytes %s %s, want %d bytes %s %s)",
							format, encoding, query, order, len(got), gotType, gotEnc, len(want), wantType, wantEnc)
					}
				}
			}
		}
	}
}
