package collector

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/capability-exporter/capability_exporter/collector/source"
	"github.com/capability-exporter/capability_exporter/config"
	"github.com/capability-exporter/capability_exporter/history"
	"github.com/capability-exporter/capability_exporter/impact"
	"github.com/capability-exporter/capability_exporter/triggers"
)

// State is one finished evaluation with the health of the sources behind it.
// It is immutable once published; readers share it without locks.
type State struct {
	Config     *config.Config
	Evaluation *triggers.Evaluation
	Sources    []SourceStatus
	Duration   time.Duration
	// ErrorTotals counts source errors since start, by source and reason.
	ErrorTotals map[ErrorKey]float64
	// LastChange is when each capability's published decision last changed.
	LastChange map[string]time.Time
	// History holds what is pending for each capability and the recent
	// published changes; Evaluation's decisions are its published ones.
	History *history.History
	// Impact is each adopted capability's impact since adoption, in the
	// rules' order.
	Impact []impact.Result
	// Snapshot is what the sources answered, before first_known is
	// resolved and the config's overrides are laid over it: what a what-if
	// lays its own facts and overrides over (WhatIf), without asking a
	// source again.
	Snapshot triggers.Snapshot
}

// ErrorKey labels a source error counter.
type ErrorKey struct {
	Source string
	Reason source.Reason
}

// SourceStatus is one source's part in an evaluation.
type SourceStatus struct {
	Name       string
	Configured bool
	Up         bool
	Duration   time.Duration
	Signals    int      // requests it was asked to answer
	Errors     []string // this evaluation's errors, for the status page
}

// Scheduler runs evaluations: it asks every source concurrently, resolves
// first_known signals, evaluates the rules and publishes the State. Scrapes
// read the published State; they never reach a source.
type Scheduler struct {
	logger  *slog.Logger
	timeout time.Duration
	// sourceOpts are what the sources it builds are given beside their
	// config section.
	sourceOpts sourceOptions

	// mu guards the config in force and the running sources. It is held only
	// to read or swap them, never across an evaluation, so a reload or Close
	// does not wait behind a slow source.
	mu        sync.Mutex
	cfg       *config.Config
	factories map[string]factory
	running   map[string]*runningSource
	closed    bool

	// evalMu serialises evaluations and guards what they accumulate.
	evalMu    sync.Mutex
	errTotals map[ErrorKey]float64
	history   *history.History
	// impacts are the last impact results, reused on the slow cadence.
	impacts map[string]impactEntry
	// panicsLogged holds the panics already logged with their stack, by
	// source and message, so that one failing every evaluation logs once.
	panicsLogged map[string]bool
	// sourceLogged is each source's state as last logged: "" while it
	// answers cleanly, else its fault or the kinds of its errors. A
	// source's failure is logged when this changes, not every evaluation.
	sourceLogged map[string]string
	quietSources bool // WithoutSourceLog
	// engine is the rules engine (triggers.EvaluateFrom); memo is what it
	// made last and from what.
	engine func(*triggers.Rules, triggers.Snapshot, time.Time, triggers.Truths) *triggers.Evaluation
	memo   engineMemo

	// onPublish are called, each in a goroutine of its own, with every
	// State once it is published (OnPublish).
	hooksMu   sync.Mutex
	onPublish []func(*State)

	// pending holds at most one evaluation that Run owes: reloads and ticks
	// that arrive while one runs coalesce into it, however many they are.
	pending chan struct{}

	state       atomic.Pointer[State]
	interval    atomic.Int64 // nanoseconds; 0 until Run starts
	reloadOK    atomic.Bool
	reloadStamp atomic.Int64
	reloads     atomic.Uint64
	// declared is set by a reload and taken by the next evaluation, which
	// publishes what the new config decides without a hold: a declared
	// change is not noise.
	declared atomic.Bool
}

// NewScheduler prepares a scheduler for cfg. timeout bounds one evaluation.
func NewScheduler(cfg *config.Config, timeout time.Duration, logger *slog.Logger, opts ...Option) *Scheduler {
	return newScheduler(cfg, timeout, logger, factories, opts...)
}

