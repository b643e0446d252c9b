//go:build e2e

package e2e

import (
	"encoding/json"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

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
	kind    string            // line_contains, line_excludes, line_matches, line_not_matches, json, label
	fields  map[string]string // json: label -> dotted path, as in | json user="user.username"; none: every field
	text    string
	re      *regexp.Regexp // line_matches, line_not_matches
	matcher labelMatcher
}

var (
	countRE    = regexp.MustCompile(`^count\s*\((.*)\)$`)
	sumByRE    = regexp.MustCompile(`^sum\s*(?:by\s*\(([\w\s,]*)\)\s*)?\((.*)\)$`)
	cotRE      = regexp.MustCompile(`^count_over_time\s*\((.*)\[(\d+[smhdwy])\]\s*\)$`)
	selectorRE = regexp.MustCompile(`^\{([^{}]*)\}`)
	matcherRE  = regexp.MustCompile(`^\s*([A-Za-z_]\w*)\s*(=~|!~|!=|==|=)\s*"((?:[^"\\]|\\.)*)"\s*,?`)
	lineRE     = regexp.MustCompile(`^\s*(\|=|!=|\|~|!~)\s*(?:"((?:[^"\\]|\\.)*)"|` + "`([^`]*)`)")
	parserRE   = regexp.MustCompile(`^\s*\|\s*json\b`)
	jsonArgRE  = regexp.MustCompile(`^\s*([A-Za-z_]\w*)\s*=\s*"([A-Za-z_][\w.]*)"\s*`)
	labelRE    = regexp.MustCompile(`^\s*\|\s*([A-Za-z_]\w*)\s*(=~|!~|!=|==|=)\s*(?:"((?:[^"\\]|\\.)*)"|` + "`([^`]*)`)")
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
		return nil, logqlParseError(q, s)
	}
	m := selectorRE.FindStringSubmatch(s)
	if m == nil {
		return nil, logqlParseError(q, s)
	}
	for rest := m[1]; strings.TrimSpace(rest) != ""; {
		mm := matcherRE.FindStringSubmatch(rest)
		if mm == nil {
			return nil, logqlParseError(q, rest)
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
			text := lokiUnquote(mm[2])
			if strings.HasSuffix(mm[0], "`") {
				text = mm[3] // a raw string: no escapes
			}
			st := logStage{kind: map[string]string{"|=": "line_contains", "!=": "line_excludes", "|~": "line_matches", "!~": "line_not_matches"}[mm[1]], text: text}
			if mm[1] == "|~" || mm[1] == "!~" {
				re, err := regexp.Compile(text)
				if err != nil {
					return nil, fmt.Errorf("parse error : invalid char escape or regexp %q: %w", text, err)
				}
				st.re = re
			}
			e.stages = append(e.stages, st)
			rest = rest[len(mm[0]):]
		case parserRE.MatchString(rest):
			st := logStage{kind: "json"}
			rest = rest[len(parserRE.FindString(rest)):]
			// Parameters name the fields to extract: | json user="user.username", verb="verb".
			for {
				mm := jsonArgRE.FindStringSubmatch(rest)
				if mm == nil {
					break
				}
				if st.fields == nil {
					st.fields = map[string]string{}
				}
				st.fields[mm[1]] = mm[2]
				rest = rest[len(mm[0]):]
				if !strings.HasPrefix(rest, ",") {
					break
				}
				rest = rest[1:]
			}
			e.stages = append(e.stages, st)
		case labelRE.MatchString(rest):
			mm := labelRE.FindStringSubmatch(rest)
			value := mm[3]
			if strings.HasSuffix(mm[0], "`") {
				value = strings.ReplaceAll(mm[4], `\`, `\\`) // a raw string: no escapes
			}
			lm, err := newLabelMatcher(mm[1], mm[2], value)
			if err != nil {
				return nil, err
			}
			e.stages = append(e.stages, logStage{kind: "label", matcher: lm})
			rest = rest[len(mm[0]):]
		default:
			return nil, logqlParseError(q, rest)
		}
	}
	return e, nil
}

func logqlParseError(q, rest string) error {
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
			return m, fmt.Errorf("parse error : invalid regular expression %q: %w", m.value, err)
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
		case "line_matches":
			if !s.re.MatchString(l.line) {
				return nil, false
			}
		case "line_not_matches":
			if s.re.MatchString(l.line) {
				return nil, false
			}
		case "json":
			var v map[string]any
			if json.Unmarshal([]byte(l.line), &v) != nil {
				labels["__error__"] = "JSONParserErr"
				continue
			}
			if s.fields == nil {
				lokiFlatten("", v, labels)
				continue
			}
			for label, path := range s.fields {
				if val, ok := lokiPath(v, path); ok {
					labels[label] = val
				}
			}
		case "label":
			if !s.matcher.matches(labels[s.matcher.name]) {
				return nil, false
			}
		}
	}
	return labels, true
}

// lokiPath reads a dotted path (user.username) of a JSON object as Loki's
// json parser does for an extraction parameter: scalars only.
func lokiPath(v map[string]any, path string) (string, bool) {
	var cur any = v
	for _, key := range strings.Split(path, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return "", false
		}
		if cur, ok = m[key]; !ok {
			return "", false
		}
	}
	switch val := cur.(type) {
	case string:
		return val, true
	case float64:
		return strconv.FormatFloat(val, 'f', -1, 64), true
	case bool:
		return strconv.FormatBool(val), true
	}
	return "", false
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
