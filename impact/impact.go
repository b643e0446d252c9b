package impact

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/capability-exporter/capability_exporter/triggers"
)

// Defaults.
const (
	// MaxWindow is the longest window measured on each side of adoption.
	MaxWindow = 30 * 24 * time.Hour
	// DefaultMinWindow is the shortest window worth judging: younger, the
	// answer is "too early".
	DefaultMinWindow = 7 * 24 * time.Hour
	// DefaultJudging is how long after adoption a capability whose signals
	// have not improved raises the exit question.
	DefaultJudging = 60 * 24 * time.Hour
	// DefaultMargin is how far a signal must move, relative to its value
	// before adoption, to count as improved.
	DefaultMargin = 0.10
)

// Options are the judging settings.
type Options struct {
	MinWindow, Judging time.Duration
	Margin             float64
}

// DefaultOptions returns the defaults.
func DefaultOptions() Options {
	return Options{MinWindow: DefaultMinWindow, Judging: DefaultJudging, Margin: DefaultMargin}
}

// Window is a span of time, start excluded, end included.
type Window struct{ Start, End time.Time }

// Duration returns the window's length.
func (w Window) Duration() time.Duration { return w.End.Sub(w.Start) }

// AlertSummary is one selector's alert history over one window; Measure
// answers an alert_history measure (triggers.AlertHistoryMeasures).
type AlertSummary interface {
	Measure(name string) (float64, error)
}

// Store reads the past from the metrics store.
type Store interface {
	// ValueAt evaluates an instant query at a past moment (as PromQL's @
	// would pin every selector of it) and returns its one value; found is
	// false for an empty answer. Several series where one is wanted is an
	// error.
	ValueAt(ctx context.Context, query string, at time.Time) (value float64, found bool, err error)
	// AlertHistory summarises an alert selector over each window with one
	// range query; a window the store's data does not reach back over has
	// an error instead.
	AlertHistory(ctx context.Context, selector string, groupBy []string, windows []Window) ([]AlertSummary, []error)
	// Created returns the earliest creation time kube-state-metrics
	// recorded (kube_*_created) of the tools' workloads and namespaces
	// within lookback; zero when it recorded none.
	Created(ctx context.Context, tools []*triggers.Tool, lookback time.Duration) (time.Time, error)
}

// How an adoption time was found.
const (
	FromDeclared   = "declared"   // facts.adopted in the config
	FromKubernetes = "kubernetes" // the earliest running workload or custom resource of a detected tool
	FromStore      = "store"      // kube-state-metrics' kube_*_created series in the store
)

// Adoption is when a capability was adopted and how that is known.
type Adoption struct {
	Time time.Time `json:"time"`
	From string    `json:"from"`
}

// Adopted picks the adoption time: a declared date outranks both measures;
// otherwise the earlier of the cluster's and the store's.
func Adopted(declared, cluster, store time.Time) (Adoption, bool) {
	switch {
	case !declared.IsZero():
		return Adoption{declared, FromDeclared}, true
	case !store.IsZero() && (cluster.IsZero() || store.Before(cluster)):
		return Adoption{store, FromStore}, true
	case !cluster.IsZero():
		return Adoption{cluster, FromKubernetes}, true
	}
	return Adoption{}, false
}

// Value is an impact signal's value over one window, or why it is unknown:
// in words (Reason) and as a code.
type Value struct {
	Known  bool                `json:"known"`
	Number float64             `json:"value,omitempty"`
	Reason string              `json:"reason,omitempty"`
	Code   triggers.ReasonCode `json:"reason_code,omitempty"`
}

// unknown is a Value unknown for reason.
func unknown(code triggers.ReasonCode, reason string) Value { return Value{Reason: reason, Code: code} }

// Signal is one impact signal before adoption and since.
type Signal struct {
	Signal string             `json:"signal"`
	Help   string             `json:"help,omitempty"`
	Type   triggers.ValueType `json:"type"`
	Better triggers.Better    `json:"better"`
	Before Value              `json:"before"`
	After  Value              `json:"after"`
	// Ratio is After / Before; RatioKnown is false where either is
	// unknown or Before is 0.
	Ratio      float64 `json:"ratio,omitempty"`
	RatioKnown bool    `json:"ratio_known"`
	// Change is the relative move, (After - Before) / |Before|.
	Change   float64 `json:"change,omitempty"`
	Improved bool    `json:"improved"`
}

// ExitPath is how to go back from one adopted tool.
type ExitPath struct {
	Tool  string `json:"tool"`
	Title string `json:"title"`
	Exit  string `json:"exit,omitempty"`
}