// Option sets a scheduler's setting that the config file does not hold.
// Each scheduler keeps its own, so two in one process share nothing.
type Option func(*Scheduler)

// WithSlowInterval sets how often the Prometheus and Loki sources send the
// queries that read a day or more (--evaluation.slow-interval); in between
// they reuse the last answer. 0, the default, sends them every evaluation.
func WithSlowInterval(d time.Duration) Option {
	return func(s *Scheduler) { s.sourceOpts.http.SlowInterval = d }
}

// WithHold sets the evaluations a changed decision must hold before it is
// published (--decision.hold); 1, the default, publishes every change at
// once.
func WithHold(evaluations int) Option {
	return func(s *Scheduler) { s.history = history.New(evaluations, history.DefaultKeep) }
}

// WithoutSourceLog leaves the sources' state changes out of the log, for a
// caller that says them itself (assess, one line per source on stderr).
func WithoutSourceLog() Option {
	return func(s *Scheduler) { s.quietSources = true }
}

// newScheduler takes the source factories explicitly, so tests can put
// scripted sources in place of real ones.
func newScheduler(cfg *config.Config, timeout time.Duration, logger *slog.Logger, fs map[string]factory, opts ...Option) *Scheduler {
	s := &Scheduler{logger: logger, timeout: timeout, factories: fs, running: map[string]*runningSource{},
		pending:   make(chan struct{}, 1),
		errTotals: map[ErrorKey]float64{}, history: history.New(1, history.DefaultKeep),
		panicsLogged: map[string]bool{}, sourceLogged: map[string]string{}, engine: triggers.EvaluateFrom}
	for _, o := range opts {
		o(s)
	}
	s.reloadOK.Store(true)
	s.reloadStamp.Store(time.Now().Unix())
	s.setConfig(cfg)
	return s
}

// OnPublish has fn called with every State published from now on, in a
// goroutine of its own once Current returns it: what follows a publication
// (rendering the capability series for scrapes) runs beside the next
// evaluation, never in the way of this one's publication. fn may be called
// for two States at once, and after a newer one is published.
func (s *Scheduler) OnPublish(fn func(*State)) {
	s.hooksMu.Lock()
	defer s.hooksMu.Unlock()
	s.onPublish = append(s.onPublish, fn)
}

// Current returns the last published State, or nil before the first
// evaluation finishes.
func (s *Scheduler) Current() *State { return s.state.Load() }

// Config returns the config in force.
func (s *Scheduler) Config() *config.Config {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cfg
}

// Run evaluates once at start, then every interval and after each
// EvaluateSoon, until ctx ends. Evaluations run one at a time, and behind
// the running one at most one waits: a tick and any number of
// EvaluateSoon calls that arrive meanwhile are answered by that one
// evaluation, so a loop of reloads costs no more than two evaluations.
func (s *Scheduler) Run(ctx context.Context, interval time.Duration) {
	s.interval.Store(int64(interval))
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		// What asked before this evaluation starts is answered by it.
		select {
		case <-s.pending:
		default:
		}
		select {
		case <-t.C:
		default:
		}
		s.Evaluate(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-s.pending:
		}
	}
}

// EvaluateSoon asks Run for an evaluation (after a reload) without waiting
// for it. When one is already waiting, this one is answered by it.
func (s *Scheduler) EvaluateSoon() {
	select {
	case s.pending <- struct{}{}:
	default:
	}
}

// Interval returns the interval Run evaluates at, or 0 before Run starts.
func (s *Scheduler) Interval() time.Duration { return time.Duration(s.interval.Load()) }

