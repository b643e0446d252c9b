package triggers

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"regexp"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/capability-exporter/capability_exporter/yamlpos"
)

//go:embed default_rules.yml
var defaultRules []byte

// DefaultRulesYAML is the embedded default rules file.
func DefaultRulesYAML() []byte { return bytes.Clone(defaultRules) }

// DefaultRulesFile is the name errors use for the embedded rules.
const DefaultRulesFile = "<default rules>"

// Default returns the embedded default rules, parsed afresh on each call so
// that no two configs share them: one config's thresholds, or a change a
// caller makes to what it got, cannot reach another's. A test guarantees they
// are valid, so an error here is a build defect.
func Default() (*Rules, error) { return Parse(DefaultRulesFile, defaultRules) }

// Load reads and validates a rules file.
func Load(path string) (*Rules, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Parse(path, data)
}

// The raw* types are the file's shape. Decoding into them with KnownFields
// catches unknown fields and wrong types, with lines; conditions stay nodes
// and are read by hand.
type rawRules struct {
	Thresholds   map[string]rawThreshold  `yaml:"thresholds"`
	Signals      map[string]rawSignal     `yaml:"signals"`
	Tools        map[string]rawTool       `yaml:"tools"`
	Foundations  map[string]rawFoundation `yaml:"foundations"`
	Capabilities map[string]rawCapability `yaml:"capabilities"`
	Datastores   rawDatastores            `yaml:"datastores"`
	// An extending file's: see extend.go.
	Extends       yaml.Node                `yaml:"extends"`
	AddConditions map[string]rawConditions `yaml:"add_conditions"`
}

type rawSignal struct {
	Help         string       `yaml:"help"`
	Type         string       `yaml:"type"`
	Hysteresis   string       `yaml:"hysteresis"`
	Presume      []rawPresume `yaml:"presume"`
	SignalSource `yaml:",inline"`
}

// rawPresume is one presumption of a judgment: value while when holds.
type rawPresume struct {
	Value   string    `yaml:"value"`
	ValueOf string    `yaml:"value_of"`
	When    yaml.Node `yaml:"when"`
	Says    string    `yaml:"says"`
	Seed    yaml.Node `yaml:"seed"`
}

type rawTool struct {
	Title      string   `yaml:"title"`
	Capability string   `yaml:"capability"`
	CRDGroups  []string `yaml:"crd_groups"`
	Namespaces []string `yaml:"namespaces"`
	Workloads  []string `yaml:"workloads"`
	Exit       string   `yaml:"exit"`
}

type rawFoundation struct {
	Title   string    `yaml:"title"`
	Present yaml.Node `yaml:"present"`
	Advice  string    `yaml:"advice"`
}

type rawCapability struct {
	Title          string `yaml:"title"`
	Complexity     string `yaml:"complexity"`
	rawConditions  `yaml:",inline"`
	Contradictions []yaml.Node     `yaml:"contradictions"`
	Checklist      []yaml.Node     `yaml:"checklist"`
	Requires       []string        `yaml:"requires"`
	Questions      []string        `yaml:"questions"`
	Impact         yaml.Node       `yaml:"impact"`
	NotEncoded     []rawNotEncoded `yaml:"not_encoded"`
}

var nameRE = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)

// labelNameRE matches a Prometheus label name.
var labelNameRE = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)

