package report

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/capability-exporter/capability_exporter/triggers"
)

// WriteMarkdown renders r as an architecture decision record: title, date
// and status, the recommended next step first, the context (sources and
// their health), then one section per capability with its decision, why,
// what would change it and the framework's questions still open. It is
// meant to be pasted into an ADR unedited, so everything that came from
// outside (reasons, errors, the framework's words) is escaped.
func WriteMarkdown(w io.Writer, r *Report) error {
	m := &mdWriter{}
	m.header(r)
	m.firstRun(r)
	m.recommended(r)
	m.decisions(r)
	m.changes(r)
	m.context(r)
	m.thresholds(r)
	m.derived(r)
	m.leftOut(r)
	for i := range r.Capabilities {
		m.capability(&r.Capabilities[i])
	}
	m.questions(r)
	_, err := io.WriteString(w, m.b.String())
	return err
}

type mdWriter struct{ b strings.Builder }

func (m *mdWriter) f(format string, args ...any) { fmt.Fprintf(&m.b, format, args...) }
func (m *mdWriter) line(s string)                { m.b.WriteString(s + "\n") }

func (m *mdWriter) header(r *Report) {
	m.f("# Platform capability decisions, %s\n\n", r.GeneratedAt.Format("2006-01-02"))
	m.f("- Date: %s\n", r.GeneratedAt.Format("2006-01-02 15:04 MST"))
	m.line("- Status: proposed")
	if r.Cluster != "" {
		m.f("- Cluster: %s\n", md(r.Cluster))
	}
	by := "capability_exporter"
	if r.ExporterVersion != "" {
		by += " " + r.ExporterVersion
	}
	m.f("- Evidence: %s; evaluated by %s at %s (took %s), rules %s, config %s\n\n",
		evidenceWords(r), md(by), r.EvaluatedAt.Format(time.RFC3339), seconds(r.EvaluationDurationSeconds), rulesWords(r), code(r.ConfigFile))
}

// evidenceWords says what the decisions rest on: "live data" only for
// values a source measured, the rest by kind.
func evidenceWords(r *Report) string {
	var measured, overridden, declared, presumedOrDerived, unknown int
	for _, s := range r.Signals {
		switch {
		case s.Value == nil:
			unknown++
		case s.Source == "override":
			overridden++
		case s.Source == "fact":
			declared++
		case s.Source == "derived" || s.Source == "presumed":
			presumedOrDerived++
		default:
			measured++
		}
	}
	var parts []string
	if measured > 0 {
		parts = append(parts, fmt.Sprintf("live data: %d values measured by the sources", measured))
	} else {
		parts = append(parts, "no live data: no source measured any value")
	}
	for _, p := range []struct {
		n    int
		what string
	}{{overridden, "overridden in the config"}, {declared, "declared as facts"}, {presumedOrDerived, "derived from others"}, {unknown, "unknown"}} {
		if p.n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", p.n, p.what))
		}
	}
	return strings.Join(parts, ", ")
}

func (m *mdWriter) recommended(r *Report) {
	m.line("## Recommended next step\n")
	var nows []string
	var next *Capability
	for i := range r.Capabilities {
		c := &r.Capabilities[i]
		if c.Decision == string(triggers.StateNow) {
			nows = append(nows, md(c.Title))
		}
		if c.RecommendedNext {
			next = c
		}
	}
	if next == nil {
		m.line("None: no capability's decision is now. The sections below say what would change that.\n")
		return
	}
	m.f("**%s** (complexity %s). %s\n\n", md(next.Title), md(stateWords(next.Complexity)), md(next.Summary))
	if len(nows) > 1 {
		m.f("The framework takes on one capability at a time: of those whose decision is now (%s), "+
			"the lowest complexity comes first.\n\n", strings.Join(nows, ", "))
	}
}

func (m *mdWriter) decisions(r *Report) {
	m.line("## Decisions\n")
	m.line("| Capability | Decision | Need | Timing | Complexity | Why |")
	m.line("| --- | --- | --- | --- | --- | --- |")
	for _, c := range r.Capabilities {
		decision := "**" + c.DecisionLabel() + "**"
		if c.RecommendedNext {
			decision += " (recommended next step)"
		}
		m.f("| %s | %s | %s | %s | %s | %s |\n", cell(c.Title), decision, cell(c.NeedLabel()), cell(c.TimingLabel()),
			cell(stateWords(c.Complexity)), cell(c.Summary))
	}
	m.line("")
}