// Evaluate runs one evaluation and publishes it, in five steps: plan what
// each source is asked, collect the answers, merge them into the values the
// rules read, evaluate the rules, and publish. When parent ends before the
// evaluation does (the exporter is shutting down) or the scheduler is
// closed, the State is returned but neither published nor counted: a
// shutdown is not a source failure.
//
// A panic outside the sources (in the rules engine, or on a malformed
// answer) publishes nothing and is logged with its stack; the last
// published State stays and is returned.
func (s *Scheduler) Evaluate(parent context.Context) (published *State) {
	defer func() {
		if p := recover(); p != nil {
			s.logger.Error("Evaluation panicked; the last published decisions stay", "err", fmt.Sprint(p), "stack", string(debug.Stack()))
			published = s.Current()
		}
	}()
	s.evalMu.Lock()
	defer s.evalMu.Unlock()
	declared := s.declared.Swap(false)
	cfg, running := s.acquire()
	defer s.release(running)

	start := time.Now()
	ctx, cancel := context.WithTimeout(parent, s.timeout)
	defer cancel()

	outcomes := s.collect(ctx, s.plan(cfg.Rules, running), running)
	// Checked after the sources return: a shutdown that began meanwhile
	// shows as errors that are not the sources' fault.
	shutdown := parent.Err() != nil || s.isClosed()
	m := s.merge(cfg, outcomes, running, !shutdown)
	now := time.Now()
	st := s.evaluate(ctx, cfg, running, m, now, declared)
	st.Duration = time.Since(start)
	if shutdown {
		return s.discard(st, declared)
	}
	return s.publish(st, now)
}

// request is what an evaluation asks of one source kind.
type request struct {
	kind string
	source.Request
}

// plan says what each source kind is asked, in the order of their names.
// Every configured source takes part, even one no rule reads: its source_up
// and source_configured must exist for the alerts on them. So does every
// kind that detects tools, when the rules name tools.
func (s *Scheduler) plan(rules *triggers.Rules, running map[string]*runningSource) []request {
	byKind := signalRequests(rules)
	kinds := map[string]bool{}
	for kind := range byKind {
		kinds[kind] = true
	}
	for kind := range running {
		kinds[kind] = true
	}
	if len(rules.Tools) > 0 {
		for kind, f := range s.factories {
			if f.detectsTools {
				kinds[kind] = true
			}
		}
	}
	reqs := make([]request, 0, len(kinds))
	for _, kind := range slices.Sorted(maps.Keys(kinds)) {
		r := request{kind: kind, Request: source.Request{Rules: rules, Signals: byKind[kind]}}
		if s.factories[kind].detectsTools {
			r.Tools = rules.Tools
		}
		reqs = append(reqs, r)
	}
	return reqs
}

// signalRequests groups the signals the sources measure by source kind. A
// first_known signal asks each of its alternatives under a key of its own;
// a derived one is left out, since triggers.Evaluate works it out from the
// others.
func signalRequests(rules *triggers.Rules) map[string][]source.SignalRequest {
	byKind := map[string][]source.SignalRequest{}
	for _, sig := range rules.Signals {
		alts := sig.Source.Alternatives()
		for i, alt := range alts {
			if alt.Derive != nil {
				continue
			}
			key := sig.Name
			if len(alts) > 1 {
				key = triggers.AlternativeKey(sig.Name, i)
			}
			byKind[alt.Kind()] = append(byKind[alt.Kind()], source.SignalRequest{Key: key, Signal: sig, Spec: alt})
		}
	}
	return byKind
}

// outcome is one source kind's answer to its request.
type outcome struct {
	request
	res    source.Result
	status SourceStatus
}

// collect asks every running source its request, all at once, and waits for
// every answer. A kind that cannot answer (not in this build, not
// configured, failed to start) answers each of its signals unknown with the
// reason why.
func (s *Scheduler) collect(ctx context.Context, reqs []request, running map[string]*runningSource) []outcome {
	outcomes := make([]outcome, len(reqs))
	var wg sync.WaitGroup
	for i, r := range reqs {
		o := &outcomes[i]
		*o = outcome{request: r, status: SourceStatus{Name: r.kind, Signals: len(r.Signals) + len(r.Tools)}}
		rs := running[r.kind]
		switch {
		case rs == nil && s.factories[r.kind].build == nil:
			o.res = unavailable(r.Request, triggers.CodeNotConfigured, r.kind+" source is not available in this build")
		case rs == nil:
			o.res = unavailable(r.Request, triggers.CodeNotConfigured, "sources."+r.kind+" is not configured")
		case rs.err != nil:
			o.status.Configured = true
			o.res = unavailable(r.Request, source.ReasonStart.Code(), r.kind+" source failed to start: "+rs.err.Error())
			o.res.Errors = []source.Error{{Reason: source.ReasonStart, Err: rs.err}}
		default:
			o.status.Configured = true
			wg.Go(func() {
				t0 := time.Now()
				o.res = collectSafely(ctx, rs.src, r.Request)
				o.status.Duration = time.Since(t0)
			})
		}
	}
	wg.Wait()
	return outcomes
}