// Parse reads and validates rules from data; file names the data in errors.
// It returns every problem found, each with file, line and field.
func Parse(file string, data []byte) (*Rules, error) {
	var raw rawRules
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&raw); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, yamlpos.Errors{{File: file, Msg: "empty rules file"}}
		}
		var doc yaml.Node
		if yaml.Unmarshal(data, &doc) == nil {
			if root := yamlpos.Root(&doc); root != nil && root.Kind != yaml.MappingNode {
				return nil, yamlpos.Errors{{File: file, Line: root.Line, Msg: "want a mapping with signals, tools, foundations and capabilities"}}
			}
		}
		es := yamlpos.DecodeErrors(file, err, rawTypeNames, data)
		for _, e := range es {
			e.Msg = yamlpos.PlainTypeError(e.Msg, rawTypeNames)
			if word, ok := strings.CutPrefix(e.Msg, "unknown field in "); ok && rawFields[word] != "" {
				e.Msg += " (want " + rawFields[word] + ")"
			}
		}
		return nil, es
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, yamlpos.DecodeErrors(file, err, nil, data)
	}
	root := yamlpos.Root(&doc)
	if root == nil {
		return nil, yamlpos.Errors{{File: file, Msg: "empty rules file"}}
	}
	p := &parser{file: file, root: root, r: &Rules{File: file, docs: map[string]*yaml.Node{file: &doc},
		thresholds: map[string]*Threshold{}, signals: map[string]*Signal{}, tools: map[string]*Tool{},
		foundations: map[string]*Foundation{}, capabilities: map[string]*Capability{}}}
	p.extend(&raw.Extends, raw.AddConditions)
	p.thresholdDefs(raw.Thresholds, yamlpos.MapKeys(root, "thresholds"))
	p.signals(raw.Signals, yamlpos.MapKeys(root, "signals"))
	p.checkReplacedSignals()
	p.factTypes()
	p.tools(raw.Tools, yamlpos.MapKeys(root, "tools"))
	p.datastores(raw.Datastores)
	p.derives()
	p.presumptions(raw.Signals)
	p.foundations(raw.Foundations, yamlpos.MapKeys(root, "foundations"))
	p.capabilities(raw.Capabilities, yamlpos.MapKeys(root, "capabilities"))
	if len(p.r.Capabilities) == 0 && p.ext == nil && len(p.errs) == 0 {
		p.errf(root.Line, "capabilities", "no capabilities defined")
	}
	p.addConditions(raw.AddConditions, yamlpos.MapKeys(root, "add_conditions"))
	p.resolveThresholds()
	p.mergeBase()
	slices.SortStableFunc(p.errs, func(a, b *yamlpos.Error) int { return a.Line - b.Line })
	if err := p.errs.Err(); err != nil {
		return nil, err
	}
	p.r.words = p.r.memoWords()
	p.r.spaceReads = p.r.spaceReadsOf()
	return p.r, nil
}

type parser struct {
	file string
	root *yaml.Node
	r    *Rules
	errs yamlpos.Errors
	ext  *extension // the rules this file extends, if it does

	reading    map[nodePos]bool // the condition nodes being read, outermost first
	conditions int              // condition nodes read, aliases expanded

	thresholdLits map[string]string // this file's thresholds, as written
	thresholdUses []thresholdUse    // leaves comparing with them
	saysRefs      []saysRef         // says texts naming thresholds
}

// errf records a problem with field. Its line is that of the deepest part of
// field present in the file when that is below line, so that a bad
// `kubernetes:` or `complexity:` points at its own line rather than at the
// signal or capability that holds it.
func (p *parser) errf(line int, field, format string, args ...any) {
	line = max(line, yamlpos.FieldLine(p.root, field))
	p.errs = append(p.errs, &yamlpos.Error{File: p.file, Line: line, Field: field, Msg: fmt.Sprintf(format, args...)})
}

func (p *parser) checkName(k yamlpos.Key, kind string) bool {
	if !nameRE.MatchString(k.Name) {
		p.errf(k.Line, kind+"."+k.Name, "bad name: want lowercase letters, digits and _ starting with a letter")
		return false
	}
	return true
}

