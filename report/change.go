package report

import (
	"strings"
	"sync/atomic"

	"github.com/capability-exporter/capability_exporter/triggers"
)

// What would change a decision is found by asking the rules, not by reading
// them: each signal a capability depends on is moved into every range its
// thresholds cut the number line into, and the rules engine decides again
// (triggers.Decide, the same code as Evaluate). Ranges that give another decision are reported as "signal would
// need to be <range> (now <value>)". Because the whole ladder reruns, a
// signal that feeds several steps (a skip and a trigger) is judged by its
// combined effect, and every line is a claim a reader can check by changing
// that value. Signals move one at a time; pairs are tried only for outcomes
// no single change reaches, e.g. leaving "later" when two reasons hold.

// snapshotOf rebuilds the snapshot an evaluation saw from what it recorded:
// every signal's value and every tool's detection.
func snapshotOf(ev *triggers.Evaluation) triggers.Snapshot {
	s := triggers.Snapshot{}
	for _, sig := range ev.Signals {
		// A derived value is worked out again by each decision, from the
		// values a what-if moves.
		if sig.Value.Source != "derived" {
			s[sig.Name] = sig.Value
		}
	}
	for _, t := range ev.Tools {
		v := triggers.UnknownValue(t.Reason, "kubernetes")
		if t.Detected != triggers.Unknown {
			v = triggers.KnownValue(boolFloat(t.Detected == triggers.True), "kubernetes")
		}
		s[triggers.ToolSignalPrefix+t.ID] = v
	}
	return s
}

// pairBudget bounds the search for two-signal changes, in evaluations per
// capability: pairs grow with the square of the signals a capability reads,
// and the search runs once per published evaluation on a small machine.
const pairBudget = 300

// whatWouldChange returns, per capability id, the changes of one signal, or
// failing that of two, that move its decision. It returns nil when the rules
// in hand do not reproduce the evaluation, rather than claim anything about
// other rules.
func whatWouldChange(rules *triggers.Rules, ev *triggers.Evaluation) map[string][]Change {
	if rules == nil {
		return nil
	}
	if c := changeCache.Load(); c != nil && c.rules == rules && c.ev == ev {
		return c.byCapability
	}
	w := &whatIf{rules: rules, ev: ev, base: snapshotOf(ev)}
	for _, d := range ev.Decisions {
		if again, ok := triggers.Decide(rules, d.Capability, w.base); !ok || again.State != d.State {
			return nil
		}
	}
	if len(ev.Decisions) != len(rules.Capabilities) {
		return nil
	}
	out := map[string][]Change{}
	for _, c := range rules.Capabilities {
		out[c.ID] = w.capability(c)
	}
	changeCache.Store(&cachedChanges{rules: rules, ev: ev, byCapability: out})
	return out
}

// changeCache holds the last answer: the page and the API ask again on every
// request for the same published evaluation, and the search decides each
// capability up to a few hundred times.
var changeCache atomic.Pointer[cachedChanges]

type cachedChanges struct {
	rules        *triggers.Rules
	ev           *triggers.Evaluation
	byCapability map[string][]Change
}

type whatIf struct {
	rules *triggers.Rules
	ev    *triggers.Evaluation
	base  triggers.Snapshot
}

// axis is one signal and the ranges of it that matter to a capability.
type axis struct {
	name    string
	typ     triggers.ValueType
	was     triggers.Value
	regions []region
	current int // index of the region holding the value now, -1 when unknown
	// inBase: the value is in the what-if's base snapshot; a derived value
	// is not, so that each decision works it out again.
	inBase bool
}

// shown is a signal's value as the evaluation published it.
func (w *whatIf) shown(name string) triggers.Value {
	for _, s := range w.ev.Signals {
		if s.Name == name {
			return s.Value
		}
	}
	return triggers.Value{}
}

// stateWith decides c with the given signals moved to the given regions.
func (w *whatIf) stateWith(c string, moves map[*axis]int) triggers.State {
	for a, i := range moves {
		v := a.was // a lower bound stays one
		v.Known, v.Number, v.Reason = true, a.regions[i].try, ""
		w.base[a.name] = v
	}
	d, _ := triggers.Decide(w.rules, c, w.base)
	for a := range moves {
		if a.inBase {
			w.base[a.name] = a.was
		} else {
			delete(w.base, a.name) // a derived value, worked out again
		}
	}
	return d.State
}

