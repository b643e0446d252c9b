package report

import (
	"fmt"
	"strings"

	"github.com/capability-exporter/capability_exporter/triggers"
)

// The two answers of a decision, need and timing, in words. A probable
// answer always says "probably": it rests on judgments the team has not
// declared, and is never shown as settled.

// needWords is a need for people: yes, probably, probably not, no, unknown.
func needWords(need string) string { return stateWords(need) }

// timingWords is a timing for people.
func timingWords(timing string) string {
	if timing == string(triggers.TimingNone) {
		return "neither now nor later"
	}
	return stateWords(timing)
}

// DecisionLabel is the decision as the page and assess show it: "probably
// now" where the state rests on the probable reading.
func (c *Capability) DecisionLabel() string {
	if c.Probable {
		return "probably " + stateWords(c.Decision)
	}
	return stateWords(c.Decision)
}

// NeedLabel is the need in words.
func (c *Capability) NeedLabel() string { return needWords(c.Need) }

// TimingLabel is the timing in words, labelled probable with the decision:
// the probable reading decides it too.
func (c *Capability) TimingLabel() string {
	if !c.hasTiming {
		return "–" // not asked: not needed, or already in place
	}
	t := timingWords(c.Timing)
	if c.Probable && c.Timing != string(triggers.TimingUnknown) && c.Timing != "" {
		return "probably " + t
	}
	return t
}

// NeedClass is the CSS class of the need: probable answers share one look.
func (c *Capability) NeedClass() string { return "n-" + c.Need }

// Undecided says whether the decision is unknown or probable: then the states
// still possible and what settles them are shown.
func (c *Capability) Undecided() bool {
	return c.Decision == string(triggers.StateUnknown) || c.Probable
}

// PossibleWords lists the states still possible.
func (c *Capability) PossibleWords() string {
	words := make([]string, len(c.Possible))
	for i, s := range c.Possible {
		words[i] = stateWords(s)
	}
	return strings.Join(words, ", ")
}

// DecidedText says which step decided, or that nothing has yet.
func (c *Capability) DecidedText() string {
	switch {
	case c.DecidedBy == "" || (c.Decision == string(triggers.StateUnknown) && !c.Probable):
		return "Undecided"
	case c.Probable:
		return "Probably, by the " + decidedByWords(c.DecidedBy) + " (on the probable reading)"
	}
	return "Decided by the " + decidedByWords(c.DecidedBy)
}

// OutweighedBy is the step that outweighed the conditions under
// "Outweighed", in words: "the NOT bullet".
func (c *Capability) OutweighedBy() string { return "the " + decidedByWords(c.DecidedBy) }

// Remains says which motive of the trigger still holds beside a NOT bullet
// that holds but does not answer it, so the capability stays relevant: ""
// when no NOT bullet holds or none is left unanswered.
func (c *Capability) Remains() string {
	if len(c.Motives) == 0 || len(c.NotBullets) == 0 || c.Decision == string(triggers.StateSkip) {
		return ""
	}
	var skips []string
	for _, a := range c.NotBullets {
		skips = append(skips, a.Skip.Says)
	}
	var motives []string
	for _, m := range c.Motives {
		motives = append(motives, m.Says)
	}
	what := "this motive, which remains"
	if len(motives) > 1 {
		what = "these motives, which remain"
	}
	return fmt.Sprintf("A NOT bullet holds (%s), but it does not answer %s: %s.",
		strings.Join(skips, "; "), what, strings.Join(motives, "; "))
}

// outweighedWords is one outweighed condition in a sentence that says how it
// lost: an obligation a structural NOT case outweighs is met another way or
// moot, since there is nothing for the capability to act on.
func outweighedWords(o Outweighed) string {
	switch {
	case o.By == triggers.KindStructural && o.Kind == triggers.KindMust:
		return "obligation met another way or moot, with nothing for the capability to act on: " + o.Says
	case o.By == triggers.KindStructural && o.Kind == triggers.KindTrigger:
		return "motive with nothing to act on: " + o.Says
	case o.Kind == triggers.KindMust:
		return "obligation: " + o.Says
	case o.Kind == triggers.KindTrigger:
		return "motive: " + o.Says
	case o.Kind == triggers.KindSkip:
		return "NOT bullet: " + o.Says
	}
	return o.Kind + " bullet: " + o.Says
}

// FirstRun is what the page and assess open with: what to do to get
// decisions. Sources down, each with the first error; the sources not
// configured; and the questions that settle the most decisions, as
// commented facts: lines ready to uncomment.
type FirstRun struct {
	Down          []SourceCause
	NotConfigured []string
	// Waiting names the undecided capabilities that no fact can settle
	// until a source down or not configured answers: they ask nothing.
	Waiting   []string
	Facts     []string // commented facts: lines, most decisions settled first
	MoreFacts int      // questions left out to keep the section short
}

// SourceCause is a source that is down, with the one cause to fix first.
type SourceCause struct {
	Name, Cause string
	Fix         string // how to mend it, where the fault is a known one
}

// firstRunLines caps the section: sources and facts together.
const firstRunLines = 10

// FirstRun gathers the section from r.
func (r *Report) FirstRun() FirstRun {
	var out FirstRun
	lines := 0
	for _, s := range r.Sources {
		switch {
		case !s.Configured:
			out.NotConfigured = append(out.NotConfigured, s.Name)
		case !s.Up:
			cause, fix := derefString(s.Fault), derefString(s.Fix)
			if cause == "" {
				cause, fix = sourceFault(s.Name, s.Errors)
			}
			out.Down = append(out.Down, SourceCause{Name: s.Name, Cause: cause, Fix: fix})
			lines++
		}
	}
	if len(out.NotConfigured) > 0 {
		lines++
	}
	if len(out.Down) > 0 || len(out.NotConfigured) > 0 {
		for _, c := range r.Capabilities {
			if c.Decision == string(triggers.StateUnknown) && len(c.Asks) == 0 {
				out.Waiting = append(out.Waiting, c.Title)
			}
		}
		if len(out.Waiting) > 0 {
			lines++
		}
	}
	all := questionLines(r.Questions)
	for i, l := range all {
		if lines >= firstRunLines-1 { // one line for the heading
			out.MoreFacts = len(all) - i
			break
		}
		out.Facts = append(out.Facts, l)
		lines++
	}
	return out
}

// questionLines are the questions as commented facts: lines, ready to
// uncomment, the ones that settle the most decisions first.
func questionLines(qs []Question) []string {
	width := 0
	for _, q := range qs {
		width = max(width, len(q.key())+len(q.example()))
	}
	out := make([]string, 0, len(qs))
	for _, q := range qs {
		kv := q.key() + ": " + q.example()
		out = append(out, fmt.Sprintf("# %-*s   # settles %s — %s", width+2, kv,
			strings.Join(q.Settles, ", "), q.Question))
	}
	return out
}

// Empty says whether nothing stands between the user and the decisions.
func (f FirstRun) Empty() bool {
	return len(f.Down) == 0 && len(f.NotConfigured) == 0 && len(f.Facts) == 0 && len(f.Waiting) == 0
}

func (q Question) key() string {
	if q.Fact != "" {
		return q.Fact
	}
	return q.Signal
}

// example is a value to uncomment: true for a yes/no judgment; for others, a
// value of the right type to set.
func (q Question) example() string {
	switch triggers.ValueType(q.Type) {
	case triggers.TypeBool:
		return "true"
	case triggers.TypeDuration:
		return "1h"
	case triggers.TypeRatio:
		return "50%"
	}
	return "1"
}
