package triggers

import (
	"slices"
	"time"
)

// State is a capability's decision.
type State string

// The states a decision may take.
const (
	StateAdopted      State = "adopted"
	StateSkip         State = "skip"
	StateLater        State = "later"
	StateNow          State = "now"
	StateConsider     State = "consider"
	StateNotTriggered State = "not_triggered"
	StateUnknown      State = "unknown"
)

// States lists every state, in precedence order with unknown last.
func States() []State { return slices.Clone(allStates) }

var allStates = []State{StateAdopted, StateSkip, StateLater, StateNow, StateConsider, StateNotTriggered, StateUnknown}

// Need is the answer to the framework's first question, "do we need this?"
// (its TRIGGER and NOT bullets), apart from when (its TIMING).
type Need string

// The needs. NeedYes and NeedNo are settled by measures and declared facts
// alone; NeedProbably and NeedProbablyNot are the framework's "Probably YES"
// and "Probably NOT": measures and declared facts point one way, and only
// judgments the team has not declared could overturn it; NeedUnknown: the
// measures themselves cannot say (a source is down, the data is too short).
const (
	NeedYes         Need = "yes"
	NeedNo          Need = "no"
	NeedProbably    Need = "probably"
	NeedProbablyNot Need = "probably_not"
	NeedUnknown     Need = "unknown"
)

// Needs lists every need, from settled yes to unknown.
func Needs() []Need { return slices.Clone(allNeeds) }

var allNeeds = []Need{NeedYes, NeedProbably, NeedProbablyNot, NeedNo, NeedUnknown}

// Needed reports whether the need is yes or probably.
func (n Need) Needed() bool { return n == NeedYes || n == NeedProbably }

// Timing is the framework's second question, "why now or not?": its NOW
// and LATER bullets, declared obligations and readiness gates.
type Timing string

// The timings.
const (
	TimingNow     Timing = "now"     // a NOW bullet or an obligation holds, no gate or LATER bullet
	TimingLater   Timing = "later"   // a gate, or a LATER bullet without an obligation
	TimingNone    Timing = "none"    // neither: consider it
	TimingUnknown Timing = "unknown" // the measures cannot tell
)

// Condition kinds.
const (
	KindTrigger = "trigger"
	// KindStructural holds the NOT bullets that leave nothing to act on (a
	// monolith for a mesh): they outweigh even a declared obligation.
	KindStructural = "structural"
	KindMust       = "must"
	KindGate       = "gate"
	KindSkip       = "skip"
	KindLater      = "later"
	KindNow        = "now"
	// KindAdopted records the conditions of a capability's adopted_if.
	KindAdopted = "adopted"
)

// Kinds lists the condition kinds in the order a decision reads them.
func Kinds() []string { return slices.Clone(conditionKinds) }

var conditionKinds = []string{KindTrigger, KindStructural, KindMust, KindGate, KindSkip, KindLater, KindNow}

// StepAdopted is the first step of the ladder: a tool for the capability is
// detected, or its adopted_if holds. The other steps are named by the
// condition kind they read.
const StepAdopted = KindAdopted

// Ladder lists the steps of a decision in precedence order, as
// Decision.Steps holds them and Decision.DecidedBy names them: adoption,
// then need (a structural NOT case outranks a declared obligation, which
// outranks the other NOT bullets), then timing (a gate outranks an
// obligation, which outranks the LATER bullets, which outrank NOW).
func Ladder() []string { return slices.Clone(ladder) }

var ladder = []string{StepAdopted, KindStructural, KindMust, KindSkip, KindGate, KindLater, KindNow, KindTrigger}

// ConditionResult is one comparison, evaluated.
type ConditionResult struct {
	Kind      string // trigger, skip, later, now, or foundation
	Expr      string
	Says      string
	Signal    string
	Op        Op
	Threshold float64
	// ThresholdName names the threshold compared with, when the rules
	// write one ({name}); Threshold is then its value in force.
	ThresholdName string
	Type          ValueType
	Value         Value
	Truth         Truth
}