func (m *mdWriter) context(r *Report) {
	m.line("## Context\n")
	m.line("The Priority 2 decision framework asks, per platform capability, when its complexity becomes " +
		"worth it. capability_exporter compares each capability's trigger, skip, later and now conditions with " +
		"the facts the config declares and the signals the sources below measure, and a tool detected in the cluster " +
		"marks a capability adopted. A signal that could not be read is unknown, never zero; a decision that " +
		"hinges on one is unknown.\n")
	if len(r.Sources) == 0 {
		m.line("No sources were asked.\n")
		return
	}
	m.line("| Source | Status | Endpoint | Auth | Signals | Took |")
	m.line("| --- | --- | --- | --- | --- | --- |")
	var errs []string
	for _, s := range r.Sources {
		auth := s.Auth
		if len(s.Headers) > 0 {
			auth += "; headers " + strings.Join(s.Headers, ", ") + " (values hidden)"
		}
		m.f("| %s | %s | %s | %s | %d | %s |\n", cell(s.Name), sourceStatus(s), cell(s.Endpoint), cell(auth),
			s.Signals, seconds(s.DurationSeconds))
		errs = append(errs, sourceErrorLines(s)...)
	}
	m.line("")
	if len(errs) > 0 {
		m.line("Source errors in this evaluation:\n")
		for _, e := range errs {
			m.line("- " + e)
		}
		m.line("")
	}
}

// sourceErrorLines is a source's errors as the record lists them: a
// source that is down, its fault and fix once; one that answered with
// errors, each distinct error once, sorted, so that the record reads the
// same whichever query met it first.
func sourceErrorLines(s Source) []string {
	if s.Fault != nil {
		line := code(s.Name) + " is down: " + *s.Fault
		if s.Fix != nil {
			line += "; to fix: " + *s.Fix
		}
		return []string{line}
	}
	errs := slices.Clone(s.Errors)
	slices.Sort(errs)
	var lines []string
	for _, e := range slices.Compact(errs) {
		lines = append(lines, code(s.Name)+": "+code(e))
	}
	return lines
}

func sourceStatus(s Source) string {
	switch {
	case !s.Configured:
		return "not configured"
	case s.Up:
		return "up"
	}
	return "**down**"
}

// capability writes one capability's section: its decision, why, what it
// builds on, its impact, what would change it and its open questions.
func (m *mdWriter) capability(c *Capability) {
	m.decisionLine(c)
	m.held(c)
	m.why(c)
	m.buildsOn(c)
	m.impact(c.Impact)
	m.whatWouldChange(c)
	m.openQuestions(c)
}

// decisionLine is the section's heading and its decision in one sentence.
func (m *mdWriter) decisionLine(c *Capability) {
	m.f("## %s\n\n", md(c.Title))
	m.f("**Decision: %s**", c.DecisionLabel())
	if c.RecommendedNext {
		m.b.WriteString(" (recommended next step)")
	}
	m.f(". Need: **%s**", c.NeedLabel())
	if t := c.TimingLabel(); t != "–" { // not asked where not needed or in place
		m.f("; timing: **%s**", t)
	}
	m.f(". Complexity %s. %s", md(stateWords(c.Complexity)), md(c.DecidedText()))
	if c.DecisionSince != nil {
		m.f("; unchanged since %s", c.DecisionSince.Format("2006-01-02 15:04 MST"))
	}
	m.line(".\n")
}

// why is the summary with the conditions behind it: those that held, did
// not and are unknown, what was outweighed or contradicts, and the
// checklist.
func (m *mdWriter) why(c *Capability) {
	m.line("### Why\n")
	m.line(md(c.Summary) + "\n")
	m.undecided(c)
	for _, group := range []struct {
		title string
		holds func(*bool) bool
	}{
		{"Held", func(b *bool) bool { return b != nil && *b }},
		{"Did not hold", func(b *bool) bool { return b != nil && !*b }},
		{"Unknown", func(b *bool) bool { return b == nil }},
	} {
		var items []string
		for _, cond := range c.Conditions {
			if group.holds(cond.Holds) {
				items = append(items, mdCondition(cond))
			}
		}
		if len(items) == 0 {
			continue
		}
		m.line(group.title + ":\n")
		for _, it := range items {
			m.line("- " + it)
		}
		m.line("")
	}
	m.unknownSignals(c)
	m.outweighed(c)
	m.checklist(c)
}

