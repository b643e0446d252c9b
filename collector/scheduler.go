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

// newScheduler takes the source factories explicitly, so tests can put
// scripted sources in place of real ones.
func newScheduler(cfg *config.Config, timeout time.Duration, logger *slog.Logger, fs map[string]factory, opts ...Option) *Scheduler {
	s := &Scheduler{logger: logger, timeout: timeout, factories: fs, running: map[string]*runningSource{},
		pending:   make(chan struct{}, 1),
		errTotals: map[ErrorKey]float64{}, history: history.New(1, history.DefaultKeep),
		panicsLogged: map[string]bool{}}
	for _, o := range opts {
		o(s)
	}
	s.reloadOK.Store(true)
	s.reloadStamp.Store(time.Now().Unix())
	s.setConfig(cfg)
	return s
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

// Evaluate runs one evaluation and publishes it. When parent ends before the
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

	rules := cfg.Rules
	byKind := map[string][]source.SignalRequest{}
	for _, sig := range rules.Signals {
		alts := sig.Source.Alternatives()
		for i, alt := range alts {
			if alt.Derive != nil {
				continue // worked out by triggers.Evaluate from the other signals
			}
			key := sig.Name
			if len(alts) > 1 {
				key = triggers.AlternativeKey(sig.Name, i)
			}
			byKind[alt.Kind()] = append(byKind[alt.Kind()], source.SignalRequest{Key: key, Signal: sig, Spec: alt})
		}
	}

	type outcome struct {
		kind   string
		res    source.Result
		status SourceStatus
	}
	// Every configured source takes part, even one no rule reads: its
	// source_up and source_configured must exist for the alerts on them.
	kindSet := map[string]bool{}
	for kind := range byKind {
		kindSet[kind] = true
	}
	for kind := range running {
		kindSet[kind] = true
	}
	if len(rules.Tools) > 0 {
		for kind, f := range s.factories {
			if f.detectsTools {
				kindSet[kind] = true
			}
		}
	}
	kinds := slices.Sorted(maps.Keys(kindSet))
	results := make([]outcome, len(kinds))
	var wg sync.WaitGroup
	for i, kind := range kinds {
		req := source.Request{Rules: rules, Signals: byKind[kind]}
		if s.factories[kind].detectsTools {
			req.Tools = rules.Tools
		}
		results[i] = outcome{kind: kind, status: SourceStatus{Name: kind, Signals: len(req.Signals) + len(req.Tools)}}
		rs := running[kind]
		switch {
		case rs == nil && s.factories[kind].build == nil:
			results[i].res = unavailable(req, kind+" source is not available in this build")
		case rs == nil:
			results[i].res = unavailable(req, "sources."+kind+" is not configured")
		case rs.err != nil:
			results[i].status.Configured = true
			results[i].res = unavailable(req, kind+" source failed to start: "+rs.err.Error())
			results[i].res.Errors = []source.Error{{Reason: source.ReasonStart, Err: rs.err}}
		default:
			results[i].status.Configured = true
			wg.Add(1)
			go func() {
				defer wg.Done()
				t0 := time.Now()
				results[i].res = collectSafely(ctx, rs.src, req)
				results[i].status.Duration = time.Since(t0)
			}()
		}
	}
	wg.Wait()
	// Checked after the sources return: a shutdown that began meanwhile
	// shows as errors that are not the sources' fault.
	publish := parent.Err() == nil && !s.isClosed()

	totals := maps.Clone(s.errTotals)
	for kind := range running {
		for _, reason := range errorReasons(s.factories, kind) {
			totals[ErrorKey{kind, reason}] += 0
		}
	}
	values := triggers.Snapshot{}
	var statuses []SourceStatus
	for _, o := range results {
		st := o.status
		st.Up = o.res.Up && st.Configured
		var reasons []string
		// Errors and reasons may quote what a server was sent: they are
		// scrubbed before they are logged or stored.
		for _, e := range o.res.Errors {
			totals[ErrorKey{o.kind, e.Reason}]++
			if e.Stack != nil && publish {
				s.logPanic(o.kind, cfg.Scrub(e.Error()), e.Stack)
			}
			st.Errors = append(st.Errors, cfg.Scrub(e.Error()))
			reasons = append(reasons, cfg.Scrub(e.Error()))
		}
		fallback := o.kind + " source answered nothing for it"
		if len(reasons) > 0 {
			fallback = o.kind + ": " + strings.Join(reasons, "; ")
		}
		answer := func(key string) triggers.Value {
			v := withSource(valueOr(o.res.Values, key, fallback), o.kind)
			v.Reason = cfg.Scrub(v.Reason)
			return v
		}
		for _, sr := range byKind[o.kind] {
			values[sr.Key] = answer(sr.Key)
		}
		if s.factories[o.kind].detectsTools {
			for _, t := range rules.Tools {
				values[t.SignalName()] = answer(t.SignalName())
			}
		}
		statuses = append(statuses, st)
		if len(st.Errors) > 0 && publish {
			s.logger.Warn("Source errors", "source", o.kind, "errors", strings.Join(st.Errors, "; "))
		}
	}
	raw := maps.Clone(values)
	triggers.ResolveFirstKnown(rules, values)
	for name, v := range cfg.OverrideValues {
		values[name] = v // a declared value outranks the measure it replaces
	}

	now := time.Now()
	// The comparisons' last known truths keep a signal that hovers at a
	// threshold from flipping them; the History holds a changed decision
	// back until it has held. Both are new values, swapped in on publish.
	ev := triggers.EvaluateFrom(rules, values, now, s.history.Truths())
	hist, ev := s.history.Next(rules, ev, s.Interval(), declared)
	lastChange := make(map[string]time.Time, len(ev.Decisions))
	for _, d := range ev.Decisions {
		if hs, ok := hist.Status(d.Capability); ok {
			lastChange[d.Capability] = hs.Since
		}
	}
	impacts := s.measureImpacts(ctx, cfg, running, ev, now)
	st := &State{Config: cfg, Evaluation: ev, Sources: statuses, Duration: time.Since(start),
		ErrorTotals: totals, LastChange: lastChange, History: hist, Impact: impacts, Snapshot: raw}
	if !publish {
		st.ErrorTotals = s.errTotals
		if declared {
			s.declared.Store(true)
		}
		s.logger.Debug("Evaluation ended by shutdown; not published", "duration", st.Duration)
		return st
	}
	for _, ch := range hist.Changes() {
		if !ch.Time.Equal(now) {
			break
		}
		s.logger.Info("Decision changed", "capability", ch.Capability, "from", ch.From, "to", ch.To, "signals", fmt.Sprint(ch.Signals))
	}
	s.errTotals, s.history = totals, hist
	s.state.Store(st)
	s.logger.Debug("Evaluated", "duration", st.Duration, "recommended", ev.Recommended)
	return st
}

// collectSafely keeps a panicking source from taking the exporter down: its
// signals turn unknown and the panic is counted.
func collectSafely(ctx context.Context, src source.Source, req source.Request) (res source.Result) {
	defer func() {
		if r := recover(); r != nil {
			e := source.Recovered("source", r)
			res = unavailable(req, e.Error())
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

func unavailable(req source.Request, reason string) source.Result {
	res := source.Result{Values: map[string]triggers.Value{}}
	for _, sr := range req.Signals {
		res.Values[sr.Key] = triggers.UnknownValue(reason, "")
	}
	for _, t := range req.Tools {
		res.Values[t.SignalName()] = triggers.UnknownValue(reason, "")
	}
	return res
}

func valueOr(values map[string]triggers.Value, key, reason string) triggers.Value {
	if v, ok := values[key]; ok {
		if !v.Known && v.Reason == "" {
			v.Reason = reason
		}
		return v
	}
	return triggers.UnknownValue(reason, "")
}

func withSource(v triggers.Value, kind string) triggers.Value {
	if v.Source == "" {
		v.Source = kind
	}
	return v
}
