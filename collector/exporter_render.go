package collector

import (
	"bytes"
	"compress/flate"
	"encoding/binary"
	"hash/crc32"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
)

// NewScrapeHandler serves /metrics: the exporter's metrics beside self, the
// exporter's own process, Go and request metrics, exactly as
// promhttp.HandlerFor(prometheus.Gatherers{e, self}, opts) would, byte for
// byte once decompressed.
//
// Between two evaluations the capability series do not change, so they are
// rendered once per published State (and config reload) and per format and
// encoding, the first time a scrape asks for that format and encoding, into
// bytes every later scrape shares; only self is gathered and rendered per
// scrape. A gzip response is one gzip stream: the shared parts are kept
// compressed, each ending on a byte boundary (a flush), and the scrape's own
// parts are compressed between them; the checksum runs over the whole.
//
// What it does not render itself goes to promhttp over both: a name[]
// filter, an encoding other than gzip and identity (zstd), and any error of
// a gather, so that filters, errors and their status are promhttp's own.
func NewScrapeHandler(e *Exporter, self prometheus.Gatherer, opts promhttp.HandlerOpts) http.Handler {
	static := prometheus.NewRegistry()
	static.MustRegister(e)
	h := newScrapeHandler(static, e.version, self, opts)
	e.sched.OnPublish(func(*State) { h.prerender() })
	return h
}

// prerender renders the current version's capability series, right after
// a publication, in every format a scrape has asked for so far, so that no
// scrape waits for it.
func (h *scrapeHandler) prerender() {
	sr := h.staticRendering()
	dynamic, err := h.dynamic.Gather()
	if sr.err != nil || err != nil {
		return // the scrape answers through promhttp, with its error
	}
	formats := map[string]bool{}
	h.mu.Lock()
	for _, n := range h.negotiated {
		formats[n.contentType] = n.encoding == "" || n.encoding == "gzip" || formats[n.contentType]
	}
	h.mu.Unlock()
	for format, ours := range formats {
		if ours {
			h.segments(sr, format, dynamic)
		}
	}
}

// exporterVersion is what the exporter's metrics are rendered from: a
// rendering of another version is never served.
type exporterVersion struct {
	state    *State
	reloads  uint64
	interval time.Duration
}

// version identifies everything Collect reads: the published State, the
// reload count (the reload status changes only on a reload) and the
// interval (set when the scheduler starts running).
func (e *Exporter) version() any {
	return exporterVersion{e.sched.Current(), e.sched.Reloads(), e.sched.Interval()}
}

// scrapeFormatsKept bounds the negotiations remembered (one per distinct
// pair of Accept and Accept-Encoding headers; scrapers send few) and the
// runs kept per rendering.
const scrapeFormatsKept = 64

type scrapeHandler struct {
	static  prometheus.Gatherer
	version func() any
	dynamic prometheus.Gatherer
	full    http.Handler // promhttp over static and dynamic
	probe   http.Handler // promhttp over nothing: its negotiation alone
	opts    []expfmt.EncoderOption

	mu         sync.Mutex
	negotiated map[string]negotiation
	rendering  *staticRendering
}

// negotiation is what promhttp chose for one pair of Accept and
// Accept-Encoding headers.
type negotiation struct {
	contentType string
	encoding    string // "" for identity
}

// staticRendering is one version of the static families, gathered once,
// and the runs of them rendered so far.
type staticRendering struct {
	version  any
	once     sync.Once
	families []*dto.MetricFamily
	err      error

	mu   sync.Mutex
	runs map[runKey]*renderedRun
}

// runKey names consecutive static families [from, to) in one format: the
// families between two of self's, which a scrape writes as one piece.
type runKey struct {
	format   string
	from, to int
}

type renderedRun struct {
	once     sync.Once
	plain    []byte
	err      error
	zonce    sync.Once
	deflated []byte // plain, deflated and flushed to a byte boundary
}

func newScrapeHandler(static prometheus.Gatherer, version func() any, dynamic prometheus.Gatherer, opts promhttp.HandlerOpts) *scrapeHandler {
	h := &scrapeHandler{
		static: static, version: version, dynamic: dynamic,
		full:       promhttp.HandlerFor(prometheus.Gatherers{static, dynamic}, opts),
		probe:      promhttp.HandlerFor(prometheus.Gatherers{}, opts),
		negotiated: map[string]negotiation{},
	}
	if opts.EnableOpenMetricsTextCreatedSamples {
		h.opts = append(h.opts, expfmt.WithCreatedLines())
	}
	return h
}