func (p *parser) signals(raw map[string]rawSignal, keys []yamlpos.Key) {
	for _, k := range keys {
		field := "signals." + k.Name
		if !p.checkName(k, "signals") {
			continue
		}
		rs := raw[k.Name]
		s := &Signal{Name: k.Name, Help: rs.Help, Type: ValueType(rs.Type), Source: rs.SignalSource, Line: k.Line}
		if s.Type == "" {
			s.Type = TypeNumber
		}
		switch s.Type {
		case TypeNumber, TypeBool, TypeDuration, TypeRatio:
		default:
			p.errf(k.Line, field+".type", "unknown type %q (want number, bool, duration or ratio)", rs.Type)
		}
		if strings.TrimSpace(s.Help) == "" {
			p.errf(k.Line, field+".help", "missing help text")
		}
		// Each bound's error points at the alternative that declares it.
		lowerAt, upperAt := "", ""
		for i, alt := range s.Source.Alternatives() {
			at := field
			if len(s.Source.FirstKnown) > 0 {
				at = fmt.Sprintf("%s.first_known[%d]", field, i)
			}
			if alt.LowerBound && lowerAt == "" {
				lowerAt = at + ".lower_bound"
			}
			if alt.UpperBound && upperAt == "" {
				upperAt = at + ".upper_bound"
			}
		}
		for _, b := range []struct{ at, what string }{{lowerAt, "a lower bound"}, {upperAt, "an upper bound"}} {
			if b.at != "" && s.Type != TypeNumber && s.Type != TypeDuration {
				p.errf(k.Line, b.at, "%s is a count or a duration; %s is %s", b.what, s.Name, s.Type)
			}
		}
		if lowerAt != "" && upperAt != "" {
			// Each bound proves one side only, and the engine reads one
			// value, not the range between two.
			p.errf(k.Line, upperAt, "%s has lower and upper bounds among its alternatives; keep one kind", s.Name)
		}
		p.hysteresis(s, rs.Hysteresis, k.Line, field+".hysteresis")
		p.source(k.Line, field, s.Source, true)
		p.r.Signals = append(p.r.Signals, s)
		p.r.signals[s.Name] = s
	}
}

func (p *parser) source(line int, field string, s SignalSource, top bool) {
	n := 0
	for _, set := range []bool{s.Fact != "", s.Prometheus != nil, s.Loki != nil, s.Kubernetes != "", len(s.FirstKnown) > 0, s.Derive != nil} {
		if set {
			n++
		}
	}
	if n != 1 {
		p.errf(line, field, "want exactly one source of fact, prometheus, loki, kubernetes, derive or first_known; found %d", n)
		return
	}
	if s.LowerBound && (s.Fact != "" || s.Derive != nil || len(s.FirstKnown) > 0) {
		p.errf(line, field+".lower_bound", "lower_bound applies to a measure (prometheus, loki or kubernetes), not to a %s", s.Kind())
	}
	if s.UpperBound && (s.Fact != "" || s.Derive != nil || len(s.FirstKnown) > 0) {
		p.errf(line, field+".upper_bound", "upper_bound applies to a measure (prometheus, loki or kubernetes), not to a %s", s.Kind())
	}
	switch {
	case s.Fact != "":
		if !nameRE.MatchString(s.Fact) {
			p.errf(line, field+".fact", "bad fact name %q", s.Fact)
		}
	case s.Prometheus != nil:
		ps := s.Prometheus
		set := 0
		for _, b := range []bool{ps.Query != "", ps.AlertHistory != nil, ps.Rules != "", ps.Reachable} {
			if b {
				set++
			}
		}
		if set != 1 {
			p.errf(line, field+".prometheus", "want exactly one of query, alert_history, rules or reachable; found %d", set)
		}
		p.empty(line, field+".prometheus.empty", ps.Empty, ps.Query != "")
		if ah := ps.AlertHistory; ah != nil {
			if ah.Selector == "" {
				p.errf(line, field+".prometheus.alert_history.selector", "missing selector")
			}
			if ah.Window <= 0 {
				p.errf(line, field+".prometheus.alert_history.window", "missing or zero window")
			}
			for _, l := range ah.GroupBy {
				if !labelNameRE.MatchString(l) {
					p.errf(line, field+".prometheus.alert_history.group_by", "%q is not a label name", l)
				}
			}
			if ah.Measure == "" {
				p.errf(line, field+".prometheus.alert_history.measure", "missing measure (want one of %s)", strings.Join(alertHistoryMeasures, ", "))
			} else if !slices.Contains(alertHistoryMeasures, ah.Measure) {
				p.errf(line, field+".prometheus.alert_history.measure", "unknown measure %q (want one of %s)", ah.Measure, strings.Join(alertHistoryMeasures, ", "))
			}
		}
		if ps.Window < 0 || (ps.Window != 0 && ps.Query == "") {
			p.errf(line, field+".prometheus.window", "a window applies to a query, and is positive")
		}
		if ps.Rules != "" && !slices.Contains(rulesMeasures, ps.Rules) {
			p.errf(line, field+".prometheus.rules", "unknown measure %q (want one of %s)", ps.Rules, strings.Join(rulesMeasures, ", "))
		}
	case s.Loki != nil:
		if (s.Loki.Query != "") == s.Loki.Reachable {
			p.errf(line, field+".loki", "want exactly one of query or reachable")
		}
		p.empty(line, field+".loki.empty", s.Loki.Empty, s.Loki.Query != "")
		if s.Loki.Ago < 0 || (s.Loki.Ago != 0 && s.Loki.Query == "") {
			p.errf(line, field+".loki.ago", "ago applies to a query, and is positive")
		}
	case s.Kubernetes != "":
		if !slices.Contains(kubernetesMeasures, s.Kubernetes) {
			p.errf(line, field+".kubernetes", "unknown measure %q (want one of %s)", s.Kubernetes, strings.Join(kubernetesMeasures, ", "))
		}
	case s.Derive != nil:
		if s.Derive.TrueIfNode.Kind == 0 && s.Derive.FalseIfNode.Kind == 0 {
			p.errf(line, field+".derive", "want true_if, false_if or both")
		}
	default:
		if !top {
			p.errf(line, field+".first_known", "first_known cannot nest")
			return
		}
		for i, alt := range s.FirstKnown {
			p.source(line, fmt.Sprintf("%s.first_known[%d]", field, i), alt, false)
		}
	}
}

