//go:build e2e

package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math"
	"net/http"
	"net/http/httptest"
	"regexp"
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

// logQL is the subset of LogQL the double evaluates.
type logQL struct {
	matchers []labelMatcher // stream selector
	stages   []logStage     // line filters, parsers, label filters
	rng      time.Duration  // the count_over_time range; 0 for a log query
	sum      bool           // sum(...) or sum by (...)
	by       []string
	count    bool // count(...) of the series inside
}

type labelMatcher struct {
	name, op, value string
	re              *regexp.Regexp
}

func (m labelMatcher) matches(v string) bool {
	switch m.op {
	case "=", "==":
		return v == m.value
	case "!=":
		return v != m.value
	case "=~":
		return m.re.MatchString(v)
	default: // !~
		return !m.re.MatchString(v)
	}
}

type logStage struct {
	kind    string // line_contains, line_excludes, json, label
	text    string
	matcher labelMatcher
}

var (
	countRE    = regexp.MustCompile(`^count\s*\((.*)\)$`)
	sumByRE    = regexp.MustCompile(`^sum\s*(?:by\s*\(([\w\s,]*)\)\s*)?\((.*)\)$`)
	cotRE      = regexp.MustCompile(`^count_over_time\s*\((.*)\[(\d+[smhdwy])\]\s*\)$`)
	selectorRE = regexp.MustCompile(`^\{([^{}]*)\}`)
	matcherRE  = regexp.MustCompile(`^\s*([A-Za-z_]\w*)\s*(=~|!~|!=|==|=)\s*"((?:[^"\\]|\\.)*)"\s*,?`)
	lineRE     = regexp.MustCompile(`^\s*(\|=|!=)\s*"((?:[^"\\]|\\.)*)"`)
	parserRE   = regexp.MustCompile(`^\s*\|\s*json\b`)
	labelRE    = regexp.MustCompile(`^\s*\|\s*([A-Za-z_]\w*)\s*(=~|!~|!=|==|=)\s*"((?:[^"\\]|\\.)*)"`)
)

func parseLogQL(q string) (*logQL, error) {
	e := &logQL{}
	s := strings.TrimSpace(q)
	if m := countRE.FindStringSubmatch(s); m != nil && !strings.HasPrefix(s, "count_over_time") {
		e.count, s = true, strings.TrimSpace(m[1])
	}
	if m := sumByRE.FindStringSubmatch(s); m != nil {
		e.sum, s = true, strings.TrimSpace(m[2])
		for _, l := range strings.Split(m[1], ",") {
			if l = strings.TrimSpace(l); l != "" {
				e.by = append(e.by, l)
			}
		}
	}
	if m := cotRE.FindStringSubmatch(s); m != nil {
		d, err := parsePromDuration(m[2])
		if err != nil {
			return nil, err
		}
		e.rng, s = d, strings.TrimSpace(m[1])
	} else if e.sum || e.count {
		return nil, parseError(q, s)
	}
	m := selectorRE.FindStringSubmatch(s)
	if m == nil {
		return nil, parseError(q, s)
	}
	for rest := m[1]; strings.TrimSpace(rest) != ""; {
		mm := matcherRE.FindStringSubmatch(rest)
		if mm == nil {
			return nil, parseError(q, rest)
		}
		lm, err := newLabelMatcher(mm[1], mm[2], mm[3])
		if err != nil {
			return nil, err
		}
		e.matchers = append(e.matchers, lm)
		rest = rest[len(mm[0]):]
	}
	if !slices.ContainsFunc(e.matchers, func(m labelMatcher) bool { return (m.op == "=" || m.op == "=~") && !m.matches("") }) {
		return nil, fmt.Errorf("parse error : queries require at least one regexp or equality matcher that does not have an empty-compatible value. For instance, app=~\".*\" does not meet this requirement, but app=~\".+\" will")
	}
	for rest := s[len(m[0]):]; strings.TrimSpace(rest) != ""; {
		switch {
		case lineRE.MatchString(rest):
			mm := lineRE.FindStringSubmatch(rest)
			kind := "line_contains"
			if mm[1] == "!=" {
				kind = "line_excludes"
			}
			e.stages = append(e.stages, logStage{kind: kind, text: lokiUnquote(mm[2])})
			rest = rest[len(mm[0]):]
		case parserRE.MatchString(rest):
			e.stages = append(e.stages, logStage{kind: "json"})
			rest = rest[len(parserRE.FindString(rest)):]
		case labelRE.MatchString(rest):
			mm := labelRE.FindStringSubmatch(rest)
			lm, err := newLabelMatcher(mm[1], mm[2], mm[3])
			if err != nil {
				return nil, err
			}
			e.stages = append(e.stages, logStage{kind: "label", matcher: lm})
			rest = rest[len(mm[0]):]
		default:
			return nil, parseError(q, rest)
		}
	}
	return e, nil
}

