package collector

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// prometheusAccept is what Prometheus 2.x asks a target for.
const prometheusAccept = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"

// BenchmarkScrape measures a whole /metrics request as the binary renders
// it (NewScrapeHandler: the exporter's metrics rendered once per evaluation,
// the Go and process collectors per request) on a published evaluation of
// the default rules with every signal declared, as Prometheus asks for it
// (OpenMetrics, gzip) and uncompressed. The binary also serves a rendered
// response again for up to a second; that reuse is not measured here.
func BenchmarkScrape(b *testing.B) {
	sched := webshopScheduler(b)
	self := prometheus.NewRegistry()
	self.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	handler := NewScrapeHandler(NewExporter(sched), self, promhttp.HandlerOpts{EnableOpenMetrics: true})
	for _, enc := range []string{"gzip", "identity"} {
		b.Run(enc, func(b *testing.B) {
			b.ReportAllocs()
			var size int
			for b.Loop() {
				req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
				req.Header.Set("Accept", prometheusAccept)
				req.Header.Set("Accept-Encoding", enc)
				rec := httptest.NewRecorder()
				handler.ServeHTTP(rec, req)
				if rec.Code != http.StatusOK {
					b.Fatalf("status %d: %s", rec.Code, rec.Body)
				}
				size = rec.Body.Len()
			}
			b.ReportMetric(float64(size), "bytes/scrape")
		})
	}
}