func (p *parser) empty(line int, field string, e Empty, isQuery bool) {
	switch {
	case e == "":
	case !isQuery:
		p.errf(line, field, "empty applies to queries only")
	case e != EmptyZero && e != EmptyUnknown:
		p.errf(line, field, "unknown value %q (want zero or unknown)", e)
	}
}

func (p *parser) tools(raw map[string]rawTool, keys []yamlpos.Key) {
	for _, k := range keys {
		if !p.checkName(k, "tools") {
			continue
		}
		rt := raw[k.Name]
		t := &Tool{ID: k.Name, Title: rt.Title, Capability: rt.Capability, CRDGroups: rt.CRDGroups,
			Namespaces: rt.Namespaces, Workloads: rt.Workloads, Exit: rt.Exit, Line: k.Line}
		if t.Title == "" {
			t.Title = t.ID
		}
		if len(t.CRDGroups)+len(t.Namespaces)+len(t.Workloads) == 0 {
			p.errf(k.Line, "tools."+k.Name, "no detection: want crd_groups, namespaces or workloads")
		}
		for i, w := range t.Workloads {
			// The expression as written first, so the message quotes it
			// rather than the anchored form.
			if _, err := regexp.Compile(w); err != nil {
				p.errf(k.Line, fmt.Sprintf("tools.%s.workloads[%d]", k.Name, i), "bad regular expression: %v", err)
			} else if _, err := regexp.Compile("^(?:" + w + ")$"); err != nil {
				p.errf(k.Line, fmt.Sprintf("tools.%s.workloads[%d]", k.Name, i), "bad regular expression: %v", err)
			}
		}
		p.r.Tools = append(p.r.Tools, t)
		p.r.tools[t.ID] = t
	}
}

