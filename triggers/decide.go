package triggers

import (
	"cmp"
	"math/bits"
	"slices"
	"strings"
)

// How a capability's conditions become its decision. The framework asks two
// questions of each capability, and so does decide:
//
//	need    (TRIGGER, "when relevant?"): a structural NOT case (nothing to act
//	        on) says no, even to an obligation; else a declared obligation
//	        (must) says yes; else yes while a motive of the trigger holds
//	        that no NOT bullet holding answers; else no.
//	timing  (TIMING, "why now or not?"): a gate (readiness) says later,
//	        even to an obligation; else an obligation says now; else a
//	        LATER bullet says later; else a NOW bullet says now; else none.
//
// The state: adopted while the capability runs; else, when needed, now,
// later or consider by timing; else skip where a NOT bullet holds, or
// not_triggered. docs/rules.md gives the precedence with the seed's words.
//
// Unknown signals are walked, not guessed: every value range of every
// unknown signal the decision reads is tried, so the decision knows the
// states still possible and the fewest signals that settle it. Where that
// leaves it open, the probable reading (presume.go) gives the seed's
// "probably" answer, labelled as such.

// shape is what a capability's decision reads besides its conditions'
// truths: its motives and which of them each NOT bullet answers.
type shape struct {
	motives []*Condition
	skips   []*Condition
	answers []uint64 // per skip: bit i when it answers motive i
}

func topMembers(c *Condition) []*Condition {
	if c == nil {
		return nil
	}
	if c.Any != nil {
		return c.Any
	}
	return []*Condition{c}
}

func shapeOf(c *Capability) *shape {
	sh := &shape{motives: topMembers(c.Trigger), skips: topMembers(c.Skip)}
	for _, s := range sh.skips {
		var mask uint64
		if len(s.Answers) == 0 {
			mask = ^uint64(0)
		}
		for i, m := range sh.motives {
			if slices.Contains(s.Answers, m.Motive) {
				mask |= 1 << i
			}
		}
		sh.answers = append(sh.answers, mask)
	}
	return sh
}

// atoms are the truths a decision is made of.
type atoms struct {
	adopted, structural, must, gate, later, now Truth
	motives, skips                              []Truth
}

// verdict is the decision for known atoms.
type verdict struct {
	state  State
	needed bool
	timing Timing
	by     string
}

type boolAtoms struct {
	adopted, structural, must, gate, later, now bool
	motives, skips                              uint64
}

func (sh *shape) verdict(a boolAtoms) verdict {
	var answered uint64
	for j := range sh.skips {
		if a.skips&(1<<j) != 0 {
			answered |= sh.answers[j]
		}
	}
	needed := !a.structural && (a.must || a.motives&^answered != 0)
	v := verdict{needed: needed}
	switch {
	case a.gate:
		v.timing, v.by = TimingLater, KindGate
	case a.must:
		v.timing, v.by = TimingNow, KindMust
	case a.later:
		v.timing, v.by = TimingLater, KindLater
	case a.now:
		v.timing, v.by = TimingNow, KindNow
	default:
		v.timing, v.by = TimingNone, KindTrigger
	}
	switch {
	case a.adopted:
		v.state, v.by = StateAdopted, StepAdopted
	case !needed && a.structural:
		v.state, v.by = StateSkip, KindStructural
	case !needed && a.skips != 0:
		v.state, v.by = StateSkip, KindSkip
	case !needed:
		v.state, v.by = StateNotTriggered, KindTrigger
	case v.timing == TimingNow:
		v.state = StateNow
	case v.timing == TimingLater:
		v.state = StateLater
	default:
		v.state = StateConsider
	}
	return v
}

// outcomes are the verdicts still possible, as bit sets.
type outcomes struct {
	states  uint16 // bit i: States[i]
	needs   uint8  // bit 0: needed, bit 1: not needed
	timings uint8  // bit i: timings[i]
}

var timings = []Timing{TimingNow, TimingLater, TimingNone}

