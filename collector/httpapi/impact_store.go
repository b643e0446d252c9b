package httpapi

import (
	"context"
	"fmt"
	"maps"
	"math"
	"regexp"
	"slices"
	"strings"
	"time"

	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"

	"github.com/capability-exporter/capability_exporter/impact"
	"github.com/capability-exporter/capability_exporter/triggers"
)

// The Prometheus source as impact's Store: a signal's past before a
// capability's adoption and since. Query signals are read with instant
// queries pinned with PromQL's @; an alert history over both windows with
// one range query; adoption times from kube-state-metrics' kube_*_created
// series. Every request goes through the scoped API and the server's
// concurrency bound, as the evaluation's own do.

// ImpactStore returns the source as the store impact reads the past from.
func (s *Prometheus) ImpactStore() impact.Store { return impactStore{s} }

type impactStore struct{ s *Prometheus }

// send runs one request within the server's concurrency bound and
// deadline, and words a failure as the evaluation's requests are worded.
func (st impactStore) send(ctx context.Context, what string, fn func(ctx context.Context) error) error {
	select {
	case st.s.server.slots <- struct{}{}:
	case <-ctx.Done():
		return classify(what, &exchange{}, ctx.Err())
	}
	defer func() { <-st.s.server.slots }()
	ex, err := st.s.server.attempt(ctx, fn)
	if err != nil {
		return classify(what, ex, err)
	}
	return nil
}

// ValueAt evaluates query at a past moment: the query API's time, which
// pins every selector as PromQL's @ would, on every backend.
func (st impactStore) ValueAt(ctx context.Context, query string, at time.Time) (float64, bool, error) {
	var val model.Value
	what := fmt.Sprintf("query %q at %s", query, at.UTC().Format(time.RFC3339))
	if err := st.send(ctx, what, func(ctx context.Context) error {
		var err error
		val, _, err = st.s.api.Query(ctx, query, at, v1.WithTimeout(st.s.server.timeout))
		return err
	}); err != nil {
		return 0, false, err
	}
	switch v := val.(type) {
	case model.Vector:
		switch {
		case len(v) == 0:
			return 0, false, nil
		case len(v) > 1:
			return 0, false, fmt.Errorf("%s returned %d series; the signal wants one (%s)", what, len(v), seriesList(v))
		}
		return float64(v[0].Value), !math.IsNaN(float64(v[0].Value)), nil
	case *model.Scalar:
		return float64(v.Value), !math.IsNaN(float64(v.Value)), nil
	}
	return 0, false, fmt.Errorf("%s returned a %T; want a vector", what, val)
}

// edgeLabel marks the two series the impact's alert history query returns
// for each alert series: the first and the last firing sample of each step.
const edgeLabel = "impact_edge"

// impactHistoryQuery asks, at each grid point, when each alert series
// first and last fired within the step that ended there. The grid finds
// the runs; the sample times make each run's duration exact to the rule
// evaluation, however coarse the step a long range needs.
func impactHistoryQuery(selector string, step time.Duration) string {
	r := model.Duration(step).String()
	return fmt.Sprintf(`label_replace(min_over_time(timestamp(%[1]s)[%[2]s:1m]), %[3]q, "first", "", "") or label_replace(max_over_time(timestamp(%[1]s)[%[2]s:1m]), %[3]q, "last", "", "")`,
		selector, r, edgeLabel)
}

// AlertHistory reads selector over every window with one range query from
// the first window's start to the last one's end.
func (st impactStore) AlertHistory(ctx context.Context, selector string, groupBy []string, windows []impact.Window) ([]impact.AlertSummary, []error) {
	sums, errs := make([]impact.AlertSummary, len(windows)), make([]error, len(windows))
	fail := func(err error) ([]impact.AlertSummary, []error) {
		for i := range errs {
			errs[i] = err
		}
		return sums, errs
	}
	if len(windows) == 0 {
		return sums, errs
	}
	from, to := windows[0].Start, windows[len(windows)-1].End
	if err := st.reaches(ctx, from); err != nil {
		return fail(err)
	}
	step := historyStep(to.Sub(from))
	start, end := from.Truncate(step), to.Truncate(step).Add(step)
	q := impactHistoryQuery(selector, step)
	what := fmt.Sprintf("range query %q from %s to %s at step %s", q, start.UTC().Format(time.DateOnly), end.UTC().Format(time.DateOnly), model.Duration(step))
	var val model.Value
	if err := st.send(ctx, what, func(ctx context.Context) error {
		var err error
		val, _, err = st.s.api.QueryRange(ctx, q, v1.Range{Start: start, End: end, Step: step}, v1.WithTimeout(st.s.server.timeout))
		return err
	}); err != nil {
		return fail(err)
	}
	m, ok := val.(model.Matrix)
	if !ok {
		return fail(fmt.Errorf("%s returned a %T; want a matrix", what, val))
	}
	by := incidentLabels
	if len(groupBy) > 0 {
		by = nil
		for _, l := range groupBy {
			by = append(by, model.LabelName(l))
		}
	}
	runs := edgeRuns(m, step, by)
	for i, w := range windows {
		sums[i] = summarizeRuns(runs, w, step)
	}
	return sums, errs
}

