package report

import (
	"cmp"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/capability-exporter/capability_exporter/impact"
	"github.com/capability-exporter/capability_exporter/triggers"
)

// Impact is an adopted capability's impact since adoption: each impact
// signal over the window before adoption and the equal window since, and
// the exit question where none improved after the judging period.
type Impact struct {
	// AdoptedAt is when it was adopted, null while not known; AdoptedFrom
	// says how that is known: declared (facts.adopted), kubernetes (the
	// earliest running workload or object of a detected tool) or store
	// (kube-state-metrics' kube_*_created).
	AdoptedAt   *time.Time `json:"adopted_at"`
	AdoptedFrom string     `json:"adopted_from"`
	// Tools are the detected tools' titles.
	Tools []string `json:"tools"`
	// WindowSeconds is W, the length of each window: the time since
	// adoption, at most 30 days. The window before ends at adoption; the
	// one since starts there.
	WindowSeconds float64 `json:"window_seconds"`
	// TooEarly says the window is too young to judge ("too early: N days
	// since adoption"); Unknown why nothing could be measured. Null
	// otherwise.
	TooEarly *string        `json:"too_early"`
	Unknown  *string        `json:"unknown"`
	Signals  []ImpactSignal `json:"signals"`
	// ExitQuestion is the framework's exit question, raised when no impact
	// signal improved by the margin after the judging period; Exit then
	// lists each detected tool's way back, from the rules.
	ExitQuestion *string           `json:"exit_question"`
	Exit         []impact.ExitPath `json:"exit"`
	MeasuredAt   time.Time         `json:"measured_at"`
	// Margin is how far a signal must move the wanted way, against its
	// value before adoption, to count as improved; JudgingPeriodSeconds how
	// long after adoption the exit question is raised where none did. Both
	// are the config's impact: settings in force; null where nothing was
	// judged.
	Margin               *float64 `json:"margin"`
	JudgingPeriodSeconds *float64 `json:"judging_period_seconds"`
}

// ImpactSignal is one impact signal before adoption and since.
type ImpactSignal struct {
	Signal string `json:"signal"`
	Help   string `json:"help"`
	Type   string `json:"type"`
	// Better is the direction the capability's trigger wants: lower or
	// higher.
	Better string `json:"better"`
	// Before and After are the signal's values over the two windows, null
	// while unknown, with the reason beside.
	Before       *float64 `json:"before"`
	BeforeText   string   `json:"before_text"`
	BeforeReason *string  `json:"before_reason"`
	After        *float64 `json:"after"`
	AfterText    string   `json:"after_text"`
	AfterReason  *string  `json:"after_reason"`
	// BeforeReasonCode and AfterReasonCode are the reasons as codes
	// (triggers.ReasonCode); null where the reason is.
	BeforeReasonCode *triggers.ReasonCode `json:"before_reason_code"`
	AfterReasonCode  *triggers.ReasonCode `json:"after_reason_code"`
	// Ratio is after / before (capability_impact_ratio), and Change the
	// relative move (after - before) / |before|; null while unknown.
	Ratio    *float64 `json:"ratio"`
	Change   *float64 `json:"change"`
	Improved bool     `json:"improved"`
	// Text is the comparison in one sentence.
	Text string `json:"text"`
}

