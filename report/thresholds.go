package report

import "github.com/capability-exporter/capability_exporter/triggers"

// Threshold is a named number of the rules with the value in force and whose
// it is.
type Threshold struct {
	Name        string  `json:"name"`
	Help        string  `json:"help"` // what the number means; for the rules' own, why that value
	Type        string  `json:"type"` // number, duration or ratio
	Value       float64 `json:"value"`
	ValueText   string  `json:"value_text"`
	Default     float64 `json:"default"` // the rules' value
	DefaultText string  `json:"default_text"`
	// SetBy is organisation when the config's thresholds: sets the value;
	// framework when it is the default rules' and the framework states the
	// number (the threshold quotes it); rules when the default rules chose
	// it themselves, or a rules file of the organisation's gives it.
	SetBy string `json:"set_by"`
	// Text is the value with whose it is: "15% (yours; the framework says
	// 20%)", "20% (the framework's)", "50% (these rules' own; the framework
	// gives no number)", "3 (your rules')".
	Text string `json:"text"`
	// note is Text's part in parentheses, for conditions to show.
	note string
}

// The values of Threshold.SetBy.
const (
	SetByOrganisation = "organisation"
	SetByFramework    = "framework"
	SetByRules        = "rules"
)

func thresholdOf(t *triggers.Threshold) Threshold {
	out := Threshold{Name: t.Name, Help: t.Help, Type: string(t.Type), Value: t.Value,
		ValueText: Human(t.Type, t.Value), Default: t.Default, DefaultText: Human(t.Type, t.Default)}
	// Whose the default is: the framework's, where the default rules quote
	// the framework's number; the default rules' own, where the framework
	// gives none; or the organisation's own rules file's.
	var whose, whoseOwn string
	switch {
	case t.File != triggers.DefaultRulesFile:
		whose, whoseOwn = "your rules say", "your rules'"
		out.SetBy = SetByRules
	case t.Seed == "":
		whose, whoseOwn = "these rules say", "these rules' own; the framework gives no number"
		out.SetBy = SetByRules
	default:
		whose, whoseOwn = "the framework says", "the framework's"
		out.SetBy = SetByFramework
	}
	note := whoseOwn
	if t.Own {
		out.SetBy = SetByOrganisation
		note = "yours; " + whose + " " + out.DefaultText
	}
	out.Text, out.note = out.ValueText+" ("+note+")", note
	return out
}
