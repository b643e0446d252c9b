package collector

import (
	"math"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/capability-exporter/capability_exporter/history"
	"github.com/capability-exporter/capability_exporter/triggers"
)

// ConditionKindsText lists the kind label values of capability_condition:
// the steps of the decision and adopted, for adopted_if.
var ConditionKindsText = strings.Join(append(slices.Clone(triggers.Kinds()), triggers.KindAdopted), ", ")

// Metric descriptors, built once. Every capability metric comes from the
// last published evaluation; a scrape never reaches a source.
var (
	infoDesc = prometheus.NewDesc("capability_info",
		"Constant 1 per capability of the rules, with its title and complexity cost.",
		[]string{"capability", "title", "complexity"}, nil)
	decisionDesc = prometheus.NewDesc("capability_decision",
		"Decision per capability as a StateSet: 1 for the current state, 0 for the others. From the last evaluation, not computed per scrape.",
		[]string{"capability", "state"}, nil)
	needDesc = prometheus.NewDesc("capability_need",
		"Whether the capability is needed at all (the framework's TRIGGER and NOT bullets, apart from timing) as a StateSet: need is yes or no where measures and declared facts settle it, probably or probably_not where only undeclared judgments could overturn it, unknown where the measures cannot say.",
		[]string{"capability", "need"}, nil)
	possibleDesc = prometheus.NewDesc("capability_decision_possible",
		"1 for each state the capability's decision could still take given its unknown signals, 0 for the others: exactly one state is possible once the decision is settled.",
		[]string{"capability", "state"}, nil)
	recommendedDesc = prometheus.NewDesc("capability_recommended_next",
		"1 for the one capability whose decision is now and which to take on next (lowest complexity first), 0 for the others.",
		[]string{"capability"}, nil)
	triggerDesc = prometheus.NewDesc("capability_trigger",
		"1 while the capability's trigger conditions hold, 0 while they do not, NaN while unknown.",
		[]string{"capability"}, nil)
	triggerKnownDesc = prometheus.NewDesc("capability_trigger_known",
		"1 when the capability's trigger could be evaluated, 0 when it is unknown for lack of signals.",
		[]string{"capability"}, nil)
	conditionDesc = prometheus.NewDesc("capability_condition",
		"Truth of one comparison of a capability's rules: 1 holds, 0 does not, NaN unknown. kind is "+ConditionKindsText+".",
		[]string{"capability", "kind", "condition", "signal"}, nil)
	thresholdDesc = prometheus.NewDesc("capability_condition_threshold",
		"The value a condition compares its signal with, in the signal's base unit: its literal, or the value in force of the named threshold its condition label writes as {name}.",
		[]string{"capability", "kind", "condition", "signal"}, nil)
	lastChangeDesc = prometheus.NewDesc("capability_decision_last_change_timestamp_seconds",
		"When the capability's decision last changed (or the exporter started), as a Unix timestamp.",
		[]string{"capability"}, nil)
	adoptedDesc = prometheus.NewDesc("capability_adopted_timestamp_seconds",
		"When the adopted capability was adopted, as a Unix timestamp: the date declared under facts.adopted, else the earliest creation time of its detected tools' workloads or objects, from the cluster or kube-state-metrics' kube_*_created, whichever reaches back further. Absent while not known.",
		[]string{"capability"}, nil)
	impactRatioDesc = prometheus.NewDesc("capability_impact_ratio",
		"An impact signal of an adopted capability over the window since adoption divided by its value over the equal window before (up to 30 days each); NaN while unknown (too early, data not reaching back, a value of 0 before). Measured on the slow interval.",
		[]string{"capability", "signal"}, nil)
	pendingDesc = prometheus.NewDesc("capability_decision_pending",
		"StateSet of a changed decision not yet published because it has not held for --decision.hold evaluations: 1 for the pending state, 0 for the others; all 0 while nothing is pending.",
		[]string{"capability", "state"}, nil)
	pendingSecondsDesc = prometheus.NewDesc("capability_decision_pending_seconds",
		"Time left, as of the last evaluation, before the pending decision is published if it keeps holding; 0 while nothing is pending.",
		[]string{"capability"}, nil)
	staleDesc = prometheus.NewDesc("capability_decision_stale",
		"1 while the published decision is kept only because the new one is unknown (a source is down) and has not held for --decision.hold evaluations.",
		[]string{"capability"}, nil)
	changesDesc = prometheus.NewDesc("capability_decision_changes_total",
		"Published changes of the capability's decision since the exporter started.",
		[]string{"capability"}, nil)
	changeTimeDesc = prometheus.NewDesc("capability_decision_change_timestamp_seconds",
		"When the capability's published decision last changed from one state to another, as a Unix timestamp, for each pair of states among the changes kept since start. Labels are states only; the causes are on the status page and /api/v1/changes.",
		[]string{"capability", "from", "to"}, nil)
	signalValueDesc = prometheus.NewDesc("capability_signal_value",
		"Value of a signal in its base unit (seconds, ratios 0..1, counts, booleans as 0/1); NaN while unknown. From the last evaluation.",
		[]string{"signal"}, nil)
	signalKnownDesc = prometheus.NewDesc("capability_signal_known",
		"1 when the signal's value is known, 0 when its source could not provide it.",
		[]string{"signal"}, nil)
	toolDesc = prometheus.NewDesc("capability_tool_detected",
		"1 when the tool is detected in the cluster, 0 when not, NaN when detection is unknown. capability is \"foundation\" for Priority 1 tools.",
		[]string{"capability", "tool"}, nil)
	foundationDesc = prometheus.NewDesc("capability_foundation_present",
		"1 when the Priority 1 foundation component is present, 0 when not, NaN when unknown.",
		[]string{"component"}, nil)

	sourceUpDesc = prometheus.NewDesc("capability_exporter_source_up",
		"1 when the source answered in the last evaluation, 0 when it was unreachable or is not configured.",
		[]string{"source"}, nil)
	sourceConfiguredDesc = prometheus.NewDesc("capability_exporter_source_configured",
		"1 when the source has a section in the config (facts always), 0 when it is not configured and its signals are unknown for that reason.",
		[]string{"source"}, nil)
	intervalDesc = prometheus.NewDesc("capability_exporter_evaluation_interval_seconds",
		"The configured time between evaluations (--evaluation.interval), for staleness alerts.", nil, nil)
	sourceDurationDesc = prometheus.NewDesc("capability_exporter_source_duration_seconds",
		"Time the source took in the last evaluation.",
		[]string{"source"}, nil)
	sourceErrorsDesc = prometheus.NewDesc("capability_exporter_source_errors_total",
		"Errors met by a source since the exporter started, by reason.",
		[]string{"source", "reason"}, nil)
	lastEvalDesc = prometheus.NewDesc("capability_exporter_last_evaluation_timestamp_seconds",
		"When the last evaluation finished, as a Unix timestamp.", nil, nil)
	evalDurationDesc = prometheus.NewDesc("capability_exporter_evaluation_duration_seconds",
		"Time the last evaluation took, all sources included.", nil, nil)
	reloadOKDesc = prometheus.NewDesc("capability_exporter_config_last_reload_successful",
		"1 when the last config reload succeeded, 0 when it failed and the previous config is still in force.", nil, nil)
	reloadTimeDesc = prometheus.NewDesc("capability_exporter_config_last_reload_success_timestamp_seconds",
		"When the config was last loaded successfully, as a Unix timestamp.", nil, nil)
)

