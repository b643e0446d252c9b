package report

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"html/template"
	"io"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/capability-exporter/capability_exporter/collector"
)

// Handlers serve the status page and the JSON API from the State a
// scheduler last published: each request loads the State once and renders
// only that, so /metrics, / and the API always show the same evaluation and
// a request never starts one.
type Handlers struct {
	// Current returns the last published State, or nil before the first
	// evaluation (collector.Scheduler.Current).
	Current func() *collector.State
	// MetricsPath is linked from the page.
	MetricsPath string
	// Version is the exporter's version, shown in the footer.
	Version string
	// Now is the clock for ages; nil means time.Now. Tests fix it.
	Now func() time.Time
}

func (h Handlers) build() (*Report, bool) {
	st := h.Current()
	if st == nil || st.Evaluation == nil {
		return nil, false
	}
	now := time.Now
	if h.Now != nil {
		now = h.Now
	}
	return Build(st, Options{Now: now(), Version: h.Version}), true
}

// JSON serves the evaluation in the shape of Report at APIPath.
func (h Handlers) JSON() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if !allowRead(w, req) {
			return
		}
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		r, ok := h.build()
		if !ok {
			w.WriteHeader(http.StatusServiceUnavailable)
			_ = json.NewEncoder(w).Encode(map[string]string{"api_version": APIVersion,
				"error": "the first evaluation has not finished yet"})
			return
		}
		_ = WriteJSON(w, r)
	})
}

// WriteJSON writes r indented, for people reading it with curl as much as
// for programs.
func WriteJSON(w io.Writer, r *Report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false) // served as application/json; "<secret>" reads better than \u003csecret\u003e
	return enc.Encode(r)
}

//go:embed page.html
var pageHTML string

var pageTemplate = template.Must(template.New("page").Funcs(template.FuncMap{
	"words":      stateWords,
	"outweighed": outweighedWords,
	"seconds":    seconds,
	"ago":        func(s float64) string { return ago(time.Duration(s * float64(time.Second))) },
	"rfc3339":    func(t time.Time) string { return t.Format(time.RFC3339) },
	"holds":      func(b *bool) bool { return b != nil && *b },
	"fails":      func(b *bool) bool { return b != nil && !*b },
	"unknown":    func(b *bool) bool { return b == nil },
	"deref":      func(s *string) string { return derefString(s) },
	"groups":     conditionGroups,
	// The decisions table's short answers: which tools are detected,
	// which foundations are missing.
	"detectedTools":      detectedTools,
	"missingFoundations": missingFoundations,
	"reason":             reasonHTML,
	"questionLines":      questionLines,
}).Funcs(derivedFuncs).Parse(pageHTML))

// presence is a short answer to "which of these are detected (or
// missing)?": the names when some are; unknown, with the reasons, when none
// is known to be but some cannot be told; otherwise None. "none" beside an
// entry nobody could check would read as a finding.
type presence struct {
	Names   []string
	Class   string // CSS class of each name
	Unknown bool
	Reason  string // why the unknown entries are unknown, each reason once
	None    string
}

func detectedTools(tools []Tool) presence {
	p := presence{None: "none"}
	if len(tools) == 0 {
		p.None = "none defined"
	}
	var unknown reasons
	for _, t := range tools {
		switch {
		case t.Detected == nil:
			unknown.add(t.Title, derefString(t.Reason))
		case *t.Detected:
			p.Names = append(p.Names, t.Title)
		}
	}
	p.Unknown, p.Reason = len(unknown.order) > 0, unknown.String()
	return p
}

func missingFoundations(fs []Foundation) presence {
	p := presence{Class: "missing", None: "none"}
	if len(fs) == 0 {
		p.None = "none required"
	}
	var unknown reasons
	for _, f := range fs {
		switch {
		case f.Present == nil:
			unknown.add(f.Title, derefString(f.Reason))
		case !*f.Present:
			p.Names = append(p.Names, f.Title)
		}
	}
	p.Unknown, p.Reason = len(unknown.order) > 0, unknown.String()
	return p
}

// reasons groups entries by why they are unknown, so that one source down
// reads once rather than once per tool: "Jaeger, Tempo: not configured".
type reasons struct {
	order  []string
	titles map[string][]string
}