func parseError(q, rest string) error {
	col := strings.Index(q, strings.TrimSpace(rest)) + 1
	tok := strings.Fields(rest)
	if len(tok) == 0 {
		tok = []string{"EOF"}
	}
	return fmt.Errorf("parse error at line 1, col %d: syntax error: unexpected %s", col, tok[0])
}

func newLabelMatcher(name, op, value string) (labelMatcher, error) {
	m := labelMatcher{name: name, op: op, value: lokiUnquote(value)}
	if op == "=~" || op == "!~" {
		re, err := regexp.Compile("^(?:" + m.value + ")$")
		if err != nil {
			return m, fmt.Errorf("parse error : invalid regular expression %q: %v", m.value, err)
		}
		m.re = re
	}
	return m, nil
}

func lokiUnquote(s string) string {
	u, err := strconv.Unquote(`"` + s + `"`)
	if err != nil {
		return s
	}
	return u
}

func parsePromDuration(s string) (time.Duration, error) {
	units := map[byte]time.Duration{'s': time.Second, 'm': time.Minute, 'h': time.Hour, 'd': shopDay, 'w': 7 * shopDay, 'y': 365 * shopDay}
	n, err := strconv.Atoi(s[:len(s)-1])
	if err != nil {
		return 0, err
	}
	return time.Duration(n) * units[s[len(s)-1]], nil
}

// match runs a line through the selector and pipeline and returns its labels.
func (e *logQL) match(l logLine) (map[string]string, bool) {
	for _, m := range e.matchers {
		if !m.matches(l.stream[m.name]) {
			return nil, false
		}
	}
	labels := maps.Clone(l.stream)
	for _, s := range e.stages {
		switch s.kind {
		case "line_contains":
			if !strings.Contains(l.line, s.text) {
				return nil, false
			}
		case "line_excludes":
			if strings.Contains(l.line, s.text) {
				return nil, false
			}
		case "json":
			var v map[string]any
			if json.Unmarshal([]byte(l.line), &v) != nil {
				labels["__error__"] = "JSONParserErr"
				continue
			}
			lokiFlatten("", v, labels)
		case "label":
			if !s.matcher.matches(labels[s.matcher.name]) {
				return nil, false
			}
		}
	}
	return labels, true
}

// lokiFlatten adds JSON fields as labels the way Loki's json parser does: nested
// keys joined with _, arrays left out.
func lokiFlatten(prefix string, v map[string]any, into map[string]string) {
	for k, val := range v {
		name := prefix + k
		switch val := val.(type) {
		case map[string]any:
			lokiFlatten(name+"_", val, into)
		case string:
			into[name] = val
		case float64:
			into[name] = strconv.FormatFloat(val, 'f', -1, 64)
		case bool:
			into[name] = strconv.FormatBool(val)
		}
	}
}

// eval evaluates a metric query at t: counts by series id, and each id's
// labels.
func (d *lokiDouble) eval(e *logQL, t time.Time) (map[string]float64, map[string]map[string]string) {
	counts := map[string]float64{}
	labelsOf := map[string]map[string]string{}
	for _, l := range d.lines {
		if !l.t.After(t.Add(-e.rng)) || l.t.After(t) {
			continue
		}
		labels, ok := e.match(l)
		if !ok {
			continue
		}
		if e.sum {
			kept := map[string]string{}
			for _, b := range e.by {
				if v := labels[b]; v != "" {
					kept[b] = v
				}
			}
			labels = kept
		}
		id := fmt.Sprint(labels)
		counts[id]++
		labelsOf[id] = labels
	}
	if e.count {
		if len(counts) == 0 {
			return nil, nil
		}
		return map[string]float64{"{}": float64(len(counts))}, map[string]map[string]string{"{}": {}}
	}
	return counts, labelsOf
}