func (o outcomes) add(v verdict) outcomes {
	o.states |= 1 << slices.Index(allStates, v.state)
	if v.needed {
		o.needs |= 1
	} else {
		o.needs |= 2
	}
	o.timings |= 1 << slices.Index(timings, v.timing)
	return o
}

func (o outcomes) or(p outcomes) outcomes {
	return outcomes{o.states | p.states, o.needs | p.needs, o.timings | p.timings}
}

// maxOpenAtoms bounds the atoms left unknown at one point; beyond it every
// outcome counts as possible, which only widens the answer.
const maxOpenAtoms = 16

// outcomes walks every way the unknown atoms can turn out. Atoms left
// unknown here share no unknown signal (the space enumerates the shared
// ones), so each can be true or false on its own.
func (sh *shape) outcomes(a atoms) outcomes {
	type slot struct {
		dst *bool
		bit *uint64
		n   int
		t   Truth
	}
	var b boolAtoms
	var open []slot
	for _, s := range []slot{{dst: &b.adopted, t: a.adopted}, {dst: &b.structural, t: a.structural}, {dst: &b.must, t: a.must},
		{dst: &b.gate, t: a.gate}, {dst: &b.later, t: a.later}, {dst: &b.now, t: a.now}} {
		*s.dst = s.t == True
		if s.t == Unknown {
			open = append(open, s)
		}
	}
	for i, t := range a.motives {
		switch t {
		case True:
			b.motives |= 1 << i
		case Unknown:
			open = append(open, slot{bit: &b.motives, n: i})
		}
	}
	for i, t := range a.skips {
		switch t {
		case True:
			b.skips |= 1 << i
		case Unknown:
			open = append(open, slot{bit: &b.skips, n: i})
		}
	}
	if len(open) > maxOpenAtoms {
		return outcomes{states: 1<<len(allStates) - 1, needs: 3, timings: 7}
	}
	var o outcomes
	for mask := range 1 << len(open) {
		for i, s := range open {
			on := mask&(1<<i) != 0
			if s.dst != nil {
				*s.dst = on
			} else if on {
				*s.bit |= 1 << s.n
			} else {
				*s.bit &^= 1 << s.n
			}
		}
		o = o.add(sh.verdict(b))
	}
	return o
}

// atoms evaluates a capability's atoms on the evaluator's snapshot.
func (e *evaluator) atoms(c *Capability, sh *shape, tools []string) atoms {
	one := func(cond *Condition) Truth {
		t, _ := e.eval(cond, "", nil)
		return t
	}
	a := atoms{structural: one(c.Structural), must: one(c.Must), gate: one(c.Gate), later: one(c.Later), now: one(c.Now)}
	a.adopted = one(c.AdoptedIf)
	if a.adopted == Unknown {
		a.adopted = False // adopted_if only adopts: unreadable evidence decides nothing
	}
	for _, t := range tools {
		a.adopted = a.adopted.Or(compare(OpEQ, e.snap.get(t), 1))
	}
	for _, m := range sh.motives {
		a.motives = append(a.motives, one(m))
	}
	for _, s := range sh.skips {
		a.skips = append(a.skips, one(s))
	}
	return a
}

// known turns atoms that are all known into booleans.
func (a atoms) known() (boolAtoms, bool) {
	b := boolAtoms{adopted: a.adopted == True, structural: a.structural == True, must: a.must == True,
		gate: a.gate == True, later: a.later == True, now: a.now == True}
	ok := a.adopted != Unknown && a.structural != Unknown && a.must != Unknown && a.gate != Unknown &&
		a.later != Unknown && a.now != Unknown
	for i, t := range a.motives {
		ok = ok && t != Unknown
		if t == True {
			b.motives |= 1 << i
		}
	}
	for i, t := range a.skips {
		ok = ok && t != Unknown
		if t == True {
			b.skips |= 1 << i
		}
	}
	return b, ok
}

// single returns the one element of a bit set, or -1.
func single[T uint8 | uint16](set T) int {
	if set == 0 || set&(set-1) != 0 {
		return -1
	}
	return bits.TrailingZeros16(uint16(set))
}

