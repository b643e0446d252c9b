package httpapi

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"regexp"
	"strings"
	"time"

	"github.com/prometheus/client_golang/api"
	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"

	"github.com/capability-exporter/capability_exporter/collector/source"
	"github.com/capability-exporter/capability_exporter/config"
	"github.com/capability-exporter/capability_exporter/triggers"
)

// Prometheus answers prometheus signals from a server that speaks the
// Prometheus HTTP API (Prometheus, Thanos, Mimir, Cortex, VictoriaMetrics):
// instant queries, alert history from range queries, measures over the rules
// API, and reachability. One Collect sends each distinct request once, all in
// parallel up to the server's concurrency bound.
type Prometheus struct {
	server *httpServer
	api    v1.API
	logger *slog.Logger
	now    func() time.Time
}

// NewPrometheus returns the Prometheus source for cfg.
func NewPrometheus(cfg *config.HTTPSource, logger *slog.Logger, opts Options) (*Prometheus, error) {
	server, err := newHTTPServer("prometheus", cfg, opts)
	if err != nil {
		return nil, err
	}
	client, err := api.NewClient(api.Config{Address: server.url, Client: server.client})
	if err != nil {
		return nil, fmt.Errorf("sources.prometheus.url: %w", err)
	}
	// Every request goes through the scope: queries carry the matchers, the
	// rules answer is limited to them.
	scoped := scopedAPI{API: v1.NewAPI(client), scope: server.scope}
	return &Prometheus{server: server, api: scoped, logger: logger, now: time.Now}, nil
}

// Close releases idle connections when a reload replaces the source.
func (s *Prometheus) Close() { s.server.close() }

type historyKey struct {
	selector string
	window   time.Duration
}

// Collect answers every prometheus signal of one evaluation. All instant
// queries are evaluated at the same moment so that signals derived from each
// other agree.
func (s *Prometheus) Collect(ctx context.Context, req source.Request) source.Result {
	now := s.now()
	c := s.server.newCollect(req)
	probes := s.newProbes(ctx, c.r, now)
	histories := map[historyKey][]source.SignalRequest{}
	var rules []source.SignalRequest
	for _, sr := range req.Signals {
		switch p := sr.Spec.Prometheus; {
		case p == nil:
			c.notOurs(sr)
		case p.Query != "":
			if q, ok := c.scoped(sr, p.Query); ok {
				c.queries[q] = append(c.queries[q], sr)
			}
		case p.AlertHistory != nil:
			if sel, ok := c.scoped(sr, p.AlertHistory.Selector); ok {
				k := historyKey{sel, time.Duration(p.AlertHistory.Window)}
				histories[k] = append(histories[k], sr)
			}
		case p.Rules != "":
			rules = append(rules, sr)
		case p.Reachable:
			c.reachable = append(c.reachable, sr)
		}
	}
	c.sendQueries("query", func(r *run, what, q string, srs []source.SignalRequest) {
		s.instant(ctx, r, what, q, srs, now)
		probes.checkWindow(q, srs)
	})
	for k, srs := range histories {
		c.spawnSlow(fmt.Sprintf("alert history of %s over %s", k.selector, k.window), k.window, "alert history of "+k.selector, srs,
			func() { s.history(ctx, c.r, k, srs, now, probes) })
	}
	if len(rules) > 0 {
		c.spawn("rules API", rules, func() { s.rules(c.r, rules, probes) })
	}
	return c.probeAndWait(ctx, s.probe)
}

func (s *Prometheus) instant(ctx context.Context, r *run, what, q string, srs []source.SignalRequest, now time.Time) {
	var val model.Value
	ok := s.server.request(ctx, r, what, keysOf(srs), func(ctx context.Context) error {
		var err error
		val, _, err = s.api.Query(ctx, q, now, v1.WithTimeout(s.server.timeout))
		return err
	})
	if !ok {
		return
	}
	setSample(r, what, val, srs, func(sr source.SignalRequest) triggers.Empty { return sr.Spec.Prometheus.Empty })
}

// setSample reads an instant query's answer into its signals. One sample (or
// a scalar) is the value; several series where one is expected is an error
// of the rules, named; a range vector or a string is a query that cannot
// give one number.
func setSample(r *run, what string, val model.Value, srs []source.SignalRequest, empty func(source.SignalRequest) triggers.Empty) {
	var f float64
	found := false
	switch v := val.(type) {
	case model.Vector:
		if len(v) > 1 {
			r.fail(source.Error{Reason: source.ReasonSeveralSeries, Err: fmt.Errorf("%s returned %d series where one is expected: %s; aggregate it, e.g. with sum()",
				what, len(v), seriesList(v))}, keysOf(srs)...)
			return
		}
		if len(v) == 1 {
			f, found = float64(v[0].Value), true
		}
	case *model.Scalar:
		f, found = float64(v.Value), true
	default:
		typ := "nothing"
		if val != nil {
			typ = val.Type().String()
		}
		r.fail(source.Error{Reason: source.ReasonBadQuery, Err: fmt.Errorf("%s returned a %s; want an instant vector or a scalar", what, typ)}, keysOf(srs)...)
		return
	}
	for _, sr := range srs {
		r.set(sr.Key, sampleValue(what, f, found, empty(sr)))
	}
}

