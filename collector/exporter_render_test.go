package collector

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
)

// countingGatherer counts the gathers of the static families.
type countingGatherer struct {
	prometheus.Gatherer
	n atomic.Int64
}

func (g *countingGatherer) Gather() ([]*dto.MetricFamily, error) {
	g.n.Add(1)
	return g.Gatherer.Gather()
}

// selfMetrics stands for the exporter's own metrics: fixed values (so that
// two renderings compare byte for byte), names that fall before, between
// and after the capability families, a counter, a histogram and a family
// with no series yet.
func selfMetrics(t testing.TB) *prometheus.Registry {
	t.Helper()
	reg := prometheus.NewRegistry()
	info := prometheus.NewGauge(prometheus.GaugeOpts{Name: "capability_exporter_build_info", Help: "Build.", ConstLabels: prometheus.Labels{"version": "1"}})
	info.Set(1)
	mcp := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "capability_exporter_mcp_requests_total", Help: "MCP requests."}, []string{"method"})
	mcp.WithLabelValues("tools/call").Add(3)
	whatIf := prometheus.NewHistogram(prometheus.HistogramOpts{Name: "capability_exporter_what_if_duration_seconds", Help: "What-if time."})
	whatIf.Observe(0.02)
	unused := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "capability_exporter_mcp_tool_calls_total", Help: "Unused."}, []string{"tool"})
	goroutines := prometheus.NewGauge(prometheus.GaugeOpts{Name: "go_goroutines", Help: "Goroutines."})
	goroutines.Set(12)
	first := prometheus.NewGauge(prometheus.GaugeOpts{Name: "a_first", Help: "Sorts first."})
	reg.MustRegister(info, mcp, whatIf, unused, goroutines, first)
	return reg
}

var renderFormats = []string{
	"text/plain;version=0.0.4",
	"application/openmetrics-text;version=1.0.0",
	prometheusAccept,
	"application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited",
	"",
}

// TestScrapeHandlerServesWhatPromhttpRenders: for every format and
// encoding, with and without a name[] filter, before and after a new
// evaluation, the handler answers with the headers and (decompressed) the
// very bytes promhttp renders from the same metrics, each format parses
// with expfmt, and the capability families are gathered once per
// evaluation however many scrapes ask.
func TestScrapeHandlerServesWhatPromhttpRenders(t *testing.T) {
	sched := webshopScheduler(t)
	exp := NewExporter(sched)
	staticReg := prometheus.NewRegistry()
	staticReg.MustRegister(exp)
	static := &countingGatherer{Gatherer: staticReg}
	self := selfMetrics(t)
	opts := promhttp.HandlerOpts{EnableOpenMetrics: true}
	h := newScrapeHandler(static, exp.version, self, opts)
	want := promhttp.HandlerFor(prometheus.Gatherers{staticReg, self}, opts)

	encodings := []string{"", "gzip", "identity", "gzip;q=0, identity", "zstd", "br, gzip;q=0.5", "*"}
	queries := []string{"", "?name[]=capability_decision&name[]=go_goroutines", "?other=1"}
	check := func(round string) {
		for _, format := range renderFormats {
			for _, enc := range encodings {
				for _, query := range queries {
					got, gotHdr := serve(t, h, query, format, enc)
					exp, expHdr := serve(t, want, query, format, enc)
					for _, k := range []string{"Content-Type", "Content-Encoding"} {
						if gotHdr.Get(k) != expHdr.Get(k) {
							t.Errorf("%s: Accept %q, Accept-Encoding %q, query %q: %s %q, promhttp %q", round, format, enc, query, k, gotHdr.Get(k), expHdr.Get(k))
						}
					}
					if !bytes.Equal(got, exp) {
						t.Errorf("%s: Accept %q, Accept-Encoding %q, query %q: %d bytes differ from promhttp's %d:\n%s", round, format, enc, query, len(got), len(exp), firstDifference(got, exp))
					}
					if query == "" && enc == "" && round == "first evaluation" { // the OpenMetrics parser takes seconds
						if n := parseFamilies(t, got, gotHdr.Get("Content-Type")); n < 30 {
							t.Errorf("%s: Accept %q: %d families parsed, want every one", round, format, n)
						}
					}
				}
			}
		}
	}
	check("first evaluation")
	gathers := func() int64 {
		static.n.Store(0)
		for _, format := range renderFormats {
			for _, enc := range []string{"", "gzip"} {
				serve(t, h, "", format, enc)
			}
		}
		return static.n.Load()
	}
	if n := gathers(); n != 0 {
		t.Errorf("%d gathers of the capability metrics for scrapes of an evaluation already rendered, want 0", n)
	}
	before, _ := serve(t, h, "", "text/plain", "")
	sched.Evaluate(context.Background())
	if n := gathers(); n != 1 {
		t.Errorf("%d gathers of the capability metrics for the scrapes of a new evaluation, want 1", n)
	}
	after, _ := serve(t, h, "", "text/plain", "")
	if bytes.Equal(before, after) {
		t.Error("a new evaluation served the rendering of the one before")
	}
	check("second evaluation")
}

