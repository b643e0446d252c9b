package triggers

import (
	"cmp"
	"time"
)

// Truth is a three-valued (Kleene) truth value. The zero value is Unknown, so
// a missing answer can never read as false.
type Truth int8

const (
	Unknown Truth = iota
	False
	True
)

func (t Truth) String() string {
	switch t {
	case True:
		return "true"
	case False:
		return "false"
	}
	return "unknown"
}

// MarshalText renders true, false or unknown.
func (t Truth) MarshalText() ([]byte, error) { return []byte(t.String()), nil }

// Not is Kleene negation: unknown stays unknown.
func (t Truth) Not() Truth {
	switch t {
	case True:
		return False
	case False:
		return True
	}
	return Unknown
}

// Or is Kleene disjunction: true if either is true, even with the other
// unknown; false only if both are false.
func (t Truth) Or(u Truth) Truth {
	if t == True || u == True {
		return True
	}
	if t == False && u == False {
		return False
	}
	return Unknown
}

// And is Kleene conjunction: false if either is false, even with the other
// unknown; true only if both are true.
func (t Truth) And(u Truth) Truth {
	if t == False || u == False {
		return False
	}
	if t == True && u == True {
		return True
	}
	return Unknown
}

// Truthf converts a bool.
func Truthf(b bool) Truth {
	if b {
		return True
	}
	return False
}

// Value is a signal's value: a known number, or unknown with the reason.
type Value struct {
	Known  bool
	Number float64
	Reason string // why it is unknown
	Source string // the source that answered or failed: fact, prometheus, loki, kubernetes
}

// KnownValue is a value a source measured.
func KnownValue(v float64, source string) Value { return Value{Known: true, Number: v, Source: source} }

// UnknownValue is a value a source could not obtain, and why.
func UnknownValue(reason, source string) Value { return Value{Reason: reason, Source: source} }

// Snapshot holds signal values by name, tool.<id> included. A signal absent
// from the snapshot is unknown.
type Snapshot map[string]Value

func (s Snapshot) get(name string) Value {
	if v, ok := s[name]; ok {
		return v
	}
	return Value{Reason: "not collected"}
}

// State is a capability's decision.
type State string

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
var States = []State{StateAdopted, StateSkip, StateLater, StateNow, StateConsider, StateNotTriggered, StateUnknown}

// Condition kinds.
const (
	KindTrigger = "trigger"
	KindSkip    = "skip"
	KindLater   = "later"
	KindNow     = "now"
)

// Kinds lists the condition kinds in the order a decision reads them.
var Kinds = []string{KindTrigger, KindSkip, KindLater, KindNow}

// ConditionResult is one comparison, evaluated.
type ConditionResult struct {
	Kind      string // trigger, skip, later, now, or foundation
	Expr      string
	Says      string
	Signal    string
	Op        Op
	Threshold float64
	Type      ValueType
	Value     Value
	Truth     Truth
}

// StepResult is the truth of one kind of condition of a capability.
type StepResult struct {
	Kind  string
	Truth Truth
}

// ToolResult is a tool's detection.
type ToolResult struct {
	ID, Title, Capability string
	Detected              Truth
	Reason                string
}

// FoundationResult is a Priority 1 component's presence.
type FoundationResult struct {
	ID, Title  string
	Present    Truth
	Conditions []ConditionResult
}

// SignalResult is a signal's value as the decision saw it.
type SignalResult struct {
	Name, Help string
	Type       ValueType
	Value      Value
}

// Decision is one capability's state with everything that led to it.
type Decision struct {
	Capability  string
	Title       string
	Complexity  Complexity
	State       State
	DecidedBy   string // the step that decided, or was unknown: adopted, skip, later, now, trigger
	Recommended bool   // the one `now` capability to take on next
	Steps       []StepResult
	Conditions  []ConditionResult
	Tools       []ToolResult
	Requires    []FoundationResult
	// UnknownSignals names the signals that were unknown in any condition, each once.
	UnknownSignals []string
}