// StepResult is one step of the decision ladder as Evaluate walked it.
type StepResult struct {
	// Kind names the step as Decision.DecidedBy does: adopted, skip, later,
	// now or trigger.
	Kind string
	// Truth is the step as the ladder reads it: later holds when the later
	// condition holds or a required foundation is missing, now when the
	// trigger and the now condition both hold.
	Truth Truth
	// Condition is the capability's own condition of this kind alone: the
	// later condition without the foundations, the now condition without the
	// trigger. For adopted it is the tools' detection, so equal to Truth.
	Condition Truth
	// Unknown names the signals that could still settle the step: the
	// unknown ones under the parts of it that are unknown (a tool's
	// tool.<id>, a required foundation's signals while its presence is
	// unknown). It is empty when Truth is known, since then no unknown
	// signal can change the step.
	Unknown []string
}

// ToolResult is a tool's detection.
type ToolResult struct {
	ID, Title, Capability string
	Detected              Truth
	Reason                string
	Code                  ReasonCode // why an unknown detection is unknown
	// Since is the creation time of the earliest object that shows the
	// tool, when the source knows it.
	Since time.Time
}

// FoundationResult is a Priority 1 component's presence.
type FoundationResult struct {
	ID, Title  string
	Advice     string // what to do while it is missing
	Present    Truth
	Conditions []ConditionResult
	// Unknown names the signals that could settle a presence that is
	// unknown; empty when Present is known.
	Unknown []string
}

// SignalResult is a signal's value as the decision saw it.
type SignalResult struct {
	Name, Help string
	Type       ValueType
	Value      Value
	// Derivation is, for a signal with a derive, each comparison of its
	// true_if and false_if as evaluated (Kind true_if or false_if): the
	// parts a derived value stands on, and that a declared one outranks.
	Derivation []ConditionResult
}

// Decision is one capability's state with everything that led to it.
type Decision struct {
	Capability  string
	Title       string
	Complexity  Complexity
	State       State
	DecidedBy   string // the step that decided: adopted, structural, must, skip, gate, later, now, trigger
	Recommended bool   // the one `now` capability to take on next
	// Need is whether the capability is needed at all; Timing when. The
	// state derives from both (see decide.go) and an unknown timing never
	// hides a known or probable need.
	Need   Need
	Timing Timing
	// Probable marks a state reached only by reading the team's undeclared
	// judgments as presumed or not asserted: the seed's "probably". The
	// settled answer is one of Possible, and SettleWith says what to declare.
	Probable bool
	// Possible lists the states still reachable given every unknown signal,
	// in the order of States: exactly one when the state is settled.
	Possible []State
	// SettleWith is the smallest set of unknown signals that, whatever
	// values they take, decide the state; empty when it is settled.
	SettleWith []string
	// Asks lists the undeclared facts of SettleWith that can act: declared,
	// alone or with the other facts of SettleWith, for some value, they
	// change Possible given the sources as they are. A fact that cannot
	// (its part is held up by a source that is down) is not asked.
	Asks []string
	// Presumed lists the presumptions the probable answer used.
	Presumed []Presumed
	// Motives lists the trigger's motives that hold and that no NOT bullet
	// answers: why the capability is still relevant.
	Motives []Held
	// Answers lists each NOT bullet that holds, with the motives holding
	// that it answers; one that answers none of them leaves Motives
	// standing beside it.
	Answers []Answer
	// Changes lists what would move the state: single signals, and pairs
	// for outcomes no single change reaches.
	Changes []Change
	// Steps is the ladder in precedence order (Ladder), every step
	// evaluated, so that explanations read the very truths that decided
	// rather than work them out again.
	Steps      []StepResult
	Conditions []ConditionResult
	Tools      []ToolResult
	Requires   []FoundationResult
	// UnknownSignals names every signal that was unknown in a condition, in
	// a required foundation whose presence is unknown, or in a tool while
	// adoption is unknown, each once: the full list, most of which may not
	// matter to the decision.
	UnknownSignals []string
	// BlockedBy names the signals that keep an unknown decision from being
	// made: SettleWith while State is unknown, else empty.
	BlockedBy []string
	// Reasons lists the top-level members of the deciding step's condition
	// that hold (gate, must, skip, later or now), in the framework's words:
	// the decision's own reasons, without the leaves of a conjunction that
	// did not hold as a whole. Empty for adopted, consider and not_triggered,
	// and for unknown decisions.
	Reasons []Held
	// Outweighed lists the conditions that held on a losing side: the skip
	// and later members a hard requirement outweighed, the must members a
	// gate outweighed, the now members a skip or later outweighed.
	Outweighed []Held
	// Contradictions lists the capability's contradictions that hold.
	Contradictions []ConditionResult
	// Checklist is the preparation checklist, each item evaluated.
	Checklist []ConditionResult

	// nowHolding counts the now condition's members that hold, for the
	// recommendation's tie-break.
	nowHolding int
}