func (p *parser) foundations(raw map[string]rawFoundation, keys []yamlpos.Key) {
	for _, k := range keys {
		if !p.checkName(k, "foundations") {
			continue
		}
		rf := raw[k.Name]
		f := &Foundation{ID: k.Name, Title: rf.Title, Advice: rf.Advice, Line: k.Line}
		if f.Title == "" {
			f.Title = f.ID
		}
		field := "foundations." + k.Name + ".present"
		if rf.Present.Kind == 0 {
			p.errf(k.Line, field, "missing present condition")
		} else {
			f.Present = p.condition(&rf.Present, field)
			for _, l := range f.Present.Leaves() {
				if strings.HasPrefix(l.Signal, FoundationSignalPrefix) {
					p.errf(l.Line, field, "reads %s: a foundation's presence reads tools and measures, not other foundations", l.Signal)
				}
			}
		}
		p.r.Foundations = append(p.r.Foundations, f)
		p.r.foundations[f.ID] = f
	}
}

func (p *parser) capabilities(raw map[string]rawCapability, keys []yamlpos.Key) {
	for i, k := range keys {
		if !p.checkName(k, "capabilities") {
			continue
		}
		rc := raw[k.Name]
		field := "capabilities." + k.Name
		c := &Capability{ID: k.Name, Title: rc.Title, Requires: rc.Requires, Questions: rc.Questions, Order: i, Line: k.Line}
		if c.Title == "" {
			c.Title = c.ID
		}
		var err error
		if rc.Complexity == "" {
			p.errf(k.Line, field+".complexity", "missing complexity (want low, low_medium, medium, medium_high or high)")
		} else if c.Complexity, err = ParseComplexity(rc.Complexity); err != nil {
			p.errf(k.Line, field+".complexity", "%v", err)
		}
		// A fixed order, so that problems on one line (a flow mapping) are
		// reported in the same order on every run.
		for _, cond := range []struct {
			kind string
			dst  **Condition
			node *yaml.Node
		}{{KindTrigger, &c.Trigger, &rc.Trigger}, {KindStructural, &c.Structural, &rc.Structural},
			{KindMust, &c.Must, &rc.Must}, {KindGate, &c.Gate, &rc.Gate},
			{KindSkip, &c.Skip, &rc.Skip}, {KindLater, &c.Later, &rc.Later}, {KindNow, &c.Now, &rc.Now},
			{"adopted_if", &c.AdoptedIf, &rc.AdoptedIf}} {
			if cond.node.Kind != 0 {
				*cond.dst = p.condition(cond.node, field+"."+cond.kind)
			}
		}
		for j := range rc.Contradictions {
			c.Contradictions = append(c.Contradictions, p.condition(&rc.Contradictions[j], fmt.Sprintf("%s.contradictions[%d]", field, j)))
		}
		for j := range rc.Checklist {
			c.Checklist = append(c.Checklist, p.condition(&rc.Checklist[j], fmt.Sprintf("%s.checklist[%d]", field, j)))
		}
		if c.Trigger == nil {
			p.errf(k.Line, field+".trigger", "missing trigger condition")
		}
		p.motives(c, field)
		p.notEncoded(c, rc.NotEncoded, field+".not_encoded")
		p.impact(c, &rc.Impact, field+".impact")
		c.foundations = slices.Clone(c.Requires)
		for _, cond := range append([]*Condition{c.Trigger, c.Structural, c.Must, c.Gate, c.Skip, c.Later, c.Now, c.AdoptedIf},
			append(slices.Clone(c.Contradictions), c.Checklist...)...) {
			for _, l := range cond.Leaves() {
				if id, ok := strings.CutPrefix(l.Signal, FoundationSignalPrefix); ok && !slices.Contains(c.foundations, id) {
					c.foundations = append(c.foundations, id)
				}
			}
		}
		for j, req := range c.Requires {
			if p.r.foundations[req] == nil {
				p.errf(k.Line, fmt.Sprintf("%s.requires[%d]", field, j), "unknown foundation %q", req)
			}
		}
		p.r.Capabilities = append(p.r.Capabilities, c)
		p.r.capabilities[c.ID] = c
	}
	for _, t := range p.r.Tools {
		if t.Capability != "" && p.r.capabilities[t.Capability] == nil {
			p.errf(t.Line, "tools."+t.ID+".capability", "unknown capability %q", t.Capability)
		}
	}
}

