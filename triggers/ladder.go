package triggers

import (
	"cmp"
	"slices"
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
	conds := [...]*Condition{c.Trigger, c.Skip, c.Later, c.Now}
	var own [len(conds)]judged
	for i, kind := range Kinds {
		var holding *int
		if kind == KindNow {
			holding = &d.nowHolding
		}
		own[i].truth, own[i].open = e.eval(conds[i], kind, holding)
	}
	trigger, skip, laterCond, now := own[0], own[1], own[2], own[3]
	d.Conditions = e.results

	adopted := judged{truth: False} // a capability without tools is never adopted
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
	later := judged{laterCond.truth, slices.Clone(laterCond.open)}
	for _, req := range c.Requires {
		fr := foundations[req]
		d.Requires = append(d.Requires, fr)
		later.truth = later.truth.Or(fr.Present.Not())
		if fr.Present == Unknown {
			later.open = appendNew(later.open, fr.Unknown...)
		}
	}
	both := judged{truth: trigger.truth.And(now.truth)}
	if both.truth == Unknown {
		both.open = appendNew(slices.Clone(trigger.open), now.open...)
	}
	d.Steps = []StepResult{
		step(StepAdopted, adopted, adopted.truth),
		step(KindSkip, skip, skip.truth),
		step(KindLater, later, laterCond.truth),
		step(KindNow, both, now.truth),
		step(KindTrigger, trigger, trigger.truth),
	}
	d.UnknownSignals = unknownSignals(&d, adopted.truth)
	d.State, d.DecidedBy = ladder(d.Steps)
	if d.State == StateUnknown {
		d.BlockedBy = d.StepOf(d.DecidedBy).Unknown
	}
	return d
}

func step(kind string, j judged, condition Truth) StepResult {
	if j.truth != Unknown {
		j.open = nil
	}
	return StepResult{Kind: kind, Truth: j.truth, Condition: condition, Unknown: j.open}
}

var stepStates = map[string]State{StepAdopted: StateAdopted, KindSkip: StateSkip, KindLater: StateLater,
	KindNow: StateNow, KindTrigger: StateConsider}

// ladder walks the steps in precedence order: the first step that holds
// decides; a step that is unknown before any holds makes the decision
// unknown, since it could outrank whatever follows.
func ladder(steps []StepResult) (State, string) {
	trigger := Unknown
	for _, s := range steps {
		if s.Kind == KindTrigger {
			trigger = s.Truth
		}
	}
	for _, s := range steps {
		switch s.Truth {
		case True:
			return stepStates[s.Kind], s.Kind
		case Unknown:
			// `now` needs the trigger as well; when the trigger is
			// what is unknown, name it rather than now-conditions
			// that hold: knowing it can settle the decision, knowing
			// the now condition alone cannot.
			if s.Kind == KindNow && trigger == Unknown {
				return StateUnknown, KindTrigger
			}
			return StateUnknown, s.Kind
		}
	}
	return StateNotTriggered, KindTrigger
}

// unknownSignals lists every unknown signal the decision read: in its
// conditions, in foundations whose presence is unknown, and in tools while
// adoption is unknown.
func unknownSignals(d *Decision, adopted Truth) []string {
	var out []string
	for _, r := range d.Conditions {
		if !r.Value.Known {
			out = appendNew(out, r.Signal)
		}
	}
	for _, fr := range d.Requires {
		for _, r := range fr.Conditions {
			if !r.Value.Known && fr.Present == Unknown {
				out = appendNew(out, r.Signal)
			}
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