// Exporter is a prometheus.Collector over a Scheduler's published state.
type Exporter struct {
	sched *Scheduler
	// built holds the metrics of the last State collected. A State never
	// changes once published, so its metrics are built once and sent again
	// to every scrape until the next evaluation: a scrape does no per-series
	// work of its own.
	built atomic.Pointer[builtMetrics]
}

type builtMetrics struct {
	state   *State
	metrics []prometheus.Metric
}

// NewExporter returns the collector for sched.
func NewExporter(sched *Scheduler) *Exporter { return &Exporter{sched: sched} }

// Describe sends every descriptor.
func (e *Exporter) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{infoDesc, decisionDesc, needDesc, possibleDesc, recommendedDesc, triggerDesc, triggerKnownDesc,
		conditionDesc, thresholdDesc, lastChangeDesc, adoptedDesc, impactRatioDesc, pendingDesc, pendingSecondsDesc, staleDesc, changesDesc, changeTimeDesc, signalValueDesc, signalKnownDesc, toolDesc, foundationDesc,
		sourceUpDesc, sourceConfiguredDesc, intervalDesc, sourceDurationDesc, sourceErrorsDesc, lastEvalDesc, evalDurationDesc, reloadOKDesc, reloadTimeDesc} {
		ch <- d
	}
}

// Collect emits const metrics from the last evaluation.
func (e *Exporter) Collect(ch chan<- prometheus.Metric) {
	ok, last := e.sched.ReloadStatus()
	ch <- gauge(reloadOKDesc, boolFloat(ok))
	ch <- gauge(reloadTimeDesc, float64(last.Unix()))

	if iv := e.sched.Interval(); iv > 0 {
		ch <- gauge(intervalDesc, iv.Seconds())
	}
	st := e.sched.Current()
	if st == nil {
		return // nothing evaluated yet: no decision is better than a made-up one
	}
	b := e.built.Load()
	if b == nil || b.state != st {
		b = &builtMetrics{state: st, metrics: stateMetrics(st)}
		e.built.Store(b) // concurrent scrapes may build the same State twice; either result is the same
	}
	for _, m := range b.metrics {
		ch <- m
	}
}

