package httpapi

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strings"
	"time"

	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/capability-exporter/capability_exporter/collector/source"
	"github.com/capability-exporter/capability_exporter/config"
	"github.com/capability-exporter/capability_exporter/scope"
)

// queryScope is what a source does to a rule's query before sending it:
// expand its ${name} selectors (the section's, which config.Parse has
// merged with the kind's defaults) and add the section's matchers to every
// selector. The config was checked at load, so a query that fails here
// comes from code, not from the rules, and is refused rather than sent
// unscoped.
type queryScope struct {
	kind      string // prometheus or loki
	selectors map[string]string
	matchers  []*labels.Matcher
}

func newQueryScope(kind string, cfg *config.HTTPSource) (*queryScope, error) {
	ms, err := scope.ParseMatchers(cfg.Matchers)
	if err != nil {
		return nil, fmt.Errorf("sources.%s.matchers: %w", kind, err)
	}
	return &queryScope{kind: kind, selectors: maps.Clone(cfg.Selectors), matchers: ms}, nil
}

// scopeError is a query the scope could not be applied to, or an answer it
// could not be applied to; never sent, or never counted.
type scopeError struct{ err error }

func (e *scopeError) Error() string { return e.err.Error() }
func (e *scopeError) Unwrap() error { return e.err }

// final returns the query as sent: selectors expanded, matchers added.
func (q *queryScope) final(query string) (string, error) {
	if q == nil {
		return query, nil
	}
	out, err := scope.Expand(query, q.selectors)
	if err != nil {
		return "", &scopeError{err}
	}
	if q.kind == "loki" {
		out, err = scope.LogQL(out, q.matchers)
	} else {
		out, err = scope.PromQL(out, q.matchers)
	}
	if err != nil {
		return "", &scopeError{err}
	}
	return out, nil
}

// window returns the longest range a final query reads; 0 when it cannot
// tell, so that such a query is sent every evaluation.
func (q *queryScope) window(query string) time.Duration {
	var d time.Duration
	if q != nil && q.kind == "loki" {
		d, _ = scope.LogQLWindow(query)
	} else {
		d, _ = scope.PromQLWindow(query)
	}
	return d
}

// scopedAPI is the Prometheus API as a scoped source sends it: every query,
// range query and series selector carries the matchers, and the rules
// answer is limited to rules of the scope. Everything the source sends goes
// through it, so a request added later cannot forget the scope.
type scopedAPI struct {
	v1.API
	scope *queryScope
}

func (a scopedAPI) Query(ctx context.Context, query string, ts time.Time, opts ...v1.Option) (model.Value, v1.Warnings, error) {
	q, err := a.scope.final(query)
	if err != nil {
		return nil, nil, err
	}
	return a.API.Query(ctx, q, ts, opts...)
}

func (a scopedAPI) QueryRange(ctx context.Context, query string, r v1.Range, opts ...v1.Option) (model.Value, v1.Warnings, error) {
	q, err := a.scope.final(query)
	if err != nil {
		return nil, nil, err
	}
	return a.API.QueryRange(ctx, q, r, opts...)
}

