package httpapi

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/common/model"

	"github.com/capability-exporter/capability_exporter/scope"
)

// Alert history: incidents, time to resolve and alerts per day, computed by
// the exporter from one range query over the window, because PromQL cannot
// say where a firing run starts and ends.
//
// The query asks, at every step of a grid aligned to the step, whether each
// alert series fired at any moment of the step that ended there:
// max_over_time(<selector>[<step>]). Asking over the whole step instead of
// at its end means a run shorter than a step is still seen, and the answer
// does not depend on staleness markers (backfilled or remote-read data has
// none) or on the server's lookback delta.
//
// An incident is one contiguous firing run of one group of series: by
// default the series of one alertname in one namespace. One outage fires
// many series (one per pod, node or target behind the same alert); they are
// one incident, so the grid points where any series of the group fired are
// merged before runs are cut, and overlapping runs become one. A missing
// grid point ends a run, so two runs of a group less than about a step
// apart read as one. A run's duration is the time from its first to its
// last grid point; it is exact to within one step.
//
// Meta-alerts are left out: Watchdog and InfoInhibitor fire all the time by
// design (they prove the alerting pipeline works or inhibit info alerts),
// and severity="none" marks alerts that page nobody.
//
// At the window's edges:
//   - A run that still fires at the window's last grid point is open: it
//     counts in open_incidents, never in incidents or the resolution times.
//   - A run that already fired at the window's first grid point began before
//     the window. If it resolved inside the window it counts as an incident
//     and its duration is the part inside the window, a lower bound; it does
//     not count in alerts_per_day, which counts runs that started inside.

// maxPointsPerSeries is Prometheus' limit on the points of one range query
// series (11,000 in 2.x and 3.x); the step keeps every query under it.
const maxPointsPerSeries = 11000

// historySteps are the steps alert history may use, finest first. The finest
// is 5m: coarser than any common rule evaluation interval, so a run firing
// at every evaluation shows at every grid point.
var historySteps = []time.Duration{
	5 * time.Minute, 10 * time.Minute, 15 * time.Minute, 30 * time.Minute,
	time.Hour, 2 * time.Hour, 3 * time.Hour, 6 * time.Hour, 12 * time.Hour, 24 * time.Hour,
}

// historyStep returns the finest step that keeps a window's range query under
// maxPointsPerSeries: 5m up to 38 days (30d is 8,641 points), 10m up to 76.
func historyStep(window time.Duration) time.Duration {
	for _, s := range historySteps {
		if int64(window/s)+1 <= maxPointsPerSeries {
			return s
		}
	}
	const day = 24 * time.Hour
	return (window / (maxPointsPerSeries - 1)).Truncate(day) + day
}

// historyGrid returns the window's first and last grid points for an
// evaluation at now. The grid is aligned to the step so that evaluations a
// few seconds apart see the same points.
func historyGrid(now time.Time, window, step time.Duration) (start, end time.Time) {
	end = now.Truncate(step)
	return end.Add(-window), end
}

// historyQuery returns the range query for a selector at step. A plain
// vector selector takes the range directly; anything else (or anything the
// Prometheus parser cannot read) is wrapped in a subquery.
func historyQuery(selector string, step time.Duration) string {
	r := model.Duration(step).String()
	if _, ok := scope.PlainSelector(selector); ok {
		return fmt.Sprintf("max_over_time(%s[%s])", selector, r)
	}
	// An expression: evaluate it every minute inside each step, the usual
	// rule evaluation interval, so short runs are still seen.
	return fmt.Sprintf("max_over_time((%s)[%s:1m])", selector, r)
}

// incidentLabels group firing series into incidents unless the rule says
// otherwise.
var incidentLabels = []model.LabelName{"alertname", "namespace"}

// metaAlertNames fire by design, not because something is wrong.
var metaAlertNames = map[model.LabelValue]bool{"Watchdog": true, "InfoInhibitor": true}

// isMetaAlert says whether a series is a meta-alert that never counts.
func isMetaAlert(m model.Metric) bool {
	return metaAlertNames[m["alertname"]] || m["severity"] == "none"
}

// incidentGroup is the key of the incident group a series belongs to.
func incidentGroup(m model.Metric, by []model.LabelName) string {
	var b strings.Builder
	for _, l := range by {
		b.WriteString(string(m[l]))
		b.WriteByte(0xff)
	}
	return b.String()
}

