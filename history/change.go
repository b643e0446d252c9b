package history

import (
	"encoding/json"
	"time"

	"github.com/capability-exporter/capability_exporter/triggers"
)

// Change is one published change of a capability's decision, with its
// cause: the comparisons whose truth flipped and the signals behind them.
type Change struct {
	Capability string         `json:"capability"`
	Time       time.Time      `json:"time"`
	From       triggers.State `json:"from"`
	To         triggers.State `json:"to"`
	// NeedFrom and NeedTo are the need before and after; a change of need
	// alone is a change too.
	NeedFrom triggers.Need `json:"need_from"`
	NeedTo   triggers.Need `json:"need_to"`
	// DecidedBy is the step of the ladder that decided the new state.
	DecidedBy  string        `json:"decided_by"`
	Conditions []FlippedTerm `json:"conditions"`
	Signals    []MovedSignal `json:"signals"`
}

// FlippedTerm is a comparison (or a tool's detection) whose truth differs
// between the two decisions.
type FlippedTerm struct {
	Kind      string         `json:"kind"`
	Condition string         `json:"condition"`
	Says      string         `json:"says,omitempty"`
	From      triggers.Truth `json:"from"`
	To        triggers.Truth `json:"to"`
}

// MovedSignal is a signal read by a flipped comparison, old and new.
type MovedSignal struct {
	Signal string             `json:"signal"`
	Type   triggers.ValueType `json:"type"`
	From   triggers.Value     `json:"-"`
	To     triggers.Value     `json:"-"`
}

// diff records the change from the published decision old to d.
func diff(old, d triggers.Decision, now time.Time) Change {
	ch := Change{Capability: d.Capability, Time: now, From: old.State, To: d.State, NeedFrom: old.Need, NeedTo: d.Need, DecidedBy: d.DecidedBy,
		Conditions: []FlippedTerm{}, Signals: []MovedSignal{}}
	type term struct{ kind, expr string }
	before := map[term]triggers.ConditionResult{}
	for _, c := range old.Conditions {
		before[term{c.Kind, c.Expr}] = c
	}
	seen := map[term]bool{}
	moved := map[string]bool{}
	for _, c := range d.Conditions {
		k := term{c.Kind, c.Expr}
		o, ok := before[k]
		if seen[k] || !ok || o.Truth == c.Truth {
			continue
		}
		seen[k] = true
		ch.Conditions = append(ch.Conditions, FlippedTerm{Kind: c.Kind, Condition: c.Expr, Says: c.Says, From: o.Truth, To: c.Truth})
		if !moved[c.Signal] {
			moved[c.Signal] = true
			ch.Signals = append(ch.Signals, MovedSignal{Signal: c.Signal, Type: c.Type, From: o.Value, To: c.Value})
		}
	}
	detected := map[string]triggers.ToolResult{}
	for _, t := range old.Tools {
		detected[t.ID] = t
	}
	for _, t := range d.Tools {
		if o, ok := detected[t.ID]; ok && o.Detected != t.Detected {
			ch.Conditions = append(ch.Conditions, FlippedTerm{Kind: triggers.KindAdopted,
				Condition: triggers.ToolSignalPrefix + t.ID + " detected", From: o.Detected, To: t.Detected})
		}
	}
	return ch
}

// String reads "cost_growth_ratio 19% → 25% (prometheus)".
func (m MovedSignal) String() string {
	s := m.Signal + " " + formatValue(m.Type, m.From) + " → " + formatValue(m.Type, m.To)
	if src := m.To.Source; src != "" {
		s += " (" + src + ")"
	}
	return s
}

func formatValue(t triggers.ValueType, v triggers.Value) string {
	if !v.Known {
		return "unknown"
	}
	return triggers.FormatValue(t, v.Number)
}

// MarshalJSON writes both values as the rules would write them and in base
// units (null when unknown), each with its source and, when unknown, why.
func (m MovedSignal) MarshalJSON() ([]byte, error) {
	type side struct {
		Value  *float64 `json:"value"`
		Text   string   `json:"text"`
		Source string   `json:"source,omitempty"`
		Reason string   `json:"reason,omitempty"`
	}
	sideOf := func(v triggers.Value) side {
		s := side{Text: formatValue(m.Type, v), Source: v.Source}
		if v.Known {
			n := v.Number
			s.Value = &n
		} else {
			s.Reason = v.Reason
		}
		return s
	}
	return json.Marshal(struct {
		Signal string             `json:"signal"`
		Type   triggers.ValueType `json:"type"`
		From   side               `json:"from"`
		To     side               `json:"to"`
	}{m.Signal, m.Type, sideOf(m.From), sideOf(m.To)})
}
