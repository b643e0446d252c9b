package triggers

import (
	"maps"
	"slices"
	"strings"
)

// The space of a decision: the signals it reads whose values are not known,
// each cut into the ranges its thresholds make, and the decision at every
// combination of them. It answers which states are still possible, which
// few signals settle the state, and what change of a signal would move it.

// maxPoints bounds the combinations walked per decision. Signals beyond it
// (rarely any: most unknowns are yes/no facts) stay unknown at each point
// and widen the answer rather than make it wrong.
const maxPoints = 1 << 12

// exhaustiveSettle is the largest set of signals searched exhaustively for
// SettleWith; larger sets are built greedily.
const exhaustiveSettle = 3

type variable struct {
	name   string
	typ    ValueType
	was    Value
	ranges []Range
}

type leafOp struct {
	op        Op
	threshold float64
}

type space struct {
	r       *Rules
	c       *Capability
	sh      *shape
	tools   []string
	pt      Snapshot // the reading, with the variables set per point
	e       *evaluator
	order   []string            // every signal the decision reads, in rule order
	ops     map[string][]leafOp // the comparisons each signal takes part in
	derived []*Signal           // derived signals worked out again per point
	derives []*Derive           // each derived signal's derivation, found once
	founds  []*Foundation       // foundations worked out again per point
	vars    []variable          // the unknown signals walked
	radix   []int
	points  []outcomes // per combination, in mixed radix over vars
	digits  [][]uint8  // per variable, its range index at each point
}

// spacePoint is the space's own copy of the reading, which its walk
// changes point by point: only the signals its decision can read, not the
// whole reading, as a space is made two or three times per capability on
// every evaluation whose answers changed.
func (r *Rules) spacePoint(c *Capability, tools []string, reading Snapshot) Snapshot {
	names, ok := r.spaceReads[c]
	if !ok {
		return maps.Clone(reading)
	}
	pt := make(Snapshot, len(names)+len(tools))
	for _, list := range [][]string{names, tools} {
		for _, name := range list {
			if v, ok := reading[name]; ok {
				pt[name] = v
			}
		}
	}
	return pt
}

// spaceReadsOf lists, per capability, every signal its decision space can
// read: the leaves of its conditions (adopted_if among them), and through
// them, the leaves of the derived signals and the foundations they read,
// whether or not a reading derives them. The tools a space reads are given
// to it apart.
func (r *Rules) spaceReadsOf() map[*Capability][]string {
	out := make(map[*Capability][]string, len(r.Capabilities))
	for _, c := range r.Capabilities {
		seen := map[string]bool{}
		var names []string
		var add func(leaves []*Condition)
		add = func(leaves []*Condition) {
			for _, l := range leaves {
				if seen[l.Signal] {
					continue
				}
				seen[l.Signal] = true
				names = append(names, l.Signal)
				if id, ok := strings.CutPrefix(l.Signal, FoundationSignalPrefix); ok {
					if f := r.Foundation(id); f != nil {
						add(f.Present.Leaves())
					}
					continue
				}
				if s := r.Signal(l.Signal); s != nil {
					if d := s.derive(); d != nil {
						add(append(d.TrueIf.Leaves(), d.FalseIf.Leaves()...))
					}
				}
			}
		}
		for _, cond := range []*Condition{c.Structural, c.Must, c.Skip, c.Gate, c.Later, c.Now, c.Trigger, c.AdoptedIf} {
			add(cond.Leaves())
		}
		out[c] = names
	}
	return out
}

