package triggers

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/capability-exporter/capability_exporter/yamlpos"
)

// Threshold is a named number of the rules: a value the framework states (5
// services, 20% a month) or the rules add (4 critical alerts a day), defined
// once and compared with as {name} wherever a condition reads it. The
// organisation may set its own value in the config's thresholds: section;
// the words of says texts name it the same way, so they follow.
type Threshold struct {
	Name string
	// Help says what the number means and, for a number the framework does
	// not state, why that value.
	Help string
	// Seed quotes the framework's words that state the number ("> 20% per
	// month"); empty for a number the rules choose themselves.
	Seed string
	// Type is that of the signals compared with it: a threshold compared
	// with a ratio is a ratio (20%), with a duration a duration (1h).
	Type ValueType
	// Default is the rules file's value; Value is the one in force, the
	// organisation's when Own is set.
	Default float64
	Value   float64
	Own     bool
	// File is the rules file that defines the threshold, and Line its line.
	File string
	Line int
}

// ValueText renders the value in force as the rules write it.
func (t *Threshold) ValueText() string { return FormatValue(t.Type, t.Value) }

// DefaultText renders the rules file's value.
func (t *Threshold) DefaultText() string { return FormatValue(t.Type, t.Default) }

// rawThreshold is one entry of a rules file's thresholds: section.
type rawThreshold struct {
	Value string `yaml:"value"`
	Help  string `yaml:"help"`
	Seed  string `yaml:"seed"`
}

// A threshold is written {name}: braces without the dollar of the ${name}
// selectors that PromQL queries use, and only where a literal stands (or in
// a says text), never inside a query.
var (
	thresholdRefRE  = regexp.MustCompile(`\{([a-z][a-z0-9_]*)\}`)
	thresholdLeafRE = regexp.MustCompile(`^\{([a-z][a-z0-9_]*)\}$`)
)

// Threshold returns the named threshold, or nil.
func (r *Rules) Threshold(name string) *Threshold { return r.thresholds[name] }

// thresholdOf is the value a leaf compares with: its threshold's value in
// force, or its literal.
func (r *Rules) thresholdOf(c *Condition) float64 {
	if c.ThresholdName != "" {
		if t := r.thresholds[c.ThresholdName]; t != nil {
			return t.Value
		}
	}
	return c.Threshold
}

// Words renders a says text with each {name} replaced by its threshold's
// value in force, so that "more than {cost_growth_per_month} a month" reads
// "more than 15% a month" where the organisation set 15%. The texts of the
// rules' own conditions come from a memo made with the Rules; any other text
// is rendered afresh.
func (r *Rules) Words(says string) string {
	if !strings.Contains(says, "{") {
		return says
	}
	if w, ok := r.words[says]; ok {
		return w
	}
	return r.renderWords(says)
}

func (r *Rules) renderWords(says string) string {
	return thresholdRefRE.ReplaceAllStringFunc(says, func(ref string) string {
		if t := r.thresholds[ref[1:len(ref)-1]]; t != nil {
			return t.ValueText()
		}
		return ref
	})
}

// memoWords renders, once for these Rules, every says text and condition of
// the rules that names a threshold: the decision engine renders the same
// texts at every point it walks. The memo is only read afterwards, so Rules
// evaluated from many goroutines share it without a lock; Rules with other
// thresholds in force (WithThresholds) make their own.
func (r *Rules) memoWords() map[string]string {
	memo := map[string]string{}
	add := func(text string) {
		if _, done := memo[text]; !done && strings.Contains(text, "{") {
			memo[text] = r.renderWords(text)
		}
	}
	var walk func(c *Condition)
	walk = func(c *Condition) {
		if c == nil {
			return
		}
		add(c.Says)
		add(c.String())
		walk(c.Not)
		for _, m := range c.Any {
			walk(m)
		}
		for _, m := range c.All {
			walk(m)
		}
	}
	for _, s := range r.Signals {
		for _, pr := range s.Presume {
			add(pr.Says)
			walk(pr.When)
		}
		for _, alt := range s.Source.Alternatives() {
			if alt.Derive != nil {
				walk(alt.Derive.TrueIf)
				walk(alt.Derive.FalseIf)
			}
		}
	}
	for _, f := range r.Foundations {
		walk(f.Present)
	}
	for _, c := range r.Capabilities {
		for _, cond := range []*Condition{c.Trigger, c.Structural, c.Must, c.Gate, c.Skip, c.Later, c.Now, c.AdoptedIf} {
			walk(cond)
		}
		for _, cond := range append(slices.Clone(c.Contradictions), c.Checklist...) {
			walk(cond)
		}
	}
	return memo
}