// webshopLogs are the webshop's Kubernetes audit log and checkout logs: the
// humans who changed something (12 in the last 30 days, 2 more only before
// that), controllers and service accounts, and the checkout's error lines.
func webshopLogs(end time.Time) (lines []logLine, humans30d int) {
	audit := map[string]string{"job": "kubernetes-audit", "cluster": "webshop"}
	event := func(user, verb, resource, name string, t time.Time) logLine {
		line, _ := json.Marshal(map[string]any{
			"kind": "Event", "apiVersion": "audit.k8s.io/v1", "level": "Metadata", "stage": "ResponseComplete",
			"auditID": fmt.Sprintf("%08x-%d", t.UnixNano()%0xffffffff, len(user)), "verb": verb,
			"requestURI":     fmt.Sprintf("/apis/apps/v1/namespaces/webshop/%s/%s", resource, name),
			"user":           map[string]any{"username": user, "groups": []string{"system:authenticated"}},
			"objectRef":      map[string]any{"resource": resource, "namespace": "webshop", "name": name, "apiGroup": "apps"},
			"responseStatus": map[string]any{"code": 200}, "requestReceivedTimestamp": t.Format(time.RFC3339Nano),
		})
		return logLine{stream: audit, t: t, line: string(line)}
	}
	people := []string{"anouk", "bram", "daan", "emma", "fleur", "jesse", "lotte", "milan", "noor", "sem", "tess", "vince"}
	for i, p := range people {
		for d := 1; d <= 29; d += 3 + i%3 {
			lines = append(lines, event(p+"@webshop.example", "patch", "deployments", "checkout", end.Add(-time.Duration(d)*shopDay+time.Duration(i)*time.Hour)))
		}
	}
	for _, p := range []string{"ruud", "yara"} { // left the team a month ago
		lines = append(lines, event(p+"@webshop.example", "update", "deployments", "cart", end.Add(-32*shopDay)))
	}
	for d := 0; d < 35; d++ {
		t := end.Add(-time.Duration(d)*shopDay - 90*time.Minute)
		lines = append(lines,
			event("system:serviceaccount:argocd:argocd-application-controller", "patch", "deployments", "frontend", t),
			event("system:kube-controller-manager", "update", "replicasets", "frontend-6d4cf56db6", t.Add(time.Minute)),
			event("system:node:node-1", "patch", "pods", "frontend-6d4cf56db6-x2x9z", t.Add(2*time.Minute)))
	}
	app := map[string]string{"namespace": "webshop", "app": "checkout", "job": "webshop/checkout"}
	for h := 0; h < 48; h++ {
		t := end.Add(-time.Duration(h) * time.Hour)
		lines = append(lines, logLine{stream: app, t: t, line: `level=info msg="order placed" order_id=` + strconv.Itoa(h)})
		if h%6 == 0 {
			lines = append(lines, logLine{stream: app, t: t.Add(-time.Second), line: `level=error msg="payment provider timeout" provider=ideal`})
		}
	}
	slices.SortFunc(lines, func(a, b logLine) int { return a.t.Compare(b.t) })
	return lines, len(people)
}