// merged is what the sources answered, as the rules read it.
type merged struct {
	values triggers.Snapshot
	// raw is values before first_known and the overrides: State.Snapshot.
	raw      triggers.Snapshot
	statuses []SourceStatus
	// totals are the error counters since start with this evaluation's
	// errors added.
	totals map[ErrorKey]float64
}

// merge makes one snapshot of the sources' answers: it counts and scrubs
// each source's errors, resolves the first_known signals and puts each
// declared override in place of the value it replaces. Errors and panics
// are logged only when report is set: errors that a shutdown caused are not
// the sources' fault.
func (s *Scheduler) merge(cfg *config.Config, outcomes []outcome, running map[string]*runningSource, report bool) merged {
	m := merged{values: triggers.Snapshot{}, totals: maps.Clone(s.errTotals)}
	// Every running source's counters exist from its first evaluation, so
	// that increase() and rate() see its first error.
	for kind := range running {
		for _, reason := range errorReasons(s.factories, kind) {
			m.totals[ErrorKey{kind, reason}] += 0
		}
	}
	for _, o := range outcomes {
		st := s.mergeOutcome(cfg, o, m.values, m.totals, report)
		m.statuses = append(m.statuses, st)
	}
	m.raw = maps.Clone(m.values)
	triggers.ResolveFirstKnown(cfg.Rules, m.values)
	for name, v := range cfg.OverrideValues {
		m.values[name] = v // a declared value outranks the measure it replaces
	}
	return m
}

// mergeOutcome adds one source's answers to values and its errors to totals,
// and returns its status. A signal the source left unknown without a reason
// gets its errors as the reason.
func (s *Scheduler) mergeOutcome(cfg *config.Config, o outcome, values triggers.Snapshot, totals map[ErrorKey]float64, report bool) SourceStatus {
	st := o.status
	st.Up = o.res.Up && st.Configured
	// Errors and reasons may quote what a server was sent: they are
	// scrubbed before they are logged or stored.
	for _, e := range o.res.Errors {
		msg := cfg.Scrub(e.Error())
		totals[ErrorKey{o.kind, e.Reason}]++
		if e.Stack != nil && report {
			s.logPanic(o.kind, msg, e.Stack)
		}
		st.Errors = append(st.Errors, msg)
	}
	fallback := triggers.UnknownValue(triggers.CodeNoData, o.kind+" source answered nothing for it", "")
	if len(st.Errors) > 0 {
		fallback = triggers.UnknownValue(source.Code(o.res.Errors), o.kind+": "+strings.Join(st.Errors, "; "), "")
	}
	down := st.Configured && !st.Up
	downReason := DownReason(o.kind, o.res.Errors)
	answer := func(key string) triggers.Value {
		v := withSource(valueOr(o.res.Values, key, fallback), o.kind)
		v.Reason = cfg.Scrub(v.Reason)
		if down && !v.Known {
			// The fault is the source's, said once under it; the
			// value says only that the source is down (or refused
			// the credentials).
			v.Reason, v.Code = downReason, downCode(o.res.Errors)
		}
		return v
	}
	for _, sr := range o.Signals {
		values[sr.Key] = answer(sr.Key)
	}
	for _, t := range o.Tools {
		values[t.SignalName()] = answer(t.SignalName())
	}
	if report && !s.quietSources {
		s.logSourceState(o.kind, st, o.res.Errors)
	}
	return st
}