// stateMetrics builds every metric that comes from one published State.
func stateMetrics(st *State) []prometheus.Metric {
	ev := st.Evaluation
	out := make([]prometheus.Metric, 0, 2+3*len(st.Sources)+len(st.ErrorTotals)+
		20*len(ev.Decisions)+2*len(ev.Signals)+len(ev.Tools)+len(ev.Foundations))
	add := func(d *prometheus.Desc, v float64, labels ...string) { out = append(out, gauge(d, v, labels...)) }

	add(lastEvalDesc, float64(ev.Time.UnixNano())/1e9)
	add(evalDurationDesc, st.Duration.Seconds())
	for _, s := range st.Sources {
		add(sourceUpDesc, boolFloat(s.Up), s.Name)
		add(sourceConfiguredDesc, boolFloat(s.Configured), s.Name)
		add(sourceDurationDesc, s.Duration.Seconds(), s.Name)
	}
	for k, n := range st.ErrorTotals {
		out = append(out, prometheus.MustNewConstMetric(sourceErrorsDesc, prometheus.CounterValue, n, k.Source, string(k.Reason)))
	}

	for _, d := range ev.Decisions {
		add(infoDesc, 1, d.Capability, d.Title, d.Complexity.String())
		for _, state := range triggers.States() {
			add(decisionDesc, boolFloat(d.State == state), d.Capability, string(state))
		}
		for _, need := range triggers.Needs() {
			add(needDesc, boolFloat(d.Need == need), d.Capability, string(need))
		}
		for _, state := range triggers.States() {
			if state != triggers.StateUnknown {
				add(possibleDesc, boolFloat(slices.Contains(d.Possible, state)), d.Capability, string(state))
			}
		}
		add(recommendedDesc, boolFloat(d.Recommended), d.Capability)
		trig := d.Step(triggers.KindTrigger)
		add(triggerDesc, truthFloat(trig), d.Capability)
		add(triggerKnownDesc, boolFloat(trig != triggers.Unknown), d.Capability)
		if t, ok := st.LastChange[d.Capability]; ok {
			add(lastChangeDesc, float64(t.Unix()), d.Capability)
		}
		if st.History != nil {
			if hs, ok := st.History.Status(d.Capability); ok {
				out = append(out, historyMetrics(d.Capability, hs, ev.Time)...)
			}
		}
		for _, c := range d.UniqueConditions() {
			add(conditionDesc, truthFloat(c.Truth), d.Capability, c.Kind, c.Expr, c.Signal)
			add(thresholdDesc, c.Threshold, d.Capability, c.Kind, c.Expr, c.Signal)
		}
	}
	if st.History != nil {
		out = append(out, transitionMetrics(st.History)...)
	}
	for _, r := range st.Impact {
		if !r.Adopted.Time.IsZero() {
			add(adoptedDesc, float64(r.Adopted.Time.Unix()), r.Capability)
		}
		for _, sig := range r.Signals {
			ratio := math.NaN()
			if sig.RatioKnown {
				ratio = sig.Ratio
			}
			add(impactRatioDesc, ratio, r.Capability, sig.Signal)
		}
	}
	for _, s := range ev.Signals {
		v := math.NaN()
		if s.Value.Known {
			v = s.Value.Number
		}
		add(signalValueDesc, v, s.Name)
		add(signalKnownDesc, boolFloat(s.Value.Known), s.Name)
	}
	for _, t := range ev.Tools {
		capability := t.Capability
		if capability == "" {
			capability = "foundation"
		}
		add(toolDesc, truthFloat(t.Detected), capability, t.ID)
	}
	for _, f := range ev.Foundations {
		add(foundationDesc, truthFloat(f.Present), f.ID)
	}
	return out
}

// historyMetrics are a capability's pending change, staleness and count of
// published changes.
func historyMetrics(capability string, hs history.Status, now time.Time) []prometheus.Metric {
	out := make([]prometheus.Metric, 0, len(triggers.States())+3)
	var left float64
	for _, state := range triggers.States() {
		out = append(out, gauge(pendingDesc, boolFloat(hs.Pending != nil && hs.Pending.State == state), capability, string(state)))
	}
	if hs.Pending != nil && !hs.Pending.Due.IsZero() {
		left = max(hs.Pending.Due.Sub(now).Seconds(), 0)
	}
	out = append(out, gauge(pendingSecondsDesc, left, capability),
		gauge(staleDesc, boolFloat(hs.Stale != nil), capability),
		prometheus.MustNewConstMetric(changesDesc, prometheus.CounterValue, float64(hs.ChangesTotal), capability))
	return out
}

// transitionMetrics give, per capability and pair of states, the time of the
// latest published change between them: bounded by the states squared, and
// enough for a "changes this week" table that a restart does not empty.
func transitionMetrics(h *history.History) []prometheus.Metric {
	type pair struct {
		capability string
		from, to   triggers.State
	}
	latest := map[pair]time.Time{}
	var order []pair
	for _, ch := range h.Changes() { // newest first: the first of a pair is its latest
		k := pair{ch.Capability, ch.From, ch.To}
		if _, ok := latest[k]; !ok {
			latest[k] = ch.Time
			order = append(order, k)
		}
	}
	out := make([]prometheus.Metric, 0, len(order))
	for _, k := range order {
		out = append(out, gauge(changeTimeDesc, float64(latest[k].Unix()), k.capability, string(k.from), string(k.to)))
	}
	return out
}

func gauge(d *prometheus.Desc, v float64, labels ...string) prometheus.Metric {
	return prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
}

func boolFloat(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func truthFloat(t triggers.Truth) float64 {
	switch t {
	case triggers.True:
		return 1
	case triggers.False:
		return 0
	}
	return math.NaN()
}