// Result is one adopted capability's impact.
type Result struct {
	Capability string   `json:"capability"`
	Adopted    Adoption `json:"adopted"`
	// Unknown says why nothing could be measured: no adoption time, or no
	// store to read the past from.
	Unknown    string    `json:"unknown,omitempty"`
	Tools      []string  `json:"tools,omitempty"` // titles of the detected tools
	Before     Window    `json:"-"`
	After      Window    `json:"-"`
	Window     float64   `json:"window_seconds"`
	TooEarly   string    `json:"too_early,omitempty"`
	Signals    []Signal  `json:"signals"`
	MeasuredAt time.Time `json:"measured_at"`
	// ExitQuestion is set when no signal improved after the judging
	// period; Exit then lists each adopted tool's way back.
	ExitQuestion string     `json:"exit_question,omitempty"`
	Exit         []ExitPath `json:"exit,omitempty"`
	// Options are the settings judged by: the margin a signal must move,
	// and the judging period before the exit question.
	Options Options `json:"-"`
}

// Unmeasured is the Result of an adopted capability whose impact cannot be
// measured, each impact signal unknown for why (code, in a word).
func Unmeasured(r *triggers.Rules, c *triggers.Capability, a Adoption, now time.Time, code triggers.ReasonCode, why string) Result {
	res := Result{Capability: c.ID, Adopted: a, Unknown: why, MeasuredAt: now}
	for _, is := range c.Impact {
		sig := r.Signal(is.Signal)
		res.Signals = append(res.Signals, Signal{Signal: is.Signal, Help: sig.Help, Type: sig.Type, Better: is.Better,
			Before: unknown(code, why), After: unknown(code, why)})
	}
	return res
}

// Windows returns the windows before adoption and since, each
// W = min(now - adopted, MaxWindow) long.
func Windows(adopted, now time.Time) (before, after Window) {
	w := min(now.Sub(adopted), MaxWindow)
	return Window{adopted.Add(-w), adopted}, Window{adopted, adopted.Add(w)}
}

// Judge measures one adopted capability's impact signals. tools are its
// detected tools, for the exit paths.
func Judge(ctx context.Context, store Store, r *triggers.Rules, c *triggers.Capability, tools []*triggers.Tool, a Adoption, now time.Time, o Options) Result {
	res := Result{Capability: c.ID, Adopted: a, MeasuredAt: now, Options: o}
	for _, t := range tools {
		res.Tools = append(res.Tools, t.Title)
	}
	res.Before, res.After = Windows(a.Time, now)
	w := res.After.Duration()
	res.Window = w.Seconds()
	for _, is := range c.Impact {
		sig := r.Signal(is.Signal)
		res.Signals = append(res.Signals, Signal{Signal: is.Signal, Help: sig.Help, Type: sig.Type, Better: is.Better})
	}
	if w < o.MinWindow {
		days := int(math.Floor(now.Sub(a.Time).Hours() / 24))
		res.TooEarly = fmt.Sprintf("too early: %d days since adoption", max(days, 0))
		for i := range res.Signals {
			res.Signals[i].Before = unknown(triggers.CodeTooYoung, res.TooEarly)
			res.Signals[i].After = unknown(triggers.CodeTooYoung, res.TooEarly)
		}
		return res
	}
	measureAlertSignals(ctx, store, r, &res)
	for i := range res.Signals {
		s := &res.Signals[i]
		if s.Before.Known || s.Before.Reason != "" {
			continue // an alert history signal, already read
		}
		s.Before, s.After = measureQuery(ctx, store, r.Signal(s.Signal), res.Before, res.After)
	}
	for i := range res.Signals {
		res.Signals[i].compare(o.Margin)
	}
	if now.Sub(a.Time) >= o.Judging && !slices.ContainsFunc(res.Signals, func(s Signal) bool { return s.Improved }) &&
		slices.ContainsFunc(res.Signals, func(s Signal) bool { return s.RatioKnown }) {
		res.ExitQuestion = fmt.Sprintf("No impact signal of %s improved by %.0f%% or more in the %d days since adoption. "+
			"The framework's exit question: can we go back if it does not work?", c.Title, o.Margin*100, int(now.Sub(a.Time).Hours()/24))
		for _, t := range tools {
			res.Exit = append(res.Exit, ExitPath{Tool: t.ID, Title: t.Title, Exit: t.Exit})
		}
	}
	return res
}

// compare works out the ratio and whether the signal improved by margin.
func (s *Signal) compare(margin float64) {
	if !s.Before.Known || !s.After.Known {
		return
	}
	b, a := s.Before.Number, s.After.Number
	if b == 0 {
		// No ratio to a zero; a move away from it in the wanted direction
		// is an improvement all the same.
		s.Improved = (s.Better == triggers.BetterLower && a < 0) || (s.Better == triggers.BetterHigher && a > 0)
		return
	}
	s.Ratio, s.RatioKnown = a/b, true
	s.Change = (a - b) / math.Abs(b)
	switch s.Better {
	case triggers.BetterLower:
		s.Improved = s.Change <= -margin
	case triggers.BetterHigher:
		s.Improved = s.Change >= margin
	}
}