// DownReason is what every value a down source could not give reads: that
// it is down and the kinds of its errors ("prometheus is down (timeout)"),
// never the error text, which its status holds once.
func DownReason(kind string, errs []source.Error) string {
	var kinds []string
	for _, e := range errs {
		if !slices.Contains(kinds, string(e.Reason)) {
			kinds = append(kinds, string(e.Reason))
		}
	}
	if len(kinds) == 0 {
		return kind + " is down"
	}
	slices.Sort(kinds)
	return kind + " is down (" + strings.Join(kinds, ", ") + ")"
}

// downCode is the code of every value a down source could not give: auth
// when it refused the credentials, else source down.
func downCode(errs []source.Error) triggers.ReasonCode {
	for _, e := range errs {
		if e.Reason.Code() == triggers.CodeAuth {
			return triggers.CodeAuth
		}
	}
	return triggers.CodeSourceDown
}

// logSourceState logs a source's failure when its state changes: down with
// its one fault and fix, answering with errors of new kinds, or answering
// again. Each line stays short: the fault in words, never the queries.
// Called with evalMu held.
func (s *Scheduler) logSourceState(kind string, st SourceStatus, errs []source.Error) {
	var state, fix string
	switch {
	case st.Configured && !st.Up:
		state, fix = source.Fault(kind, st.Errors)
	case len(errs) > 0:
		var reasons []string
		for _, e := range errs {
			if !slices.Contains(reasons, string(e.Reason)) {
				reasons = append(reasons, string(e.Reason))
			}
		}
		slices.Sort(reasons)
		state = "errors: " + strings.Join(reasons, ", ")
	}
	prev, seen := s.sourceLogged[kind]
	if state == prev && (seen || state == "") {
		return
	}
	s.sourceLogged[kind] = state
	switch {
	case st.Configured && !st.Up:
		s.logger.Error("Source down", "source", kind, "fault", state, "fix", fix)
	case state != "":
		first, _ := source.Fault(kind, st.Errors[:1])
		s.logger.Warn("Source errors", "source", kind,
			"errors", len(errs), "kinds", strings.TrimPrefix(state, "errors: "), "first", first)
	default:
		s.logger.Info("Source answers again", "source", kind)
	}
}

// evaluate has the rules decide on the merged values at now, lets the
// History hold back each changed decision until it has held, and measures
// the adopted capabilities' impact. The State it returns is new: the
// scheduler's history and error counters change only when it is published.
// Called with evalMu held.
func (s *Scheduler) evaluate(ctx context.Context, cfg *config.Config, running map[string]*runningSource, m merged, now time.Time, declared bool) *State {
	// The comparisons' last known truths keep a signal that hovers at a
	// threshold from flipping them.
	ev := s.decide(cfg.Rules, m.values, now, s.history.Truths())
	hist, ev := s.history.Next(cfg.Rules, ev, s.Interval(), declared)
	lastChange := make(map[string]time.Time, len(ev.Decisions))
	for _, d := range ev.Decisions {
		if hs, ok := hist.Status(d.Capability); ok {
			lastChange[d.Capability] = hs.Since
		}
	}
	return &State{Config: cfg, Evaluation: ev, Sources: m.statuses, ErrorTotals: m.totals,
		LastChange: lastChange, History: hist, Impact: s.measureImpacts(ctx, cfg, running, ev, now), Snapshot: m.raw}
}

// engineMemo is the rules engine's last evaluation and what it was made
// from: the rules, the merged values and the comparisons' previous truths.
type engineMemo struct {
	rules  *triggers.Rules
	values triggers.Snapshot
	truths triggers.Truths
	ev     *triggers.Evaluation
}

