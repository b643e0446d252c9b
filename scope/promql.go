package scope

import (
	"fmt"
	"time"

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

// ParsePromQL parses query as the exporter parses every PromQL query, for
// callers that read its structure (the selectors, their ranges and
// offsets) rather than rewrite it.
func ParsePromQL(query string) (parser.Expr, error) {
	return promql.ParseExpr(query)
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
