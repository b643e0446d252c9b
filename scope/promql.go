package scope

import (
	"fmt"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
)

// PromQL adds matchers to every vector selector of query, plain or under a
// range, a subquery or a function, and returns the query as the parser
// prints it. With no matchers the query is returned as written, unparsed, so
// that a server's own dialect (MetricsQL) still passes through unscoped.
func PromQL(query string, matchers []*labels.Matcher) (string, error) {
	if len(matchers) == 0 {
		return query, nil
	}
	expr, err := promql.ParseExpr(query)
	if err != nil {
		return "", fmt.Errorf("cannot add the scope's matchers to %q: %w", query, err)
	}
	parser.Inspect(expr, func(node parser.Node, _ []parser.Node) error {
		if vs, ok := node.(*parser.VectorSelector); ok {
			vs.LabelMatchers = append(vs.LabelMatchers, missingFrom(vs.LabelMatchers, matchers)...)
		}
		return nil
	})
	return expr.String(), nil
}

// CheckPromQL reports whether query parses as PromQL.
func CheckPromQL(query string) error {
	_, err := promql.ParseExpr(query)
	return err
}

// PromQLWindow returns the longest range a PromQL query reads: that of a
// range selector ([30d]) or a subquery ([7d:1h]). An offset alone does not
// count: it moves an instant, it does not widen what is read. A query with
// no range reads 0.
func PromQLWindow(query string) (time.Duration, error) {
	expr, err := promql.ParseExpr(query)
	if err != nil {
		return 0, err
	}
	var longest time.Duration
	parser.Inspect(expr, func(node parser.Node, _ []parser.Node) error {
		switch n := node.(type) {
		case *parser.MatrixSelector:
			longest = max(longest, n.Range)
		case *parser.SubqueryExpr:
			longest = max(longest, n.Range)
		}
		return nil
	})
	return longest, nil
}

// PlainSelector returns the label matchers of selector, its metric name as
// a __name__ matcher, when it is a plain vector selector such as
// ALERTS{alertstate="firing",severity="critical"}: no offset, no @, nothing
// around it. Only such a selector can take a range directly. ok is false
// for anything else, and for anything the Prometheus parser cannot read.
func PlainSelector(selector string) (matchers []*labels.Matcher, ok bool) {
	expr, err := promql.ParseExpr(selector)
	if err != nil {
		return nil, false
	}
	vs, ok := expr.(*parser.VectorSelector)
	if !ok || vs.OriginalOffset != 0 || vs.OriginalOffsetExpr != nil || vs.Timestamp != nil || vs.StartOrEnd != 0 {
		return nil, false
	}
	return vs.LabelMatchers, true
}

// How far back a query reads. A windowed query (a range, an offset, a
// subquery) is only as good as the data under its whole window: a 30-day
// sum over 10 days of data shrinks, a growth ratio against an offset that
// reaches past the retention has nothing to compare. The source therefore
// asks, before trusting a windowed answer, whether each selector's data
// reaches back as far as the query reads it.
//
// The query is read by the Prometheus parser, the same one that scopes it,
// and its tree walked: strings, comments, keywords in
// any case and nested subqueries are the parser's business, not a scan's.
// A query the parser cannot read (MetricsQL's own functions and syntax) has
// no known lookback; the source then does not guess one.

// WindowedSelector is one vector selector of a query and how far back the
// query reads it: its range plus its offset, plus those of every subquery
// around it.
type WindowedSelector struct {
	Selector string        // as the parser prints it, without range, offset or @
	Metric   string        // the metric name, if the selector names one
	Lookback time.Duration // 0 for an instant selector at no offset
}

// PromQLSelectors returns the vector selectors of q, in the order they
// appear, each with how far before at (the query's evaluation time) the
// query reads it; an error when q does not parse as PromQL.
func PromQLSelectors(q string, at time.Time) ([]WindowedSelector, error) {
	expr, err := promql.ParseExpr(q)
	if err != nil {
		return nil, err
	}
	var sels []WindowedSelector
	parser.Inspect(expr, func(node parser.Node, path []parser.Node) error {
		if vs, ok := node.(*parser.VectorSelector); ok {
			plain := &parser.VectorSelector{Name: vs.Name, LabelMatchers: vs.LabelMatchers}
			sels = append(sels, WindowedSelector{Selector: plain.String(), Metric: metricName(vs.LabelMatchers),
				Lookback: lookback(vs, path, at)})
		}
		return nil
	})
	return sels, nil
}

// lookback is how far before at the query reads vs. Walking out from the
// selector, its range and offset add, then the range and offset of each
// subquery around it. A negative offset reads later and takes away. An @
// modifier pins the time what it modifies is evaluated at, so nothing
// further out moves it: from there the oldest moment read is fixed, and
// the lookback is at minus that moment. Nothing before at is 0.
func lookback(vs *parser.VectorSelector, path []parser.Node, at time.Time) time.Duration {
	back := vs.OriginalOffset
	if n := len(path); n > 0 {
		if ms, ok := path[n-1].(*parser.MatrixSelector); ok {
			back += ms.Range
		}
	}
	if t, ok := pinned(vs.Timestamp, vs.StartOrEnd, at); ok {
		return max(0, at.Sub(t)+back)
	}
	for i := len(path) - 1; i >= 0; i-- {
		sq, ok := path[i].(*parser.SubqueryExpr)
		if !ok {
			continue
		}
		back += sq.Range + sq.OriginalOffset
		if t, ok := pinned(sq.Timestamp, sq.StartOrEnd, at); ok {
			return max(0, at.Sub(t)+back)
		}
	}
	return max(0, back)
}

// pinned returns the time an @ modifier fixes: its timestamp, or for
// start() and end() the evaluation time, which both are for an instant
// query.
func pinned(ts *int64, startOrEnd parser.ItemType, at time.Time) (time.Time, bool) {
	switch {
	case ts != nil:
		return time.UnixMilli(*ts), true
	case startOrEnd == parser.START || startOrEnd == parser.END:
		return at, true
	}
	return time.Time{}, false
}

// metricName is the name a selector's __name__ equality matcher gives, or "".
func metricName(ms []*labels.Matcher) string {
	for _, m := range ms {
		if m.Name == model.MetricNameLabel && m.Type == labels.MatchEqual {
			return m.Value
		}
	}
	return ""
}