func (r *Rules) newSpace(c *Capability, sh *shape, tools []string, reading Snapshot) *space {
	pt := r.spacePoint(c, tools, reading)
	sp := &space{r: r, c: c, sh: sh, tools: tools, pt: pt, ops: map[string][]leafOp{}}
	sp.e = &evaluator{rules: r, snap: pt, quiet: true}
	seen := map[string]bool{}
	var add func(leaves []*Condition)
	add = func(leaves []*Condition) {
		for _, l := range leaves {
			sp.ops[l.Signal] = append(sp.ops[l.Signal], leafOp{l.Op, r.thresholdOf(l)})
			if seen[l.Signal] {
				continue
			}
			seen[l.Signal] = true
			if id, ok := strings.CutPrefix(l.Signal, FoundationSignalPrefix); ok {
				if f := r.Foundation(id); f != nil {
					sp.founds = append(sp.founds, f)
					add(f.Present.Leaves())
				}
				continue
			}
			sp.order = append(sp.order, l.Signal)
			if s := r.Signal(l.Signal); s != nil && s.derive() != nil {
				if v := reading.get(s.Name); v.Source == "derived" || (!v.Known && !v.Unasserted) {
					sp.derived = append(sp.derived, s)
					sp.derives = append(sp.derives, s.derive())
					d := s.derive()
					add(append(d.TrueIf.Leaves(), d.FalseIf.Leaves()...))
				}
			}
		}
	}
	for _, t := range tools {
		sp.ops[t] = append(sp.ops[t], leafOp{OpEQ, 1})
		seen[t] = true
		sp.order = append(sp.order, t)
	}
	// adopted_if only adopts: evidence that cannot be read decides nothing,
	// so its signals are not walked.
	for _, cond := range []*Condition{c.Structural, c.Must, c.Skip, c.Gate, c.Later, c.Now, c.Trigger} {
		add(cond.Leaves())
	}
	// Foundations read after the derived signals they may read.
	slices.Reverse(sp.founds)
	var open []variable
	for _, name := range sp.order {
		v := reading.get(name)
		if v.Unasserted || (v.Known && !v.LowerBound && !v.UpperBound) {
			continue
		}
		if rs := sp.rangesOf(name, v); len(rs) > 1 {
			open = append(open, variable{name: name, typ: sp.typeOf(name), was: v, ranges: rs})
		}
	}
	// The signals read most are walked first, as they are the ones whose
	// unknown atoms would not be independent.
	slices.SortStableFunc(open, func(a, b variable) int { return len(sp.ops[b.name]) - len(sp.ops[a.name]) })
	n := 1
	for _, v := range open {
		if n*len(v.ranges) > maxPoints {
			continue
		}
		n *= len(v.ranges)
		sp.vars = append(sp.vars, v)
		sp.radix = append(sp.radix, len(v.ranges))
	}
	return sp
}

func (sp *space) typeOf(name string) ValueType {
	if s := sp.r.Signal(name); s != nil {
		return s.Type
	}
	return TypeBool
}

// rangesOf cuts a signal's values at the thresholds it is compared with,
// keeping one range per distinct outcome of those comparisons; a bound
// keeps only the ranges it has not ruled out.
func (sp *space) rangesOf(name string, was Value) []Range {
	var ths []float64
	for _, o := range sp.ops[name] {
		ths = append(ths, o.threshold)
	}
	all := Ranges(sp.typeOf(name), ths, was)
	var out []Range
	var seen []string
	for _, rg := range all {
		if was.LowerBound {
			if rg.Hi < was.Number || (rg.Hi == was.Number && !rg.HiIncl) {
				continue
			}
			if rg.Try < was.Number {
				rg.Try = was.Number
			}
		}
		if was.UpperBound {
			if rg.Lo > was.Number || (rg.Lo == was.Number && !rg.LoIncl) {
				continue
			}
			if rg.Try > was.Number {
				rg.Try = was.Number
			}
		}
		var key strings.Builder
		for _, o := range sp.ops[name] {
			if o.op.Compare(rg.Try, o.threshold) {
				key.WriteByte('1')
			} else {
				key.WriteByte('0')
			}
		}
		if !slices.Contains(seen, key.String()) {
			seen = append(seen, key.String())
			out = append(out, rg)
		}
	}
	return out
}

