package httpapi

import (
	"testing"
	"time"

	"github.com/prometheus/common/model"

	"github.com/capability-exporter/capability_exporter/impact"
	"github.com/capability-exporter/capability_exporter/scope"
)

// edgeSeries writes what impactHistoryQuery answers for one alert series
// firing from start to end (samples every minute): at each grid point
// whose step holds a sample, the step's first and last sample times.
func edgeSeries(labels model.Metric, step time.Duration, runs ...[2]time.Time) model.Matrix {
	first := &model.SampleStream{Metric: model.Metric{edgeLabel: "first"}}
	last := &model.SampleStream{Metric: model.Metric{edgeLabel: "last"}}
	for k, v := range labels {
		first.Metric[k], last.Metric[k] = v, v
	}
	for _, r := range runs {
		for g := r[0].Truncate(step); !g.After(r[1].Add(step)); g = g.Add(step) {
			lo, hi := g.Add(-step), g
			f, l := maxTime(r[0], lo.Add(time.Nanosecond)), minTime(r[1], hi)
			if f.After(l) {
				continue
			}
			f = f.Add(time.Minute - 1).Truncate(time.Minute)
			first.Values = append(first.Values, model.SamplePair{Timestamp: model.TimeFromUnixNano(g.UnixNano()), Value: model.SampleValue(float64(f.Unix()))})
			last.Values = append(last.Values, model.SamplePair{Timestamp: model.TimeFromUnixNano(g.UnixNano()), Value: model.SampleValue(float64(l.Truncate(time.Minute).Unix()))})
		}
	}
	return model.Matrix{first, last}
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// On a 10-minute grid, durations still come out to the minute: the grid
// finds the runs, the sample times measure them.
func TestImpactAlertHistoryExactOnCoarseGrid(t *testing.T) {
	step := 10 * time.Minute
	adopted := time.Date(2026, 11, 14, 0, 0, 0, 0, time.UTC)
	before := impact.Window{Start: adopted.Add(-20 * 24 * time.Hour), End: adopted}
	after := impact.Window{Start: adopted, End: adopted.Add(20 * 24 * time.Hour)}
	at := func(days int, h, m int) time.Time {
		return adopted.AddDate(0, 0, days).Add(time.Duration(h)*time.Hour + time.Duration(m)*time.Minute)
	}
	m := edgeSeries(model.Metric{"alertname": "CheckoutDown", "namespace": "shop"}, step,
		[2]time.Time{at(-10, 3, 7), at(-10, 5, 40)}, // 2h33m
		[2]time.Time{at(-5, 1, 3), at(-5, 3, 16)},   // 2h13m
		[2]time.Time{at(-1, 23, 0), at(0, 0, 31)},   // across adoption: open before, 31m clipped since
		[2]time.Time{at(3, 4, 2), at(3, 4, 39)},     // 37m
		[2]time.Time{at(7, 9, 58), at(7, 10, 41)},   // 43m
	)
	m = append(m, edgeSeries(model.Metric{"alertname": "Watchdog"}, step, [2]time.Time{at(-20, 0, 0), at(19, 0, 0)})...)
	runs := edgeRuns(m, step, incidentLabels)
	if len(runs) != 5 {
		t.Fatalf("%d runs, want 5: %+v", len(runs), runs)
	}
	b := summarizeRuns(runs, before, step).(alertHistory)
	if len(b.Resolved) != 2 || b.Resolved[0] != 153*time.Minute || b.Resolved[1] != 133*time.Minute || b.Open != 1 {
		t.Errorf("before: %+v", b)
	}
	a := summarizeRuns(runs, after, step).(alertHistory)
	if len(a.Resolved) != 3 || a.Resolved[0] != 31*time.Minute || a.Clipped != 1 || a.Resolved[1] != 37*time.Minute || a.Resolved[2] != 43*time.Minute {
		t.Errorf("after: %+v", a)
	}
	if med, _ := a.Measure("median_resolution"); med != (37 * time.Minute).Seconds() {
		t.Errorf("median since = %v", med)
	}
}

// Every query the impact store sends is one the Prometheus parser reads,
// so the scope's matchers can be added to it.
func TestImpactQueriesParse(t *testing.T) {
	for _, q := range []string{
		impactHistoryQuery(`ALERTS{alertstate="firing",severity=~"critical|page"}`, 10*time.Minute),
		"count(count_over_time(up[1h] @ 1764000000)) or count(count_over_time(ALERTS[30d] @ 1764000000))",
	} {
		if err := scope.CheckPromQL(q); err != nil {
			t.Errorf("%s: %v", q, err)
		}
	}
}
