package report

import (
	"strings"

	"github.com/capability-exporter/capability_exporter/triggers"
)

// changesOf renders what would change a decision, as the rules engine found
// it (triggers.Decision.Changes): each move as "signal would need to be
// <range> (now <value>)", a pair joined by "and".
func changesOf(rules *triggers.Rules, d *triggers.Decision) []Change {
	out := []Change{}
	for _, ch := range d.Changes {
		var words []string
		for _, m := range ch.Moves {
			words = append(words, moveWords(rules, m))
		}
		out = append(out, Change{To: string(ch.To), If: strings.Join(words, ", and "), Signals: ch.Signals})
	}
	return out
}

func moveWords(rules *triggers.Rules, m triggers.Move) string {
	now := "unknown"
	if m.Was.Known {
		now = Human(m.Type, m.Was.Number)
		if m.Was.LowerBound {
			now = "at least " + now
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
			now = detected(m.Was.Number)
		}
		return title + " would need to be " + detected(m.Range.Lo) + " (now " + now + ")"
	}
	return m.Signal + " would need to be " + rangeWords(m.Range, m.Type) + " (now " + now + ")"
}