func (h *scrapeHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL != nil && r.URL.RawQuery != "" && len(r.URL.Query()["name[]"]) > 0 {
		h.full.ServeHTTP(w, r)
		return
	}
	neg := h.negotiate(r)
	if neg.encoding != "" && neg.encoding != "gzip" {
		h.full.ServeHTTP(w, r)
		return
	}
	sr := h.staticRendering()
	dynamic, err := h.dynamic.Gather()
	if sr.err != nil || err != nil {
		h.full.ServeHTTP(w, r)
		return
	}
	segments, ok := h.segments(sr, neg.contentType, dynamic)
	if !ok {
		h.full.ServeHTTP(w, r)
		return
	}
	w.Header().Set("Content-Type", neg.contentType)
	if neg.encoding == "" {
		var body bytes.Buffer
		n := 0
		for _, s := range segments {
			n += len(s.plain)
		}
		body.Grow(n)
		for _, s := range segments {
			body.Write(s.plain)
		}
		_, _ = w.Write(body.Bytes())
		return
	}
	w.Header().Set("Content-Encoding", neg.encoding)
	_, _ = w.Write(gzipSegments(segments))
}

// negotiate asks promhttp, over no metrics, which format and encoding it
// would answer r with, and remembers its answer per pair of headers: the
// negotiation reads those two headers alone.
func (h *scrapeHandler) negotiate(r *http.Request) negotiation {
	key := strings.Join(r.Header.Values("Accept"), "\n") + "\x00" + strings.Join(r.Header.Values("Accept-Encoding"), "\n")
	h.mu.Lock()
	neg, ok := h.negotiated[key]
	h.mu.Unlock()
	if ok {
		return neg
	}
	probe := &headerRecorder{header: http.Header{}}
	req, _ := http.NewRequest(http.MethodGet, "/", nil)
	req.Header = r.Header
	h.probe.ServeHTTP(probe, req)
	neg = negotiation{probe.header.Get("Content-Type"), probe.header.Get("Content-Encoding")}
	h.mu.Lock()
	if len(h.negotiated) < scrapeFormatsKept {
		h.negotiated[key] = neg
	}
	h.mu.Unlock()
	return neg
}

// staticRendering returns the rendering of the current version, gathered.
func (h *scrapeHandler) staticRendering() *staticRendering {
	v := h.version() // before the gather: a newer gather under an older version only renders again
	h.mu.Lock()
	sr := h.rendering
	if sr == nil || sr.version != v {
		sr = &staticRendering{version: v, runs: map[runKey]*renderedRun{}}
		h.rendering = sr
	}
	h.mu.Unlock()
	sr.once.Do(func() { sr.families, sr.err = h.static.Gather() })
	return sr
}

// segment is one piece of a response: a run of static families, shared, or
// the scrape's own families.
type segment struct {
	plain    []byte
	deflated []byte // nil: deflate it for this response
}

// segments merges the static families and the scrape's own by name, as
// promhttp sorts them, into the pieces of one response in format. Not ok
// when a name is in both (promhttp answers that with an error).
func (h *scrapeHandler) segments(sr *staticRendering, format string, dynamic []*dto.MetricFamily) ([]segment, bool) {
	static := sr.families
	var out []segment
	i, j := 0, 0
	for i < len(static) || j < len(dynamic) {
		switch {
		case j == len(dynamic) || i < len(static) && static[i].GetName() < dynamic[j].GetName():
			from := i
			for i < len(static) && (j == len(dynamic) || static[i].GetName() < dynamic[j].GetName()) {
				i++
			}
			run, err := sr.run(runKey{format, from, i}, h.opts)
			if err != nil {
				return nil, false
			}
			out = append(out, run)
		case i == len(static) || dynamic[j].GetName() < static[i].GetName():
			from := j
			for j < len(dynamic) && (i == len(static) || dynamic[j].GetName() < static[i].GetName()) {
				j++
			}
			plain, err := encodeFamilies(format, dynamic[from:j], h.opts)
			if err != nil {
				return nil, false
			}
			out = append(out, segment{plain: plain})
		default:
			return nil, false
		}
	}
	if tail := formatTail(format); len(tail) > 0 {
		out = append(out, segment{plain: tail})
	}
	return out, true
}