// alertKey groups alert history signals that one range query answers.
type alertKey struct{ selector, groupBy string }

// measureAlertSignals reads the alert history signals, one range query per
// selector over both windows.
func measureAlertSignals(ctx context.Context, store Store, r *triggers.Rules, res *Result) {
	groups := map[alertKey][]int{}
	var order []alertKey
	specs := map[alertKey]*triggers.AlertHistory{}
	for i, s := range res.Signals {
		h := alertHistoryOf(r.Signal(s.Signal))
		if h == nil {
			continue
		}
		k := alertKey{h.Selector, strings.Join(h.GroupBy, ",")}
		if _, ok := groups[k]; !ok {
			order = append(order, k)
			specs[k] = h
		}
		groups[k] = append(groups[k], i)
	}
	for _, k := range order {
		h := specs[k]
		sums, errs := store.AlertHistory(ctx, h.Selector, h.GroupBy, []Window{res.Before, res.After})
		for _, i := range groups[k] {
			s := &res.Signals[i]
			measure := alertHistoryOf(r.Signal(s.Signal)).Measure
			s.Before = summaryValue(sums, errs, 0, measure, "before adoption")
			s.After = summaryValue(sums, errs, 1, measure, "since adoption")
		}
	}
}

func summaryValue(sums []AlertSummary, errs []error, i int, measure, when string) Value {
	if i < len(errs) && errs[i] != nil {
		return unknown(triggers.CodeSourceDown, errs[i].Error())
	}
	if i >= len(sums) || sums[i] == nil {
		return unknown(triggers.CodeNoData, "no alert history "+when)
	}
	v, err := sums[i].Measure(measure)
	if err != nil {
		return unknown(triggers.CodeNoData, err.Error()+" "+when)
	}
	return Value{Known: true, Number: v}
}

// alertHistoryOf returns the alert history a signal reads from the store,
// the first among its alternatives, or nil.
func alertHistoryOf(sig *triggers.Signal) *triggers.AlertHistory {
	for _, alt := range sig.Source.Alternatives() {
		if alt.Prometheus != nil && alt.Prometheus.AlertHistory != nil {
			return alt.Prometheus.AlertHistory
		}
		if alt.Prometheus != nil && alt.Prometheus.Query != "" || alt.Kubernetes != "" {
			return nil
		}
	}
	return nil
}

// OwnSeries is the query that reads a Kubernetes-sourced signal's history
// from the exporter's own series, which the store keeps once it scrapes
// the exporter.
func OwnSeries(signal string) string {
	return fmt.Sprintf(`max(capability_signal_value{signal=%q})`, signal)
}

// Queries returns the instant queries whose history gives a signal, in
// the order its alternatives are tried.
func Queries(sig *triggers.Signal) []string {
	var out []string
	for _, alt := range sig.Source.Alternatives() {
		switch {
		case alt.Prometheus != nil && alt.Prometheus.Query != "":
			out = append(out, alt.Prometheus.Query)
		case alt.Kubernetes != "":
			out = append(out, OwnSeries(sig.Name))
		}
	}
	return out
}

// measureQuery reads a query signal at the end of each window: at
// adoption, and W after it. The signal's own window (a month's growth, a
// day's idle CPU) is what it measures over, so the two values compare the
// same span before and since. The first alternative known at both moments
// wins; else the first one's reasons stand.
func measureQuery(ctx context.Context, store Store, sig *triggers.Signal, before, after Window) (Value, Value) {
	var firstB, firstA Value
	for i, q := range Queries(sig) {
		b := valueAt(ctx, store, q, before.End, "at adoption")
		a := valueAt(ctx, store, q, after.End, "since adoption")
		if b.Known && a.Known {
			return b, a
		}
		if i == 0 {
			firstB, firstA = b, a
		}
	}
	if !firstB.Known && firstB.Reason == "" {
		firstB = unknown(triggers.CodeNoData, "no query of the signal has a history in the store")
	}
	if !firstA.Known && firstA.Reason == "" {
		firstA = firstB
	}
	return firstB, firstA
}

// valueAt reads a query at one moment; an empty answer is unknown: the
// data does not reach back, or the series did not exist then.
func valueAt(ctx context.Context, store Store, q string, at time.Time, when string) Value {
	v, found, err := store.ValueAt(ctx, q, at)
	switch {
	case err != nil:
		return unknown(triggers.CodeSourceDown, err.Error())
	case !found:
		return unknown(triggers.CodeNoData, fmt.Sprintf("no data %s (%s): the query answers nothing then (the data does not reach back, or the series did not exist)",
			when, at.UTC().Format("2006-01-02 15:04")))
	}
	return Value{Known: true, Number: v}
}