func (a scopedAPI) scopeAll(matches []string) ([]string, error) {
	out := make([]string, len(matches))
	for i, m := range matches {
		var err error
		if out[i], err = a.scope.final(m); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (a scopedAPI) Series(ctx context.Context, matches []string, start, end time.Time, opts ...v1.Option) ([]model.LabelSet, v1.Warnings, error) {
	ms, err := a.scopeAll(matches)
	if err != nil {
		return nil, nil, err
	}
	return a.API.Series(ctx, ms, start, end, opts...)
}

func (a scopedAPI) LabelNames(ctx context.Context, matches []string, start, end time.Time, opts ...v1.Option) (model.LabelNames, v1.Warnings, error) {
	if len(matches) == 0 && len(a.scope.matchers) > 0 {
		return nil, nil, &scopeError{errors.New("label names without a series selector cannot be scoped")}
	}
	ms, err := a.scopeAll(matches)
	if err != nil {
		return nil, nil, err
	}
	return a.API.LabelNames(ctx, ms, start, end, opts...)
}

func (a scopedAPI) LabelValues(ctx context.Context, label string, matches []string, start, end time.Time, opts ...v1.Option) (model.LabelValues, v1.Warnings, error) {
	if len(matches) == 0 && len(a.scope.matchers) > 0 {
		return nil, nil, &scopeError{errors.New("label values without a series selector cannot be scoped")}
	}
	ms, err := a.scopeAll(matches)
	if err != nil {
		return nil, nil, err
	}
	return a.API.LabelValues(ctx, label, ms, start, end, opts...)
}

func (a scopedAPI) QueryExemplars(ctx context.Context, query string, start, end time.Time) ([]v1.ExemplarQueryResult, error) {
	q, err := a.scope.final(query)
	if err != nil {
		return nil, err
	}
	return a.API.QueryExemplars(ctx, q, start, end)
}

// Alerts returns the active alerts of the scope; an alert without a scoped
// label is refused as a rule is.
func (a scopedAPI) Alerts(ctx context.Context) (v1.AlertsResult, error) {
	res, err := a.API.Alerts(ctx)
	if err != nil || len(a.scope.matchers) == 0 {
		return res, err
	}
	out := v1.AlertsResult{Alerts: []v1.Alert{}}
	for _, al := range res.Alerts {
		in, missing := inScope(al.Labels, a.scope.matchers)
		if missing != "" {
			return v1.AlertsResult{}, &scopeError{fmt.Errorf("the alerts API does not say which %s alert %s belongs to (no %s label)",
				missing, al.Labels, missing)}
		}
		if in {
			out.Alerts = append(out.Alerts, al)
		}
	}
	return out, nil
}

// TSDB and Targets describe the whole store; with matchers set they would
// speak for other clusters, so they are refused.
func (a scopedAPI) TSDB(ctx context.Context, opts ...v1.Option) (v1.TSDBResult, error) {
	if len(a.scope.matchers) > 0 {
		return v1.TSDBResult{}, &scopeError{errors.New("the TSDB status describes the whole store, not the scope")}
	}
	return a.API.TSDB(ctx, opts...)
}

func (a scopedAPI) Targets(ctx context.Context) (v1.TargetsResult, error) {
	if len(a.scope.matchers) > 0 {
		return v1.TargetsResult{}, &scopeError{errors.New("the targets API describes the whole store, not the scope")}
	}
	return a.API.Targets(ctx)
}

// Rules returns the rules of the scope. A store shared by clusters tells
// whose a rule is by its labels (Thanos and Mimir rulers add the cluster's
// external labels); a rule without a scoped label cannot be placed, and
// then the whole answer is refused rather than counted from every cluster.
//
// The filter runs here rather than through the API's match[] parameter,
// which older servers (Prometheus before 2.54, most proxies) ignore.
func (a scopedAPI) Rules(ctx context.Context, matches []string) (v1.RulesResult, error) {
	res, err := a.API.Rules(ctx, matches)
	if err != nil || len(a.scope.matchers) == 0 {
		return res, err
	}
	return scopeRules(res, a.scope.matchers)
}

// scopeRules keeps the rules whose labels match every matcher; a rule that
// lacks a matcher's label makes the answer an error naming it. Rules all of
// other clusters are an error too: the scope's own rules may be evaluated
// where this server cannot show them, so they are not read as none.
func scopeRules(res v1.RulesResult, matchers []*labels.Matcher) (v1.RulesResult, error) {
	out := v1.RulesResult{Groups: make([]v1.RuleGroup, 0, len(res.Groups))}
	total := 0
	for _, g := range res.Groups {
		total += len(g.Rules)
		kept := g
		kept.Rules = nil
		for _, rule := range g.Rules {
			var name string
			var ls model.LabelSet
			switch r := rule.(type) {
			case v1.AlertingRule:
				name, ls = r.Name, r.Labels
			case v1.RecordingRule:
				name, ls = r.Name, r.Labels
			default:
				continue
			}
			in, missing := inScope(ls, matchers)
			if missing != "" {
				return v1.RulesResult{}, &scopeError{fmt.Errorf(
					"the rules API does not say which %s rule %q of group %q belongs to (no %s label), so its counts would mix in rules outside %s",
					missing, name, g.Name, missing, matcherList(matchers))}
			}
			if in {
				kept.Rules = append(kept.Rules, rule)
			}
		}
		if len(kept.Rules) > 0 {
			out.Groups = append(out.Groups, kept)
		}
	}
	if total > 0 && len(out.Groups) == 0 {
		return v1.RulesResult{}, &scopeError{fmt.Errorf("the rules API lists %d rules, none of them of %s", total, matcherList(matchers))}
	}
	return out, nil
}

// inScope says whether labels match every matcher, or names a matcher's
// label they lack.
func inScope(ls model.LabelSet, matchers []*labels.Matcher) (in bool, missing string) {
	in = true
	for _, m := range matchers {
		v, ok := ls[model.LabelName(m.Name)]
		if !ok {
			return false, m.Name
		}
		in = in && m.Matches(string(v))
	}
	return in, ""
}

func matcherList(ms []*labels.Matcher) string {
	parts := make([]string, len(ms))
	for i, m := range ms {
		parts[i] = m.String()
	}
	return "{" + strings.Join(parts, ", ") + "}"
}

// scoped returns a rule's query as it is sent, or makes sr unknown with the
// reason it cannot be scoped.
func (c *httpCollect) scoped(sr source.SignalRequest, query string) (string, bool) {
	q, err := c.server.scope.final(query)
	if err != nil {
		c.r.fail(classify(fmt.Sprintf("query %q", query), nil, err), sr.Key)
		return "", false
	}
	return q, true
}