// run returns the static families [k.from, k.to) rendered in k.format,
// rendering them on first use.
func (sr *staticRendering) run(k runKey, opts []expfmt.EncoderOption) (segment, error) {
	sr.mu.Lock()
	r := sr.runs[k]
	if r == nil {
		r = &renderedRun{}
		if len(sr.runs) < scrapeFormatsKept {
			sr.runs[k] = r
		}
	}
	sr.mu.Unlock()
	r.once.Do(func() { r.plain, r.err = encodeFamilies(k.format, sr.families[k.from:k.to], opts) })
	if r.err != nil {
		return segment{}, r.err
	}
	r.zonce.Do(func() { r.deflated = deflateFlushed(r.plain, flate.DefaultCompression) })
	return segment{plain: r.plain, deflated: r.deflated}, nil
}

// encodeFamilies renders families as promhttp's encoder does, without the
// format's closing (OpenMetrics' # EOF).
func encodeFamilies(format string, families []*dto.MetricFamily, opts []expfmt.EncoderOption) ([]byte, error) {
	var buf bytes.Buffer
	enc := expfmt.NewEncoder(&buf, expfmt.Format(format), opts...)
	for _, mf := range families {
		if err := enc.Encode(mf); err != nil {
			return nil, err
		}
	}
	return buf.Bytes(), nil
}

var formatTails sync.Map // format -> []byte

// formatTail is what the format's encoder writes on Close after the last
// family: OpenMetrics' "# EOF", nothing for the others.
func formatTail(format string) []byte {
	if t, ok := formatTails.Load(format); ok {
		return t.([]byte)
	}
	var buf bytes.Buffer
	if c, ok := expfmt.NewEncoder(&buf, expfmt.Format(format)).(expfmt.Closer); ok {
		_ = c.Close()
	}
	formatTails.Store(format, buf.Bytes())
	return buf.Bytes()
}

// deflaters keep flate writers, which cost most of a megabyte each to
// make, for the two levels used: the shared runs are deflated as promhttp's
// gzip does (once per evaluation), the response's own parts fast.
var deflaters = map[int]*sync.Pool{
	flate.DefaultCompression: {New: func() any { w, _ := flate.NewWriter(nil, flate.DefaultCompression); return w }},
	flate.BestSpeed:          {New: func() any { w, _ := flate.NewWriter(nil, flate.BestSpeed); return w }},
}

// deflateFlushed deflates p as non-final blocks ending on a byte boundary,
// so that other deflated pieces can follow it in one stream.
func deflateFlushed(p []byte, level int) []byte {
	var buf bytes.Buffer
	buf.Grow(len(p)/4 + 64)
	pool := deflaters[level]
	w := pool.Get().(*flate.Writer)
	defer pool.Put(w)
	w.Reset(&buf)
	_, _ = w.Write(p)
	_ = w.Flush()
	return buf.Bytes()
}

// gzipHeader is compress/gzip's header with no name, time or comment.
var gzipHeader = []byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255}

// deflateEnd is an empty final block: the end of a deflate stream.
var deflateEnd = func() []byte {
	var buf bytes.Buffer
	w, _ := flate.NewWriter(&buf, flate.BestSpeed)
	_ = w.Close()
	return buf.Bytes()
}()

// gzipSegments is one gzip stream of the segments, in order: the shared
// ones as they were deflated, the others deflated now (fast: they are the
// small part, and rendered again for each response).
func gzipSegments(segments []segment) []byte {
	var out bytes.Buffer
	n := len(gzipHeader) + len(deflateEnd) + 8
	for _, s := range segments {
		if s.deflated != nil {
			n += len(s.deflated)
		} else {
			n += len(s.plain)/2 + 16 // about what fast deflate leaves of text
		}
	}
	out.Grow(n)
	out.Write(gzipHeader)
	var crc, size uint32
	for _, s := range segments {
		if s.deflated != nil {
			out.Write(s.deflated)
		} else {
			out.Write(deflateFlushed(s.plain, flate.BestSpeed))
		}
		// The checksum runs over every byte: the standard library has no
		// way to chain a run's own checksum, and this costs microseconds.
		crc = crc32.Update(crc, crc32.IEEETable, s.plain)
		size += uint32(len(s.plain))
	}
	out.Write(deflateEnd)
	var trailer [8]byte
	binary.LittleEndian.PutUint32(trailer[:4], crc)
	binary.LittleEndian.PutUint32(trailer[4:], size)
	out.Write(trailer[:])
	return out.Bytes()
}

// headerRecorder keeps the headers of a response and drops its body.
type headerRecorder struct{ header http.Header }

func (r *headerRecorder) Header() http.Header         { return r.header }
func (r *headerRecorder) WriteHeader(int)             {}
func (r *headerRecorder) Write(p []byte) (int, error) { return len(p), nil }
