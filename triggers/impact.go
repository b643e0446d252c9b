package triggers

import (
	"fmt"
	"slices"

	"go.yaml.in/yaml/v3"

	"github.com/capability-exporter/capability_exporter/yamlpos"
)

// The framework's rule "Measure impact: every capability must solve a
// measurable problem" asks, after adoption, whether the problem got
// smaller. A capability's impact signals are the measures whose change
// shows it; each has a history in the store (a Prometheus query or alert
// history, or a Kubernetes measure the store keeps as the exporter's own
// capability_signal_value series), so that it can be read before adoption
// as well as since.

// Better says which way an impact signal moves when the capability helps.
type Better string

// The directions an impact signal improves in.
const (
	BetterLower  Better = "lower"
	BetterHigher Better = "higher"
)

// ImpactSignal is one signal whose change shows a capability's impact.
type ImpactSignal struct {
	Signal string
	// Better is the direction the capability's trigger wants the signal to
	// move: lower for a pain the trigger reads with > (time to resolve),
	// higher for one it reads with < (a coverage ratio).
	Better Better
	Line   int
}

// rawImpactSignal is an impact signal as written: a signal name, or a
// mapping that also says which way is better.
type rawImpactSignal struct {
	Signal string `yaml:"signal"`
	Better string `yaml:"better"`
}

// impact reads a capability's impact: list. A signal must exist, have a
// history in the store, and move in a direction the rules state: written
// as better:, or read from the trigger and now conditions that compare it.
func (p *parser) impact(c *Capability, n *yaml.Node, field string) {
	if n.Kind == 0 {
		return
	}
	if n.Kind != yaml.SequenceNode {
		p.errf(n.Line, field, "want a list of signals")
		return
	}
	seen := map[string]bool{}
	for i, item := range n.Content {
		f := fmt.Sprintf("%s[%d]", field, i)
		var raw rawImpactSignal
		switch item.Kind {
		case yaml.ScalarNode:
			raw.Signal = item.Value
		case yaml.MappingNode:
			if err := item.Decode(&raw); err != nil {
				p.errf(item.Line, f, "want signal: and better:")
				continue
			}
			if err := knownFields(item, "signal", "better"); err != "" {
				p.errf(item.Line, f, "%s", err)
				continue
			}
		default:
			p.errf(item.Line, f, "want a signal name, or signal: and better:")
			continue
		}
		is := &ImpactSignal{Signal: raw.Signal, Better: Better(raw.Better), Line: item.Line}
		sig := p.r.Signal(is.Signal)
		switch {
		case sig == nil:
			p.errf(item.Line, f, "unknown signal %q", is.Signal)
			continue
		case seen[is.Signal]:
			p.errf(item.Line, f, "signal %q named twice", is.Signal)
			continue
		case !HasStoreHistory(sig):
			p.errf(item.Line, f, "signal %q has no history in the store: an impact signal is a prometheus query or alert_history, or a kubernetes measure (kept as capability_signal_value)", is.Signal)
			continue
		}
		seen[is.Signal] = true
		switch is.Better {
		case "":
			if is.Better = wantedDirection(c, is.Signal); is.Better == "" {
				p.errf(item.Line, f, "no trigger or now condition of %s compares %s with < or >: say which way is better (better: lower or higher)", c.ID, is.Signal)
				continue
			}
		case BetterLower, BetterHigher:
		default:
			p.errf(item.Line, f+".better", "unknown direction %q (want lower or higher)", raw.Better)
			continue
		}
		c.Impact = append(c.Impact, is)
	}
}

// knownFields returns a problem naming the first key of a mapping that is
// not one of names, or "".
func knownFields(n *yaml.Node, names ...string) string {
	for k := range yamlpos.Pairs(n) {
		if !slices.Contains(names, k.Value) {
			return fmt.Sprintf("unknown field %q (want %v)", k.Value, names)
		}
	}
	return ""
}

// HasStoreHistory reports whether a signal's past can be read from the
// store: one of its alternatives is a Prometheus query or alert history,
// or a Kubernetes measure, whose values the store keeps as the exporter's
// own capability_signal_value series.
func HasStoreHistory(s *Signal) bool {
	for _, alt := range s.Source.Alternatives() {
		if alt.Kubernetes != "" {
			return true
		}
		if p := alt.Prometheus; p != nil && (p.Query != "" || p.AlertHistory != nil) {
			return true
		}
	}
	return false
}

// wantedDirection reads which way the capability's trigger and now
// conditions want a signal to go: a pain they read as "more than" is
// better lower. Conditions under a not are read the other way round.
func wantedDirection(c *Capability, signal string) Better {
	var found Better
	var walk func(cond *Condition, negated bool)
	walk = func(cond *Condition, negated bool) {
		if cond == nil || found != "" {
			return
		}
		if cond.IsLeaf() {
			if cond.Signal != signal {
				return
			}
			lower := cond.Op == OpGT || cond.Op == OpGE
			higher := cond.Op == OpLT || cond.Op == OpLE
			if negated {
				lower, higher = higher, lower
			}
			switch {
			case lower:
				found = BetterLower
			case higher:
				found = BetterHigher
			}
			return
		}
		walk(cond.Not, !negated)
		for _, m := range append(slices.Clone(cond.Any), cond.All...) {
			walk(m, negated)
		}
	}
	walk(c.Trigger, false)
	walk(c.Now, false)
	return found
}