// decide reads a capability's decision: the ladder's steps as measured,
// the outcome the possible values of what is unknown allow, the reasons
// where it was decided, and what is listed beside it.
func (e *evaluator) decide(c *Capability, tools map[string]ToolResult, foundations map[string]FoundationResult) Decision {
	d := Decision{Capability: c.ID, Title: c.Title, Complexity: c.Complexity}
	sh := shapeOf(c)
	toolSignals := e.steps(&d, c, tools, foundations)
	reading := e.settle(&d, c, sh, toolSignals)
	e.reasons(&d, c, sh, toolSignals, reading)
	// What would change it, with the last truths held as the live exporter
	// and a what-if asked of it hold them: a signal inside the band of a
	// threshold keeps its comparison's truth, so a change it needs no move
	// of is not one, and a move is tried past the band it crosses.
	cs := e.rules.newSpace(c, sh, toolSignals, e.prob)
	cs.e.prev = e.prevOfKnown()
	d.Changes = cs.changes(d.State)
	// The search moves from the probable reading: a move from a value
	// the team never declared, or one a measure only bounds, says so.
	for _, ch := range d.Changes {
		for i := range ch.Moves {
			if p, ok := e.presumed[ch.Moves[i].Signal]; ok {
				ch.Moves[i].Presumed = &p
			}
		}
	}
	e.results = nil
	d.Contradictions = e.listed(c.Contradictions, "contradiction", true)
	// "Prepare NOW (don't activate!)": the preparation is asked for while
	// the capability may be needed, never once it is not or is in place.
	if d.Need != NeedNo && d.State != StateAdopted {
		d.Checklist = e.listed(c.Checklist, "checklist", false)
	}
	return d
}

