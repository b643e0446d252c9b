package collector

import (
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/common/model"
)

// How far back a query reads. A windowed query (a range, an offset, a
// subquery) is only as good as the data under its whole window: a 30-day
// sum over 10 days of data shrinks, a growth ratio against an offset that
// reaches past the retention has nothing to compare. The source therefore
// asks, before trusting a windowed answer, whether each selector's data
// reaches back as far as the query reads it.
//
// This is a scan of the query text, not a parse: it needs only the vector
// selectors and the ranges and offsets applied to them, which the lexical
// shape of PromQL gives (a selector is a metric name or a {…} matcher list;
// a range or subquery follows it or a closing parenthesis in brackets; an
// offset follows either). It never rewrites the query; a query it cannot
// read yields no selectors, and the rule can declare its window instead.

// windowedSelector is one vector selector of a query and how far back the
// query reads it: its range plus its offset, plus those of every subquery
// around it.
type windowedSelector struct {
	Selector string        // as written: name{matchers}
	Metric   string        // the metric name, if the selector names one
	Lookback time.Duration // 0 for an instant selector at no offset
}

// notMetrics are the identifiers of PromQL that are never metric names when
// they stand where a selector could: aggregations, binary and set
// operators, modifiers, and keywords.
var notMetrics = map[string]bool{
	"sum": true, "min": true, "max": true, "avg": true, "group": true, "stddev": true, "stdvar": true,
	"count": true, "count_values": true, "bottomk": true, "topk": true, "quantile": true,
	"limitk": true, "limit_ratio": true,
	"and": true, "or": true, "unless": true, "atan2": true, "bool": true, "offset": true,
	"by": true, "without": true, "on": true, "ignoring": true, "group_left": true, "group_right": true,
	"inf": true, "nan": true, "start": true, "end": true, "step": true,
}

// labelListKeywords are followed by a parenthesised list of label names,
// not an expression.
var labelListKeywords = map[string]bool{
	"by": true, "without": true, "on": true, "ignoring": true, "group_left": true, "group_right": true,
}

// querySelectors returns the vector selectors of q with their lookbacks, in
// the order they appear.
func querySelectors(q string) []windowedSelector {
	sc := &promqlScanner{s: q}
	var sels []windowedSelector
	var open []int // for each open parenthesis, len(sels) when it opened
	for {
		sc.skipSpace()
		if sc.eof() {
			return sels
		}
		c := sc.s[sc.i]
		switch {
		case c == '"' || c == '\'' || c == '`':
			sc.skipString()
		case c >= '0' && c <= '9' || c == '.':
			// a number: 1e3, 0x1f, 2.5
			for !sc.eof() && (isIdentStart(sc.s[sc.i]) || sc.s[sc.i] >= '0' && sc.s[sc.i] <= '9' || sc.s[sc.i] == '.') {
				sc.i++
			}
		case c == '(':
			sc.i++
			open = append(open, len(sels))
		case c == ')':
			sc.i++
			from := 0
			if n := len(open); n > 0 {
				from, open = open[n-1], open[:n-1]
			}
			if extra := sc.rangeAndOffset(); extra > 0 {
				for j := from; j < len(sels); j++ {
					sels[j].Lookback += extra
				}
			}
		case c == '{':
			matchers := sc.braces()
			sels = append(sels, windowedSelector{Selector: matchers, Lookback: sc.rangeAndOffset()})
		case isIdentStart(c):
			name := sc.ident()
			sc.skipSpace()
			next := byte(0)
			if !sc.eof() {
				next = sc.s[sc.i]
			}
			switch {
			case labelListKeywords[name] && next == '(':
				sc.skipParens()
			case notMetrics[name] || next == '(':
				// an operator, keyword or function call
			default:
				sel := windowedSelector{Selector: name, Metric: name}
				if next == '{' {
					sel.Selector += sc.braces()
				}
				sel.Lookback = sc.rangeAndOffset()
				sels = append(sels, sel)
			}
		default:
			sc.i++
		}
	}
}

type promqlScanner struct {
	s string
	i int
}

func (sc *promqlScanner) eof() bool { return sc.i >= len(sc.s) }

