//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"math"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"

	"github.com/capability-exporter/capability_exporter/dashboards"
)

// No Grafana server can run here, so the test does what Grafana does with
// each dashboard: resolve the variables against Prometheus, interpolate them
// into every panel's queries (repeating a panel per value of its repeat
// variable), and run each query. A query that returns no series is a panel
// that shows "No data", and fails the test. It runs twice: with each
// variable at its first value, as Grafana opens a dashboard, and with All
// wherever a variable offers it.
var (
	capabilityVarRE = regexp.MustCompile(`capability=~"[^"]*"`)
	signalVarRE     = regexp.MustCompile(`signal[=!]~"[^"$]*"`)
)

func TestDashboardQueriesReturnData(t *testing.T) {
	t.Parallel()
	s := startAlertingStack(t, factsNow)
	// Enough samples for rate over $__rate_interval and for the timelines.
	waitFor(t, 60*time.Second, "15s of scrapes", func() bool {
		v := s.Query(t, `count_over_time(up{job="capability_exporter"}[1m])`)
		return len(v) == 1 && v[0].Value >= 15
	})

	ds, err := dashboards.Load(filepath.Join(repoRoot(), "dashboards"))
	if err != nil || len(ds) == 0 {
		t.Fatalf("no dashboards: %v", err)
	}
	queries := 0
	for _, d := range ds {
		for _, useAll := range []bool{false, true} {
			name := d.File + map[bool]string{false: " first values", true: " All"}[useAll]
			t.Run(name, func(t *testing.T) {
				queries += checkDashboardQueries(t, s.prom, s.started, d, useAll, false)
			})
		}
	}
	t.Logf("%d queries over %d dashboards returned data", queries, len(ds))
}

// gfScrapeInterval is the datasource's scrape interval setting, the floor of
// $__interval, matching the stack's Prometheus.
const gfScrapeInterval = time.Second

var gfLabelValuesRE = regexp.MustCompile(`^label_values\((.+),\s*(\w+)\)$`)

// checkDashboardQueries runs every query of d against api over the time
// since started and returns how many ran. dropsNaN is for a store that
// never stores a NaN sample (VictoriaMetrics): there a query of a truth
// metric that is unknown (NaN) for every series finds nothing, and the panel
// shows No data (or its noValue text) where Prometheus shows unknown.
func checkDashboardQueries(t *testing.T, api promv1.API, started time.Time, d dashboards.Dashboard, useAll, dropsNaN bool) int {
	end := time.Now()
	start := started
	interval := gfScrapeInterval
	// Grafana: $__rate_interval = max($__interval + scrape interval, 4 * scrape interval).
	rateInterval := max(interval+gfScrapeInterval, 4*gfScrapeInterval)
	builtins := map[string]string{
		"__rate_interval": model.Duration(rateInterval).String(),
		"__interval":      model.Duration(interval).String(),
		"__range":         fmt.Sprintf("%ds", int(end.Sub(start).Seconds())),
	}

	// Resolve the variables in order, as Grafana does: each may refer to
	// the ones before it.
	values := map[string][]string{} // all options of each variable
	chosen := map[string]string{}   // interpolated text of each variable
	vars := map[string]dashboards.Variable{}
	for _, v := range d.Templating.List {
		vars[v.Name] = v
		if v.Type != "query" {
			continue
		}
		m := gfLabelValuesRE.FindStringSubmatch(strings.TrimSpace(v.QueryText()))
		if m == nil {
			t.Fatalf("variable %s: query %q is not label_values(selector, label)", v.Name, v.QueryText())
		}
		selector := gfInterpolate(m[1], chosen, builtins)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		got, _, err := api.LabelValues(ctx, m[2], []string{selector}, start, end)
		cancel()
		if err != nil {
			t.Fatalf("variable %s: label values of %s for %s: %v", v.Name, m[2], selector, err)
		}
		if len(got) == 0 {
			t.Fatalf("variable %s: no values (label %s of %s): every panel using it would be empty", v.Name, m[2], selector)
		}
		for _, g := range got {
			values[v.Name] = append(values[v.Name], string(g))
		}
		chosen[v.Name] = gfFormat(v, values[v.Name][0])
		if useAll && v.IncludeAll {
			chosen[v.Name] = v.AllValue
		}
	}

	ran := 0
	for _, p := range dashboards.AllPanels(d.Panels) {
		// A repeated panel is one panel per value of its variable.
		instances := []map[string]string{chosen}
		if p.Repeat != "" {
			instances = nil
			for _, val := range values[p.Repeat] {
				c := map[string]string{}
				for k, v := range chosen {
					c[k] = v
				}
				c[p.Repeat] = gfFormat(vars[p.Repeat], val)
				instances = append(instances, c)
			}
		}
		for _, vals := range instances {
			title := gfInterpolate(p.Title, vals, builtins)
			for _, tg := range p.Targets {
				q := gfInterpolate(tg.Expr, vals, builtins)
				if strings.Contains(q, "$") {
					t.Errorf("panel %q query %s: uninterpolated variable left in %s", title, tg.RefID, q)
					continue
				}
				series, known := runPanelQuery(t, api, q, tg.Instant, start, end, interval)
				ran++
				if series == 0 && dropsNaN && nanTruthRE.MatchString(q) {
					t.Logf("panel %q query %s: no data, its truth metric unknown (NaN), which this store does not keep", title, tg.RefID)
					continue
				}
				// A table of one type of conditions is empty for a
				// capability with none of that type (the stack's rules
				// have few signals), and says so; without the capability
				// and signal filters its query must find data. The unit
				// tests hold the signal filters to the rules' types.
				all := capabilityVarRE.ReplaceAllString(q, `capability=~".*"`)
				all = signalVarRE.ReplaceAllString(all, `signal=~".+"`)
				if series == 0 && p.FieldConfig.Defaults.NoValue != "" && all != q {
					if n, _ := runPanelQuery(t, api, all, tg.Instant, start, end, interval); n > 0 {
						t.Logf("panel %q query %s: none for this capability, %d series across capabilities; shows %q", title, tg.RefID, n, p.FieldConfig.Defaults.NoValue)
						continue
					}
				}
				if series == 0 {
					t.Errorf("panel %q query %s shows No data: %s", title, tg.RefID, q)
					continue
				}
				if known == 0 {
					t.Logf("panel %q query %s: %d series, all unknown (NaN), shown as unknown", title, tg.RefID, series)
				}
			}
		}
	}
	return ran
}