// outweighed lists what held but lost to the deciding step, and the facts
// that contradict each other.
func (m *mdWriter) outweighed(c *Capability) {
	if len(c.Outweighed) > 0 {
		m.line("Outweighed (held, but " + md(c.OutweighedBy()) + " decides):\n")
		for _, o := range c.Outweighed {
			m.f("- %s (%s)\n", md(outweighedWords(o)), code(o.Expr))
		}
		m.line("")
	}
	if len(c.Contradictions) > 0 {
		m.line("Contradictions (declared or measured facts that cannot both hold; check them):\n")
		for _, o := range c.Contradictions {
			m.f("- %s (`%s`)\n", md(o.Says), strings.ReplaceAll(o.Expr, "`", "'"))
		}
		m.line("")
	}
}

// checklist is what to prepare now and activate later, each item ticked
// when it holds.
func (m *mdWriter) checklist(c *Capability) {
	if len(c.Checklist) == 0 {
		return
	}
	m.line("Preparation checklist (prepare now, activate later):\n")
	for _, it := range c.Checklist {
		box := "[ ]"
		switch {
		case it.Holds == nil:
			box = "[?]"
		case *it.Holds:
			box = "[x]"
		}
		m.f("- %s %s (%s)\n", box, md(derefString(it.Says)), md(withAge(it.ValueText, it.Measured)))
	}
	m.line("")
}

// buildsOn is the capability's tools and the Priority 1 components it
// builds on, with advice for each that is missing.
func (m *mdWriter) buildsOn(c *Capability) {
	m.line("Tools: " + md(toolsLine(c.Tools)) + "  ")
	m.line("Builds on (Priority 1): " + md(foundationsLine(c.Foundations)) + "\n")
	advised := false
	for _, f := range c.Foundations {
		if f.Present != nil && !*f.Present && f.Advice != nil {
			m.f("- builds on %s (missing): %s\n", md(f.Title), md(*f.Advice))
			advised = true
		}
	}
	if advised {
		m.line("")
	}
}

// whatWouldChange is each way the decision would move.
func (m *mdWriter) whatWouldChange(c *Capability) {
	m.line("### What would change it\n")
	if len(c.WhatWouldChange) == 0 {
		m.line("Nothing the rules measure would change this decision.\n")
	}
	for _, ch := range c.WhatWouldChange {
		m.f("- **→ %s**: %s.\n", stateWords(ch.To), md(ch.If))
	}
	if len(c.WhatWouldChange) > 0 {
		m.line("")
	}
}

// openQuestions are the rules' questions for the capability, to tick off.
func (m *mdWriter) openQuestions(c *Capability) {
	m.line("### Open decision questions\n")
	if len(c.OpenQuestions) == 0 {
		m.line("The rules list no questions for this capability.\n")
		return
	}
	for _, q := range c.OpenQuestions {
		m.line("- [ ] " + md(q))
	}
	m.line("")
}

// firstRun opens the record with what to do to get decisions: sources
// down with their first error, sources not configured, and the facts whose
// answers settle the most decisions, ready to uncomment.
func (m *mdWriter) firstRun(r *Report) {
	f := r.FirstRun()
	if f.Empty() {
		return
	}
	m.line("## To get decisions\n")
	for _, d := range f.Down {
		m.f("- Source %s is down: %s\n", code(d.Name), md(d.Cause))
		if d.Fix != "" {
			m.f("  To fix: %s.\n", md(d.Fix))
		}
	}
	if len(f.NotConfigured) > 0 {
		m.f("- Not configured: %s; the signals they read stay unknown.\n", md(strings.Join(f.NotConfigured, ", ")))
	}
	if len(f.Waiting) > 0 {
		m.f("- Until they answer, no fact can settle: %s.\n", md(strings.Join(f.Waiting, ", ")))
	}
	if len(f.Down) > 0 || len(f.NotConfigured) > 0 {
		m.line("")
	}
	if len(f.Facts) == 0 {
		return
	}
	switch {
	case len(f.Down) > 0:
		m.line("Questions that still act while they are down: uncomment under `facts:` in the config what your organisation knows.\n")
	case len(f.NotConfigured) > 0:
		m.line("Questions that act without those sources: uncomment under `facts:` in the config what your organisation knows.\n")
	default:
		m.line("Questions that settle the most decisions: uncomment under `facts:` in the config what your organisation knows.\n")
	}
	m.line("```yaml")
	for _, l := range f.Facts {
		m.line(l)
	}
	m.line("```\n")
	if f.MoreFacts > 0 {
		m.f("%d more under [Questions](#questions) at the end.\n\n", f.MoreFacts)
	}
}

