package triggers

import (
	"maps"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/capability-exporter/capability_exporter/yamlpos"
)

// ExtendsDefault is the value of a rules file's `extends:` that builds on the
// embedded default rules instead of replacing them.
const ExtendsDefault = "default"

// An extending rules file starts with `extends: default`. Its signals, tools,
// foundations and capabilities are added to the default rules; an entry with
// a default's name replaces that entry whole (a signal keeps its type, since
// the default conditions that read it were written for that type). The items
// of its datastores: lists are added to the defaults' lists. Its
// add_conditions section adds conditions to capabilities, each one more
// bullet: the capability's trigger (or structural, must, gate, skip, later,
// now, adopted_if) then holds when the default's holds or the added one does.
// Everything it says is checked against the union, so a new condition may read
// a default signal and a replaced capability may read a new one.

// rawConditions are a capability's conditions by kind: those of a
// capability, and those an extending file adds to one (add_conditions).
type rawConditions struct {
	Trigger    yaml.Node `yaml:"trigger"`
	Structural yaml.Node `yaml:"structural"`
	Must       yaml.Node `yaml:"must"`
	Gate       yaml.Node `yaml:"gate"`
	Skip       yaml.Node `yaml:"skip"`
	Later      yaml.Node `yaml:"later"`
	Now        yaml.Node `yaml:"now"`
	AdoptedIf  yaml.Node `yaml:"adopted_if"`
}

// extension is what the parser keeps of the rules a file extends.
type extension struct {
	base *Rules
}

// extend reads the file's extends: field. When it names the defaults, the
// parser's lookups start from them, while the parser's slices keep only the
// file's own entries until merge puts the two together.
func (p *parser) extend(extends *yaml.Node, add map[string]rawConditions) {
	if extends.Kind == 0 {
		if len(add) > 0 {
			p.errf(yamlpos.FieldLine(p.root, "add_conditions"), "add_conditions", "adds to the rules a file extends: start the file with extends: %s", ExtendsDefault)
		}
		return
	}
	if extends.Kind != yaml.ScalarNode || extends.Value != ExtendsDefault {
		p.errf(extends.Line, "extends", "unknown rules %q to extend (want %s, the embedded rules)", extends.Value, ExtendsDefault)
		return
	}
	// Parsed afresh rather than shared with Default(), so that nothing this
	// file adds or replaces can reach the rules other configs use.
	base, err := Parse(DefaultRulesFile, defaultRules)
	if err != nil {
		p.errf(extends.Line, "extends", "the default rules do not load: %v", err)
		return
	}
	p.ext = &extension{base: base}
	maps.Copy(p.r.docs, base.docs)
	for _, t := range base.Thresholds {
		p.r.thresholds[t.Name] = t
	}
	for _, s := range base.Signals {
		p.r.signals[s.Name] = s
	}
	for _, t := range base.Tools {
		p.r.tools[t.ID] = t
	}
	for _, f := range base.Foundations {
		p.r.foundations[f.ID] = f
	}
	for _, c := range base.Capabilities {
		p.r.capabilities[c.ID] = c
	}
}

// checkReplacedSignals rejects a signal that replaces a default one with
// another type, and a new signal that reads a fact the defaults read as
// another type.
func (p *parser) checkReplacedSignals() {
	if p.ext == nil {
		return
	}
	facts := map[string]FactSpec{}
	for _, f := range p.ext.base.Facts() {
		facts[f.Name] = f
	}
	for _, s := range p.r.Signals {
		if old := p.ext.base.Signal(s.Name); old != nil && old.Type != s.Type {
			p.errf(s.Line, "signals."+s.Name+".type", "replaces the default signal of type %s with type %s; the default conditions compare it as %s",
				old.Type, s.Type, old.Type)
			continue
		}
		for _, alt := range s.Source.Alternatives() {
			if f, ok := facts[alt.Fact]; ok && f.Type != s.Type && p.ext.base.Signal(s.Name) == nil {
				p.errf(s.Line, "signals."+s.Name, "reads fact %s as %s, but the default rules read it as %s", alt.Fact, s.Type, f.Type)
			}
		}
	}
}