// reaches says why the store's data does not reach back to t, or nil: up,
// which every scrape writes, has a sample in the hour before, or ALERTS
// one in the 30 days before (data written by backfill or remote write
// keeps no up).
func (st impactStore) reaches(ctx context.Context, t time.Time) error {
	q := fmt.Sprintf("count(count_over_time(up[1h] @ %[1]d)) or count(count_over_time(ALERTS[30d] @ %[1]d))", t.Unix())
	var val model.Value
	if err := st.send(ctx, fmt.Sprintf("probe %q", q), func(ctx context.Context) error {
		var err error
		val, _, err = st.s.api.Query(ctx, q, st.s.now(), v1.WithTimeout(st.s.server.timeout))
		return err
	}); err != nil {
		return fmt.Errorf("could not check that the data reaches back to %s: %w", t.UTC().Format(time.DateOnly), err)
	}
	if v, ok := val.(model.Vector); ok && len(v) > 0 && v[0].Value > 0 {
		return nil
	}
	return fmt.Errorf("the data does not reach back to %s, the start of the window before adoption: neither up nor ALERTS has a sample from then (retention too short?)",
		t.UTC().Format(time.DateOnly))
}

// edgeRun is one firing run of one incident group: its first and last
// firing samples, and its first and last grid points.
type edgeRun struct {
	first, last         time.Time
	firstGrid, lastGrid time.Time
}

// edgeRuns cuts the answer of impactHistoryQuery into firing runs per
// incident group: the grid points where any series of the group fired,
// split where a grid point is missing, each run spanning the earliest
// first-edge to the latest last-edge of its grid points.
func edgeRuns(m model.Matrix, step time.Duration, by []model.LabelName) []edgeRun {
	type edges struct{ first, last time.Time }
	groups := map[string]map[time.Time]*edges{}
	for _, s := range m {
		if isMetaAlert(s.Metric) {
			continue
		}
		edge := s.Metric[edgeLabel]
		key := incidentGroup(s.Metric, by)
		g := groups[key]
		if g == nil {
			g = map[time.Time]*edges{}
			groups[key] = g
		}
		for _, p := range s.Values {
			v := float64(p.Value)
			if math.IsNaN(v) {
				continue
			}
			at := time.Unix(0, int64(v*1e9)).UTC()
			e := g[p.Timestamp.Time()]
			if e == nil {
				e = &edges{at, at}
				g[p.Timestamp.Time()] = e
			}
			if edge == "first" && at.Before(e.first) {
				e.first = at
			}
			if edge == "last" && at.After(e.last) {
				e.last = at
			}
		}
	}
	var runs []edgeRun
	for _, key := range slices.Sorted(maps.Keys(groups)) {
		g := groups[key]
		grid := slices.SortedFunc(maps.Keys(g), func(a, b time.Time) int { return a.Compare(b) })
		for i, t := range grid {
			e := g[t]
			if i > 0 && t.Sub(grid[i-1]) <= step+step/2 {
				r := &runs[len(runs)-1]
				r.lastGrid = t
				if e.last.After(r.last) {
					r.last = e.last
				}
				continue
			}
			runs = append(runs, edgeRun{first: e.first, last: e.last, firstGrid: t, lastGrid: t})
		}
	}
	return runs
}

// summarizeRuns reads the runs as alert history over one window: a run
// resolved inside it counts, clipped to the window when it began before;
// one still firing at its end is open.
func summarizeRuns(runs []edgeRun, w impact.Window, step time.Duration) impact.AlertSummary {
	h := alertHistory{Window: w.Duration(), Step: step}
	for _, r := range runs {
		if !r.last.After(w.Start) || r.first.After(w.End) {
			continue
		}
		before := r.first.Before(w.Start)
		open := r.last.After(w.End) || !r.lastGrid.Before(w.End.Add(-step/2)) && r.lastGrid.After(w.End)
		took := r.last.Sub(r.first)
		if before {
			took = r.last.Sub(w.Start)
		}
		h.add(open, before, took)
	}
	return h
}

// Measure answers an alert_history measure over the window.
func (h alertHistory) Measure(name string) (float64, error) { return h.measure(name) }

// Created returns the earliest kube_*_created sample of the tools'
// workloads, by name or by namespace, within lookback.
func (st impactStore) Created(ctx context.Context, tools []*triggers.Tool, lookback time.Duration) (time.Time, error) {
	var parts []string
	lb := model.Duration(lookback).String()
	for _, t := range tools {
		for _, kind := range []string{"deployment", "statefulset", "daemonset"} {
			if len(t.Workloads) > 0 {
				parts = append(parts, fmt.Sprintf("min_over_time(kube_%s_created{%s=~%q}[%s])", kind, kind, "(?:"+strings.Join(t.Workloads, ")|(?:")+")", lb))
			}
			if len(t.Namespaces) > 0 {
				parts = append(parts, fmt.Sprintf("min_over_time(kube_%s_created{namespace=~%q}[%s])", kind, strings.Join(quoteMetas(t.Namespaces), "|"), lb))
			}
		}
	}
	if len(parts) == 0 {
		return time.Time{}, nil
	}
	q := "min(" + strings.Join(parts, " or ") + ")"
	var val model.Value
	if err := st.send(ctx, fmt.Sprintf("query %q", q), func(ctx context.Context) error {
		var err error
		val, _, err = st.s.api.Query(ctx, q, st.s.now(), v1.WithTimeout(st.s.server.timeout))
		return err
	}); err != nil {
		return time.Time{}, err
	}
	v, ok := val.(model.Vector)
	if !ok {
		return time.Time{}, fmt.Errorf("query %q returned a %T; want a vector", q, val)
	}
	if len(v) == 0 || math.IsNaN(float64(v[0].Value)) || v[0].Value <= 0 {
		return time.Time{}, nil
	}
	sec, frac := math.Modf(float64(v[0].Value))
	return time.Unix(int64(sec), int64(frac*1e9)), nil
}

func quoteMetas(names []string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = regexp.QuoteMeta(n)
	}
	return out
}
