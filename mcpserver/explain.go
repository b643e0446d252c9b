package mcpserver

import (
	"slices"
	"time"

	"github.com/capability-exporter/capability_exporter/report"
	"github.com/capability-exporter/capability_exporter/triggers"
)

// explained is one capability's decision with everything behind it, laid
// out for a model: the conditions grouped by their truth, each with the
// framework's bullet it encodes.
type explained struct {
	EvaluatedAt        *time.Time             `json:"evaluated_at,omitempty"`
	AgeSeconds         *float64               `json:"age_seconds,omitempty"`
	ID                 string                 `json:"id"`
	Title              string                 `json:"title"`
	Complexity         string                 `json:"complexity"`
	Decision           string                 `json:"decision"`
	Need               string                 `json:"need"`
	Timing             string                 `json:"timing"`
	Probable           bool                   `json:"probable"`
	Possible           []string               `json:"possible"`
	DecidedBy          string                 `json:"decided_by"`
	RecommendedNext    bool                   `json:"recommended_next"`
	Summary            string                 `json:"summary"`
	Pending            *report.Pending        `json:"pending"`
	Conditions         conditionGroups        `json:"conditions"`
	Reasons            []held                 `json:"reasons"`
	Motives            []held                 `json:"motives"`
	NotBullets         []notBullet            `json:"not_bullets"`
	Outweighed         []held                 `json:"outweighed"`
	Contradictions     []held                 `json:"contradictions"`
	Presumed           []report.Presumed      `json:"presumed"`
	SettleWith         []string               `json:"settle_with"`
	Asks               []string               `json:"asks"`
	Questions          []report.Question      `json:"questions"`
	OpenQuestions      []string               `json:"open_questions"`
	UnknownSignals     []report.UnknownSignal `json:"unknown_signals"`
	FrameworkBullets   []bullet               `json:"framework_bullets"`
	NotEncoded         []notEncoded           `json:"not_encoded"`
	Checklist          []condition            `json:"checklist"`
	Tools              []report.Tool          `json:"tools"`
	Foundations        []report.Foundation    `json:"foundations"`
	FoundationsMissing []string               `json:"foundations_missing"`
	FoundationsUnknown []string               `json:"foundations_unknown"`
	Impact             *report.Impact         `json:"impact"`
	WhatWouldChange    []report.Change        `json:"what_would_change"`
}

type conditionGroups struct {
	Held    []condition `json:"held"`
	NotHeld []condition `json:"not_held"`
	Unknown []condition `json:"unknown"`
}

// condition is a comparison with the framework's bullets it encodes.
type condition struct {
	report.Condition
	Seed []string `json:"seed"`
}

// held is a condition that held, whole, with the bullets under it.
type held struct {
	report.Outweighed
	Seed []string `json:"seed"`
}

type notBullet struct {
	Skip    held   `json:"skip"`
	Answers []held `json:"answers"`
}

// bullet is one quote of the framework in the capability's rules: the role
// of the condition that carries it and the condition.
type bullet struct {
	Role      string `json:"role"`
	Quote     string `json:"quote"`
	Condition string `json:"condition"`
}

type notEncoded struct {
	Quote  string `json:"quote"`
	Reason string `json:"reason"`
}

// explainedOf lays c out; r, when set, gives the evaluation's time and the
// questions whose facts settle c.
func explainedOf(rules *triggers.Rules, r *report.Report, c *report.Capability) explained {
	q := quotesOf(rules, c.ID)
	e := explained{ID: c.ID, Title: c.Title, Complexity: c.Complexity, Decision: c.Decision, Need: c.Need, Timing: c.Timing,
		Probable: c.Probable, Possible: c.Possible, DecidedBy: c.DecidedBy, RecommendedNext: c.RecommendedNext,
		Summary: c.Summary, Pending: c.Pending, Presumed: c.Presumed, SettleWith: c.SettleWith, Asks: c.Asks,
		Questions: []report.Question{}, OpenQuestions: c.OpenQuestions, UnknownSignals: c.UnknownSignals,
		Tools: c.Tools, Foundations: c.Foundations, FoundationsMissing: c.FoundationsMissing,
		FoundationsUnknown: c.FoundationsUnknown, Impact: c.Impact, WhatWouldChange: c.WhatWouldChange,
		Conditions:       conditionGroups{Held: []condition{}, NotHeld: []condition{}, Unknown: []condition{}},
		FrameworkBullets: q.bullets, NotEncoded: q.notEncoded, Checklist: []condition{}}
	if r != nil {
		at, age := r.EvaluatedAt, r.AgeSeconds
		e.EvaluatedAt, e.AgeSeconds = &at, &age
		for _, qu := range r.Questions {
			if slices.Contains(qu.Settles, c.ID) {
				e.Questions = append(e.Questions, qu)
			}
		}
	}
	for _, cond := range c.Conditions {
		x := condition{Condition: cond, Seed: q.leaf(cond.Kind, cond.Expr)}
		switch {
		case cond.Holds == nil:
			e.Conditions.Unknown = append(e.Conditions.Unknown, x)
		case *cond.Holds:
			e.Conditions.Held = append(e.Conditions.Held, x)
		default:
			e.Conditions.NotHeld = append(e.Conditions.NotHeld, x)
		}
	}
	for _, cond := range c.Checklist {
		e.Checklist = append(e.Checklist, condition{Condition: cond, Seed: q.leaf(triggers.RoleChecklist, cond.Expr)})
	}
	e.Reasons, e.Motives, e.Outweighed, e.Contradictions = q.helds(c.Reasons), q.helds(c.Motives), q.helds(c.Outweighed), q.helds(c.Contradictions)
	e.NotBullets = []notBullet{}
	for _, nb := range c.NotBullets {
		e.NotBullets = append(e.NotBullets, notBullet{Skip: q.held(nb.Skip), Answers: q.helds(nb.Answers)})
	}
	return e
}

