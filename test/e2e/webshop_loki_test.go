//go:build e2e

package e2e

import (
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// lokiDouble answers Loki's query API as Loki's HTTP API reference documents
// it, since no Loki server can be installed here: GET /loki/api/v1/query
// (instant, metric queries only) and /loki/api/v1/query_range, parameters
// in nanoseconds, RFC3339 or float seconds, results as vector, matrix or
// streams with stats, errors as plain text with Loki's status codes (400 for
// queries it refuses, 401 without the tenant header, 429, 504), and
// /loki/api/v1/status/buildinfo.
//
// It evaluates the LogQL the webshop's rules use over its log lines: a
// stream selector, line filters, | json and label filters, wrapped in
// count_over_time, sum, sum by and count. Anything else is a 400 parse
// error, as Loki answers a query it cannot parse.
type lokiDouble struct {
	*httptest.Server
	tenant string
	lines  []logLine

	mu       sync.Mutex
	faults   map[string][]int // status codes to answer for a query, in order, before evaluating it
	requests map[string]int   // requests per query
}

type logLine struct {
	stream map[string]string
	t      time.Time
	line   string
}

const lokiMaxQueryLength = 30*shopDay + time.Hour // Loki's default max_query_length, 721h

func newLokiDouble(t testing.TB, tenant string, lines []logLine) *lokiDouble {
	d := &lokiDouble{tenant: tenant, lines: lines, faults: map[string][]int{}, requests: map[string]int{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /loki/api/v1/query", d.serveQuery)
	mux.HandleFunc("GET /loki/api/v1/query_range", d.serveQuery)
	mux.HandleFunc("GET /loki/api/v1/labels", d.serveLabels)
	mux.HandleFunc("GET /loki/api/v1/status/buildinfo", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"version":"3.x-test-double","revision":"","branch":"","buildUser":"","buildDate":"","goVersion":""}`)
	})
	d.Server = httptest.NewServer(mux)
	t.Cleanup(d.Close)
	return d
}

// fail makes the next requests for query answer with these statuses.
func (d *lokiDouble) fail(query string, statuses ...int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.faults[query] = statuses
}

func (d *lokiDouble) count(query string) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.requests[query]
}

// lokiErrors are Loki's words for each status it answers with.
var lokiErrors = map[int]string{
	http.StatusTooManyRequests:     "too many outstanding requests",
	http.StatusGatewayTimeout:      "request timed out, decrease the duration of the request or add more label matchers (prefer exact match over regex match) to reduce the amount of data processed",
	http.StatusInternalServerError: "rpc error: code = Unavailable desc = connection error",
}

func (d *lokiDouble) serveQuery(w http.ResponseWriter, r *http.Request) {
	if d.tenant != "" && r.Header.Get("X-Scope-OrgID") != d.tenant {
		http.Error(w, "no org id", http.StatusUnauthorized)
		return
	}
	q := r.FormValue("query")
	d.mu.Lock()
	d.requests[q]++
	var fault int
	if f := d.faults[q]; len(f) > 0 {
		fault, d.faults[q] = f[0], f[1:]
	}
	d.mu.Unlock()
	if fault != 0 {
		http.Error(w, lokiErrors[fault], fault)
		return
	}
	expr, err := parseLogQL(q)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	now := time.Now()
	instant := strings.HasSuffix(r.URL.Path, "/query")
	var at []time.Time
	if instant {
		ts, err := parseLokiTime(r.FormValue("time"), now)
		if err != nil {
			http.Error(w, fmt.Sprintf("invalid parameter \"time\": %v", err), http.StatusBadRequest)
			return
		}
		at = []time.Time{ts}
		if expr.rng == 0 {
			http.Error(w, "log queries are not supported as an instant query type, please change your query to a range query type", http.StatusBadRequest)
			return
		}
	} else {
		end, err1 := parseLokiTime(r.FormValue("end"), now)
		start, err2 := parseLokiTime(r.FormValue("start"), end.Add(-time.Hour))
		if s := r.FormValue("since"); s != "" && r.FormValue("start") == "" {
			if d, err := time.ParseDuration(s); err == nil {
				start = end.Add(-d)
			}
		}
		step, err3 := parseLokiStep(r.FormValue("step"), end.Sub(start))
		if err := firstErr(err1, err2, err3); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		if end.Before(start) {
			http.Error(w, fmt.Sprintf("invalid query, through < from (%d < %d)", end.UnixNano(), start.UnixNano()), http.StatusBadRequest)
			return
		}
		if end.Sub(start)/step > 11000 {
			http.Error(w, "exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)", http.StatusBadRequest)
			return
		}
		if expr.rng == 0 {
			d.writeStreams(w, expr, start, end, r.FormValue("limit"), r.FormValue("direction"))
			return
		}
		for t := start; !t.After(end); t = t.Add(step) {
			at = append(at, t)
		}
	}
	if expr.rng > lokiMaxQueryLength {
		http.Error(w, fmt.Sprintf("the query time range exceeds the limit (query length: %s, limit: 30d1h)", expr.rng), http.StatusBadRequest)
		return
	}
	series := map[string][][2]any{}
	labelsOf := map[string]map[string]string{}
	for _, t := range at {
		counts, labels := d.eval(expr, t)
		for id, v := range counts {
			series[id] = append(series[id], [2]any{float64(t.UnixMilli()) / 1000, strconv.FormatFloat(v, 'f', -1, 64)})
			labelsOf[id] = labels[id]
		}
	}
	var result []map[string]any
	for _, id := range slices.Sorted(maps.Keys(series)) {
		if instant {
			result = append(result, map[string]any{"metric": labelsOf[id], "value": series[id][0]})
		} else {
			result = append(result, map[string]any{"metric": labelsOf[id], "values": series[id]})
		}
	}
	resultType := "matrix"
	if instant {
		resultType = "vector"
	}
	writeLokiJSON(w, resultType, result)
}

func firstErr(errs ...error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}

func writeLokiJSON(w http.ResponseWriter, resultType string, result any) {
	if result == nil {
		result = []any{}
	}
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	_ = json.NewEncoder(w).Encode(map[string]any{"status": "success", "data": map[string]any{
		"resultType": resultType, "result": result,
		"stats": map[string]any{"summary": map[string]any{"bytesProcessedPerSecond": 0, "execTime": 0.001}},
	}})
}

func (d *lokiDouble) writeStreams(w http.ResponseWriter, e *logQL, start, end time.Time, limitParam, direction string) {
	limit := 100
	if n, err := strconv.Atoi(limitParam); err == nil && n > 0 {
		limit = n
	}
	streams := map[string][][2]string{}
	labelsOf := map[string]map[string]string{}
	for _, l := range d.lines {
		if l.t.Before(start) || !l.t.Before(end) {
			continue
		}
		if labels, ok := e.match(l); ok {
			id := fmt.Sprint(labels)
			streams[id] = append(streams[id], [2]string{strconv.FormatInt(l.t.UnixNano(), 10), l.line})
			labelsOf[id] = labels
		}
	}
	var result []map[string]any
	n := 0
	for _, id := range slices.Sorted(maps.Keys(streams)) {
		v := streams[id]
		if direction != "forward" {
			slices.Reverse(v)
		}
		if n+len(v) > limit {
			v = v[:limit-n]
		}
		n += len(v)
		result = append(result, map[string]any{"stream": labelsOf[id], "values": v})
	}
	writeLokiJSON(w, "streams", result)
}

// parseLokiTime reads a timestamp as Loki does: float seconds when it has a
// dot, else an integer (seconds up to 10 digits, nanoseconds beyond), else
// RFC3339.
func parseLokiTime(v string, def time.Time) (time.Time, error) {
	if v == "" {
		return def, nil
	}
	if strings.Contains(v, ".") {
		if f, err := strconv.ParseFloat(v, 64); err == nil {
			s, frac := math.Modf(f)
			return time.Unix(int64(s), int64(frac*1e9)), nil
		}
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		ts, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			return time.Time{}, fmt.Errorf("cannot parse %q to a valid timestamp", v)
		}
		return ts, nil
	}
	if len(v) <= 10 {
		return time.Unix(n, 0), nil
	}
	return time.Unix(0, n), nil
}

func parseLokiStep(v string, span time.Duration) (time.Duration, error) {
	if v == "" { // Loki's default: about 250 points
		return max(time.Second, span/250), nil
	}
	if f, err := strconv.ParseFloat(v, 64); err == nil {
		return time.Duration(f * float64(time.Second)), nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("invalid parameter \"step\": cannot parse %q to a valid duration", v)
	}
	return d, nil
}

// serveLabels answers /loki/api/v1/labels: the label names of the streams
// with entries between start and end (by default the last 6 hours), as
// Loki documents it; no stream leaves data out.
func (d *lokiDouble) serveLabels(w http.ResponseWriter, r *http.Request) {
	if d.tenant != "" && r.Header.Get("X-Scope-OrgID") != d.tenant {
		http.Error(w, "no org id", http.StatusUnauthorized)
		return
	}
	end, err1 := parseLokiTime(r.FormValue("end"), time.Now())
	start, err2 := parseLokiTime(r.FormValue("start"), end.Add(-6*time.Hour))
	if err := firstErr(err1, err2); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	names := map[string]bool{}
	for _, l := range d.lines {
		if !l.t.Before(start) && !l.t.After(end) {
			for k := range l.stream {
				names[k] = true
			}
		}
	}
	out := map[string]any{"status": "success"}
	if len(names) > 0 {
		out["data"] = slices.Sorted(maps.Keys(names))
	}
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	_ = json.NewEncoder(w).Encode(out)
}
