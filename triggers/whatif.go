package triggers

import "math"

// What would change a decision, found by deciding again rather than by
// reading the rules: each signal the decision reads is moved into every
// range its thresholds cut the number line into, and the state is taken
// again, in the reading the page shows (the probable one, which equals the
// settled one where the team declared everything). Because the whole
// decision is taken again, a signal that feeds several conditions (a skip
// and a trigger) is judged by its combined effect, and every line is a
// claim a reader can check by changing that value. Signals move one at a
// time; pairs are tried only for outcomes no single change reaches, e.g.
// leaving "later" when two reasons hold.

// pairBudget bounds the search for two-signal changes, in decisions per
// capability: pairs grow with the square of the signals a capability reads.
const pairBudget = 300

// axis is one signal and the ranges of it that matter to the decision.
type axis struct {
	name    string
	typ     ValueType
	was     Value
	ranges  []Range
	current int // index of the range holding the value now, -1 when unknown
}

// stateWith decides with the given signals moved to the given ranges, as
// declared values, and puts them back.
func (sp *space) stateWith(moves map[*axis]int) State {
	fixed := map[string]bool{}
	saved := map[string]Value{}
	for a, i := range moves {
		saved[a.name] = sp.pt[a.name]
		v := a.was // its source and times; the value is the range's
		v.Known, v.Number, v.Reason, v.Unasserted = true, a.ranges[i].Try, "", false
		sp.pt[a.name] = v
		fixed[a.name] = true
	}
	o := sp.at(nil, fixed)
	for name, v := range saved {
		sp.pt[name] = v
	}
	if i := single(o.states); i >= 0 {
		return allStates[i]
	}
	return StateUnknown
}

func (sp *space) changes(current State) []Change {
	var axes []*axis
	for _, name := range sp.order {
		was := sp.pt[name]
		if was.Unasserted {
			was = Value{Reason: was.Reason, Code: was.Code, Source: was.Source}
		}
		var ths []float64
		for _, o := range sp.ops[name] {
			ths = append(ths, o.threshold)
		}
		// A value inside the band of a threshold keeps its comparison's
		// last truth until it leaves the band: the band's edges cut its
		// ranges too, so that leaving it is a move of its own.
		if sig := sp.r.Signal(name); sig != nil && was.Known {
			for _, o := range sp.ops[name] {
				if w := sig.Hysteresis.Width(sig.Type, o.threshold); w > 0 && math.Abs(was.Number-o.threshold) <= w {
					ths = append(ths, o.threshold-w, o.threshold+w)
				}
			}
		}
		a := &axis{name: name, typ: sp.typeOf(name), was: was, current: -1}
		a.ranges = Ranges(a.typ, ths, was)
		for i, r := range a.ranges {
			if was.Known && r.Contains(was.Number) {
				a.current = i
			}
		}
		// Each range is tried past the band of the threshold it lies
		// beyond, as the search reads the last truths the live exporter
		// holds: a value inside the band would keep the decision.
		sig := sp.r.Signal(name)
		for i := range a.ranges {
			if i != a.current {
				a.ranges[i].Try = sig.pastBand(a.ranges[i], was)
			}
		}
		axes = append(axes, a)
	}
	// A move's Try is past the band of the threshold it crosses: the
	// state found was found there, with the last truths held.
	move := func(a *axis, from, to int) Move {
		r := a.ranges[from]
		if to != from {
			r = r.Merge(a.ranges[to])
		}
		r.Try = sp.r.Signal(a.name).pastBand(r, a.was)
		return Move{Signal: a.name, Type: a.typ, Was: a.was, Range: r}
	}

	var out []Change
	reached := map[State]bool{current: true, StateUnknown: true}
	var singles []Change
	for _, a := range axes {
		states := make([]State, len(a.ranges))
		for i := range a.ranges {
			if i == a.current {
				states[i] = current
				continue
			}
			states[i] = sp.stateWith(map[*axis]int{a: i})
		}
		for _, run := range runs(states) {
			if run.state != current && run.state != StateUnknown {
				singles = append(singles, Change{To: run.state, Signals: []string{a.name}, Moves: []Move{move(a, run.from, run.to)}})
			}
		}
	}
	for _, ch := range singles {
		reached[ch.To] = true
	}
	out = append(out, singles...)
	// An unknown decision is settled by knowing its signals, which
	// SettleWith already names; pairs of guesses would only add noise.
	if current == StateUnknown {
		return out
	}

	// Two signals at once, for decisions that hold for more than one reason:
	// only outcomes no single change reaches are worth a line.
	budget := pairBudget
	for i, a := range axes {
		for _, b := range axes[i+1:] {
			if budget -= (len(a.ranges) - 1) * (len(b.ranges) - 1); budget < 0 {
				return out
			}
			grid := make([][]State, len(a.ranges))
			for x := range a.ranges {
				grid[x] = make([]State, len(b.ranges))
				for y := range b.ranges {
					if x == a.current || y == b.current {
						continue // a single change, already covered
					}
					grid[x][y] = sp.stateWith(map[*axis]int{a: x, b: y})
				}
			}
			found := map[State]bool{}
			for _, cell := range rectangles(grid) {
				if reached[cell.state] || cell.state == "" {
					continue
				}
				found[cell.state] = true
				out = append(out, Change{To: cell.state, Signals: []string{a.name, b.name},
					Moves: []Move{move(a, cell.x0, cell.x1), move(b, cell.y0, cell.y1)}})
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
	state    State
}

// runs groups neighbouring ranges with the same outcome.
func runs(states []State) []run { return appendRuns(nil, states) }

// appendRuns is runs into a buffer the caller reuses.
func appendRuns(out []run, states []State) []run {
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
	state          State
}

// rectangles merges a grid of outcomes into runs along y, then joins
// neighbouring rows whose runs are the same. It runs for every pair of a
// capability's open signals on every evaluation whose answers changed, so
// its two maps and its run buffer are reused from row to row.
func rectangles(grid [][]State) []rect {
	var out []rect
	open, next := map[run]int{}, map[run]int{} // y-run and state -> index in out, for the previous row and this one
	var rs []run
	for x, row := range grid {
		clear(next)
		rs = appendRuns(rs[:0], row)
		for _, r := range rs {
			if i, ok := open[r]; ok && out[i].x1 == x-1 {
				out[i].x1 = x
				next[r] = i
				continue
			}
			out = append(out, rect{x, x, r.from, r.to, r.state})
			next[r] = len(out) - 1
		}
		open, next = next, open
	}
	return out
}
