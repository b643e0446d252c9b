package report

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/capability-exporter/capability_exporter/collector"
	"github.com/capability-exporter/capability_exporter/triggers"
)

// Options are what a Report needs besides the State.
type Options struct {
	// Now is when the report is generated; the zero value means time.Now().
	Now time.Time
	// Version is the exporter's version, printed in footers.
	Version string
}

// Build explains st. It reads nothing but st: the rules it walks for "what
// would change it" and the questions are st.Config.Rules, the very rules
// st.Evaluation came from, so a reload that publishes a new State between two
// requests can never mix two rule sets in one answer.
func Build(st *collector.State, o Options) *Report {
	if o.Now.IsZero() {
		o.Now = time.Now()
	}
	ev := st.Evaluation
	var rules *triggers.Rules
	b := builder{clean: newScrubber(st.Config), now: o.Now, down: map[string]bool{}}
	r := &Report{
		APIVersion:                APIVersion,
		GeneratedAt:               o.Now.UTC(),
		EvaluatedAt:               ev.Time.UTC(),
		AgeSeconds:                math.Max(0, o.Now.Sub(ev.Time).Seconds()),
		EvaluationDurationSeconds: st.Duration.Seconds(),
		ExporterVersion:           o.Version,
		Sources:                   []Source{},
		Capabilities:              []Capability{},
		Signals:                   []Signal{},
		Tools:                     []Tool{},
		Foundations:               []Foundation{},
		Thresholds:                []Threshold{},
		RecentChanges:             recentChanges(st.History, recentOnPage),
	}
	if st.History != nil {
		r.DecisionHold = st.History.Hold()
	}
	if st.Config != nil {
		r.ConfigFile = st.Config.File
		r.Cluster = st.Config.Cluster
		rules = st.Config.Rules
		if rules != nil {
			r.RulesFile = rules.File
			r.RulesExtends = rules.Extends
			b.thresholds = map[string]Threshold{}
			for _, t := range rules.Thresholds {
				th := thresholdOf(t)
				r.Thresholds = append(r.Thresholds, th)
				b.thresholds[t.Name] = th
			}
		}
	}
	if ev.Recommended != "" {
		r.RecommendedNext = &ev.Recommended
	}
	r.Questions = []Question{}
	for _, q := range ev.Questions {
		r.Questions = append(r.Questions, Question{Fact: q.Fact, Signal: q.Signal, Type: string(q.Type),
			Question: q.Help, Settles: append([]string{}, q.Settles...)})
	}
	for _, s := range st.Sources {
		endpoint, auth, headers := describeSource(st.Config, s.Name)
		src := Source{Name: s.Name, Configured: s.Configured, Up: s.Up,
			DurationSeconds: s.Duration.Seconds(), Signals: s.Signals, Endpoint: endpoint, Auth: auth,
			Headers: headers, Errors: b.clean.cleanAll(append([]string{}, s.Errors...))}
		src.Status = statusWord(s.Configured, s.Up)
		if len(src.Errors) > 0 {
			src.Cause = &src.Errors[0]
		}
		if s.Configured && !s.Up {
			what, fix := sourceFault(s.Name, src.Errors)
			src.Fault, src.Fix = &what, strPtr(fix)
			b.down[s.Name] = true
		}
		r.Sources = append(r.Sources, src)
	}
	for _, s := range ev.Signals {
		value, text, why := b.value(s.Type, s.Value)
		r.Signals = append(r.Signals, Signal{Name: s.Name, Help: s.Help, Type: string(s.Type),
			Value: value, Text: text, Source: s.Value.Source, Reason: why.reason, ReasonCode: why.code, LowerBound: value != nil && s.Value.LowerBound,
			UpperBound:  value != nil && s.Value.UpperBound,
			DerivedFrom: b.derivedFrom(s), LeftOut: leftOutOf(s.Value), Measured: b.measured(s.Value)})
	}
	for _, t := range ev.Tools {
		r.Tools = append(r.Tools, b.tool(t))
	}
	for _, f := range ev.Foundations {
		fr := b.foundation(f)
		fr.Conditions = []Condition{}
		for _, c := range f.Conditions {
			fr.Conditions = append(fr.Conditions, b.condition(c))
		}
		r.Foundations = append(r.Foundations, fr)
	}
	for i := range ev.Decisions {
		d := &ev.Decisions[i]
		c := b.capability(d, st.LastChange)
		c.WhatWouldChange = changesOf(rules, d)
		b.historyOf(st.History, &c)
		for _, ir := range st.Impact {
			if ir.Capability == d.Capability {
				c.Impact = b.impactOf(ir)
			}
		}
		if rules != nil {
			if rc := rules.Capability(d.Capability); rc != nil {
				c.OpenQuestions = append(c.OpenQuestions, rc.Questions...)
			}
		}
		r.Capabilities = append(r.Capabilities, c)
	}
	return r
}