// WithThresholds returns the rules with the organisation's values in force
// for the thresholds named, each in the threshold's base unit. The rules
// themselves are not changed, so the defaults stay shared; names the rules do
// not define are the caller's to reject (the config does, with its line).
func (r *Rules) WithThresholds(values map[string]float64) *Rules {
	if len(values) == 0 {
		return r
	}
	return r.withValues(func(t *Threshold) (float64, bool) {
		if v, ok := values[t.Name]; ok {
			return v, true
		}
		return t.Value, t.Own
	})
}

// withValues returns a copy of r whose thresholds take the value, and the
// Own, that value gives for each, with its own memo of Words.
func (r *Rules) withValues(value func(*Threshold) (float64, bool)) *Rules {
	cp := *r
	cp.thresholds = make(map[string]*Threshold, len(r.Thresholds))
	cp.Thresholds = make([]*Threshold, len(r.Thresholds))
	for i, t := range r.Thresholds {
		nt := *t
		nt.Value, nt.Own = value(t)
		cp.Thresholds[i] = &nt
		cp.thresholds[t.Name] = &nt
	}
	cp.words = cp.memoWords()
	return &cp
}

// thresholdUse is a leaf that compares with a threshold of this file, whose
// type is known only once every condition is read.
type thresholdUse struct {
	c      *Condition
	sig    string
	typ    ValueType
	line   int
	field  string
	expr   string
	thresh *Threshold
}

// saysRef is a says text, checked once the thresholds it names are typed.
type saysRef struct {
	text, field string
	line        int
}

// thresholdDefs reads the thresholds section: names, help and the literal of
// each; the type comes from the signals compared with it (resolveThresholds).
func (p *parser) thresholdDefs(raw map[string]rawThreshold, keys []yamlpos.Key) {
	p.thresholdLits = map[string]string{}
	for _, k := range keys {
		if !p.checkName(k, "thresholds") {
			continue
		}
		rt := raw[k.Name]
		field := "thresholds." + k.Name
		t := &Threshold{Name: k.Name, Help: rt.Help, Seed: rt.Seed, File: p.file, Line: k.Line}
		if strings.TrimSpace(rt.Help) == "" {
			p.errf(k.Line, field+".help", "missing help text: what the number means, and why this value")
		}
		if strings.TrimSpace(rt.Value) == "" {
			p.errf(k.Line, field+".value", "missing value")
		}
		if p.ext != nil {
			if old := p.ext.base.Threshold(k.Name); old != nil {
				// A replaced default keeps its type: the default
				// conditions compare with it as that.
				t.Type = old.Type
			}
		}
		p.thresholdLits[k.Name] = rt.Value
		p.r.Thresholds = append(p.r.Thresholds, t)
		p.r.thresholds[k.Name] = t
	}
}