// Step returns the truth of the named step as the ladder read it (see
// StepResult.Truth), or unknown for a name that is not a step.
func (d *Decision) Step(kind string) Truth { return d.StepOf(kind).Truth }

// StepOf returns the named step; a name that is not a step reads as unknown
// with nothing to settle it.
func (d *Decision) StepOf(kind string) StepResult {
	for _, s := range d.Steps {
		if s.Kind == kind {
			return s
		}
	}
	return StepResult{Kind: kind}
}

// Held is a condition that held: one of the decision's reasons, or one
// that lost to a stronger step (By names that step).
type Held struct {
	Kind string // the step it belongs to: gate, must, skip, later or now
	By   string // the step that outweighed it; empty for a reason
	Expr string
	Says string
	// Leaves are the comparisons under it that hold, as the reading that
	// decided saw them: a reason's values, without matching its text.
	Leaves []ConditionResult
}

// Answer is a NOT bullet that holds with the motives that hold and that it
// answers: which bullet answered which motive.
type Answer struct {
	Skip    Held
	Answers []Held
}

// HasTiming says whether the decision's state asks "now or later?": not
// for a capability in place or not needed.
func (d *Decision) HasTiming() bool {
	switch d.State {
	case StateAdopted, StateSkip, StateNotTriggered:
		return false
	}
	return true
}

// UniqueConditions are the decision's comparisons, each (kind, expression)
// once: one comparison written twice in one kind has one truth, and is one
// series and one row.
func (d *Decision) UniqueConditions() []ConditionResult {
	out := make([]ConditionResult, 0, len(d.Conditions))
	seen := make(map[[2]string]bool, len(d.Conditions))
	for _, c := range d.Conditions {
		if k := [2]string{c.Kind, c.Expr}; !seen[k] {
			seen[k] = true
			out = append(out, c)
		}
	}
	return out
}

// Presumed is a judgment the probable answer presumed, with the measure it
// cites.
type Presumed struct {
	Signal string
	Type   ValueType
	Value  float64
	Says   string
	// From names the measured signal whose value was presumed (a
	// presumption's value_of), if any.
	From string
	// LowerBound and UpperBound say the value is a bound a measure proved,
	// read as its value: "measured at least 12".
	LowerBound, UpperBound bool
}

// Change is one way to move a decision: the signals to change and the state
// it would take.
type Change struct {
	To      State
	Signals []string
	// Moves says, per signal, the range it would need to be in.
	Moves []Move
}

// Move is one signal moved into a range of values.
type Move struct {
	Signal string
	Type   ValueType
	// Was is the value in the probable reading the search moves from.
	Was   Value
	Range Range
	// Presumed is how Was was presumed, when the team did not declare it
	// (a presumption) or a measure only bounds it; nil for a measured or
	// declared value.
	Presumed *Presumed
}