// set puts v's range i into the point.
func (sp *space) set(v variable, i int) {
	val := v.was
	val.Known, val.Number, val.Reason, val.LowerBound, val.UpperBound, val.Unasserted = true, v.ranges[i].Try, "", false, false, false
	sp.pt[v.name] = val
}

// at evaluates the point as it is set: derived signals and foundations
// worked out again, then the decision's atoms. A derived signal among vars
// keeps its walked value where its measures do not settle it; one in fixed
// keeps the value set, as a declared fact would.
func (sp *space) at(vars, fixed map[string]bool) outcomes {
	for i, s := range sp.derived {
		if fixed[s.Name] {
			continue
		}
		if v := sp.e.derived(s, sp.derives[i]); v.Known || !vars[s.Name] {
			sp.pt[s.Name] = v
		}
	}
	if len(sp.founds) > 0 {
		var frs []FoundationResult
		for _, f := range sp.founds {
			frs = append(frs, sp.e.foundation(f))
		}
		withFoundations(sp.pt, frs)
	}
	sp.e.results = sp.e.results[:0]
	return sp.sh.outcomes(sp.e.atoms(sp.c, sp.sh, sp.tools))
}

// walk evaluates every point and returns what is possible over all of them.
func (sp *space) walk() outcomes {
	isVar := map[string]bool{}
	for _, v := range sp.vars {
		isVar[v.name] = true
	}
	n := 1
	for _, r := range sp.radix {
		n *= r
	}
	sp.points = make([]outcomes, n)
	idx := make([]int, len(sp.vars))
	var all outcomes
	for p := range n {
		rest := p
		for i, r := range sp.radix {
			idx[i] = rest % r
			rest /= r
			sp.set(sp.vars[i], idx[i])
		}
		sp.points[p] = sp.at(isVar, nil)
		all = all.or(sp.points[p])
	}
	return all
}

// settles reports whether knowing the variables in set (indexes into vars)
// decides the state, whatever the others are.
func (sp *space) settles(set []int) bool {
	keys, classes := sp.classes(set)
	state := make([]uint16, classes)
	for p, o := range sp.points {
		if single(o.states) < 0 {
			return false
		}
		if k := keys[p]; state[k] == 0 {
			state[k] = o.states
		} else if state[k] != o.states {
			return false
		}
	}
	return true
}

// settleWith is the smallest set of unknown signals whose values decide the
// state: every set of up to exhaustiveSettle signals is tried, smallest
// first; beyond, signals are added greedily, each the one that leaves the
// fewest points undecided, and then any that turns out not to be needed is
// dropped. Signals beyond maxPoints are never walked, so they are named
// only when nothing walked settles the state.
func (sp *space) settleWith() []string {
	names := func(set []int) []string {
		slices.Sort(set)
		var out []string
		for _, name := range sp.order {
			for _, i := range set {
				if sp.vars[i].name == name {
					out = append(out, name)
				}
			}
		}
		return out
	}
	n := len(sp.vars)
	// Only a signal that changes the outcome somewhere can be needed to
	// settle it: the search runs over those alone.
	cand := sp.relevant()
	var try func(set []int, from, size int) []int
	try = func(set []int, from, size int) []int {
		if len(set) == size {
			if sp.settles(set) {
				return slices.Clone(set)
			}
			return nil
		}
		for j := from; j < len(cand); j++ {
			if found := try(append(set, cand[j]), j+1, size); found != nil {
				return found
			}
		}
		return nil
	}
	for size := 1; size <= min(exhaustiveSettle, len(cand)); size++ {
		if found := try(nil, 0, size); found != nil {
			return names(found)
		}
	}
	all := make([]int, n)
	for i := range all {
		all[i] = i
	}
	if !sp.settles(all) {
		// The walked signals cannot settle it alone: name them and those
		// beyond the walk that the decision reads.
		out := names(all)
		for _, name := range sp.order {
			v := sp.pt[name]
			if !slices.Contains(out, name) && !v.Known && !v.Unasserted {
				out = append(out, name)
			}
		}
		return out
	}
	var set []int
	for !sp.settles(set) {
		best, bestLeft := -1, len(sp.points)+1
		for _, i := range cand {
			if slices.Contains(set, i) {
				continue
			}
			if left := sp.undecided(append(set, i)); left < bestLeft {
				best, bestLeft = i, left
			}
		}
		set = append(set, best)
	}
	for i := len(set) - 1; i >= 0; i-- {
		without := slices.Delete(slices.Clone(set), i, i+1)
		if sp.settles(without) {
			set = without
		}
	}
	return names(set)
}