// decide has the rules engine evaluate values at now, unless the rules,
// the values and the previous truths are those of its last evaluation: its
// result is then the same but for the time, and is reused. Between two
// evaluations the answers mostly do not change (a count of rules, the slow
// cadence's reused answers, the cluster's workloads), and the engine's
// search for what would settle each decision is most of an evaluation's
// own work: reused, it no longer stands between the last answer and the
// publication. Called with evalMu held.
func (s *Scheduler) decide(rules *triggers.Rules, values triggers.Snapshot, now time.Time, truths triggers.Truths) *triggers.Evaluation {
	if m := s.memo; m.ev != nil && m.rules == rules && maps.Equal(m.values, values) && maps.Equal(m.truths, truths) {
		// The Evaluation is shared with the States that published it and
		// never changed: a shallow copy with the new time is this one.
		ev := *m.ev
		ev.Time = now
		return &ev
	}
	ev := s.engine(rules, values, now, truths)
	s.memo = engineMemo{rules: rules, values: values, truths: truths, ev: ev}
	return ev
}

// publish makes st the State that scrapes, the page and the API read, and
// keeps its history and error counters for the next evaluation. It logs
// each decision that changed at now. Called with evalMu held.
func (s *Scheduler) publish(st *State, now time.Time) *State {
	for _, ch := range st.History.Changes() {
		if !ch.Time.Equal(now) {
			break
		}
		s.logger.Info("Decision changed", "capability", ch.Capability, "from", ch.From, "to", ch.To, "signals", fmt.Sprint(ch.Signals))
	}
	s.errTotals, s.history = st.ErrorTotals, st.History
	s.state.Store(st)
	s.hooksMu.Lock()
	hooks := s.onPublish
	s.hooksMu.Unlock()
	for _, fn := range hooks {
		go fn(st)
	}
	s.logger.Debug("Evaluated", "duration", st.Duration, "recommended", st.Evaluation.Recommended)
	return st
}

// discard returns an evaluation that a shutdown cut short without
// publishing or counting it. A reload's declared change stays owed to the
// next evaluation. Called with evalMu held.
func (s *Scheduler) discard(st *State, declared bool) *State {
	st.ErrorTotals = s.errTotals
	if declared {
		s.declared.Store(true)
	}
	s.logger.Debug("Evaluation ended by shutdown; not published", "duration", st.Duration)
	return st
}

// collectSafely keeps a panicking source from taking the exporter down: its
// signals turn unknown and the panic is counted.
func collectSafely(ctx context.Context, src source.Source, req source.Request) (res source.Result) {
	defer func() {
		if r := recover(); r != nil {
			e := source.Recovered("source", r)
			res = unavailable(req, triggers.CodePanic, e.Error())
			res.Errors = []source.Error{e}
		}
	}()
	return src.Collect(ctx, req)
}

// logPanic logs a recovered panic with its stack the first time it is seen;
// the "Source errors" warning names it on every evaluation. Called with
// evalMu held.
func (s *Scheduler) logPanic(kind, msg string, stack []byte) {
	key := kind + "\x00" + msg
	if s.panicsLogged[key] {
		return
	}
	const most = 100 // distinct panics remembered; past that each is logged
	if len(s.panicsLogged) < most {
		s.panicsLogged[key] = true
	}
	s.logger.Error("Recovered from a panic; the signals it affects are unknown", "source", kind, "err", msg, "stack", string(stack))
}

func unavailable(req source.Request, code triggers.ReasonCode, reason string) source.Result {
	res := source.Result{Values: map[string]triggers.Value{}}
	for _, sr := range req.Signals {
		res.Values[sr.Key] = triggers.UnknownValue(code, reason, "")
	}
	for _, t := range req.Tools {
		res.Values[t.SignalName()] = triggers.UnknownValue(code, reason, "")
	}
	return res
}

// valueOr is the answer under key, or fallback for a key left out; an
// unknown answer without a reason or code takes fallback's.
func valueOr(values map[string]triggers.Value, key string, fallback triggers.Value) triggers.Value {
	v, ok := values[key]
	if !ok {
		return fallback
	}
	if !v.Known && v.Reason == "" {
		v.Reason = fallback.Reason
	}
	if !v.Known && v.Code == "" {
		v.Code = fallback.Code
	}
	return v
}

func withSource(v triggers.Value, kind string) triggers.Value {
	if v.Source == "" {
		v.Source = kind
	}
	return v
}
