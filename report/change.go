package report

import (
	"encoding/json"
	"maps"
	"math"
	"slices"
	"strings"

	"github.com/capability-exporter/capability_exporter/triggers"
)

// changesOf renders what would change a decision, as the rules engine found
// it (triggers.Decision.Changes): each move as "signal would need to be
// <range> (now <value>)", a pair joined by "and". A value the probable
// reading presumed says so: "(presumed 2h from incident_mttr_seconds)",
// "(measured at least 12)".
func changesOf(rules *triggers.Rules, d *triggers.Decision) []Change {
	out := []Change{}
	for _, ch := range d.Changes {
		var words []string
		for _, m := range ch.Moves {
			words = append(words, moveWords(rules, m))
		}
		out = append(out, Change{To: string(ch.To), If: strings.Join(words, ", and "), Signals: ch.Signals, Set: setOf(rules, ch.Moves)})
	}
	return out
}

// WhatIfValues is the what-if that asks one change: each moved signal with
// the value the rules engine tried for it, by section, as POST
// /api/v1/what-if and the MCP what_if tool take them. A signal that reads a
// fact is declared under facts by the fact's name; any other is an
// override. Values are written as the config writes them: true, 12, 15%,
// 30m.
type WhatIfValues struct {
	Facts     map[string]any `json:"facts,omitempty"`
	Overrides map[string]any `json:"overrides,omitempty"`
}

// setOf is the what-if of a change's moves; nil when a move has no value
// to try (an unbounded range).
func setOf(rules *triggers.Rules, moves []triggers.Move) *WhatIfValues {
	if len(moves) == 0 {
		return nil
	}
	w := &WhatIfValues{}
	for _, m := range moves {
		sig := signalOf(rules, m.Signal)
		try := m.Range.Try
		if math.IsInf(try, 0) || math.IsNaN(try) {
			return nil
		}
		var v any
		switch m.Type {
		case triggers.TypeBool:
			v = try != 0
		case triggers.TypeRatio, triggers.TypeDuration:
			v = triggers.FormatValue(m.Type, try)
		default:
			v = try
		}
		if sig != nil && sig.Source.Fact != "" {
			if w.Facts == nil {
				w.Facts = map[string]any{}
			}
			w.Facts[sig.Source.Fact] = v
			continue
		}
		if w.Overrides == nil {
			w.Overrides = map[string]any{}
		}
		w.Overrides[m.Signal] = v
	}
	return w
}

func signalOf(rules *triggers.Rules, name string) *triggers.Signal {
	if rules == nil {
		return nil
	}
	return rules.Signal(name)
}

// SetArgs are w as assess --set takes it: fact.NAME=VALUE, then
// override.NAME=VALUE, each by name.
func (w *WhatIfValues) SetArgs() []string {
	var out []string
	for _, sec := range []struct {
		prefix string
		values map[string]any
	}{{"fact.", w.Facts}, {"override.", w.Overrides}} {
		for _, name := range slices.Sorted(maps.Keys(sec.values)) {
			out = append(out, sec.prefix+name+"="+literal(sec.values[name]))
		}
	}
	return out
}

// AssessLine is the command that asks w of assess's own evaluation.
func (w *WhatIfValues) AssessLine() string {
	var b strings.Builder
	b.WriteString("capability_exporter assess")
	for _, a := range w.SetArgs() {
		b.WriteString(" --set " + a)
	}
	return b.String()
}

// CurlLine is the command that asks w of the exporter at base (scheme and
// host, no trailing slash) through POST /api/v1/what-if.
func (w *WhatIfValues) CurlLine(base string) string {
	body, _ := json.Marshal(w)
	return "curl -s -H 'Content-Type: application/json' -d '" + string(body) + "' " + base + "/api/" + APIVersion + "/what-if"
}

func literal(v any) string {
	switch v := v.(type) {
	case float64:
		return triggers.FormatValue(triggers.TypeNumber, v)
	case bool:
		if v {
			return "true"
		}
		return "false"
	case string:
		return v
	}
	return ""
}

func moveWords(rules *triggers.Rules, m triggers.Move) string {
	now := "now unknown"
	if m.Was.Known {
		now = "now " + Human(m.Type, m.Was.Number)
		if p := m.Presumed; p != nil {
			// The search moves from the probable reading: a value the
			// team never declared is a presumption, and a bound is what
			// a measure proved, not the value itself.
			v := Human(m.Type, m.Was.Number)
			switch {
			case p.LowerBound:
				now = "measured at least " + v
			case p.UpperBound:
				now = "measured at most " + v
			case p.From != "":
				now = "presumed " + v + " from " + p.From
			default:
				now = "presumed " + v
			}
		}
	}
	if id, ok := strings.CutPrefix(m.Signal, triggers.ToolSignalPrefix); ok {
		title := id
		if rules != nil {
			if t := rules.Tool(id); t != nil {
				title = t.Title
			}
		}
		detected := func(v float64) string {
			if v != 0 {
				return "detected"
			}
			return "not detected"
		}
		if m.Was.Known {
			now = "now " + detected(m.Was.Number)
		}
		return title + " would need to be " + detected(m.Range.Lo) + " (" + now + ")"
	}
	return m.Signal + " would need to be " + rangeWords(m.Range, m.Type) + " (" + now + ")"
}
