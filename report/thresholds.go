package report

import "github.com/capability-exporter/capability_exporter/triggers"

// Threshold is a named number of the rules with the value in force and whose
// it is.
type Threshold struct {
	Name        string  `json:"name"`
	Help        string  `json:"help"` // the framework's words for the number
	Type        string  `json:"type"` // number, duration or ratio
	Value       float64 `json:"value"`
	ValueText   string  `json:"value_text"`
	Default     float64 `json:"default"` // the rules' value
	DefaultText string  `json:"default_text"`
	// SetBy is organisation when the config's thresholds: sets the value,
	// framework when it is the default rules', rules when a rules file of
	// the organisation's gives it.
	SetBy string `json:"set_by"`
	// Text is the value with whose it is: "15% (yours; the framework says
	// 20%)", "20% (the framework's)".
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
	// Whose the default is: the framework's, as the default rules encode
	// it, or the organisation's own rules file's.
	whose, whoseOwn := "the framework says", "the framework's"
	out.SetBy = SetByFramework
	if t.File != triggers.DefaultRulesFile {
		whose, whoseOwn = "your rules say", "your rules'"
		out.SetBy = SetByRules
	}
	note := whoseOwn
	if t.Own {
		out.SetBy = SetByOrganisation
		note = "yours; " + whose + " " + out.DefaultText
	}
	out.Text, out.note = out.ValueText+" ("+note+")", note
	return out
}