// impactOf turns an impact result into the report's shape.
func (b builder) impactOf(r impact.Result) *Impact {
	out := &Impact{AdoptedFrom: r.Adopted.From, Tools: append([]string{}, r.Tools...), WindowSeconds: r.Window,
		Signals: []ImpactSignal{}, Exit: append([]impact.ExitPath{}, r.Exit...), MeasuredAt: r.MeasuredAt.UTC()}
	if !r.Adopted.Time.IsZero() {
		t := r.Adopted.Time.UTC()
		out.AdoptedAt = &t
	}
	if r.TooEarly != "" {
		out.TooEarly = &r.TooEarly
	}
	if r.Unknown != "" {
		u := b.clean.clean(r.Unknown)
		out.Unknown = &u
	}
	if r.ExitQuestion != "" {
		out.ExitQuestion = &r.ExitQuestion
	}
	if r.Options.Margin > 0 {
		m, j := r.Options.Margin, r.Options.Judging.Seconds()
		out.Margin, out.JudgingPeriodSeconds = &m, &j
	}
	what := strings.Join(r.Tools, " and ")
	if what == "" {
		what = "adoption"
	}
	for _, s := range r.Signals {
		is := ImpactSignal{Signal: s.Signal, Help: s.Help, Type: string(s.Type), Better: string(s.Better), Improved: s.Improved}
		var before, after unknown
		is.Before, is.BeforeText, before = b.impactValue(s, s.Before)
		is.After, is.AfterText, after = b.impactValue(s, s.After)
		is.BeforeReason, is.BeforeReasonCode = before.reason, before.code
		is.AfterReason, is.AfterReasonCode = after.reason, after.code
		if s.RatioKnown {
			ratio, change := s.Ratio, s.Change
			is.Ratio, is.Change = &ratio, &change
		}
		is.Text = impactText(s, r.Window, what)
		out.Signals = append(out.Signals, is)
	}
	return out
}

func (b builder) impactValue(s impact.Signal, v impact.Value) (*float64, string, unknown) {
	if !v.Known {
		return nil, "unknown", unknownOf(b.clean.clean(v.Reason), cmp.Or(v.Code, triggers.CodeNoData))
	}
	n := v.Number
	return &n, Human(s.Type, n), unknown{}
}

// impactText says the comparison as people read it: "incident_mttr_seconds
// 2h30m in the 20 days before Jaeger, 40m since: -73%".
func impactText(s impact.Signal, window float64, what string) string {
	if window <= 0 {
		// Nothing was measured: no windows to speak of.
		return s.Signal + ": not measured"
	}
	days := int(math.Round(window / 86400))
	before, after := "unknown", "unknown"
	if s.Before.Known {
		before = Human(s.Type, s.Before.Number)
	}
	if s.After.Known {
		after = Human(s.Type, s.After.Number)
	}
	text := fmt.Sprintf("%s %s in the %d days before %s, %s since", s.Signal, before, days, what, after)
	switch {
	case s.RatioKnown:
		if pct := math.Round(s.Change * 100); pct == 0 {
			text += ": ±0%"
		} else {
			text += fmt.Sprintf(": %+.0f%%", pct)
		}
		if s.Improved {
			text += " (improved)"
		} else {
			text += " (not improved)"
		}
	case s.Before.Known && s.After.Known:
		text += ": no ratio to 0"
	}
	return text
}

// SignalReasons is why a signal's values are unknown, each reason once:
// "before: …", "since: …", or "before and since: …" where both sides share
// it. Empty where the whole impact is unknown (Impact.Unknown says why) or
// both values are known.
func (im *Impact) SignalReasons(s ImpactSignal) []string {
	if im.Unknown != nil {
		return nil
	}
	b, a := derefString(s.BeforeReason), derefString(s.AfterReason)
	switch {
	case b != "" && b == a:
		return []string{"before and since: " + b}
	case b != "" && a != "":
		return []string{"before: " + b, "since: " + a}
	case b != "":
		return []string{"before: " + b}
	case a != "":
		return []string{"since: " + a}
	}
	return nil
}

// Settings says the impact settings in force, as the page and the record
// print them; empty where nothing was judged.
func (im *Impact) Settings() string {
	if im.Margin == nil || im.JudgingPeriodSeconds == nil {
		return ""
	}
	return fmt.Sprintf("Improved means moved the wanted way by %s or more; the exit question comes %d days after adoption where none did.",
		Human(triggers.TypeRatio, *im.Margin), int(math.Round(*im.JudgingPeriodSeconds/86400)))
}