// quotes are the framework's bullets a capability's rules quote (seed:), by
// the conditions that carry them.
type quotes struct {
	// leaves maps kind and expression of a comparison to the bullets of the
	// nearest condition on its way from the top that quotes any.
	leaves map[[2]string][]string
	// nodes maps kind and text of any condition to the bullets it and the
	// conditions under it quote.
	nodes      map[[2]string][]string
	bullets    []bullet
	notEncoded []notEncoded
}

func quotesOf(rules *triggers.Rules, id string) quotes {
	q := quotes{leaves: map[[2]string][]string{}, nodes: map[[2]string][]string{}, bullets: []bullet{}, notEncoded: []notEncoded{}}
	if rules == nil {
		return q
	}
	c := rules.Capability(id)
	if c == nil {
		return q
	}
	var walk func(kind string, n *triggers.Condition, inherited []string) []string
	walk = func(kind string, n *triggers.Condition, inherited []string) []string {
		if n == nil {
			return nil
		}
		own := n.Seed
		if len(own) == 0 {
			own = inherited
		}
		all := slices.Clone(n.Seed)
		if n.IsLeaf() {
			k := [2]string{kind, n.Expr}
			q.leaves[k] = appendNew(q.leaves[k], own...)
		}
		for _, m := range append(append([]*triggers.Condition{n.Not}, n.Any...), n.All...) {
			all = appendNew(all, walk(kind, m, own)...)
		}
		k := [2]string{kind, n.String()}
		q.nodes[k] = appendNew(q.nodes[k], all...)
		return all
	}
	for _, k := range []struct {
		kind string
		cond *triggers.Condition
	}{{triggers.KindTrigger, c.Trigger}, {triggers.KindStructural, c.Structural}, {triggers.KindMust, c.Must},
		{triggers.KindSkip, c.Skip}, {triggers.KindGate, c.Gate}, {triggers.KindLater, c.Later}, {triggers.KindNow, c.Now},
		{triggers.KindAdopted, c.AdoptedIf}} {
		walk(k.kind, k.cond, nil)
	}
	for _, item := range c.Checklist {
		walk(triggers.RoleChecklist, item, nil)
	}
	for _, ci := range rules.Citations() {
		if ci.Capability == id {
			q.bullets = append(q.bullets, bullet{Role: ci.Role, Quote: ci.Quote, Condition: ci.Condition.String()})
		}
	}
	for _, ne := range c.NotEncoded {
		q.notEncoded = append(q.notEncoded, notEncoded{Quote: ne.Seed, Reason: ne.Reason})
	}
	return q
}

// leaf returns the bullets of a comparison of kind; a comparison read in
// another step (a condition the rules list under two kinds) falls back to
// any kind's.
func (q quotes) leaf(kind, expr string) []string {
	if s, ok := q.leaves[[2]string{kind, expr}]; ok {
		return nonNil(s)
	}
	for k, s := range q.leaves {
		if k[1] == expr && len(s) > 0 {
			return s
		}
	}
	return []string{}
}

func (q quotes) held(o report.Outweighed) held {
	s, ok := q.nodes[[2]string{o.Kind, o.Expr}]
	if !ok {
		for k, v := range q.nodes {
			if k[1] == o.Expr && len(v) > 0 {
				s = v
				break
			}
		}
	}
	return held{Outweighed: o, Seed: nonNil(s)}
}

func (q quotes) helds(os []report.Outweighed) []held {
	out := []held{}
	for _, o := range os {
		out = append(out, q.held(o))
	}
	return out
}

func appendNew(to []string, items ...string) []string {
	for _, it := range items {
		if !slices.Contains(to, it) {
			to = append(to, it)
		}
	}
	return to
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