// undecided says, for an unknown or probable decision, the states still
// possible, what settles it and the presumptions it rests on; and for any
// decision, the motive a NOT bullet leaves unanswered.
func (m *mdWriter) undecided(c *Capability) {
	if c.Undecided() {
		m.f("Still possible: %s.", md(c.PossibleWords()))
		if c.Probable && len(c.SettleWith) > 0 { // an unknown one's summary names them
			names := make([]string, len(c.SettleWith))
			for i, s := range c.SettleWith {
				names[i] = code(s)
			}
			m.f(" Knowing %s settles it.", strings.Join(names, ", "))
		}
		m.line("\n")
	}
	if len(c.Presumed) > 0 {
		m.line("Presumed, for the probable answer (declare the fact to settle it):\n")
		for _, p := range c.Presumed {
			m.f("- %s presumed %s: %s\n", code(p.Signal), md(p.ValueText), md(p.Says))
		}
		m.line("")
	}
	if s := c.Remains(); s != "" {
		m.line(md(s) + "\n")
	}
}

// unknownSignals lists what the decision could not read: first what an
// unknown decision waits for, then the rest, saying plainly that the rest
// alone cannot settle it (or, for a known decision, cannot change it).
func (m *mdWriter) unknownSignals(c *Capability) {
	groups := []struct {
		title    string
		blocking bool
	}{
		{"The decision waits for these unknown signals:", true},
		{"Also unknown; knowing these alone cannot settle the decision:", false},
	}
	settles := func(u UnknownSignal) bool { return u.Blocking || slices.Contains(c.SettleWith, u.Signal) }
	if c.Probable {
		groups[0].title = "The probable answer stands until these unknown signals are known; knowing them settles it:"
	} else if c.Decision != string(triggers.StateUnknown) {
		groups = groups[1:]
		groups[0].title = "Unknown signals; none of them can change this decision:"
	}
	for _, g := range groups {
		var items []string
		for _, u := range c.UnknownSignals {
			if settles(u) == g.blocking {
				items = append(items, fmt.Sprintf("- %s (%s): %s", code(u.Signal), md(withAge(u.Source, u.Measured)), code(u.Reason)))
			}
		}
		if len(items) == 0 {
			continue
		}
		m.line(g.title + "\n")
		for _, it := range items {
			m.line(it)
		}
		m.line("")
	}
}

// thresholds lists the rules' named thresholds with whose each value is.
func (m *mdWriter) thresholds(r *Report) {
	if len(r.Thresholds) == 0 {
		return
	}
	m.line("### Thresholds\n")
	m.line("The numbers the conditions compare with; set your own under `thresholds:` in the config.\n")
	m.line("| Threshold | Value | Meaning |")
	m.line("| --- | --- | --- |")
	for _, t := range r.Thresholds {
		m.f("| %s | %s | %s |\n", code(t.Name), cell(t.Text), cell(t.Help))
	}
	m.line("")
}

func mdCondition(c Condition) string {
	s := code(c.Kind) + " "
	if c.Says != nil {
		s += md(*c.Says) + ": "
	}
	s += code(c.Expr) + ", " + code(c.Signal)
	if c.Value == nil {
		return s + " is unknown"
	}
	s += " is " + md(c.ValueText)
	if src := withAge(c.Source, c.Measured); src != "" {
		s += " (" + md(src) + ")"
	}
	if c.ThresholdName != nil && c.ThresholdNote != nil {
		s += "; " + code("{"+*c.ThresholdName+"}") + " is " + md(c.ThresholdText) + " (" + md(*c.ThresholdNote) + ")"
	}
	return s
}