// motives checks that motive names only the trigger's top-level members, each
// once, and that answers names only the skip's top-level members and motives
// the trigger has.
func (p *parser) motives(c *Capability, field string) {
	top := func(cond *Condition) []*Condition {
		if cond == nil {
			return nil
		}
		if cond.Any != nil {
			return cond.Any
		}
		return []*Condition{cond}
	}
	allowed := map[*Condition]string{}
	for _, m := range top(c.Trigger) {
		allowed[m] = KindTrigger
	}
	for _, m := range top(c.Skip) {
		allowed[m] = KindSkip
	}
	seen := map[string]bool{}
	for _, m := range top(c.Trigger) {
		if m.Motive == "" {
			continue
		}
		if seen[m.Motive] {
			p.errf(m.Line, field+".trigger", "motive %q named twice", m.Motive)
		}
		seen[m.Motive] = true
	}
	var walk func(cond *Condition, kind string)
	walk = func(cond *Condition, kind string) {
		if cond == nil {
			return
		}
		if cond.Motive != "" && (allowed[cond] != KindTrigger || kind != KindTrigger) {
			p.errf(cond.Line, field+"."+kind, "motive names a top-level member of trigger only")
		}
		if len(cond.Answers) > 0 {
			if allowed[cond] != KindSkip || kind != KindSkip {
				p.errf(cond.Line, field+"."+kind, "answers belongs to a top-level member of skip only")
			}
			for _, a := range cond.Answers {
				if !seen[a] {
					p.errf(cond.Line, field+"."+kind, "answers unknown motive %q (the trigger names %s)", a, motiveList(seen))
				}
			}
		}
		walk(cond.Not, kind)
		for _, m := range append(slices.Clone(cond.Any), cond.All...) {
			walk(m, kind)
		}
	}
	for _, k := range []struct {
		kind string
		cond *Condition
	}{{KindTrigger, c.Trigger}, {KindStructural, c.Structural}, {KindMust, c.Must}, {KindGate, c.Gate},
		{KindSkip, c.Skip}, {KindLater, c.Later}, {KindNow, c.Now}, {"adopted_if", c.AdoptedIf}} {
		walk(k.cond, k.kind)
	}
}

func motiveList(seen map[string]bool) string {
	if len(seen) == 0 {
		return "none"
	}
	names := slices.Sorted(maps.Keys(seen))
	return strings.Join(names, ", ")
}

// presumptions reads each signal's presume list, once tools and derived
// signals are known. Only a judgment is presumed, and a presumption reads
// measures, facts and the judgments presumed before it.
func (p *parser) presumptions(raw map[string]rawSignal) {
	for _, sig := range p.r.Signals {
		rs := raw[sig.Name]
		for i := range rs.Presume {
			rp := &rs.Presume[i]
			field := fmt.Sprintf("signals.%s.presume[%d]", sig.Name, i)
			line := sig.Line
			if rp.When.Kind != 0 {
				line = rp.When.Line
			}
			if !sig.Judgment() {
				p.errf(line, field, "only a judgment (a fact, perhaps derived) is presumed; %s is measured", sig.Name)
			}
			pr := &Presumption{Says: rp.Says, Line: line}
			if rp.When.Kind == 0 {
				p.errf(line, field+".when", "missing when: a presumption cites the measure it rests on")
			} else {
				pr.When = p.condition(&rp.When, field+".when")
			}
			if strings.TrimSpace(rp.Says) == "" {
				p.errf(line, field+".says", "missing says: the words shown beside the presumed value")
			}
			p.says(rp.Says, line, field+".says")
			if rp.Seed.Kind != 0 {
				pr.Seed = p.seed(&rp.Seed, field+".seed")
			}
			if rp.ValueOf != "" {
				// A proxy: the judgment is presumed to be what a measure of
				// the same type reads, where the when holds.
				from := p.r.Signal(rp.ValueOf)
				switch {
				case rp.Value != "":
					p.errf(line, field+".value_of", "a presumption has value or value_of, not both")
				case from == nil:
					p.errf(line, field+".value_of", "unknown signal %q", rp.ValueOf)
				case from.Type != sig.Type:
					p.errf(line, field+".value_of", "%s is a %s, %s a %s", rp.ValueOf, from.Type, sig.Name, sig.Type)
				case from.Judgment():
					p.errf(line, field+".value_of", "%s is a judgment; a presumption takes a measured value", rp.ValueOf)
				}
				pr.From = rp.ValueOf
				sig.Presume = append(sig.Presume, pr)
				continue
			}
			v, err := parseLiteral(sig.Type, rp.Value)
			if rp.Value == "" {
				err = fmt.Errorf("missing value (or value_of)")
			}
			if err != nil {
				p.errf(line, field+".value", "%v", err)
			}
			pr.Value = v
			sig.Presume = append(sig.Presume, pr)
		}
	}
}