type builder struct {
	clean scrubber
	now   time.Time // when the report is generated: ages are counted to it
	// thresholds are the rules' named thresholds, by name.
	thresholds map[string]Threshold
	// down are the configured sources that did not answer: what they could
	// not give reads downReason, their fault said once under the source.
	down map[string]bool
}

// reason is why v is unknown, for people and as a code: "<source> is
// down" where its source is, else its own reason, scrubbed; a value that
// gives none reads its code's words (not collected, say).
func (b builder) reason(v triggers.Value) (string, triggers.ReasonCode) {
	code := cmp.Or(v.Code, triggers.CodeNotCollected)
	if b.down[v.Source] {
		if code != triggers.CodeAuth {
			code = triggers.CodeSourceDown
		}
		if strings.HasPrefix(v.Reason, downReason(v.Source)) {
			return v.Reason, code // with the kinds of its errors: "prometheus is down (timeout)"
		}
		return downReason(v.Source), code
	}
	return cmp.Or(b.clean.clean(v.Reason), code.Text()), code
}

// unknown is why a value is unknown, as the JSON gives it: both null
// for a known value.
type unknown struct {
	reason *string
	code   *triggers.ReasonCode
}

func unknownOf(reason string, code triggers.ReasonCode) unknown {
	return unknown{reason: &reason, code: &code}
}

// measured says when a reused value was measured, and how long ago; both
// null for a value of this evaluation.
func (b builder) measured(v triggers.Value) Measured {
	if v.MeasuredAt.IsZero() {
		return Measured{}
	}
	at := v.MeasuredAt.UTC()
	age := math.Max(0, b.now.Sub(at).Seconds())
	return Measured{MeasuredAt: &at, AgeSeconds: &age}
}

// value is a signal value as JSON wants it: a finite number, or null with
// the reason.
func (b builder) value(t triggers.ValueType, v triggers.Value) (*float64, string, unknown) {
	if !v.Known {
		return nil, "unknown", unknownOf(b.reason(v))
	}
	if math.IsNaN(v.Number) || math.IsInf(v.Number, 0) {
		return nil, "unknown", unknownOf(fmt.Sprintf("the source answered %v, which is not a value", v.Number), triggers.CodeNoData)
	}
	n := v.Number
	if v.LowerBound {
		return &n, "at least " + Human(t, n), unknown{}
	}
	if v.UpperBound {
		return &n, "at most " + Human(t, n), unknown{}
	}
	return &n, Human(t, n), unknown{}
}

func truthPtr(t triggers.Truth) *bool {
	if t == triggers.Unknown {
		return nil
	}
	b := t == triggers.True
	return &b
}

