package httpapi

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/model"
)

func TestHistoryStepKeepsEveryQueryUnderTheLimit(t *testing.T) {
	for _, tc := range []struct {
		window time.Duration
		step   time.Duration
	}{
		{time.Hour, 5 * time.Minute},
		{7 * 24 * time.Hour, 5 * time.Minute},
		{30 * 24 * time.Hour, 5 * time.Minute}, // 8,641 points
		{38 * 24 * time.Hour, 5 * time.Minute}, // 10,945 points
		{39 * 24 * time.Hour, 10 * time.Minute},
		{90 * 24 * time.Hour, 15 * time.Minute},
		{365 * 24 * time.Hour, time.Hour},
		{40 * 365 * 24 * time.Hour, 2 * 24 * time.Hour},
	} {
		if got := historyStep(tc.window); got != tc.step {
			t.Errorf("historyStep(%s) = %s, want %s", model.Duration(tc.window), model.Duration(got), model.Duration(tc.step))
		}
	}
	for w := time.Hour; w < 10*365*24*time.Hour; w += 7 * time.Hour {
		s := historyStep(w)
		if points := int64(w/s) + 1; points > maxPointsPerSeries {
			t.Fatalf("window %s at step %s gives %d points", model.Duration(w), model.Duration(s), points)
		}
	}
}

func TestHistoryGridIsAlignedAndSpansTheWindow(t *testing.T) {
	now := time.Date(2026, 3, 14, 15, 9, 26, 0, time.UTC)
	start, end := historyGrid(now, 30*24*time.Hour, 5*time.Minute)
	if want := time.Date(2026, 3, 14, 15, 5, 0, 0, time.UTC); !end.Equal(want) {
		t.Errorf("end = %s, want %s", end, want)
	}
	if end.Sub(start) != 30*24*time.Hour {
		t.Errorf("window = %s", end.Sub(start))
	}
	if end.Unix()%300 != 0 || start.Unix()%300 != 0 {
		t.Errorf("grid not aligned to the step: %s .. %s", start, end)
	}
}

func TestHistoryQuery(t *testing.T) {
	for _, tc := range []struct{ selector, want string }{
		{`ALERTS{alertstate="firing",severity="critical"}`, `max_over_time(ALERTS{alertstate="firing",severity="critical"}[5m])`},
		{`ALERTS`, `max_over_time(ALERTS[5m])`},
		{`{__name__="ALERTS", severity=~"critical|page"}`, `max_over_time({__name__="ALERTS", severity=~"critical|page"}[5m])`},
		{`ALERTS{summary="a } in a string", x="\"q\""}`, `max_over_time(ALERTS{summary="a } in a string", x="\"q\""}[5m])`},
		{`ALERTS{alertstate="firing"} unless ALERTS{alertname="Watchdog"}`, `max_over_time((ALERTS{alertstate="firing"} unless ALERTS{alertname="Watchdog"})[5m:1m])`},
		{`ALERTS offset 1h`, `max_over_time((ALERTS offset 1h)[5m:1m])`},
		{`sum by (alertname) (ALERTS)`, `max_over_time((sum by (alertname) (ALERTS))[5m:1m])`},
	} {
		if got := historyQuery(tc.selector, 5*time.Minute); got != tc.want {
			t.Errorf("historyQuery(%s)\n got %s\nwant %s", tc.selector, got, tc.want)
		}
	}
}

// grid builds a series from a pattern over the grid starting at start: '#'
// fired at that grid point, '.' did not, '0' a zero sample, 'n' a NaN one.
func grid(labels string, start time.Time, step time.Duration, pattern string) *model.SampleStream {
	s := &model.SampleStream{Metric: model.Metric{"alertname": model.LabelValue(labels)}}
	for i, c := range pattern {
		ts := model.TimeFromUnixNano(start.Add(time.Duration(i) * step).UnixNano())
		switch c {
		case '#':
			s.Values = append(s.Values, model.SamplePair{Timestamp: ts, Value: 1})
		case '0':
			s.Values = append(s.Values, model.SamplePair{Timestamp: ts, Value: 0})
		case 'n':
			s.Values = append(s.Values, model.SamplePair{Timestamp: ts, Value: model.SampleValue(math.NaN())})
		}
	}
	return s
}