// factTypes rejects a fact that two signals read as different types: the
// config could declare it only one way, and one of the signals would
// silently misread it.
func (p *parser) factTypes() {
	first := map[string]*Signal{}
	for _, s := range p.r.Signals {
		for _, alt := range s.Source.Alternatives() {
			if alt.Fact == "" {
				continue
			}
			if prev, ok := first[alt.Fact]; ok && prev.Type != s.Type {
				p.errf(s.Line, "signals."+s.Name, "reads fact %s as %s, but signal %s (line %d) reads it as %s",
					alt.Fact, s.Type, prev.Name, prev.Line, prev.Type)
			} else if !ok {
				first[alt.Fact] = s
			}
		}
	}
}

// derives reads the conditions of derived signals, once tools are known. A
// derived signal reads measures and facts only: no other derived signal and
// no foundation, so that deriving needs no order and cannot loop.
func (p *parser) derives() {
	for _, sig := range p.r.Signals {
		alts := sig.Source.Alternatives()
		for i, alt := range alts {
			d := alt.Derive
			if d == nil {
				continue
			}
			field := "signals." + sig.Name + ".derive"
			if len(sig.Source.FirstKnown) > 0 {
				field = fmt.Sprintf("signals.%s.first_known[%d].derive", sig.Name, i)
			}
			// Derived values are worked out after every source answered, so
			// a derivation can only be the last resort, and there is one.
			if i != len(alts)-1 {
				p.errf(sig.Line, field, "a derive must be the last alternative of first_known (and the only derive)")
			}
			if sig.Type != TypeBool {
				p.errf(sig.Line, field, "a derived signal is a bool; %s is %s", sig.Name, sig.Type)
			}
			if d.TrueIfNode.Kind != 0 {
				d.TrueIf = p.condition(&d.TrueIfNode, field+".true_if")
			}
			if d.FalseIfNode.Kind != 0 {
				d.FalseIf = p.condition(&d.FalseIfNode, field+".false_if")
			}
			for _, c := range []*Condition{d.TrueIf, d.FalseIf} {
				for _, l := range c.Leaves() {
					if s := p.r.signals[l.Signal]; s != nil && s.derive() != nil {
						p.errf(l.Line, field, "reads %s, which is derived too; derive from measures and facts only", l.Signal)
					}
				}
			}
		}
	}
}

// hysteresis reads a signal's band, a literal in its unit (2%, 10m, 1).
func (p *parser) hysteresis(s *Signal, lit string, line int, field string) {
	if lit == "" {
		return
	}
	if s.Type == TypeBool {
		p.errf(line, field, "a bool signal has no threshold to keep a band around")
		return
	}
	band, err := parseLiteral(s.Type, lit)
	if err == nil && band < 0 {
		err = fmt.Errorf("value %q: a band is not negative", lit)
	}
	if err != nil {
		p.errf(line, field, "%v", err)
		return
	}
	s.Hysteresis = Hysteresis{Band: band, Set: true}
}
