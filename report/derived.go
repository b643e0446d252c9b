package report

import (
	"html/template"
	"strings"

	"github.com/capability-exporter/capability_exporter/triggers"
)

// Facts that the rules derive from measures when they are not declared
// (priority1_stable from the parts of Priority 1, network_policies_sufficient
// from default-deny coverage) are shown with their parts: each comparison of
// the derive, with the value it read, as the rules engine evaluated it.

// derivedFrom is a signal's derivation as JSON gives it; nil for a signal
// that is not derived.
func (b builder) derivedFrom(s triggers.SignalResult) []Condition {
	if len(s.Derivation) == 0 {
		return nil
	}
	out := make([]Condition, 0, len(s.Derivation))
	for _, c := range s.Derivation {
		out = append(out, b.condition(c))
	}
	return out
}

// partVerdict says, in a part's own terms, what it shows: a true_if part
// that holds supports "true", a false_if part that holds settles "false".
func partVerdict(c Condition) string {
	switch {
	case c.Holds == nil:
		return "unknown"
	case !*c.Holds:
		return "does not hold"
	case c.Kind == triggers.KindFalseIf:
		return "holds: makes it false"
	}
	return "holds"
}

// derived writes the facts derived from measures, each with its parts, to
// the Markdown record.
func (m *mdWriter) derived(r *Report) {
	var sigs []Signal
	for _, s := range r.Signals {
		if len(s.DerivedFrom) > 0 {
			sigs = append(sigs, s)
		}
	}
	if len(sigs) == 0 {
		return
	}
	m.line("## Facts derived from measures\n")
	m.line("A fact that is not declared is derived from what the sources measure, where the rules say how; " +
		"a declared value outranks it. Each part is shown with the value it read.\n")
	for _, s := range sigs {
		value := "unknown"
		if s.Value != nil {
			value = s.Text
		}
		m.f("- %s is **%s** (%s)\n", code(s.Name), md(value), md(cell(s.Source)))
		for _, c := range s.DerivedFrom {
			m.line("  - " + mdPart(c))
		}
	}
	m.line("")
}

func mdPart(c Condition) string {
	var b strings.Builder
	b.WriteString(code(c.Kind) + " ")
	if c.Says != nil {
		b.WriteString(md(*c.Says) + ": ")
	}
	b.WriteString(code(c.Expr) + " " + md(partVerdict(c)))
	if c.Value == nil {
		if c.Reason != nil {
			b.WriteString(" (" + code(*c.Reason) + ")")
		}
		return b.String()
	}
	b.WriteString(", " + code(c.Signal) + " is " + md(c.ValueText))
	return b.String()
}

// derivedFuncs are the page template's helpers for derived facts.
var derivedFuncs = template.FuncMap{"partVerdict": partVerdict}