func TestSummarizeAlertHistory(t *testing.T) {
	step := 5 * time.Minute
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	const points = 20 // the window is 19 steps: 95 minutes
	end := start.Add((points - 1) * step)
	m := func(d int) time.Duration { return time.Duration(d) * time.Minute }
	for _, tc := range []struct {
		name     string
		series   []string // patterns of `points` characters
		resolved []time.Duration
		clipped  int
		open     int
		started  int
	}{
		{name: "nothing fired", series: nil},
		{name: "one resolved run",
			series:   []string{"....####............"},
			resolved: []time.Duration{m(15)}, started: 1},
		{name: "a single grid point is a run of zero length",
			series:   []string{".........#.........."},
			resolved: []time.Duration{0}, started: 1},
		{name: "a gap of one point ends a run",
			series:   []string{"..###.##............"},
			resolved: []time.Duration{m(10), m(5)}, started: 2},
		{name: "open at the end is not resolved",
			series: []string{"...............#####"},
			open:   1, started: 1},
		{name: "firing at the start is clipped and not started inside",
			series:   []string{"###................."},
			resolved: []time.Duration{m(10)}, clipped: 1},
		{name: "firing through the whole window",
			series: []string{"####################"},
			open:   1},
		{name: "each series is its own incident",
			series:   []string{"..#####.............", "....#####...........", "..........##........"},
			resolved: []time.Duration{m(20), m(20), m(5)}, started: 3},
		{name: "zero and NaN samples are not firing",
			series:   []string{"..##00##nn##........"},
			resolved: []time.Duration{m(5), m(5), m(5)}, started: 3},
		{name: "a series of zeros does not count",
			series: []string{"00000000000000000000"}},
		{name: "all edges at once",
			series:   []string{"##..####......######", "#..................#"},
			resolved: []time.Duration{m(5), m(15), 0}, clipped: 2, open: 2, started: 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var mat model.Matrix
			for i, p := range tc.series {
				if len(p) != points {
					t.Fatalf("pattern %q has %d points, want %d", p, len(p), points)
				}
				mat = append(mat, grid(string(rune('a'+i)), start, step, p))
			}
			h := summarizeAlertHistory(mat, start, end, step)
			if !equalDurations(h.Resolved, tc.resolved) || h.Clipped != tc.clipped || h.Open != tc.open || h.Started != tc.started {
				t.Errorf("got resolved %v clipped %d open %d started %d\nwant resolved %v clipped %d open %d started %d",
					h.Resolved, h.Clipped, h.Open, h.Started, tc.resolved, tc.clipped, tc.open, tc.started)
			}
		})
	}
}

func equalDurations(a, b []time.Duration) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestSummarizeToleratesUnsortedSamples(t *testing.T) {
	step := 5 * time.Minute
	start := time.Unix(0, 0)
	s := grid("x", start, step, "..###.....")
	s.Values[0], s.Values[2] = s.Values[2], s.Values[0]
	h := summarizeAlertHistory(model.Matrix{s}, start, start.Add(9*step), step)
	if len(h.Resolved) != 1 || h.Resolved[0] != 10*time.Minute {
		t.Errorf("resolved = %v, want one run of 10m", h.Resolved)
	}
}

func TestAlertHistoryMeasures(t *testing.T) {
	day := 24 * time.Hour
	h := alertHistory{Window: 30 * day, Step: 5 * time.Minute,
		Resolved: []time.Duration{time.Hour, 3 * time.Hour, 30 * time.Minute, 2 * time.Hour}, Clipped: 1, Open: 2, Started: 15}
	for _, tc := range []struct {
		measure string
		want    float64
	}{
		{"incidents", 4},
		{"open_incidents", 2},
		{"alerts_per_day", 0.5},
		{"mean_resolution", (1 + 3 + 0.5 + 2) / 4.0 * 3600},
		{"median_resolution", 1.5 * 3600}, // even count: the mean of the middle two
	} {
		got, err := h.measure(tc.measure)
		if err != nil || math.Abs(got-tc.want) > 1e-9 {
			t.Errorf("%s = %v, %v; want %v", tc.measure, got, err, tc.want)
		}
	}
	h.Resolved = h.Resolved[:3]
	if got, _ := h.measure("median_resolution"); got != 3600 {
		t.Errorf("odd median = %v, want 3600", got)
	}
	if _, err := h.measure("p99"); err == nil {
		t.Error("unknown measure gave no error")
	}
}