// steps evaluates each condition of c as the settled reading sees it, with
// the capability's tools and the foundations it builds on, into d's
// conditions, tools, requires and ladder. It returns the signals of c's
// tools.
func (e *evaluator) steps(d *Decision, c *Capability, tools map[string]ToolResult, foundations map[string]FoundationResult) []string {
	// Every condition is recorded as the settled reading sees it, for the
	// page and the capability_condition series.
	e.results = nil
	conds := map[string]*Condition{KindTrigger: c.Trigger, KindStructural: c.Structural, KindMust: c.Must,
		KindGate: c.Gate, KindSkip: c.Skip, KindLater: c.Later, KindNow: c.Now}
	own := map[string]judged{}
	for _, kind := range conditionKinds {
		t, open := e.eval(conds[kind], kind, nil)
		own[kind] = judged{t, open}
	}
	adoptedIf, adoptedOpen := e.eval(c.AdoptedIf, KindAdopted, nil)
	d.Conditions = e.results
	if adoptedIf == Unknown {
		adoptedIf, adoptedOpen = False, nil
	}
	adopted := judged{truth: adoptedIf, open: adoptedOpen}
	var toolSignals []string
	for _, t := range e.rules.Tools {
		if t.Capability == c.ID {
			tr := tools[t.ID]
			d.Tools = append(d.Tools, tr)
			toolSignals = append(toolSignals, t.SignalName())
			adopted.truth = adopted.truth.Or(tr.Detected)
			if tr.Detected == Unknown {
				adopted.open = append(adopted.open, t.SignalName())
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
	skipAny := judged{truth: own[KindSkip].truth}
	d.Steps = []StepResult{
		step(StepAdopted, adopted, adopted.truth),
		step(KindStructural, own[KindStructural], own[KindStructural].truth),
		step(KindMust, own[KindMust], own[KindMust].truth),
		step(KindSkip, own[KindSkip], skipAny.truth),
		step(KindGate, own[KindGate], own[KindGate].truth),
		step(KindLater, own[KindLater], own[KindLater].truth),
		step(KindNow, own[KindNow], own[KindNow].truth),
		step(KindTrigger, own[KindTrigger], own[KindTrigger].truth),
	}
	d.UnknownSignals = unknownSignals(d, adopted.truth)
	return toolSignals
}

// settle walks the values the unknown signals may take, settled and then
// probable, into d's state, need and timing, and what would settle them. It
// returns the reading where the state was decided.
func (e *evaluator) settle(d *Decision, c *Capability, sh *shape, toolSignals []string) Snapshot {
	settled := e.rules.newSpace(c, sh, toolSignals, e.snap)
	settled.e.prev = e.prevOfKnown()
	all := settled.walk()
	reading, seen := e.snap, all
	if single(all.states) < 0 || single(all.needs) < 0 || single(all.timings) < 0 {
		probSpace := e.rules.newSpace(c, sh, toolSignals, e.prob)
		probSpace.e.prev = e.prevOfKnown()
		prob := probSpace.walk()
		if single(all.states) < 0 {
			// A judgment left undeclared satisfies neither a NOT bullet
			// nor the motive it answers ("no compliance requirements",
			// "compliance requirements"), which no declared value does:
			// the state it gives is possible too, for as long as the
			// team does not declare it.
			all.states |= prob.states
		}
		// "Probably" needs a measure behind it: a presumption citing
		// one, or a measured condition among what decides the need.
		// Where none speaks, the answer stays unknown and the questions
		// ask.
		if e.backedByMeasure(c, sh, settled.reads()) {
			if single(all.states) < 0 && single(prob.states) >= 0 {
				d.Probable, reading = true, e.prob
			}
			seen = outcomes{states: pick(all.states, prob.states), needs: pick(all.needs, prob.needs),
				timings: pick(all.timings, prob.timings)}
		}
	}
	d.outcome(all, seen)
	if single(all.states) < 0 {
		d.SettleWith = settled.settleWith()
		d.Asks = settled.asks(d.SettleWith)
	}
	if d.State == StateUnknown {
		d.BlockedBy = d.SettleWith
	}
	if d.Probable {
		for _, name := range settled.reads() {
			if p, ok := e.presumed[name]; ok {
				d.Presumed = append(d.Presumed, p)
			}
		}
	}
	return reading
}

// outcome sets d's possible states, and its state, need and timing: settled
// where all the values the unknown signals may take agree, probable where
// seen (those with the presumed values) does, else unknown.
func (d *Decision) outcome(all, seen outcomes) {
	for i, s := range allStates {
		if all.states&(1<<i) != 0 && s != StateUnknown {
			d.Possible = append(d.Possible, s)
		}
	}
	d.State = StateUnknown
	if i := single(seen.states); i >= 0 {
		d.State = allStates[i]
	}
	d.Need = NeedUnknown
	switch {
	case all.needs == 1:
		d.Need = NeedYes
	case all.needs == 2:
		d.Need = NeedNo
	case seen.needs == 1:
		d.Need = NeedProbably
	case seen.needs == 2:
		d.Need = NeedProbablyNot
	}
	d.Timing = TimingUnknown
	if i := single(seen.timings); i >= 0 {
		d.Timing = timings[i]
	}
}

// reasons reads, where the state was decided, the step that decided it, its
// members that hold, what they outweighed, and the strength of a now.
func (e *evaluator) reasons(d *Decision, c *Capability, sh *shape, toolSignals []string, reading Snapshot) {
	r := &evaluator{rules: e.rules, snap: reading, prev: e.prevOfKnown()}
	a := r.atoms(c, sh, toolSignals)
	if b, ok := a.known(); ok || d.State != StateUnknown {
		v := sh.verdict(b)
		d.DecidedBy = v.by
		d.Reasons, d.Outweighed, d.Motives, d.Answers = r.explain(c, sh, a, v)
	}
	// The strength of a now: its members that hold, an all's included.
	nowMembers := topMembers(c.Now)
	if c.Now != nil && c.Now.All != nil {
		nowMembers = c.Now.All
	}
	for _, m := range nowMembers {
		if t, _ := r.eval(m, "", nil); t == True {
			d.nowHolding++
		}
	}
}

// pick is the settled set when it is one outcome, else the probable one
// when that is, else the settled set.
func pick[T uint8 | uint16](settled, probable T) T {
	if single(settled) >= 0 || single(probable) < 0 {
		return settled
	}
	return probable
}

// explain lists, for a decided verdict, the deciding step's members that
// hold, the members on a losing side that held too, and the motives that
// keep the capability relevant.
func (e *evaluator) explain(c *Capability, sh *shape, a atoms, v verdict) (reasons, outweighed, motives []Held, answers []Answer) {
	var answered uint64
	for j, t := range a.skips {
		if t != True {
			continue
		}
		answered |= sh.answers[j]
		for _, h := range e.held(sh.skips[j], KindSkip) {
			ans := Answer{Skip: h}
			for i, m := range a.motives {
				if m == True && sh.answers[j]&(1<<i) != 0 {
					ans.Answers = append(ans.Answers, e.held(sh.motives[i], KindTrigger)...)
				}
			}
			answers = append(answers, ans)
		}
	}
	for i, t := range a.motives {
		if t == True && answered&(1<<i) == 0 {
			motives = append(motives, e.held(sh.motives[i], KindTrigger)...)
		}
	}
	var losers []string
	switch v.by {
	case StepAdopted:
		return nil, nil, motives, answers
	case KindStructural:
		reasons = e.holding(c.Structural, KindStructural)
		losers = []string{KindMust, KindTrigger}
	case KindSkip:
		for j, t := range a.skips {
			if t == True {
				reasons = append(reasons, e.held(sh.skips[j], KindSkip)...)
			}
		}
		losers = []string{KindNow}
	case KindGate:
		reasons = e.holding(c.Gate, KindGate)
		losers = []string{KindMust, KindNow}
	case KindMust:
		reasons = e.holding(c.Must, KindMust)
		losers = []string{KindSkip, KindLater}
	case KindLater:
		reasons = e.holding(c.Later, KindLater)
		losers = []string{KindNow}
	case KindNow:
		reasons = e.holding(c.Now, KindNow)
	case KindTrigger:
		if v.state == StateConsider {
			reasons = motives
		}
	}
	conds := map[string]*Condition{KindMust: c.Must, KindNow: c.Now, KindSkip: c.Skip, KindLater: c.Later, KindTrigger: c.Trigger}
	for _, kind := range losers {
		for _, h := range e.holding(conds[kind], kind) {
			if !slices.ContainsFunc(outweighed, func(o Held) bool { return o.Expr == h.Expr }) &&
				!slices.ContainsFunc(reasons, func(o Held) bool { return o.Expr == h.Expr }) {
				h.By = v.by
				outweighed = append(outweighed, h)
			}
		}
	}
	return reasons, outweighed, motives, answers
}

// held is a member that holds, in the framework's words.
func (e *evaluator) held(m *Condition, kind string) []Held {
	e.results = nil
	if t, _ := e.eval(m, kind, nil); t != True {
		return nil
	}
	says := e.rules.Words(m.Says)
	if says == "" {
		says = saysOf(e.results, false)
	}
	if says == "" {
		says = m.String()
	}
	var leaves []ConditionResult
	for _, r := range e.results {
		if r.Truth == True {
			leaves = append(leaves, r)
		}
	}
	return []Held{{Kind: kind, Expr: m.String(), Says: says, Leaves: leaves}}
}

// judged is a condition's truth with the signals that could settle it.
type judged struct {
	truth Truth
	open  []string
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
		r := ConditionResult{Kind: kind, Expr: c.String(), Says: e.rules.Words(c.Says), Truth: t}
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

// holding lists the top-level members of cond that hold, each in the
// framework's words: its own says, else the words of its leaves that hold,
// else the expression. An `all` that holds is one member, so its leaves are
// never shown apart from the conjunction that made them count.
func (e *evaluator) holding(cond *Condition, kind string) []Held {
	var out []Held
	for _, m := range topMembers(cond) {
		out = append(out, e.held(m, kind)...)
	}
	return out
}

func step(kind string, j judged, condition Truth) StepResult {
	if j.truth != Unknown {
		j.open = nil
	}
	return StepResult{Kind: kind, Truth: j.truth, Condition: condition, Unknown: j.open}
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