func (r *reasons) add(title, reason string) {
	if r.titles == nil {
		r.titles = map[string][]string{}
	}
	if _, ok := r.titles[reason]; !ok {
		r.order = append(r.order, reason)
	}
	r.titles[reason] = append(r.titles[reason], title)
}

func (r *reasons) String() string {
	parts := make([]string, len(r.order))
	for i, reason := range r.order {
		parts[i] = strings.Join(r.titles[reason], ", ") + ": " + reason
	}
	return strings.Join(parts, "; ")
}

func derefString(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

type conditionGroup struct {
	Title, Class string
	Rows         []conditionRow
}

type conditionRow struct {
	Condition
	// ShowReason is false when the same unknown signal's reason is already
	// on the page just above: one unreachable source would otherwise repeat
	// its error on every row.
	ShowReason bool
}

// conditionGroups splits a capability's conditions into held, did not hold
// and unknown, leaving out empty groups.
func conditionGroups(cs []Condition) []conditionGroup {
	groups := []conditionGroup{{Title: "Held", Class: "held"}, {Title: "Did not hold", Class: "failed"},
		{Title: "Unknown", Class: "unknown"}}
	explained := map[string]bool{}
	for _, c := range cs {
		i := 2
		if c.Holds != nil {
			i = 1
			if *c.Holds {
				i = 0
			}
		}
		row := conditionRow{Condition: c}
		if c.Value == nil {
			row.ShowReason = !explained[c.Signal]
			explained[c.Signal] = true
		}
		groups[i].Rows = append(groups[i].Rows, row)
	}
	out := groups[:0]
	for _, g := range groups {
		if len(g.Rows) > 0 {
			out = append(out, g)
		}
	}
	return out
}

type pageData struct {
	*Report
	MetricsPath string
	APIPath     string
	Recommended *Capability
	Ready       bool
	// BaseURL is how the reader reached the page (scheme and host), for
	// the curl lines that ask a what-if of this exporter.
	BaseURL string
}

// Page serves the status page at "/". It answers 404 for any other path, so
// it can be mounted on "/" without swallowing typos.
func (h Handlers) Page() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.URL.Path != "/" {
			http.NotFound(w, req)
			return
		}
		if !allowRead(w, req) {
			return
		}
		// No scripts, no outside assets: the page is complete as served.
		w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		data := pageData{MetricsPath: h.MetricsPath, APIPath: APIPath, BaseURL: baseURL(req)}
		r, ok := h.build()
		if ok {
			data.Report, data.Ready = r, true
			for i := range r.Capabilities {
				if r.Capabilities[i].RecommendedNext {
					data.Recommended = &r.Capabilities[i]
				}
			}
		} else {
			data.Report = &Report{ExporterVersion: h.Version}
		}
		var buf bytes.Buffer
		if err := pageTemplate.Execute(&buf, data); err != nil {
			http.Error(w, "rendering the status page: "+err.Error(), http.StatusInternalServerError)
			return
		}
		if !ok {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
		_, _ = buf.WriteTo(w)
	})
}

// baseURL is the scheme and host the request came to.
func baseURL(req *http.Request) string {
	scheme := "http"
	if req.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + req.Host
}

func allowRead(w http.ResponseWriter, req *http.Request) bool {
	if req.Method == http.MethodGet || req.Method == http.MethodHead {
		return true
	}
	w.Header().Set("Allow", "GET, HEAD")
	http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
	return false
}

// downRE finds "<source> is down" in a reason: the fault is said once, at
// the top, and the reason links there.
var downRE = regexp.MustCompile(`\b(kubernetes|prometheus|loki) is down\b`)

// reasonHTML is a reason for the page, escaped, with each "<source> is
// down" a link to that source's line under "To get decisions".
func reasonHTML(v any) template.HTML {
	var s string
	switch r := v.(type) {
	case string:
		s = r
	case *string:
		s = derefString(r)
	}
	esc := template.HTMLEscapeString(s)
	return template.HTML(downRE.ReplaceAllString(esc, `<a class="down" href="#source-$1">$1 is down</a>`)) //nolint:gosec // escaped above; the link is ours
}