func strPtr(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func (b builder) condition(c triggers.ConditionResult) Condition {
	value, text, why := b.value(c.Type, c.Value)
	out := Condition{Kind: c.Kind, Expr: c.Expr, Says: strPtr(c.Says), Signal: c.Signal, Op: string(c.Op),
		Threshold: c.Threshold, ThresholdText: Human(c.Type, c.Threshold), Type: string(c.Type),
		Value: value, ValueText: text, Source: c.Value.Source, Holds: truthPtr(c.Truth), Reason: why.reason, ReasonCode: why.code,
		Measured: b.measured(c.Value)}
	if c.ThresholdName != "" {
		name := c.ThresholdName
		out.ThresholdName = &name
		if th, ok := b.thresholds[name]; ok {
			out.ThresholdNote = &th.note
		}
	}
	return out
}

func (b builder) tool(t triggers.ToolResult) Tool {
	out := Tool{ID: t.ID, Title: t.Title, Capability: strPtr(t.Capability), Detected: truthPtr(t.Detected)}
	switch {
	case t.Detected == triggers.Unknown:
		// Tools are detected in the cluster: a down source reads "kubernetes is down".
		why := unknownOf(b.reason(triggers.Value{Reason: t.Reason, Code: t.Code, Source: "kubernetes"}))
		out.Reason, out.ReasonCode = why.reason, why.code
	case t.Detected == triggers.False && t.Reason != "":
		// Traces of a tool that does not run: "CRDs only (not running)".
		out.Reason = strPtr(t.Reason)
	}
	return out
}

func (b builder) foundation(f triggers.FoundationResult) Foundation {
	out := Foundation{ID: f.ID, Title: f.Title, Present: truthPtr(f.Present), Advice: strPtr(f.Advice)}
	if f.Present == triggers.Unknown {
		// The code is the first unknown condition's.
		var reasons []string
		var code triggers.ReasonCode
		for _, c := range f.Conditions {
			if c.Value.Known {
				continue
			}
			reason, cc := b.reason(c.Value)
			code = cmp.Or(code, cc)
			if !b.down[c.Value.Source] {
				reason = c.Signal + ": " + reason
			}
			reasons = append(reasons, reason)
		}
		slices.Sort(reasons)
		out.Reason = strPtr(strings.Join(slices.Compact(reasons), "; "))
		if out.Reason != nil {
			out.ReasonCode = &code
		}
	}
	return out
}

func (b builder) capability(d *triggers.Decision, lastChange map[string]time.Time) Capability {
	out := Capability{ID: d.Capability, Title: d.Title, Complexity: d.Complexity.String(),
		Decision: string(d.State), DecidedBy: d.DecidedBy, RecommendedNext: d.Recommended,
		Need: string(d.Need), Timing: string(d.Timing), Probable: d.Probable, Possible: []string{},
		SettleWith: append([]string{}, d.SettleWith...), Asks: append([]string{}, d.Asks...), NotBullets: []Answered{}, Presumed: []Presumed{}, Motives: []Outweighed{},
		Conditions: []Condition{}, Tools: []Tool{}, Foundations: []Foundation{}, FoundationsMissing: []string{},
		FoundationsUnknown: []string{}, UnknownSignals: []UnknownSignal{}, WhatWouldChange: []Change{}, OpenQuestions: []string{},
		Outweighed: []Outweighed{}, Contradictions: []Outweighed{}, Checklist: []Condition{}, Reasons: []Outweighed{}}
	out.hasTiming = d.HasTiming()
	for _, a := range d.Answers {
		ans := Answered{Skip: Outweighed{Kind: a.Skip.Kind, Expr: a.Skip.Expr, Says: a.Skip.Says}, Answers: []Outweighed{}}
		for _, m := range a.Answers {
			ans.Answers = append(ans.Answers, Outweighed{Kind: m.Kind, Expr: m.Expr, Says: m.Says})
		}
		out.NotBullets = append(out.NotBullets, ans)
	}
	for _, o := range d.Reasons {
		reason := Outweighed{Kind: o.Kind, Expr: o.Expr, Says: o.Says}
		for _, l := range o.Leaves {
			reason.Leaves = append(reason.Leaves, b.condition(l))
		}
		out.Reasons = append(out.Reasons, reason)
	}
	for _, st := range d.Possible {
		out.Possible = append(out.Possible, string(st))
	}
	for _, p := range d.Presumed {
		out.Presumed = append(out.Presumed, Presumed{Signal: p.Signal, Value: p.Value, ValueText: Human(p.Type, p.Value), Says: p.Says})
	}
	for _, o := range d.Motives {
		out.Motives = append(out.Motives, Outweighed{Kind: o.Kind, Expr: o.Expr, Says: o.Says})
	}
	for _, o := range d.Outweighed {
		out.Outweighed = append(out.Outweighed, Outweighed{Kind: o.Kind, By: o.By, Expr: o.Expr, Says: o.Says})
	}
	for _, c := range d.Contradictions {
		out.Contradictions = append(out.Contradictions, Outweighed{Kind: "contradiction", Expr: c.Expr, Says: c.Says})
	}
	for _, c := range d.Checklist {
		out.Checklist = append(out.Checklist, b.condition(c))
	}
	if t, ok := lastChange[d.Capability]; ok {
		t = t.UTC()
		out.DecisionSince = &t
	}
	for _, cr := range d.UniqueConditions() {
		out.Conditions = append(out.Conditions, b.condition(cr))
	}
	for _, t := range d.Tools {
		out.Tools = append(out.Tools, b.tool(t))
	}
	for _, f := range d.Requires {
		out.Foundations = append(out.Foundations, b.foundation(f))
		switch f.Present {
		case triggers.False:
			out.FoundationsMissing = append(out.FoundationsMissing, f.ID)
		case triggers.Unknown:
			out.FoundationsUnknown = append(out.FoundationsUnknown, f.ID)
		}
	}
	out.Steps = Steps{Adopted: truthPtr(d.Step(triggers.StepAdopted)), Gate: truthPtr(d.Step(triggers.KindGate)),
		Must: truthPtr(d.Step(triggers.KindMust)), Skip: truthPtr(d.Step(triggers.KindSkip)),
		Later: truthPtr(d.Step(triggers.KindLater)), Trigger: truthPtr(d.Step(triggers.KindTrigger)),
		Now: truthPtr(d.StepOf(triggers.KindNow).Condition)}
	// What blocks the decision first: those are the signals to go and fix.
	for _, name := range d.BlockedBy {
		out.UnknownSignals = append(out.UnknownSignals, b.unknownSignal(d, name, true))
	}
	for _, name := range d.UnknownSignals {
		if !slices.Contains(d.BlockedBy, name) {
			out.UnknownSignals = append(out.UnknownSignals, b.unknownSignal(d, name, false))
		}
	}
	out.Summary = summary(&out)
	return out
}

// signalTypeOf is the type the decision's conditions read name as.
func signalTypeOf(d *triggers.Decision, name string) triggers.ValueType {
	for _, r := range d.Conditions {
		if r.Signal == name {
			return r.Type
		}
	}
	return triggers.TypeNumber
}

func (b builder) unknownSignal(d *triggers.Decision, name string, blocking bool) UnknownSignal {
	find := func(rs []triggers.ConditionResult) (triggers.Value, bool) {
		for _, r := range rs {
			if r.Signal == name {
				return r.Value, true
			}
		}
		return triggers.Value{}, false
	}
	v, ok := find(d.Conditions)
	for _, f := range d.Requires {
		if !ok {
			v, ok = find(f.Conditions)
		}
	}
	if !ok {
		for _, t := range d.Tools {
			if triggers.ToolSignalPrefix+t.ID == name {
				v = triggers.Value{Reason: t.Reason, Code: t.Code, Source: "kubernetes"}
			}
		}
	}
	reason, code := b.reason(v)
	if v.Known && v.LowerBound {
		reason = fmt.Sprintf("measured at least %s, a lower bound: it can show more than a threshold, never fewer; declare the fact to settle it",
			Human(signalTypeOf(d, name), v.Number))
		code = triggers.CodeLowerBound
	}
	if v.Known && v.UpperBound {
		reason = fmt.Sprintf("measured at most %s, an upper bound: it can show less than a threshold, never more; declare the fact to settle it",
			Human(signalTypeOf(d, name), v.Number))
		code = triggers.CodeUpperBound
	}
	return UnknownSignal{Signal: name, Source: v.Source, Reason: reason, ReasonCode: code, Blocking: blocking, Measured: b.measured(v)}
}

// summary is one sentence on why, built from the step that decided. A
// probable decision says so first: it rests on judgments not declared.
func summary(c *Capability) string {
	s := settledSummary(c)
	if c.Probable {
		return "Probably " + strings.ToLower(s[:1]) + s[1:]
	}
	return s
}

// maxWhyNames bounds the signals a one-line "why" names.
const maxWhyNames = 5

// settledSummary is the summary before the probable reading says so: the
// state's sentence, from the conditions that decided it.
func settledSummary(c *Capability) string {
	join := func(parts []string) string { return strings.Join(parts, "; ") }
	switch triggers.State(c.Decision) {
	case triggers.StateAdopted:
		var parts []string
		for _, t := range c.Tools {
			if t.Detected != nil && *t.Detected {
				parts = append(parts, t.Title+" detected")
			}
		}
		parts = append(parts, heldConditions(c, triggers.KindAdopted, true)...)
		return "Already in place: " + join(parts) + "."
	case triggers.StateSkip:
		return "Skip: " + join(decidingReasons(c, triggers.KindSkip)) + "." + outweighedSentence(c)
	case triggers.StateLater:
		return "Wait: " + join(decidingReasons(c, c.DecidedBy)) + "." + outweighedSentence(c)
	case triggers.StateNow:
		if c.DecidedBy == triggers.KindMust {
			return "Now, a hard requirement: " + join(decidingReasons(c, triggers.KindMust)) + "." + outweighedSentence(c)
		}
		return "Now: " + join(decidingReasons(c, triggers.KindNow)) + "." + outweighedSentence(c)
	case triggers.StateConsider:
		return "Triggered by " + join(heldConditions(c, triggers.KindTrigger, true)) + ", but no now condition holds."
	case triggers.StateNotTriggered:
		return notTriggeredSummary(c)
	}
	return unknownSummary(c)
}

// heldConditions are c's conditions of kind that hold (or fail, with
// holds false), each short.
func heldConditions(c *Capability, kind string, holds bool) []string {
	var out []string
	for _, cond := range c.Conditions {
		if cond.Kind == kind && cond.Holds != nil && *cond.Holds == holds {
			out = append(out, shortCondition(cond))
		}
	}
	return out
}

// decidingReasons are the deciding step's reasons, whole: a conjunction
// that held is one reason. Each leaf that held names its value; the rules
// engine's reasons, when given, keep leaves of a conjunction that failed
// out.
func decidingReasons(c *Capability, kind string) []string {
	if len(c.Reasons) == 0 {
		return heldConditions(c, kind, true)
	}
	var out []string
	for _, r := range c.Reasons {
		var values []string
		text := ""
		for _, cond := range r.Leaves {
			if cond.Expr == r.Expr {
				text = shortCondition(cond)
			}
			values = append(values, cond.Signal+" "+cond.ValueText)
		}
		if text == "" {
			text = r.Says
			if len(values) > 0 {
				text += " (" + strings.Join(slices.Compact(values), ", ") + ")"
			}
		}
		out = append(out, text)
	}
	return out
}

// outweighedSentence names what the deciding step outweighed, or is empty.
func outweighedSentence(c *Capability) string {
	if len(c.Outweighed) == 0 {
		return ""
	}
	var says []string
	for _, o := range c.Outweighed {
		says = append(says, o.Says)
	}
	return " It outweighs: " + strings.Join(says, "; ") + "."
}

// notTriggeredSummary says which motives failed, or, in the probable
// reading, that none is measured and those the team would declare are not.
func notTriggeredSummary(c *Capability) string {
	if failed := heldConditions(c, triggers.KindTrigger, false); len(failed) > 0 {
		return "Not triggered: " + strings.Join(failed, "; ") + "."
	}
	var open []string
	for _, cond := range c.Conditions {
		if cond.Kind == triggers.KindTrigger && cond.Holds == nil && !slices.Contains(open, cond.Signal) {
			open = append(open, cond.Signal)
		}
	}
	return "Not triggered: no motive holds; " + strings.Join(open, ", ") + " not declared."
}

// unknownSummary names the signals whose knowing settles an unknown
// decision: the first few, those that settle the most first (the order of
// settle_with); the JSON lists them all.
func unknownSummary(c *Capability) string {
	var names []string
	for _, u := range c.UnknownSignals {
		if !u.Blocking {
			continue // alone it cannot settle the decision; the JSON and the sections below list it
		}
		n := u.Signal
		if u.Source != "" {
			n += " (" + u.Source + ")"
		}
		names = append(names, n)
	}
	lead := "Unknown"
	switch triggers.Need(c.Need) {
	case triggers.NeedYes, triggers.NeedProbably, triggers.NeedProbablyNot, triggers.NeedNo:
		lead = "Need " + needWords(c.Need) + ", decision unknown"
	}
	if len(names) == 0 {
		return lead + ": the decision could not be evaluated."
	}
	if len(names) > maxWhyNames {
		names = append(names[:maxWhyNames:maxWhyNames], fmt.Sprintf("and %d more", len(names)-maxWhyNames))
	}
	return lead + ": knowing " + strings.Join(names, ", ") + " settles it."
}

// shortCondition is a condition in the framework's words where the rules give
// them, with the value that decided it; otherwise the signal's value against
// the threshold.
func shortCondition(c Condition) string {
	if c.Says != nil {
		return *c.Says + " (" + c.Signal + " " + c.ValueText + ")"
	}
	if c.Type == string(triggers.TypeBool) {
		return c.Signal + " " + c.ValueText
	}
	return c.Signal + " " + c.ValueText + " (" + c.Op + " " + c.ThresholdText + ")"
}

// statusWord is a source's state in one word, for the first lines of the
// page and report.
func statusWord(configured, up bool) string {
	switch {
	case !configured:
		return "not_configured"
	case up:
		return "up"
	}
	return "down"
}