// addConditions adds each condition of the add_conditions section to its
// capability, ORed with the capability's own condition of that kind.
func (p *parser) addConditions(raw map[string]rawConditions, keys []yamlpos.Key) {
	for _, k := range keys {
		field := "add_conditions." + k.Name
		old := p.r.capabilities[k.Name]
		if old == nil {
			p.errf(k.Line, field, "unknown capability %q", k.Name)
			continue
		}
		// A copy: the capability may be a default one, whose conditions
		// stay as they are for the rules that do not extend them.
		c := *old
		c.foundations = slices.Clone(old.foundations)
		ra := raw[k.Name]
		added := 0
		for _, cond := range []struct {
			kind string
			dst  **Condition
			node *yaml.Node
		}{{KindTrigger, &c.Trigger, &ra.Trigger}, {KindStructural, &c.Structural, &ra.Structural}, {KindMust, &c.Must, &ra.Must}, {KindGate, &c.Gate, &ra.Gate},
			{KindSkip, &c.Skip, &ra.Skip}, {KindLater, &c.Later, &ra.Later}, {KindNow, &c.Now, &ra.Now},
			{"adopted_if", &c.AdoptedIf, &ra.AdoptedIf}} {
			if cond.node.Kind == 0 {
				continue
			}
			added++
			extra := p.condition(cond.node, field+"."+cond.kind)
			*cond.dst = orCondition(*cond.dst, extra)
			for _, l := range extra.Leaves() {
				if id, ok := strings.CutPrefix(l.Signal, FoundationSignalPrefix); ok && !slices.Contains(c.foundations, id) {
					c.foundations = append(c.foundations, id)
				}
			}
		}
		if added == 0 {
			p.errf(k.Line, field, "no condition to add (want trigger, structural, must, gate, skip, later, now or adopted_if)")
			continue
		}
		p.r.capabilities[k.Name] = &c
		if i := slices.Index(p.r.Capabilities, old); i >= 0 {
			p.r.Capabilities[i] = &c
		} else {
			p.r.Capabilities = append(p.r.Capabilities, &c)
		}
	}
}

// orCondition is one more bullet for a condition: old's members with extra
// beside them when old is already a list of alternatives, else both as the
// two alternatives of a new one.
func orCondition(old, extra *Condition) *Condition {
	switch {
	case old == nil:
		return extra
	case old.Any != nil && !old.IsLeaf():
		c := *old
		c.Any = append(slices.Clone(old.Any), extra)
		return &c
	}
	return &Condition{Any: []*Condition{old, extra}, Line: extra.Line}
}

// mergeBase puts the file's own entries and the base rules together: the
// base's order, each replaced entry in its place, then the new ones in the
// file's order. The order of capabilities is the recommendation's final
// tie-break, so a replaced capability keeps its rank.
func (p *parser) mergeBase() {
	for _, s := range p.r.Signals {
		s.File = p.file
	}
	if p.ext == nil {
		return
	}
	base := p.ext.base
	p.r.Thresholds = mergeByName(base.Thresholds, p.r.Thresholds, func(t *Threshold) string { return t.Name })
	p.r.Signals = mergeByName(base.Signals, p.r.Signals, func(s *Signal) string { return s.Name })
	p.r.Tools = mergeByName(base.Tools, p.r.Tools, func(t *Tool) string { return t.ID })
	p.r.Foundations = mergeByName(base.Foundations, p.r.Foundations, func(f *Foundation) string { return f.ID })
	p.r.Capabilities = mergeByName(base.Capabilities, p.r.Capabilities, func(c *Capability) string { return c.ID })
	p.r.Datastores = mergeDatastores(base.Datastores, p.r.Datastores)
	for i, c := range p.r.Capabilities {
		c.Order = i // the base was parsed for this file alone
	}
	p.r.Extends = base.File
}

func mergeByName[T any](base, own []T, name func(T) string) []T {
	byName := map[string]T{}
	for _, x := range own {
		byName[name(x)] = x
	}
	out := make([]T, 0, len(base)+len(own))
	for _, x := range base {
		if mine, ok := byName[name(x)]; ok {
			x = mine
			delete(byName, name(x))
		}
		out = append(out, x)
	}
	for _, x := range own {
		if _, ok := byName[name(x)]; ok {
			out = append(out, x)
		}
	}
	return out
}