// relevant lists the variables whose value changes what is possible at
// some point, the others held.
func (sp *space) relevant() []int {
	var out []int
	stride := 1
	for i, r := range sp.radix {
		for p, o := range sp.points {
			digit := p / stride % r
			if digit != 0 {
				continue
			}
			changes := false
			for v := 1; v < r && !changes; v++ {
				changes = sp.points[p+v*stride] != o
			}
			if changes {
				out = append(out, i)
				break
			}
		}
		stride *= r
	}
	return out
}

// undecided counts the points whose class under set holds more than one
// state.
func (sp *space) undecided(set []int) int {
	keys, classes := sp.classes(set)
	states := make([]uint16, classes)
	for p, o := range sp.points {
		states[keys[p]] |= o.states
	}
	left := 0
	for _, k := range keys {
		if single(states[k]) < 0 {
			left++
		}
	}
	return left
}

// classes gives each point the index of its values of the variables in set.
func (sp *space) classes(set []int) ([]int32, int) {
	if sp.digits == nil {
		sp.digits = make([][]uint8, len(sp.radix))
		stride := 1
		for i, r := range sp.radix {
			sp.digits[i] = make([]uint8, len(sp.points))
			for p := range sp.points {
				sp.digits[i][p] = uint8(p / stride % r)
			}
			stride *= r
		}
	}
	keys := make([]int32, len(sp.points))
	classes := 1
	for _, i := range set {
		d := sp.digits[i]
		for p := range keys {
			keys[p] += int32(d[p]) * int32(classes)
		}
		classes *= sp.radix[i]
	}
	return keys, classes
}

// reads lists the signals the decision reads, in rule order.
func (sp *space) reads() []string { return sp.order }

// asks lists the facts of settle that can act: the team can declare them
// (judgments; a measure stays as its source left it), and declaring them,
// alone or with the other declarable signals of settle, for some values,
// narrows what is possible. A fact the walk did not reach is kept: it
// cannot be shown not to act.
func (sp *space) asks(settle []string) []string {
	var declarable []int
	var out []string
	for _, name := range settle {
		if s := sp.r.Signal(name); s == nil || !s.Judgment() {
			continue
		}
		i := slices.IndexFunc(sp.vars, func(v variable) bool { return v.name == name })
		if i < 0 {
			out = append(out, name)
			continue
		}
		declarable = append(declarable, i)
	}
	if len(declarable) == 0 {
		return out
	}
	var total uint16
	for _, o := range sp.points {
		total |= o.states
	}
	keys, classes := sp.classes(declarable)
	per := make([]uint16, classes)
	for p, o := range sp.points {
		per[keys[p]] |= o.states
	}
	if !slices.ContainsFunc(per, func(s uint16) bool { return s != total }) {
		return out
	}
	relevant := sp.relevant()
	for _, i := range declarable {
		if slices.Contains(relevant, i) {
			out = append(out, sp.vars[i].name)
		}
	}
	// In rule order, as SettleWith.
	slices.SortStableFunc(out, func(a, b string) int {
		return slices.Index(sp.order, a) - slices.Index(sp.order, b)
	})
	return out
}