// nanTruthRE matches the metrics whose value is NaN while unknown.
var nanTruthRE = regexp.MustCompile(`\b(capability_trigger|capability_condition|capability_tool_detected|capability_foundation_present|capability_signal_value|capability_impact_ratio)\{`)

// runPanelQuery runs q as Grafana would (an instant query, or a range query
// over the time range at $__interval) and counts the series and the points
// that are not NaN.
func runPanelQuery(t *testing.T, api promv1.API, q string, instant bool, start, end time.Time, step time.Duration) (series, known int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var v model.Value
	var err error
	if instant {
		v, _, err = api.Query(ctx, q, end)
	} else {
		v, _, err = api.QueryRange(ctx, q, promv1.Range{Start: start, End: end, Step: step})
	}
	if err != nil {
		t.Errorf("query %s: %v", q, err)
		return 0, 0
	}
	switch v := v.(type) {
	case model.Vector:
		for _, smp := range v {
			series++
			if !math.IsNaN(float64(smp.Value)) {
				known++
			}
		}
	case model.Matrix:
		for _, ss := range v {
			if len(ss.Values) > 0 {
				series++
			}
			for _, p := range ss.Values {
				if !math.IsNaN(float64(p.Value)) {
					known++
				}
			}
		}
	case *model.Scalar:
		series, known = 1, 1
	default:
		t.Errorf("query %s: unexpected result type %s", q, v.Type())
	}
	return series, known
}

var gfRegexSpecial = regexp.MustCompile(`[\\^$*+?.()|{}\[\]]`)

// gfFormat renders one value as Grafana interpolates it into a Prometheus
// query: a variable that can be multi-valued or All is regex-escaped (with
// the backslash doubled for the PromQL string), any other goes in as is.
func gfFormat(v dashboards.Variable, value string) string {
	if !v.Multi && !v.IncludeAll {
		return value
	}
	return gfRegexSpecial.ReplaceAllStringFunc(value, func(c string) string { return `\\` + c })
}

var gfVarRE = regexp.MustCompile(`\$\{(\w+)(?::\w+)?\}|\$(\w+)`)

func gfInterpolate(s string, vals, builtins map[string]string) string {
	return gfVarRE.ReplaceAllStringFunc(s, func(m string) string {
		sub := gfVarRE.FindStringSubmatch(m)
		name := sub[1] + sub[2]
		if v, ok := builtins[name]; ok {
			return v
		}
		if v, ok := vals[name]; ok {
			return v
		}
		return m
	})
}