func TestResolutionWithoutResolvedIncidents(t *testing.T) {
	quiet := alertHistory{Window: 30 * 24 * time.Hour}
	for _, name := range []string{"incidents", "open_incidents", "alerts_per_day"} {
		if v, err := quiet.measure(name); err != nil || v != 0 {
			t.Errorf("quiet window: %s = %v, %v; want a known 0: nothing fired", name, v, err)
		}
	}
	// A mean over no incident is not 0: a rule reading 0 as "incidents
	// resolve fast" must not be told so by a quiet window.
	for _, name := range []string{"mean_resolution", "median_resolution"} {
		if _, err := quiet.measure(name); err == nil || err.Error() != "no incident resolved in the window" {
			t.Errorf("quiet window: %s err = %v; want unknown, no incident resolved in the window", name, err)
		}
	}
	stuck := alertHistory{Window: 30 * 24 * time.Hour, Open: 1, Started: 1}
	for _, name := range []string{"mean_resolution", "median_resolution"} {
		_, err := stuck.measure(name)
		if err == nil || !strings.Contains(err.Error(), "1 still open") {
			t.Errorf("only an open incident: %s err = %v; want unknown, the time to resolve is not known yet", name, err)
		}
	}
}

func TestFiringRunsGapTolerance(t *testing.T) {
	step := 5 * time.Minute
	base := time.Unix(1_700_000_000, 0)
	// A point a little off the grid (as after a clock adjustment) still joins
	// its run; a missing point does not.
	times := []time.Time{base, base.Add(step + 20*time.Second), base.Add(2*step + 20*time.Second), base.Add(4 * step)}
	runs := firingRuns(times, step)
	if len(runs) != 2 || !runs[0].last.Equal(times[2]) || !runs[1].first.Equal(times[3]) {
		t.Errorf("runs = %+v", runs)
	}
}

// labelled is a grid series with the given labels.
func labelled(start time.Time, step time.Duration, pattern string, kv ...string) *model.SampleStream {
	s := grid("", start, step, pattern)
	s.Metric = model.Metric{}
	for i := 0; i+1 < len(kv); i += 2 {
		s.Metric[model.LabelName(kv[i])] = model.LabelValue(kv[i+1])
	}
	return s
}

func TestIncidentsNotSeries(t *testing.T) {
	step := 5 * time.Minute
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	const points = 20
	end := start.Add((points - 1) * step)
	m := func(d int) time.Duration { return time.Duration(d) * time.Minute }
	node := func(pattern, pod string) *model.SampleStream {
		return labelled(start, step, pattern, "alertname", "KubePodNotReady", "namespace", "shop", "severity", "critical", "pod", pod)
	}
	for _, tc := range []struct {
		name     string
		series   model.Matrix
		resolved []time.Duration
		started  int
		nSeries  int
	}{
		{name: "one outage fires five series: one incident from the first to the last",
			series: model.Matrix{
				node("...#####............", "checkout-1"),
				node("....######..........", "checkout-2"),
				node("...####.............", "cart-1"),
				node(".....#######........", "search-1"),
				node("....####............", "payments-1"),
			},
			resolved: []time.Duration{m(40)}, started: 1, nSeries: 5},
		{name: "runs of a group that do not overlap stay apart",
			series:   model.Matrix{node("..###...............", "a"), node("..........###.......", "b")},
			resolved: []time.Duration{m(10), m(10)}, started: 2, nSeries: 2},
		{name: "another namespace is another incident",
			series: model.Matrix{node("..###...............", "a"),
				labelled(start, step, "..###...............", "alertname", "KubePodNotReady", "namespace", "cart", "severity", "critical")},
			resolved: []time.Duration{m(10), m(10)}, started: 2, nSeries: 2},
		{name: "meta-alerts are left out",
			series: model.Matrix{
				labelled(start, step, "..###...............", "alertname", "Watchdog", "severity", "critical"),
				labelled(start, step, "..###...............", "alertname", "InfoInhibitor", "severity", "critical"),
				labelled(start, step, "..###...............", "alertname", "NodeClockSkew", "severity", "none"),
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := summarizeAlertHistory(tc.series, start, end, step)
			if !equalDurations(h.Resolved, tc.resolved) || h.Started != tc.started || h.Series != tc.nSeries {
				t.Errorf("got resolved %v started %d series %d; want %v, %d, %d", h.Resolved, h.Started, h.Series, tc.resolved, tc.started, tc.nSeries)
			}
			if n, _ := h.measure("incidents"); int(n) != len(tc.resolved) {
				t.Errorf("incidents = %v, want %d", n, len(tc.resolved))
			}
		})
	}
}

// A long-running alert dominates the mean, not the median.
func TestMedianResistsALongRunningAlert(t *testing.T) {
	h := alertHistory{Window: 30 * 24 * time.Hour, Resolved: []time.Duration{20 * time.Minute, 30 * time.Minute, 40 * time.Minute, 9 * 24 * time.Hour}}
	mean, _ := h.measure("mean_resolution")
	median, _ := h.measure("median_resolution")
	if median != 35*60 || mean < 2*24*3600 {
		t.Errorf("mean %v median %v", mean, median)
	}
}