// alertHistory is the summary of one selector over one window.
type alertHistory struct {
	Window   time.Duration
	Step     time.Duration
	Series   int             // series that fired, meta-alerts left out
	Groups   int             // incident groups that fired
	Meta     int             // meta-alert series left out
	Resolved []time.Duration // durations of the incidents resolved inside the window, in order of group and time
	Clipped  int             // of the resolved runs, those that began before the window (durations are lower bounds)
	Open     int             // runs still firing at the window's end
	Started  int             // runs that started inside the window
}

// firingRun is a run of consecutive grid points.
type firingRun struct{ first, last time.Time }

// firingRuns splits the grid points where one series fired into runs. times
// must be sorted; a gap of more than one step ends a run.
func firingRuns(times []time.Time, step time.Duration) []firingRun {
	var runs []firingRun
	for i, t := range times {
		if i > 0 && t.Sub(times[i-1]) <= step+step/2 {
			runs[len(runs)-1].last = t
			continue
		}
		runs = append(runs, firingRun{first: t, last: t})
	}
	return runs
}

// firingTimes returns the grid points where a series fired: a sample that is
// neither zero nor NaN (ALERTS is 1 while active).
func firingTimes(s *model.SampleStream) []time.Time {
	var out []time.Time
	for _, p := range s.Values {
		if v := float64(p.Value); v != 0 && !math.IsNaN(v) {
			out = append(out, p.Timestamp.Time())
		}
	}
	slices.SortFunc(out, func(a, b time.Time) int { return a.Compare(b) })
	return out
}

// summarizeAlertHistory counts incidents over the grid from start to end
// (both grid points) in a range query's matrix, grouping series by
// incidentLabels.
func summarizeAlertHistory(m model.Matrix, start, end time.Time, step time.Duration) alertHistory {
	return summarizeIncidents(m, start, end, step, incidentLabels)
}

// summarizeIncidents counts incidents with series grouped by the labels by;
// no labels makes every series its own group.
func summarizeIncidents(m model.Matrix, start, end time.Time, step time.Duration, by []model.LabelName) alertHistory {
	h := alertHistory{Window: end.Sub(start), Step: step}
	half := step / 2
	groups := map[string][]time.Time{}
	for i, s := range m {
		if isMetaAlert(s.Metric) {
			h.Meta++
			continue
		}
		times := firingTimes(s)
		if len(times) == 0 {
			continue
		}
		h.Series++
		key := incidentGroup(s.Metric, by)
		if len(by) == 0 {
			key = strconv.Itoa(i)
		}
		groups[key] = append(groups[key], times...)
	}
	h.Groups = len(groups)
	for _, key := range slices.Sorted(maps.Keys(groups)) {
		times := groups[key]
		slices.SortFunc(times, func(a, b time.Time) int { return a.Compare(b) })
		times = slices.CompactFunc(times, func(a, b time.Time) bool { return a.Equal(b) })
		for _, r := range firingRuns(times, step) {
			before := !r.first.After(start.Add(half)) // fired at the first grid point
			open := !r.last.Before(end.Add(-half))    // fires at the last grid point
			h.add(open, before, r.last.Sub(r.first))
		}
	}
	return h
}

// add counts one firing run: still open at the window's end, or resolved
// after took; clipped where it began before the window (took then counts
// from the window's start), started within the window otherwise.
func (h *alertHistory) add(open, before bool, took time.Duration) {
	if open {
		h.Open++
	} else {
		h.Resolved = append(h.Resolved, took)
		if before {
			h.Clipped++
		}
	}
	if !before {
		h.Started++
	}
}

// measure returns one alert_history measure. With no resolved incident the
// resolution times are unknown: a mean over nothing is not 0, and a rule
// that reads 0 as "incidents resolve fast" would be told so by a window in
// which nothing fired. The counts stay known.
func (h alertHistory) measure(name string) (float64, error) {
	switch name {
	case "incidents":
		return float64(len(h.Resolved)), nil
	case "open_incidents":
		return float64(h.Open), nil
	case "alerts_per_day":
		return float64(h.Started) / (h.Window.Hours() / 24), nil
	case "mean_resolution", "median_resolution":
		if len(h.Resolved) == 0 {
			if h.Open > 0 {
				return 0, fmt.Errorf("no incident resolved in the window; %d still open", h.Open)
			}
			return 0, errors.New("no incident resolved in the window")
		}
		if name == "mean_resolution" {
			var sum time.Duration
			for _, d := range h.Resolved {
				sum += d
			}
			return sum.Seconds() / float64(len(h.Resolved)), nil
		}
		return median(h.Resolved).Seconds(), nil
	}
	return 0, fmt.Errorf("unknown alert_history measure %q", name)
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}