// Question is an undeclared judgment ranked by how many decisions knowing it
// would help settle.
type Question struct {
	Fact   string    // the config's facts: key
	Signal string    // the signal that reads it
	Type   ValueType // how to write its value
	Help   string    // the framework's question, in the rules' words
	// Settles lists the capabilities whose Asks names it: declared, it
	// changes what is possible for each.
	Settles []string
}

// Evaluation is the result of evaluating all capabilities on one snapshot.
type Evaluation struct {
	Time        time.Time
	Signals     []SignalResult
	Tools       []ToolResult
	Foundations []FoundationResult
	Decisions   []Decision
	Recommended string // capability id, or "" when nothing is `now`
	// Questions are the undeclared facts that settle the most decisions,
	// most first.
	Questions []Question
}

// Decision returns the decision for a capability id, or nil.
func (e *Evaluation) Decision(id string) *Decision {
	for i := range e.Decisions {
		if e.Decisions[i].Capability == id {
			return &e.Decisions[i]
		}
	}
	return nil
}

// Evaluate decides every capability of r on snapshot s, each comparison
// against its bare threshold.
func Evaluate(r *Rules, s Snapshot, now time.Time) *Evaluation {
	return EvaluateFrom(r, s, now, nil)
}

// EvaluateFrom decides every capability of r on snapshot s, where prev holds
// each comparison's last known truth (Evaluation.Truths of the evaluations
// before): a comparison that held keeps holding until its signal moves past
// the threshold by the signal's hysteresis band, and one that did not hold
// starts only past the band on the other side. The engine stays a pure
// function; the caller carries the memory.
func EvaluateFrom(r *Rules, s Snapshot, now time.Time, prev Truths) *Evaluation {
	ev := &Evaluation{Time: now}
	s = r.prepare(s)
	for _, sig := range r.Signals {
		ev.Signals = append(ev.Signals, SignalResult{Name: sig.Name, Help: sig.Help, Type: sig.Type, Value: s.get(sig.Name),
			Derivation: r.derivation(s, sig)})
	}
	tools := map[string]ToolResult{}
	for _, t := range r.Tools {
		tr := toolResult(t, s)
		tools[t.ID] = tr
		ev.Tools = append(ev.Tools, tr)
	}
	e := evaluator{rules: r, snap: s, prev: prev}
	foundations := map[string]FoundationResult{}
	for _, f := range r.Foundations {
		fr := e.foundation(f)
		foundations[f.ID] = fr
		ev.Foundations = append(ev.Foundations, fr)
	}
	withFoundations(s, ev.Foundations)
	e.prob, e.presumed = r.probable(s)
	for _, c := range r.Capabilities {
		ev.Decisions = append(ev.Decisions, e.decide(c, tools, foundations))
	}
	Recommend(r, ev)
	ev.Questions = questions(r, s, ev.Decisions)
	return ev
}

// Recommend sets ev's recommended next step from its decisions, one at a
// time: of the `now` capabilities, the lowest complexity first. A caller
// that replaces decisions (holding a published one in place of a new one)
// calls it again.
func Recommend(r *Rules, ev *Evaluation) {
	ev.Recommended = recommend(r, ev.Decisions)
	for i := range ev.Decisions {
		ev.Decisions[i].Recommended = ev.Decisions[i].Capability == ev.Recommended
	}
}