func (w *whatIf) capability(c *triggers.Capability) []Change {
	current := w.ev.Decision(c.ID).State
	thresholds := map[string][]float64{}
	for _, leaf := range capabilityLeaves(w.rules, c) {
		thresholds[leaf.Signal] = append(thresholds[leaf.Signal], leaf.Threshold)
	}
	var axes []*axis
	for _, name := range dependencies(w.rules, c) {
		was, inBase := w.base[name]
		if !inBase {
			was = w.shown(name) // a derived value: shown as it was, not in the base
		}
		a := &axis{name: name, typ: signalType(w.rules, name), was: was, inBase: inBase, current: -1}
		a.regions = regions(a.typ, thresholds[name], a.was)
		for i, r := range a.regions {
			if a.was.Known && r.contains(a.was.Number) {
				a.current = i
			}
		}
		axes = append(axes, a)
	}

	out := []Change{}
	reached := map[triggers.State]bool{current: true, triggers.StateUnknown: true}
	var singles []Change
	for _, a := range axes {
		states := make([]triggers.State, len(a.regions))
		for i := range a.regions {
			if i == a.current {
				states[i] = current
				continue
			}
			states[i] = w.stateWith(c.ID, map[*axis]int{a: i})
		}
		for _, run := range runs(states) {
			if run.state != current && run.state != triggers.StateUnknown {
				singles = append(singles, Change{To: string(run.state), If: w.words(a, run.from, run.to),
					Signals: []string{a.name}})
			}
		}
	}
	for _, ch := range singles {
		reached[triggers.State(ch.To)] = true
	}
	out = append(out, singles...)
	// An unknown decision is settled by knowing its signals, which the
	// unknown signals already name; pairs of guesses would only add noise.
	if current == triggers.StateUnknown {
		return out
	}

	// Two signals at once, for decisions that hold for more than one reason:
	// only outcomes no single change reaches are worth a line.
	budget := pairBudget
	for i, a := range axes {
		for _, b := range axes[i+1:] {
			if budget -= (len(a.regions) - 1) * (len(b.regions) - 1); budget < 0 {
				return out
			}
			grid := make([][]triggers.State, len(a.regions))
			for x := range a.regions {
				grid[x] = make([]triggers.State, len(b.regions))
				for y := range b.regions {
					if x == a.current || y == b.current {
						continue // a single change, already covered
					}
					grid[x][y] = w.stateWith(c.ID, map[*axis]int{a: x, b: y})
				}
			}
			found := map[triggers.State]bool{}
			for _, cell := range rectangles(grid) {
				if reached[cell.state] || cell.state == "" {
					continue
				}
				found[cell.state] = true
				out = append(out, Change{To: string(cell.state),
					If:      w.words(a, cell.x0, cell.x1) + ", and " + w.words(b, cell.y0, cell.y1),
					Signals: []string{a.name, b.name}})
			}
			for s := range found {
				reached[s] = true
			}
		}
	}
	return out
}

type run struct {
	from, to int
	state    triggers.State
}

// runs groups neighbouring regions with the same outcome.
func runs(states []triggers.State) []run {
	var out []run
	for i, s := range states {
		if n := len(out); n > 0 && out[n-1].state == s {
			out[n-1].to = i
			continue
		}
		out = append(out, run{i, i, s})
	}
	return out
}

type rect struct {
	x0, x1, y0, y1 int
	state          triggers.State
}

// rectangles merges a grid of outcomes into runs along y, then joins
// neighbouring rows whose runs are the same.
func rectangles(grid [][]triggers.State) []rect {
	var out []rect
	open := map[[3]any]int{} // y-run and state -> index in out, for the previous row
	for x, row := range grid {
		next := map[[3]any]int{}
		for _, r := range runs(row) {
			key := [3]any{r.from, r.to, r.state}
			if i, ok := open[key]; ok && out[i].x1 == x-1 {
				out[i].x1 = x
				next[key] = i
				continue
			}
			out = append(out, rect{x, x, r.from, r.to, r.state})
			next[key] = len(out) - 1
		}
		open = next
	}
	return out
}

func (w *whatIf) words(a *axis, from, to int) string {
	r := a.regions[from]
	if to != from {
		r = merge(r, a.regions[to])
	}
	return changeWords(w.rules, a.name, a.typ, r, a.was)
}

func changeWords(rules *triggers.Rules, name string, typ triggers.ValueType, r region, was triggers.Value) string {
	now := "unknown"
	if was.Known {
		now = Human(typ, was.Number)
		if was.LowerBound {
			now = "at least " + now
		}
	}
	if id, ok := strings.CutPrefix(name, triggers.ToolSignalPrefix); ok {
		title := id
		if t := rules.Tool(id); t != nil {
			title = t.Title
		}
		detected := func(v float64) string {
			if v != 0 {
				return "detected"
			}
			return "not detected"
		}
		if was.Known {
			now = detected(was.Number)
		}
		return title + " would need to be " + detected(r.lo) + " (now " + now + ")"
	}
	return name + " would need to be " + r.words(typ) + " (now " + now + ")"
}

func signalType(rules *triggers.Rules, name string) triggers.ValueType {
	if s := rules.Signal(name); s != nil {
		return s.Type
	}
	return triggers.TypeBool // tool.<id>
}

// capabilityLeaves lists the comparisons a capability's decision reads,
// through the foundations and derived signals its conditions read.
func capabilityLeaves(rules *triggers.Rules, c *triggers.Capability) []*triggers.Condition {
	return rules.DecisionLeaves(c)
}

// dependencies lists the signals a capability's decision reads that a
// what-if can move, in the order of its ladder: its tools, then its
// conditions' signals. foundation.<id> and derived signals are worked out
// again by each decision, so the signals they read are listed instead. With
// c nil it lists every signal any decision reads.
func dependencies(rules *triggers.Rules, c *triggers.Capability) []string {
	caps := rules.Capabilities
	if c != nil {
		caps = []*triggers.Capability{c}
	}
	seen := map[string]bool{}
	var out []string
	add := func(name string) {
		if !seen[name] && !strings.HasPrefix(name, triggers.FoundationSignalPrefix) {
			seen[name] = true
			out = append(out, name)
		}
	}
	for _, c := range caps {
		for _, t := range rules.Tools {
			if t.Capability == c.ID {
				add(t.SignalName())
			}
		}
		for _, leaf := range rules.DecisionLeaves(c) {
			add(leaf.Signal)
		}
	}
	return out
}