// Step returns the truth of the named step.
func (d *Decision) Step(kind string) Truth {
	for _, s := range d.Steps {
		if s.Kind == kind {
			return s.Truth
		}
	}
	return Unknown
}

// Evaluation is the result of evaluating all capabilities on one snapshot.
type Evaluation struct {
	Time        time.Time
	Signals     []SignalResult
	Tools       []ToolResult
	Foundations []FoundationResult
	Decisions   []Decision
	Recommended string // capability id, or "" when nothing is `now`
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

// Evaluate decides every capability of r on snapshot s.
func Evaluate(r *Rules, s Snapshot, now time.Time) *Evaluation {
	ev := &Evaluation{Time: now}
	for _, sig := range r.Signals {
		ev.Signals = append(ev.Signals, SignalResult{Name: sig.Name, Help: sig.Help, Type: sig.Type, Value: s.get(sig.Name)})
	}
	tools := map[string]ToolResult{}
	for _, t := range r.Tools {
		tr := toolResult(t, s)
		tools[t.ID] = tr
		ev.Tools = append(ev.Tools, tr)
	}
	e := evaluator{rules: r, snap: s}
	foundations := map[string]FoundationResult{}
	for _, f := range r.Foundations {
		fr := e.foundation(f)
		foundations[f.ID] = fr
		ev.Foundations = append(ev.Foundations, fr)
	}
	for _, c := range r.Capabilities {
		ev.Decisions = append(ev.Decisions, e.decide(c, tools, foundations))
	}
	ev.Recommended = recommend(r, ev.Decisions)
	for i := range ev.Decisions {
		ev.Decisions[i].Recommended = ev.Decisions[i].Capability == ev.Recommended
	}
	return ev
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
	tools := map[string]ToolResult{}
	for _, t := range r.Tools {
		if t.Capability == id {
			tools[t.ID] = toolResult(t, s)
		}
	}
	e := evaluator{rules: r, snap: s}
	foundations := map[string]FoundationResult{}
	for _, req := range c.Requires {
		if f := r.Foundation(req); f != nil {
			foundations[req] = e.foundation(f)
		}
	}
	return e.decide(c, tools, foundations), true
}

func toolResult(t *Tool, s Snapshot) ToolResult {
	v := s.get(t.SignalName())
	tr := ToolResult{ID: t.ID, Title: t.Title, Capability: t.Capability, Reason: v.Reason}
	if v.Known {
		tr.Detected, tr.Reason = Truthf(v.Number != 0), ""
	}
	return tr
}

func (e *evaluator) foundation(f *Foundation) FoundationResult {
	e.results = nil
	fr := FoundationResult{ID: f.ID, Title: f.Title, Present: e.eval(f.Present, "foundation")}
	fr.Conditions = e.results
	return fr
}

// recommend picks the one `now` capability to take on next: the lowest
// complexity, then the most now-conditions holding (the strongest case), then
// the rules file's order, which follows the framework's.
func recommend(r *Rules, ds []Decision) string {
	var best *Decision
	holding := func(d *Decision) int {
		n := 0
		for _, c := range d.Conditions {
			if c.Kind == KindNow && c.Truth == True {
				n++
			}
		}
		return n
	}
	for i := range ds {
		d := &ds[i]
		if d.State != StateNow {
			continue
		}
		if best == nil {
			best = d
			continue
		}
		if c := cmp.Or(cmp.Compare(d.Complexity, best.Complexity), cmp.Compare(holding(best), holding(d)),
			cmp.Compare(r.Capability(d.Capability).Order, r.Capability(best.Capability).Order)); c < 0 {
			best = d
		}
	}
	if best == nil {
		return ""
	}
	return best.Capability
}

type evaluator struct {
	rules   *Rules
	snap    Snapshot
	kind    string
	results []ConditionResult
}

func (e *evaluator) decide(c *Capability, tools map[string]ToolResult, foundations map[string]FoundationResult) Decision {
	d := Decision{Capability: c.ID, Title: c.Title, Complexity: c.Complexity}
	e.results = nil
	steps := map[string]Truth{}
	for _, kind := range Kinds {
		cond := map[string]*Condition{KindTrigger: c.Trigger, KindSkip: c.Skip, KindLater: c.Later, KindNow: c.Now}[kind]
		steps[kind] = e.eval(cond, kind)
		d.Steps = append(d.Steps, StepResult{Kind: kind, Truth: steps[kind]})
	}
	d.Conditions = e.results

	adopted := False // a capability without tools is never adopted
	for _, t := range e.rules.Tools {
		if t.Capability == c.ID {
			d.Tools = append(d.Tools, tools[t.ID])
			adopted = adopted.Or(tools[t.ID].Detected)
		}
	}
	missing := False
	for _, req := range c.Requires {
		fr := foundations[req]
		d.Requires = append(d.Requires, fr)
		missing = missing.Or(fr.Present.Not())
	}
	later := steps[KindLater].Or(missing)

	seen := map[string]bool{}
	for _, r := range d.Conditions {
		if !r.Value.Known && !seen[r.Signal] {
			seen[r.Signal] = true
			d.UnknownSignals = append(d.UnknownSignals, r.Signal)
		}
	}
	for _, fr := range d.Requires {
		for _, r := range fr.Conditions {
			if !r.Value.Known && !seen[r.Signal] && fr.Present == Unknown {
				seen[r.Signal] = true
				d.UnknownSignals = append(d.UnknownSignals, r.Signal)
			}
		}
	}
	if adopted == Unknown {
		for _, t := range d.Tools {
			if name := ToolSignalPrefix + t.ID; t.Detected == Unknown && !seen[name] {
				seen[name] = true
				d.UnknownSignals = append(d.UnknownSignals, name)
			}
		}
	}

	// Precedence: the first step that holds decides; a step that is unknown
	// before any holds makes the decision unknown, since it could outrank
	// whatever follows.
	ladder := []struct {
		step  string
		truth Truth
		state State
	}{
		{"adopted", adopted, StateAdopted},
		{KindSkip, steps[KindSkip], StateSkip},
		{KindLater, later, StateLater},
		{KindNow, steps[KindTrigger].And(steps[KindNow]), StateNow},
		{KindTrigger, steps[KindTrigger], StateConsider},
	}
	for _, rung := range ladder {
		switch rung.truth {
		case True:
			d.State, d.DecidedBy = rung.state, rung.step
			return d
		case Unknown:
			d.State, d.DecidedBy = StateUnknown, rung.step
			// `now` needs the trigger as well; when the trigger is what
			// is unknown, name it rather than now-conditions that hold.
			if rung.step == KindNow && steps[KindTrigger] == Unknown {
				d.DecidedBy = KindTrigger
			}
			return d
		}
	}
	d.State, d.DecidedBy = StateNotTriggered, KindTrigger
	return d
}

// eval evaluates c with Kleene logic, recording each leaf under kind. A nil
// condition never holds.
func (e *evaluator) eval(c *Condition, kind string) Truth {
	if c == nil {
		return False
	}
	switch {
	case c.IsLeaf():
		v := e.snap.get(c.Signal)
		t := Unknown
		if v.Known {
			t = Truthf(c.Op.Compare(v.Number, c.Threshold))
		}
		typ := TypeBool
		if s := e.rules.Signal(c.Signal); s != nil {
			typ = s.Type
		}
		e.results = append(e.results, ConditionResult{Kind: kind, Expr: c.Expr, Says: c.Says, Signal: c.Signal,
			Op: c.Op, Threshold: c.Threshold, Type: typ, Value: v, Truth: t})
		return t
	case c.Not != nil:
		return e.eval(c.Not, kind).Not()
	case c.Any != nil:
		t := False
		for _, m := range c.Any {
			t = t.Or(e.eval(m, kind)) // evaluate all members so every reason is recorded
		}
		return t
	default:
		t := True
		for _, m := range c.All {
			t = t.And(e.eval(m, kind))
		}
		return t
	}
}