func toolsLine(tools []Tool) string {
	if len(tools) == 0 {
		return "none defined"
	}
	parts := make([]string, len(tools))
	for i, t := range tools {
		switch {
		case t.Detected == nil:
			parts[i] = t.Title + " unknown"
		case *t.Detected:
			parts[i] = t.Title + " detected"
		case t.Reason != nil:
			parts[i] = t.Title + " not detected (" + md(*t.Reason) + ")"
		default:
			parts[i] = t.Title + " not detected"
		}
	}
	return strings.Join(parts, ", ")
}

func foundationsLine(fs []Foundation) string {
	if len(fs) == 0 {
		return "none required"
	}
	parts := make([]string, len(fs))
	for i, f := range fs {
		switch {
		case f.Present == nil:
			parts[i] = f.Title + " unknown"
		case *f.Present:
			parts[i] = f.Title + " present"
		default:
			parts[i] = f.Title + " missing"
		}
	}
	return strings.Join(parts, ", ")
}

func seconds(s float64) string {
	if s > 0 && s < 0.0005 {
		return "under 1ms" // "0s" would read as "did not run"
	}
	return time.Duration(s * float64(time.Second)).Round(time.Millisecond).String()
}

var mdEscaper = strings.NewReplacer(`\`, `\\`, "`", "\\`", `*`, `\*`, `_`, `\_`, `[`, `\[`, `]`, `\]`,
	`<`, `\<`, `>`, `\>`, `|`, `\|`, `#`, `\#`, "\n", " ")

// md escapes text for Markdown so outside text (a server's error, the
// framework's words) cannot start a heading, a link or a table cell.
func md(s string) string { return mdEscaper.Replace(s) }

// cell is md for a table cell, where an empty value would collapse the row.
func cell(s string) string {
	if s == "" {
		return "–"
	}
	return md(s)
}

// code renders s as inline code, with a fence longer than any run of
// backticks inside it.
func code(s string) string {
	s = strings.ReplaceAll(s, "\n", " ")
	fence := "`"
	for strings.Contains(s, fence) {
		fence += "`"
	}
	if strings.HasPrefix(s, "`") || strings.HasSuffix(s, "`") || fence != "`" {
		return fence + " " + s + " " + fence
	}
	return fence + s + fence
}

// rulesWords names the rules file, and the rules it extends.
func rulesWords(r *Report) string {
	if r.RulesExtends == "" {
		return code(r.RulesFile)
	}
	return code(r.RulesFile) + " extending " + code(r.RulesExtends)
}

// impact writes an adopted capability's impact since adoption.
func (m *mdWriter) impact(im *Impact) {
	if im == nil {
		return
	}
	m.line("### Impact since adoption\n")
	switch {
	case im.AdoptedAt != nil:
		m.f("Adopted %s (%s)", im.AdoptedAt.Format("2006-01-02"), im.AdoptedFrom)
	default:
		m.f("Adoption time unknown")
	}
	if len(im.Tools) > 0 {
		m.f(": %s", md(strings.Join(im.Tools, ", ")))
	}
	m.line(".\n")
	if im.TooEarly != nil {
		m.line(md(*im.TooEarly) + "\n")
		return
	}
	if im.Unknown != nil {
		m.line("Unknown: " + md(*im.Unknown) + "\n")
	}
	if set := im.Settings(); set != "" {
		m.line(md(set) + "\n")
	}
	for _, s := range im.Signals {
		line := "- " + md(s.Text)
		for _, r := range im.SignalReasons(s) {
			line += " (" + md(r) + ")"
		}
		m.line(line)
	}
	if len(im.Signals) > 0 {
		m.line("")
	}
	if im.ExitQuestion != nil {
		m.line("**Exit question.** " + md(*im.ExitQuestion) + "\n")
		for _, e := range im.Exit {
			path := e.Exit
			if path == "" {
				path = "the rules give no exit path"
			}
			m.f("- %s: %s\n", md(e.Title), md(path))
		}
		m.line("")
	}
}

// questions closes the record with every question that can act, as
// commented facts: lines; "To get decisions" shows the first few.
func (m *mdWriter) questions(r *Report) {
	if len(r.Questions) == 0 {
		return
	}
	m.line("## Questions\n")
	m.line("Each undeclared fact that, declared, can change what is possible, the ones that settle the most decisions first. Uncomment under `facts:` in the config what your organisation knows.\n")
	m.line("```yaml")
	for _, l := range questionLines(r.Questions) {
		m.line(l)
	}
	m.line("```")
}