// Decide decides the capability id on s exactly as Evaluate does, less the
// recommendation, which weighs every capability. It answers what-if
// questions ("what would change this decision?") that rerun one decision
// many times, at a fraction of Evaluate's cost.
func Decide(r *Rules, id string, s Snapshot) (Decision, bool) {
	c := r.Capability(id)
	if c == nil {
		return Decision{}, false
	}
	s = r.prepare(s)
	tools := map[string]ToolResult{}
	for _, t := range r.Tools {
		if t.Capability == id {
			tools[t.ID] = toolResult(t, s)
		}
	}
	e := evaluator{rules: r, snap: s}
	// The foundations it builds on and those its conditions read as
	// foundation.<id>; no others can change it.
	foundations := map[string]FoundationResult{}
	var frs []FoundationResult
	for _, id := range c.foundations {
		if f := r.Foundation(id); f != nil {
			fr := e.foundation(f)
			foundations[id] = fr
			frs = append(frs, fr)
		}
	}
	withFoundations(s, frs)
	e.prob, e.presumed = r.probable(s)
	return e.decide(c, tools, foundations), true
}

func toolResult(t *Tool, s Snapshot) ToolResult {
	v := s.get(t.SignalName())
	tr := ToolResult{ID: t.ID, Title: t.Title, Capability: t.Capability, Reason: v.Reason, Code: v.Code, Since: v.Since}
	if v.Known {
		// A known answer keeps its note: "CRDs only (not running)" says
		// why a tool whose traces are there is not adopted.
		tr.Detected = Truthf(v.Number != 0)
	}
	return tr
}

func (e *evaluator) foundation(f *Foundation) FoundationResult {
	e.results = nil
	fr := FoundationResult{ID: f.ID, Title: f.Title, Advice: f.Advice}
	fr.Present, fr.Unknown = e.eval(f.Present, "foundation", nil)
	fr.Conditions = e.results
	return fr
}

type evaluator struct {
	rules   *Rules
	snap    Snapshot
	prev    Truths
	results []ConditionResult
	// prob is snap in the probable reading, with the presumptions it used.
	prob     Snapshot
	presumed map[string]Presumed
	// quiet evaluates without recording results: the decision engine's
	// walks over what-if points need only the truths, and recording every
	// leaf at every point cost most of a day-one evaluation's time.
	quiet bool
	// prevKnown memoises prevOfKnown.
	prevKnown     Truths
	prevKnownMade bool
}

// eval evaluates c with Kleene logic, recording each leaf under kind. It
// also returns the signals that could settle c when c is unknown: the
// unknown leaves under its unknown parts; none when c is known, since a
// true `any` or a false `all` stays so whatever its unknown members read.
// A nil condition never holds. With holding set, it counts c's top-level
// members that hold (c itself when it is not an any or all).
func (e *evaluator) eval(c *Condition, kind string, holding *int) (Truth, []string) {
	if c == nil {
		return False, nil
	}
	count := func(t Truth) {
		if holding != nil && t == True {
			*holding++
		}
	}
	switch {
	case c.IsLeaf():
		v := e.snap.get(c.Signal)
		base := e.rules.thresholdOf(c)
		typ, threshold := TypeBool, base
		if s := e.rules.Signal(c.Signal); s != nil {
			typ = s.Type
			threshold = e.shift(s, c.Op, base, e.prev[c.Expr])
		}
		t := compare(c.Op, v, threshold)
		if !e.quiet {
			e.results = append(e.results, ConditionResult{Kind: kind, Expr: c.Expr, Says: e.rules.Words(c.Says), Signal: c.Signal,
				Op: c.Op, Threshold: base, ThresholdName: c.ThresholdName, Type: typ, Value: v, Truth: t})
		}
		count(t)
		if t == Unknown {
			return t, []string{c.Signal}
		}
		return t, nil
	case c.Not != nil:
		t, open := e.eval(c.Not, kind, nil)
		count(t.Not())
		return t.Not(), open
	}
	members, t, join := c.All, True, Truth.And
	if c.Any != nil {
		members, t, join = c.Any, False, Truth.Or
	}
	var open []string
	for _, m := range members {
		// Every member is evaluated, so every reason is recorded.
		mt, mopen := e.eval(m, kind, nil)
		t = join(t, mt)
		count(mt)
		open = appendNew(open, mopen...)
	}
	if t != Unknown {
		return t, nil
	}
	return t, open
}