// thresholdLeaf reads a leaf's {name} literal, or reports that the literal
// is not one. It returns whether it was.
func (p *parser) thresholdLeaf(c *Condition, sigType ValueType, lit string, line int, field, expr string) bool {
	if strings.HasPrefix(lit, "$") {
		p.errf(line, field, "condition %q: %s is the form of a named selector, which only PromQL queries use; a threshold is written {name}", expr, lit)
		return true
	}
	m := thresholdLeafRE.FindStringSubmatch(lit)
	if m == nil {
		if strings.ContainsAny(lit, "{}") {
			p.errf(line, field, "condition %q: bad threshold %q (want {name}, name in lower_snake_case)", expr, lit)
			return true
		}
		return false
	}
	t := p.r.thresholds[m[1]]
	c.ThresholdName = m[1]
	switch {
	case t == nil:
		p.errf(line, field, "condition %q: unknown threshold {%s} (%s)", expr, m[1], p.thresholdNames())
	case sigType == TypeBool:
		p.errf(line, field, "condition %q: a bool signal compares with true or false, not a threshold", expr)
	case t.File == p.file:
		p.thresholdUses = append(p.thresholdUses, thresholdUse{c: c, sig: c.Signal, typ: sigType, line: line, field: field, expr: expr, thresh: t})
	case t.Type != sigType:
		p.errf(line, field, "condition %q: threshold {%s} is a %s, %s a %s", expr, t.Name, t.Type, c.Signal, sigType)
	default:
		c.Threshold = t.Default
	}
	return true
}

func (p *parser) thresholdNames() string {
	names := slices.Sorted(func(yield func(string) bool) {
		for n := range p.r.thresholds {
			if !yield(n) {
				return
			}
		}
	})
	if len(names) == 0 {
		return "the rules define none; add it under thresholds:"
	}
	return "the rules define " + strings.Join(names, ", ")
}

// says records a says text for the check of the thresholds it names.
func (p *parser) says(text string, line int, field string) {
	if strings.Contains(text, "${") {
		p.errf(line, field, "says %q: ${…} is the form of a named selector, which only PromQL queries use; a threshold is written {name}", text)
		return
	}
	if strings.Contains(text, "{") {
		p.saysRefs = append(p.saysRefs, saysRef{text: text, field: field, line: line})
	}
}

// resolveThresholds types each threshold of this file by the signals compared
// with it, reads its value in that type, and checks the says texts.
func (p *parser) resolveThresholds() {
	uses := map[*Threshold][]thresholdUse{}
	for _, u := range p.thresholdUses {
		uses[u.thresh] = append(uses[u.thresh], u)
	}
	for _, t := range p.r.Thresholds {
		if t.File != p.file {
			continue
		}
		field := "thresholds." + t.Name
		us := uses[t]
		if t.Type == "" {
			if len(us) == 0 {
				p.errf(t.Line, field, "no condition compares with {%s}", t.Name)
				continue
			}
			t.Type = us[0].typ
		}
		ok := true
		for _, u := range us {
			if u.typ != t.Type {
				first := fmt.Sprintf("%s (line %d) is a %s", us[0].sig, us[0].line, t.Type)
				if p.ext.baseThreshold(t.Name) != nil {
					first = "the default rules compare it as a " + string(t.Type)
				}
				p.errf(u.line, u.field, "condition %q: threshold {%s} is compared with %s, a %s, but %s", u.expr, t.Name, u.sig, u.typ, first)
				ok = false
			}
		}
		if !ok {
			continue
		}
		v, err := parseLiteral(t.Type, strings.TrimSpace(p.thresholdLits[t.Name]))
		if err != nil {
			p.errf(t.Line, field+".value", "%v (compared with %s, a %s)", err, compared(us), t.Type)
			continue
		}
		t.Default, t.Value = v, v
		for _, u := range us {
			u.c.Threshold = v
		}
	}
	for _, s := range p.saysRefs {
		for _, m := range thresholdRefRE.FindAllStringSubmatch(s.text, -1) {
			if t := p.r.thresholds[m[1]]; t == nil {
				p.errf(s.line, s.field, "says %q: unknown threshold {%s} (%s)", s.text, m[1], p.thresholdNames())
			}
		}
	}
}

func compared(us []thresholdUse) string {
	if len(us) == 0 {
		return "the default rules' signals"
	}
	return us[0].sig
}

// baseThreshold is the extended rules' threshold of that name, if any.
func (x *extension) baseThreshold(name string) *Threshold {
	if x == nil {
		return nil
	}
	return x.base.Threshold(name)
}
