package triggers

import (
	"cmp"
	"slices"
	"strings"
)

// The decision ladder: how a capability's steps become its state, and which
// `now` capability is recommended.

// judged is a condition's truth with the signals that could settle it.
type judged struct {
	truth Truth
	open  []string
}

func (e *evaluator) decide(c *Capability, tools map[string]ToolResult, foundations map[string]FoundationResult) Decision {
	d := Decision{Capability: c.ID, Title: c.Title, Complexity: c.Complexity}
	e.results = nil
	// In the order of Kinds, which is the order conditions are recorded in.
	conds := map[string]*Condition{KindTrigger: c.Trigger, KindMust: c.Must, KindGate: c.Gate,
		KindSkip: c.Skip, KindLater: c.Later, KindNow: c.Now}
	own := map[string]judged{}
	for _, kind := range Kinds {
		var holding *int
		if kind == KindNow {
			holding = &d.nowHolding
		}
		t, open := e.eval(conds[kind], kind, holding)
		own[kind] = judged{t, open}
	}
	adoptedIf, adoptedOpen := e.eval(c.AdoptedIf, KindAdopted, nil)
	d.Conditions = e.results
	trigger, now := own[KindTrigger], own[KindNow]

	// adopted_if can only adopt: it is evidence a tool cannot show (audit
	// logs in Loki), and where that evidence cannot be read the capability
	// is decided on its other steps, with the unread signals listed. A
	// tool's detection that is unknown still leaves adoption unknown.
	if adoptedIf == Unknown {
		adoptedIf, adoptedOpen = False, nil
	}
	adopted := judged{truth: adoptedIf, open: adoptedOpen}
	for _, t := range e.rules.Tools {
		if t.Capability == c.ID {
			tr := tools[t.ID]
			d.Tools = append(d.Tools, tr)
			adopted.truth = adopted.truth.Or(tr.Detected)
			if tr.Detected == Unknown {
				adopted.open = append(adopted.open, ToolSignalPrefix+t.ID)
			}
		}
	}
	// Foundations inform; they never decide. The framework asks that
	// Priority 1 be "analyzed and structured (not necessarily
	// implemented)": a missing component is shown as what the capability
	// builds on, and only the capability's own gates make it wait.
	for _, req := range c.Requires {
		d.Requires = append(d.Requires, foundations[req])
	}
	both := judged{truth: trigger.truth.And(now.truth)}
	if both.truth == Unknown {
		both.open = appendNew(slices.Clone(trigger.open), now.open...)
	}
	d.Steps = []StepResult{
		step(StepAdopted, adopted, adopted.truth),
		step(KindGate, own[KindGate], own[KindGate].truth),
		step(KindMust, own[KindMust], own[KindMust].truth),
		step(KindSkip, own[KindSkip], own[KindSkip].truth),
		step(KindLater, own[KindLater], own[KindLater].truth),
		step(KindNow, both, now.truth),
		step(KindTrigger, trigger, trigger.truth),
	}
	d.UnknownSignals = unknownSignals(&d, adopted.truth)
	d.State, d.DecidedBy = ladder(d.Steps)
	if d.State == StateUnknown {
		d.BlockedBy = d.StepOf(d.DecidedBy).Unknown
	} else {
		d.Outweighed = e.outweighed(c, &d)
		if cond := conds[d.DecidedBy]; cond != nil && d.DecidedBy != KindTrigger {
			d.Reasons = e.holding(cond, d.DecidedBy)
		}
	}
	d.Contradictions = e.listed(c.Contradictions, "contradiction", true)
	d.Checklist = e.listed(c.Checklist, "checklist", false)
	return d
}

// listed evaluates a list of conditions; with holdingOnly, it keeps those
// that hold.
func (e *evaluator) listed(conds []*Condition, kind string, holdingOnly bool) []ConditionResult {
	var out []ConditionResult
	for _, c := range conds {
		e.results = nil
		t, _ := e.eval(c, kind, nil)
		if holdingOnly && t != True {
			continue
		}
		r := ConditionResult{Kind: kind, Expr: c.String(), Says: c.Says, Truth: t}
		if c.IsLeaf() && len(e.results) == 1 {
			r = e.results[0]
		} else if r.Says == "" {
			r.Says = saysOf(e.results, true)
		}
		out = append(out, r)
	}
	return out
}

// saysOf joins the words of the leaves that hold (or of all, when none
// holds or all is set).
func saysOf(rs []ConditionResult, all bool) string {
	var words []string
	for _, r := range rs {
		if (all || r.Truth == True) && r.Says != "" {
			words = append(words, r.Says)
		}
	}
	return strings.Join(words, "; ")
}

// outweighed lists the members that held on the sides the deciding step
// outranked: a gate outweighs must, must outweighs skip and later, and a
// gate, skip or later outweighs now (while the trigger holds). A member of
// now that is also a hard requirement is listed once, as must.
func (e *evaluator) outweighed(c *Capability, d *Decision) []Held {
	var losers []string
	var conds []*Condition
	switch d.DecidedBy {
	case KindMust:
		losers, conds = []string{KindSkip, KindLater}, []*Condition{c.Skip, c.Later}
	case KindGate, KindSkip, KindLater:
		// A hard requirement can only lose to a gate; either way the now
		// conditions that held while the trigger did are listed.
		losers, conds = []string{KindMust}, []*Condition{c.Must}
		if d.Step(KindTrigger) == True {
			losers, conds = append(losers, KindNow), append(conds, c.Now)
		}
	}
	var out []Held
	for i, cond := range conds {
		for _, h := range e.holding(cond, losers[i]) {
			if !slices.ContainsFunc(out, func(o Held) bool { return o.Expr == h.Expr }) {
				h.By = d.DecidedBy
				out = append(out, h)
			}
		}
	}
	return out
}