// sampleValue reads one sample as a signal's value. No sample reads as the
// signal's empty policy says: 0 where no series means none (no firing
// alerts), unknown otherwise. NaN and ±Inf, as a ratio over no traffic
// gives, are unknown.
func sampleValue(what string, f float64, found bool, empty triggers.Empty) triggers.Value {
	switch {
	case !found && empty == triggers.EmptyZero:
		return triggers.KnownValue(0, "")
	case !found:
		return triggers.UnknownValue(triggers.CodeNoData, what+" returned no series (if no series means none, say empty: zero)", "")
	case math.IsNaN(f) || math.IsInf(f, 0):
		return triggers.UnknownValue(triggers.CodeNoData, fmt.Sprintf("%s returned %v", what, f), "")
	}
	return triggers.KnownValue(f, "")
}

func seriesList(v model.Vector) string {
	var parts []string
	for i, s := range v {
		if i == 3 {
			parts = append(parts, "…")
			break
		}
		parts = append(parts, s.Metric.String())
	}
	return strings.Join(parts, ", ")
}

func (s *Prometheus) history(ctx context.Context, r *run, k historyKey, srs []source.SignalRequest, now time.Time, probes *promProbes) {
	step := historyStep(k.window)
	start, end := historyGrid(now, k.window, step)
	q := historyQuery(k.selector, step)
	what := fmt.Sprintf("range query %q over %s at step %s", q, model.Duration(k.window), model.Duration(step))
	var val model.Value
	ok := s.server.request(ctx, r, what, keysOf(srs), func(ctx context.Context) error {
		var err error
		val, _, err = s.api.QueryRange(ctx, q, v1.Range{Start: start, End: end, Step: step}, v1.WithTimeout(s.server.timeout))
		return err
	})
	if !ok {
		return
	}
	m, isMatrix := val.(model.Matrix)
	if !isMatrix {
		r.fail(source.Error{Reason: source.ReasonBadResponse, Err: fmt.Errorf("%s returned a %T; want a matrix", what, val)}, keysOf(srs)...)
		return
	}
	h := summarizeAlertHistory(m, start, end, step)
	s.logger.Debug("Alert history", "selector", k.selector, "window", model.Duration(k.window), "step", model.Duration(step),
		"series", h.Series, "groups", h.Groups, "meta", h.Meta, "resolved", len(h.Resolved), "clipped", h.Clipped, "open", h.Open, "started", h.Started)
	probes.setHistory(k.selector, k.window, srs, h, func(by []model.LabelName) alertHistory {
		return summarizeIncidents(m, start, end, step, by)
	})
}

// rules answers the rules measures. An empty answer counts only from a
// server that shows it serves rules; see notServed.
func (s *Prometheus) rules(r *run, srs []source.SignalRequest, probes *promProbes) {
	a := probes.rulesAPI()
	if why := a.notServed(); why != "" {
		for _, sr := range srs {
			g := gap{why: why, failed: a.failure != "", code: triggers.CodeNotServed}
			if g.failed {
				g.code = triggers.CodeSourceDown
			}
			r.setUnknown(sr.Key, g)
		}
		return
	}
	counts := countRules(a.res)
	for _, sr := range srs {
		r.set(sr.Key, triggers.KnownValue(counts[sr.Spec.Prometheus.Rules], ""))
	}
}

// sloNameRE matches recording rule names that SLO tools generate or that
// name an SLO: Sloth's slo:sli_error:ratio_rate5m and sloth_slo_info,
// Pyrra's http_requests:burnrate5m and pyrra_*, and hand-written ones such
// as job:slo_errors_per_request:ratio_rate1h.
var sloNameRE = regexp.MustCompile(`(?:^|[:_])slos?(?:[:_]|$)|^sloth_|^pyrra_|:burnrate`)

// sloLabels are labels Sloth and Pyrra put on every rule they generate.
var sloLabels = []model.LabelName{"sloth_id", "sloth_slo", "sloth_service", "slo"}

// isSLORule says whether a recording rule looks like part of an SLO.
func isSLORule(rule v1.RecordingRule) bool {
	if sloNameRE.MatchString(rule.Name) {
		return true
	}
	for _, l := range sloLabels {
		if rule.Labels[l] != "" {
			return true
		}
	}
	return false
}

// countRules computes the rules measures. An alerting rule without a
// severity label cannot be routed by urgency, so it counts as a severity
// hygiene problem.
func countRules(res v1.RulesResult) map[string]float64 {
	c := map[string]float64{}
	for _, g := range res.Groups {
		for _, rule := range g.Rules {
			switch rule := rule.(type) {
			case v1.AlertingRule:
				c["alerting_rules"]++
				if rule.Labels["severity"] == "" {
					c["alerting_rules_without_severity"]++
				}
			case v1.RecordingRule:
				if isSLORule(rule) {
					c["slo_recording_rules"]++
				}
			}
		}
	}
	return c
}

// probe asks the server's build info endpoint, or, on servers without it,
// a trivial query.
func (s *Prometheus) probe(ctx context.Context) error {
	info, err := s.api.Buildinfo(ctx)
	if notFound(ctx, err) {
		_, _, err = s.api.Query(ctx, "1", time.Now())
	} else if err == nil {
		s.logger.Debug("Prometheus build info", "version", info.Version, "revision", info.Revision)
	}
	return err
}