// TestLokiDoubleFollowsTheAPI pins the double to Loki's documented answers,
// so that a test passing against it says something about Loki.
func TestLokiDoubleFollowsTheAPI(t *testing.T) {
	end := time.Now().Truncate(time.Second)
	lines, humans := webshopLogs(end)
	d := newLokiDouble(t, "webshop", lines)
	get := func(path string, params map[string]string, tenant string) (int, map[string]any, string) {
		t.Helper()
		req, _ := http.NewRequest("GET", d.URL+path, nil)
		q := req.URL.Query()
		for k, v := range params {
			q.Set(k, v)
		}
		req.URL.RawQuery = q.Encode()
		if tenant != "" {
			req.Header.Set("X-Scope-OrgID", tenant)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body map[string]any
		raw, _ := io.ReadAll(resp.Body)
		_ = json.Unmarshal(raw, &body)
		return resp.StatusCode, body, string(raw)
	}
	devs := `count(sum by (user_username) (count_over_time({job="kubernetes-audit"} | json | user_username !~ "system:.*" [30d])))`
	for _, ts := range []string{
		strconv.FormatInt(end.UnixNano(), 10), strconv.FormatInt(end.Unix(), 10),
		strconv.FormatFloat(float64(end.UnixMilli())/1000, 'f', 3, 64), end.Format(time.RFC3339Nano),
	} {
		code, body, raw := get("/loki/api/v1/query", map[string]string{"query": devs, "time": ts}, "webshop")
		data, _ := body["data"].(map[string]any)
		result, _ := data["result"].([]any)
		if code != 200 || data["resultType"] != "vector" || len(result) != 1 || data["stats"] == nil {
			t.Fatalf("instant query at %s: %d %s", ts, code, raw)
		}
		value := result[0].(map[string]any)["value"].([]any)
		if value[1] != strconv.Itoa(humans) {
			t.Errorf("time=%s: %v developers, want %d", ts, value[1], humans)
		}
	}
	code, body, raw := get("/loki/api/v1/query_range", map[string]string{
		"query": `sum by (level) (count_over_time({app="checkout"} | logfmt [1h]))`, "start": strconv.FormatInt(end.Add(-6*time.Hour).UnixNano(), 10),
		"end": strconv.FormatInt(end.UnixNano(), 10), "step": "3600"}, "webshop")
	if code != 400 || !strings.HasPrefix(raw, "parse error at line 1") {
		t.Errorf("an expression the double does not know must be a 400 parse error, got %d %s", code, raw)
	}
	code, body, raw = get("/loki/api/v1/query_range", map[string]string{
		"query": `sum(count_over_time({app="checkout"} |= "level=error" [6h]))`, "start": strconv.FormatInt(end.Add(-12*time.Hour).UnixNano(), 10),
		"end": strconv.FormatInt(end.UnixNano(), 10), "step": "6h"}, "webshop")
	data, _ := body["data"].(map[string]any)
	if code != 200 || data["resultType"] != "matrix" {
		t.Fatalf("query_range: %d %s", code, raw)
	}
	if values := data["result"].([]any)[0].(map[string]any)["values"].([]any); len(values) != 3 {
		t.Errorf("range of 12h at step 6h: %d points, want start, start+step and end", len(values))
	}
	code, body, _ = get("/loki/api/v1/query_range", map[string]string{"query": `{app="checkout"} |= "level=error"`, "since": "24h",
		"end": strconv.FormatInt(end.UnixNano(), 10), "limit": "3", "direction": "backward"}, "webshop")
	data, _ = body["data"].(map[string]any)
	if code != 200 || data["resultType"] != "streams" {
		t.Fatalf("log query over a range: %d %v", code, body)
	}
	stream := data["result"].([]any)[0].(map[string]any)
	if values := stream["values"].([]any); len(values) != 3 || values[0].([]any)[0].(string) < values[1].([]any)[0].(string) {
		t.Errorf("limit 3 backward: %v", values)
	}
	for _, tc := range []struct {
		path   string
		params map[string]string
		tenant string
		code   int
		says   string
	}{
		{"/loki/api/v1/query", map[string]string{"query": `{app="checkout"}`}, "webshop", 400, "log queries are not supported as an instant query type"},
		{"/loki/api/v1/query", map[string]string{"query": devs}, "", 401, "no org id"},
		{"/loki/api/v1/query", map[string]string{"query": `sum(count_over_time({app=~".*"}[1h]))`}, "webshop", 400, "at least one regexp or equality matcher"},
		{"/loki/api/v1/query", map[string]string{"query": `sum(count_over_time({app="checkout"}[40d]))`}, "webshop", 400, "the query time range exceeds the limit"},
		{"/loki/api/v1/query", map[string]string{"query": devs, "time": "yesterday"}, "webshop", 400, "invalid parameter \"time\""},
		{"/loki/api/v1/query_range", map[string]string{"query": devs, "start": "0", "end": strconv.FormatInt(end.Unix(), 10), "step": "1"}, "webshop", 400, "exceeded maximum resolution of 11,000 points"},
	} {
		code, _, raw := get(tc.path, tc.params, tc.tenant)
		if code != tc.code || !strings.Contains(raw, tc.says) {
			t.Errorf("%s %v: %d %q, want %d saying %q", tc.path, tc.params, code, raw, tc.code, tc.says)
		}
	}
	d.fail(devs, 429, 504)
	for _, want := range []int{429, 504, 200} {
		if code, _, raw := get("/loki/api/v1/query", map[string]string{"query": devs}, "webshop"); code != want {
			t.Errorf("injected faults: %d %s, want %d", code, raw, want)
		}
	}
}