func (sc *promqlScanner) skipSpace() {
	for !sc.eof() {
		switch c := sc.s[sc.i]; {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			sc.i++
		case c == '#':
			for !sc.eof() && sc.s[sc.i] != '\n' {
				sc.i++
			}
		default:
			return
		}
	}
}

// skipString skips a quoted string at the cursor, escapes included.
func (sc *promqlScanner) skipString() {
	quote := sc.s[sc.i]
	sc.i++
	for !sc.eof() {
		c := sc.s[sc.i]
		sc.i++
		switch {
		case c == '\\' && quote != '`':
			sc.i++
		case c == quote:
			return
		}
	}
}

// braces returns the {…} at the cursor, strings inside it kept whole.
func (sc *promqlScanner) braces() string {
	from := sc.i
	sc.i++
	for !sc.eof() && sc.s[sc.i] != '}' {
		if c := sc.s[sc.i]; c == '"' || c == '\'' || c == '`' {
			sc.skipString()
			continue
		}
		sc.i++
	}
	if !sc.eof() {
		sc.i++
	}
	return sc.s[from:sc.i]
}

// skipParens skips a parenthesised list at the cursor.
func (sc *promqlScanner) skipParens() {
	depth := 0
	for !sc.eof() {
		c := sc.s[sc.i]
		switch {
		case c == '"' || c == '\'' || c == '`':
			sc.skipString()
			continue
		case c == '(':
			depth++
		case c == ')':
			depth--
		}
		sc.i++
		if depth == 0 {
			return
		}
	}
}

func isIdentStart(c byte) bool {
	return c == '_' || c == ':' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
}

func (sc *promqlScanner) ident() string {
	from := sc.i
	for !sc.eof() {
		c := sc.s[sc.i]
		if !isIdentStart(c) && !(c >= '0' && c <= '9') {
			break
		}
		sc.i++
	}
	return sc.s[from:sc.i]
}

// rangeAndOffset reads what may follow a selector or a parenthesis: a
// range [d] or subquery range [d:s], an offset, an @ modifier, in any
// order PromQL allows, and returns range plus offset. A negative offset
// reads forward and adds nothing.
func (sc *promqlScanner) rangeAndOffset() time.Duration {
	var total time.Duration
	for {
		save := sc.i
		sc.skipSpace()
		switch {
		case !sc.eof() && sc.s[sc.i] == '[':
			end := strings.IndexByte(sc.s[sc.i:], ']')
			if end < 0 {
				sc.i = len(sc.s)
				return total
			}
			inner := sc.s[sc.i+1 : sc.i+end]
			sc.i += end + 1
			if colon := strings.IndexByte(inner, ':'); colon >= 0 {
				inner = inner[:colon]
			}
			total += parsePromDuration(inner)
		case strings.HasPrefix(sc.s[sc.i:], "offset") && !sc.identContinues(len("offset")):
			sc.i += len("offset")
			sc.skipSpace()
			from := sc.i
			for !sc.eof() && strings.IndexByte("+-0123456789.smhdwy", sc.s[sc.i]) >= 0 {
				sc.i++
			}
			if d := parsePromDuration(sc.s[from:sc.i]); d > 0 {
				total += d
			}
		case !sc.eof() && sc.s[sc.i] == '@':
			sc.i++
			sc.skipSpace()
			for !sc.eof() && strings.IndexByte("0123456789.()startend", sc.s[sc.i]) >= 0 {
				sc.i++
			}
		default:
			sc.i = save
			return total
		}
	}
}

// identContinues says whether the identifier-like text n bytes ahead goes
// on (offsets_total is a metric, not the keyword offset).
func (sc *promqlScanner) identContinues(n int) bool {
	if sc.i+n >= len(sc.s) {
		return false
	}
	c := sc.s[sc.i+n]
	return isIdentStart(c) || (c >= '0' && c <= '9')
}

// parsePromDuration reads a PromQL duration (30d, 1h30m) or a number of
// seconds; anything else is 0.
func parsePromDuration(s string) time.Duration {
	s = strings.TrimSpace(s)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(strings.TrimPrefix(s, "-"), "+")
	d, err := model.ParseDuration(s)
	if err != nil {
		f, ferr := strconv.ParseFloat(s, 64)
		if ferr != nil {
			return 0
		}
		d = model.Duration(f * float64(time.Second))
	}
	if neg {
		return -time.Duration(d)
	}
	return time.Duration(d)
}