// holding lists the top-level members of cond that hold, each in the
// framework's words: its own says, else the words of its leaves that hold,
// else the expression. An `all` that holds is one member, so its leaves are
// never shown apart from the conjunction that made them count.
func (e *evaluator) holding(cond *Condition, kind string) []Held {
	if cond == nil {
		return nil
	}
	members := []*Condition{cond}
	if cond.Any != nil {
		members = cond.Any
	}
	var out []Held
	for _, m := range members {
		e.results = nil
		if t, _ := e.eval(m, kind, nil); t != True {
			continue
		}
		says := m.Says
		if says == "" {
			says = saysOf(e.results, false)
		}
		if says == "" {
			says = m.String()
		}
		out = append(out, Held{Kind: kind, Expr: m.String(), Says: says})
	}
	return out
}

func step(kind string, j judged, condition Truth) StepResult {
	if j.truth != Unknown {
		j.open = nil
	}
	return StepResult{Kind: kind, Truth: j.truth, Condition: condition, Unknown: j.open}
}

// ladder decides from the steps' truths. The order, with the reasons in
// docs/rules.md:
//
//	adopted                  a tool for it runs
//	must and gate            a hard requirement waits only for a gate (later)
//	must                     otherwise it is now, whatever skip and later say
//	skip, gate, later        the framework's objections, in that order
//	now                      the trigger and a now condition hold
//	trigger                  consider
//	                         not_triggered
//
// A step that is unknown leaves the decision unknown only if knowing it
// could change the state: every way the unknown steps could turn out is
// walked, and when all give the same state, that state stands (a must that
// is unknown cannot change a decision that is now anyway). The step named
// is the one that decides with the unknown steps read as false, or, for an
// unknown decision, the first unknown step whose answer matters.
func ladder(steps []StepResult) (State, string) {
	index := map[string]int{}
	var unknown []int
	for i, s := range steps {
		index[s.Kind] = i
		if s.Truth == Unknown {
			unknown = append(unknown, i)
		}
	}
	walk := func(mask int) (State, string) {
		holds := func(kind string) bool {
			i, ok := index[kind]
			if !ok {
				return false
			}
			if j := slices.Index(unknown, i); j >= 0 {
				return mask&(1<<j) != 0
			}
			return steps[i].Truth == True
		}
		switch {
		case holds(StepAdopted):
			return StateAdopted, StepAdopted
		case holds(KindMust) && holds(KindGate):
			return StateLater, KindGate
		case holds(KindMust):
			return StateNow, KindMust
		case holds(KindSkip):
			return StateSkip, KindSkip
		case holds(KindGate):
			return StateLater, KindGate
		case holds(KindLater):
			return StateLater, KindLater
		case holds(KindNow) && holds(KindTrigger):
			return StateNow, KindNow
		case holds(KindTrigger):
			return StateConsider, KindTrigger
		}
		return StateNotTriggered, KindTrigger
	}
	state, by := walk(0)
	for mask := 1; mask < 1<<len(unknown); mask++ {
		if st, _ := walk(mask); st != state {
			return StateUnknown, firstMattering(steps, unknown, walk)
		}
	}
	return state, by
}

// firstMattering names the first unknown step whose answer alone changes
// the state, the others read as false; when no single one does, the first
// unknown step. When that step is now and the trigger is unknown too, the
// trigger is named: knowing it can settle the decision, knowing the now
// condition alone cannot.
func firstMattering(steps []StepResult, unknown []int, walk func(int) (State, string)) string {
	base, _ := walk(0)
	name := steps[unknown[0]].Kind
	for j, i := range unknown {
		if st, _ := walk(1 << j); st != base {
			name = steps[i].Kind
			break
		}
	}
	if name == KindNow {
		for _, s := range steps {
			if s.Kind == KindTrigger && s.Truth == Unknown {
				return KindTrigger
			}
		}
	}
	return name
}

// unknownSignals lists every unknown signal the decision read: in its
// conditions and in tools while adoption is unknown. Foundations are not
// among them: they inform and cannot change the decision.
func unknownSignals(d *Decision, adopted Truth) []string {
	var out []string
	for _, r := range d.Conditions {
		// A known lower bound that cannot settle its comparison counts
		// as unknown there.
		if r.Truth == Unknown {
			out = appendNew(out, r.Signal)
		}
	}
	if adopted == Unknown {
		for _, t := range d.Tools {
			if t.Detected == Unknown {
				out = appendNew(out, ToolSignalPrefix+t.ID)
			}
		}
	}
	return out
}

// appendNew appends the names not yet in list.
func appendNew(list []string, names ...string) []string {
	for _, n := range names {
		if !slices.Contains(list, n) {
			list = append(list, n)
		}
	}
	return list
}

// recommend picks the one `now` capability to take on next: the lowest
// complexity, then the most now-conditions holding (the strongest case), then
// the rules file's order, which follows the framework's.
func recommend(r *Rules, ds []Decision) string {
	var best *Decision
	holding := func(d *Decision) int { return d.nowHolding }
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