// TestScrapeHandlerTextIsLintClean: the pre-rendered text passes promlint
// and, where it is installed, promtool check metrics.
func TestScrapeHandlerTextIsLintClean(t *testing.T) {
	sched := webshopScheduler(t)
	h := NewScrapeHandler(NewExporter(sched), prometheus.NewRegistry(), promhttp.HandlerOpts{EnableOpenMetrics: true})
	body, _ := serve(t, h, "", "text/plain;version=0.0.4", "gzip")
	problems, err := promlint.New(bytes.NewReader(body)).Lint()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("promlint: %s: %s", p.Metric, p.Text)
	}
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Skip("promtool not on PATH")
	}
	path := filepath.Join(t.TempDir(), "metrics.txt")
	if err := os.WriteFile(path, body, 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = f
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("promtool check metrics: %v\n%s", err, out)
	}
}

// serve returns the decompressed body and the headers of one scrape.
func serve(t testing.TB, h http.Handler, query, accept, encoding string) ([]byte, http.Header) {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, "/metrics"+query, nil)
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	if encoding != "" {
		req.Header.Set("Accept-Encoding", encoding)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	body := rec.Body.Bytes()
	if rec.Header().Get("Content-Encoding") == "gzip" {
		br := bytes.NewReader(body)
		zr, err := gzip.NewReader(br)
		if err != nil {
			t.Fatal(err)
		}
		zr.Multistream(false) // one gzip member, as any client reads it
		if body, err = io.ReadAll(zr); err != nil {
			t.Fatalf("gzip: %v", err)
		}
		if br.Len() != 0 {
			t.Fatalf("gzip: %d bytes after the first member", br.Len())
		}
	}
	return body, rec.Header()
}

// parseFamilies parses body in its Content-Type with expfmt and returns the
// number of families.
func parseFamilies(t testing.TB, body []byte, contentType string) int {
	t.Helper()
	hdr := http.Header{"Content-Type": {contentType}}
	dec := expfmt.NewDecoder(bytes.NewReader(body), expfmt.ResponseFormat(hdr))
	n := 0
	for {
		var mf dto.MetricFamily
		err := dec.Decode(&mf)
		if errors.Is(err, io.EOF) {
			return n
		}
		if err != nil {
			t.Fatalf("%s: expfmt: %v", contentType, err)
		}
		n++
	}
}

func firstDifference(got, want []byte) string {
	i := 0
	for i < len(got) && i < len(want) && got[i] == want[i] {
		i++
	}
	start := max(strings.LastIndexByte(string(got[:i]), '\n'), 0)
	end := func(b []byte) string { return string(b[start:min(len(b), i+80)]) }
	return "got:  " + end(got) + "\nwant: " + end(want)
}

// TestScrapeHandlerConcurrent: scrapes of every format and encoding while
// evaluations are published each get a whole, well-formed answer (run with
// -race).
func TestScrapeHandlerConcurrent(t *testing.T) {
	sched := webshopScheduler(t)
	h := NewScrapeHandler(NewExporter(sched), selfMetrics(t), promhttp.HandlerOpts{EnableOpenMetrics: true})
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for j := range 10 {
				format := renderFormats[(i+j)%len(renderFormats)]
				enc := []string{"", "gzip"}[(i+j)%2]
				body, _ := serve(t, h, "", format, enc)
				if len(body) < 10000 {
					t.Errorf("Accept %q, Accept-Encoding %q: %d bytes", format, enc, len(body))
				}
			}
		})
	}
	for range 3 {
		sched.Evaluate(context.Background())
	}
	wg.Wait()
}

// BenchmarkScrapeAfterEvaluation measures the first scrape after an
// evaluation is published, which renders the capability metrics of the
// new State for its format and encoding (the scrapes that arrive meanwhile
// wait for it), as Prometheus asks (OpenMetrics, gzip).
func BenchmarkScrapeAfterEvaluation(b *testing.B) {
	sched := webshopScheduler(b)
	exp := NewExporter(sched)
	static := prometheus.NewRegistry()
	static.MustRegister(exp)
	self := prometheus.NewRegistry()
	self.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	var version atomic.Int64
	h := newScrapeHandler(static, func() any { return version.Load() }, self, promhttp.HandlerOpts{EnableOpenMetrics: true})
	b.ReportAllocs()
	for b.Loop() {
		version.Add(1)
		req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
		req.Header.Set("Accept", prometheusAccept)
		req.Header.Set("Accept-Encoding", "gzip")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatalf("status %d", rec.Code)
		}
	}
}
