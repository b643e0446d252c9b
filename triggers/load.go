package triggers

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"

	"go.yaml.in/yaml/v3"
)

//go:embed default_rules.yml
var defaultRules []byte

// DefaultRulesYAML is the embedded default rules file.
func DefaultRulesYAML() []byte { return bytes.Clone(defaultRules) }

// DefaultRulesFile is the name errors use for the embedded rules.
const DefaultRulesFile = "<default rules>"

var defaultOnce = sync.OnceValues(func() (*Rules, error) {
	return Parse(DefaultRulesFile, defaultRules)
})

// Default returns the embedded default rules. They are parsed once; a test
// guarantees they are valid, so an error here is a build defect.
func Default() (*Rules, error) { return defaultOnce() }

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
	Signals      map[string]rawSignal     `yaml:"signals"`
	Tools        map[string]rawTool       `yaml:"tools"`
	Foundations  map[string]rawFoundation `yaml:"foundations"`
	Capabilities map[string]rawCapability `yaml:"capabilities"`
}

type rawSignal struct {
	Help         string `yaml:"help"`
	Type         string `yaml:"type"`
	SignalSource `yaml:",inline"`
}

type rawTool struct {
	Title      string   `yaml:"title"`
	Capability string   `yaml:"capability"`
	CRDGroups  []string `yaml:"crd_groups"`
	Namespaces []string `yaml:"namespaces"`
	Workloads  []string `yaml:"workloads"`
}

type rawFoundation struct {
	Title   string    `yaml:"title"`
	Present yaml.Node `yaml:"present"`
}

type rawCapability struct {
	Title      string    `yaml:"title"`
	Complexity string    `yaml:"complexity"`
	Trigger    yaml.Node `yaml:"trigger"`
	Skip       yaml.Node `yaml:"skip"`
	Later      yaml.Node `yaml:"later"`
	Now        yaml.Node `yaml:"now"`
	Requires   []string  `yaml:"requires"`
	Questions  []string  `yaml:"questions"`
}

var rawTypeNames = map[string]string{
	"triggers.rawRules": "rules file", "triggers.rawSignal": "signal", "triggers.rawTool": "tool",
	"triggers.rawFoundation": "foundation", "triggers.rawCapability": "capability",
	"triggers.PrometheusSignal": "prometheus signal", "triggers.LokiSignal": "loki signal",
	"triggers.AlertHistory": "alert_history", "triggers.SignalSource": "first_known alternative",
}

// rawFields lists the fields of each raw type, by its word in rawTypeNames,
// for "unknown field" messages.
var rawFields = func() map[string]string {
	var fields func(t reflect.Type) []string
	fields = func(t reflect.Type) []string {
		var names []string
		for f := range t.Fields() {
			name, opts, _ := strings.Cut(f.Tag.Get("yaml"), ",")
			if opts == "inline" {
				names = append(names, fields(f.Type)...)
			} else if name != "" && name != "-" {
				names = append(names, name)
			}
		}
		return names
	}
	out := map[string]string{}
	for _, v := range []any{rawRules{}, rawSignal{}, rawTool{}, rawFoundation{}, rawCapability{},
		PrometheusSignal{}, LokiSignal{}, AlertHistory{}, SignalSource{}} {
		t := reflect.TypeOf(v)
		names := fields(t)
		out[rawTypeNames[t.String()]] = strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
	}
	return out
}()

var nameRE = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)

// Parse reads and validates rules from data; file names the data in errors.
// It returns every problem found, each with file, line and field.
func Parse(file string, data []byte) (*Rules, error) {
	var raw rawRules
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&raw); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, Errors{{File: file, Msg: "empty rules file"}}
		}
		var doc yaml.Node
		if yaml.Unmarshal(data, &doc) == nil && len(doc.Content) > 0 && doc.Content[0].Kind != yaml.MappingNode {
			return nil, Errors{{File: file, Line: doc.Content[0].Line, Msg: "want a mapping with signals, tools, foundations and capabilities"}}
		}
		es := YAMLErrors(file, err, rawTypeNames, data)
		for _, e := range es {
			e.Msg = plainTypeError(e.Msg, rawTypeNames)
			if word, ok := strings.CutPrefix(e.Msg, "unknown field in "); ok && rawFields[word] != "" {
				e.Msg += " (want " + rawFields[word] + ")"
			}
		}
		return nil, es
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, YAMLErrors(file, err, nil, data)
	}
	if len(doc.Content) == 0 {
		return nil, Errors{{File: file, Msg: "empty rules file"}}
	}
	root := doc.Content[0]
	p := &parser{file: file, root: root, r: &Rules{File: file,
		signals: map[string]*Signal{}, tools: map[string]*Tool{},
		foundations: map[string]*Foundation{}, capabilities: map[string]*Capability{}}}
	p.signals(raw.Signals, mapKeys(root, "signals"))
	p.tools(raw.Tools, mapKeys(root, "tools"))
	p.foundations(raw.Foundations, mapKeys(root, "foundations"))
	p.capabilities(raw.Capabilities, mapKeys(root, "capabilities"))
	if len(p.r.Capabilities) == 0 && len(p.errs) == 0 {
		p.errf(root.Line, "capabilities", "no capabilities defined")
	}
	slices.SortStableFunc(p.errs, func(a, b *Error) int { return a.Line - b.Line })
	if err := p.errs.Err(); err != nil {
		return nil, err
	}
	return p.r, nil
}

// key is a mapping key with its line, in file order.
type key struct {
	name string
	line int
	node *yaml.Node // the value
}

// mapKeys returns the keys of the mapping under field of m, in order.
func mapKeys(m *yaml.Node, field string) []key {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == field {
			v := m.Content[i+1]
			if v.Kind != yaml.MappingNode {
				return nil
			}
			var out []key
			for j := 0; j+1 < len(v.Content); j += 2 {
				out = append(out, key{v.Content[j].Value, v.Content[j].Line, v.Content[j+1]})
			}
			return out
		}
	}
	return nil
}

type parser struct {
	file string
	root *yaml.Node
	r    *Rules
	errs Errors

	reading    map[nodePos]bool // the condition nodes being read, outermost first
	conditions int              // condition nodes read, aliases expanded
}

// nodePos identifies a node by where it starts; the raw types hold copies of
// the document's nodes, which aliases do not point at.
type nodePos struct{ line, column int }

// maxConditions bounds the conditions of one file, aliases expanded.
const maxConditions = 10000

// errf records a problem with field. Its line is that of the deepest part of
// field present in the file when that is below line, so that a bad
// `kubernetes:` or `complexity:` points at its own line rather than at the
// signal or capability that holds it.
func (p *parser) errf(line int, field, format string, args ...any) {
	line = max(line, fieldLine(p.root, field))
	p.errs = append(p.errs, &Error{File: p.file, Line: line, Field: field, Msg: fmt.Sprintf(format, args...)})
}

func (p *parser) checkName(k key, kind string) bool {
	if !nameRE.MatchString(k.name) {
		p.errf(k.line, kind+"."+k.name, "bad name: want lowercase letters, digits and _ starting with a letter")
		return false
	}
	return true
}

func (p *parser) signals(raw map[string]rawSignal, keys []key) {
	for _, k := range keys {
		field := "signals." + k.name
		if !p.checkName(k, "signals") {
			continue
		}
		rs := raw[k.name]
		s := &Signal{Name: k.name, Help: rs.Help, Type: ValueType(rs.Type), Source: rs.SignalSource, Line: k.line}
		if s.Type == "" {
			s.Type = TypeNumber
		}
		switch s.Type {
		case TypeNumber, TypeBool, TypeDuration, TypeRatio:
		default:
			p.errf(k.line, field+".type", "unknown type %q (want number, bool, duration or ratio)", rs.Type)
		}
		if strings.TrimSpace(s.Help) == "" {
			p.errf(k.line, field+".help", "missing help text")
		}
		p.source(k.line, field, s.Source, true)
		p.r.Signals = append(p.r.Signals, s)
		p.r.signals[s.Name] = s
	}
}

func (p *parser) source(line int, field string, s SignalSource, top bool) {
	n := 0
	for _, set := range []bool{s.Fact != "", s.Prometheus != nil, s.Loki != nil, s.Kubernetes != "", len(s.FirstKnown) > 0} {
		if set {
			n++
		}
	}
	if n != 1 {
		p.errf(line, field, "want exactly one source of fact, prometheus, loki, kubernetes or first_known; found %d", n)
		return
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
			if ah.Measure == "" {
				p.errf(line, field+".prometheus.alert_history.measure", "missing measure (want one of %s)", strings.Join(AlertHistoryMeasures, ", "))
			} else if !slices.Contains(AlertHistoryMeasures, ah.Measure) {
				p.errf(line, field+".prometheus.alert_history.measure", "unknown measure %q (want one of %s)", ah.Measure, strings.Join(AlertHistoryMeasures, ", "))
			}
		}
		if ps.Rules != "" && !slices.Contains(RulesMeasures, ps.Rules) {
			p.errf(line, field+".prometheus.rules", "unknown measure %q (want one of %s)", ps.Rules, strings.Join(RulesMeasures, ", "))
		}
	case s.Loki != nil:
		if (s.Loki.Query != "") == s.Loki.Reachable {
			p.errf(line, field+".loki", "want exactly one of query or reachable")
		}
		p.empty(line, field+".loki.empty", s.Loki.Empty, s.Loki.Query != "")
	case s.Kubernetes != "":
		if !slices.Contains(KubernetesMeasures, s.Kubernetes) {
			p.errf(line, field+".kubernetes", "unknown measure %q (want one of %s)", s.Kubernetes, strings.Join(KubernetesMeasures, ", "))
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

func (p *parser) tools(raw map[string]rawTool, keys []key) {
	for _, k := range keys {
		if !p.checkName(k, "tools") {
			continue
		}
		rt := raw[k.name]
		t := &Tool{ID: k.name, Title: rt.Title, Capability: rt.Capability, CRDGroups: rt.CRDGroups,
			Namespaces: rt.Namespaces, Workloads: rt.Workloads, Line: k.line}
		if t.Title == "" {
			t.Title = t.ID
		}
		if len(t.CRDGroups)+len(t.Namespaces)+len(t.Workloads) == 0 {
			p.errf(k.line, "tools."+k.name, "no detection: want crd_groups, namespaces or workloads")
		}
		for i, w := range t.Workloads {
			// The expression as written first, so the message quotes it
			// rather than the anchored form.
			if _, err := regexp.Compile(w); err != nil {
				p.errf(k.line, fmt.Sprintf("tools.%s.workloads[%d]", k.name, i), "bad regular expression: %v", err)
			} else if _, err := regexp.Compile("^(?:" + w + ")$"); err != nil {
				p.errf(k.line, fmt.Sprintf("tools.%s.workloads[%d]", k.name, i), "bad regular expression: %v", err)
			}
		}
		p.r.Tools = append(p.r.Tools, t)
		p.r.tools[t.ID] = t
	}
}

func (p *parser) foundations(raw map[string]rawFoundation, keys []key) {
	for _, k := range keys {
		if !p.checkName(k, "foundations") {
			continue
		}
		rf := raw[k.name]
		f := &Foundation{ID: k.name, Title: rf.Title, Line: k.line}
		if f.Title == "" {
			f.Title = f.ID
		}
		field := "foundations." + k.name + ".present"
		if rf.Present.Kind == 0 {
			p.errf(k.line, field, "missing present condition")
		} else {
			f.Present = p.condition(&rf.Present, field)
		}
		p.r.Foundations = append(p.r.Foundations, f)
		p.r.foundations[f.ID] = f
	}
}

func (p *parser) capabilities(raw map[string]rawCapability, keys []key) {
	for i, k := range keys {
		if !p.checkName(k, "capabilities") {
			continue
		}
		rc := raw[k.name]
		field := "capabilities." + k.name
		c := &Capability{ID: k.name, Title: rc.Title, Requires: rc.Requires, Questions: rc.Questions, Order: i, Line: k.line}
		if c.Title == "" {
			c.Title = c.ID
		}
		var err error
		if rc.Complexity == "" {
			p.errf(k.line, field+".complexity", "missing complexity (want low, low_medium, medium, medium_high or high)")
		} else if c.Complexity, err = ParseComplexity(rc.Complexity); err != nil {
			p.errf(k.line, field+".complexity", "%v", err)
		}
		// A fixed order, so that problems on one line (a flow mapping) are
		// reported in the same order on every run.
		for _, cond := range []struct {
			kind string
			dst  **Condition
			node *yaml.Node
		}{{KindTrigger, &c.Trigger, &rc.Trigger}, {KindSkip, &c.Skip, &rc.Skip}, {KindLater, &c.Later, &rc.Later}, {KindNow, &c.Now, &rc.Now}} {
			if cond.node.Kind != 0 {
				*cond.dst = p.condition(cond.node, field+"."+cond.kind)
			}
		}
		if c.Trigger == nil {
			p.errf(k.line, field+".trigger", "missing trigger condition")
		}
		for j, req := range c.Requires {
			if p.r.foundations[req] == nil {
				p.errf(k.line, fmt.Sprintf("%s.requires[%d]", field, j), "unknown foundation %q", req)
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

// condition reads a condition node: a leaf string, {if, says}, or one of
// {any}, {all}, {not} with an optional says.
func (p *parser) condition(n *yaml.Node, field string) *Condition {
	// An alias (*name) reuses a condition written elsewhere with &name. An
	// anchor may not contain its own alias, and aliases of aliases may not
	// multiply a file into more conditions than anyone writes.
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		if p.reading[nodePos{n.Alias.Line, n.Alias.Column}] {
			p.errf(n.Line, field, "alias *%s is inside the condition it names", n.Value)
			return &Condition{Line: n.Line}
		}
		n = n.Alias
	}
	if p.reading == nil {
		p.reading = map[nodePos]bool{}
	}
	pos := nodePos{n.Line, n.Column}
	p.reading[pos] = true
	defer delete(p.reading, pos)
	if p.conditions++; p.conditions == maxConditions+1 {
		p.errf(n.Line, field, "more than %d conditions; aliases expand to too many", maxConditions)
	}
	if p.conditions > maxConditions {
		return &Condition{Line: n.Line}
	}
	c := &Condition{Line: n.Line}
	switch n.Kind {
	case yaml.ScalarNode:
		p.leaf(c, n.Value, n.Line, field)
		return c
	case yaml.MappingNode:
	default:
		p.errf(n.Line, field, "want a condition string or a mapping with if, any, all or not")
		return c
	}
	var combos int
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		sub := field + "." + k.Value
		switch k.Value {
		case "says":
			if v.Kind != yaml.ScalarNode {
				p.errf(v.Line, sub, "want a string")
			}
			c.Says = v.Value
		case "if":
			combos++
			if v.Kind != yaml.ScalarNode {
				p.errf(v.Line, sub, "want a condition string")
				continue
			}
			p.leaf(c, v.Value, v.Line, sub)
		case "not":
			combos++
			c.Not = p.condition(v, sub)
		case "any", "all":
			combos++
			if v.Kind != yaml.SequenceNode || len(v.Content) == 0 {
				p.errf(v.Line, sub, "want a non-empty list of conditions")
				continue
			}
			members := make([]*Condition, len(v.Content))
			for j, m := range v.Content {
				members[j] = p.condition(m, fmt.Sprintf("%s[%d]", sub, j))
			}
			if k.Value == "any" {
				c.Any = members
			} else {
				c.All = members
			}
		default:
			p.errf(k.Line, sub, "unknown field %q in condition (want if, says, any, all or not)", k.Value)
		}
	}
	if combos != 1 {
		p.errf(n.Line, field, "want exactly one of if, any, all or not; found %d", combos)
	}
	return c
}

func (p *parser) leaf(c *Condition, expr string, line int, field string) {
	l, err := parseLeaf(expr)
	if err != nil {
		p.errf(line, field, "%v", err)
		return
	}
	c.Signal, c.Op, c.Expr = l.signal, l.op, strings.Join([]string{l.signal, string(l.op), l.literal}, " ")
	t, ok := p.signalType(l.signal)
	if !ok {
		p.errf(line, field, "unknown signal %q in condition %q", l.signal, expr)
		return
	}
	if t == TypeBool && l.op != OpEQ && l.op != OpNE {
		p.errf(line, field, "condition %q: a bool signal compares with == or != only", expr)
	}
	if c.Threshold, err = parseLiteral(t, l.literal); err != nil {
		p.errf(line, field, "condition %q: %v", expr, err)
	}
}

// signalType resolves a signal name: declared signals, and tool.<id> for
// declared tools. Tools are parsed before foundations and capabilities.
func (p *parser) signalType(name string) (ValueType, bool) {
	if id, ok := strings.CutPrefix(name, ToolSignalPrefix); ok {
		return TypeBool, p.r.tools[id] != nil
	}
	if s := p.r.signals[name]; s != nil {
		return s.Type, true
	}
	return "", false
}

// fieldLine returns the line of the deepest part of a field path such as
// capabilities.x.trigger.any[1] or signals.x.prometheus.alert_history.window
// that the document holds, or 0.
func fieldLine(root *yaml.Node, field string) int {
	line, n := 0, root
	for _, part := range strings.Split(field, ".") {
		name, rest, _ := strings.Cut(part, "[")
		if n == nil || n.Kind != yaml.MappingNode {
			return line
		}
		var next *yaml.Node
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == name {
				line, next = n.Content[i].Line, n.Content[i+1]
				break
			}
		}
		if n = next; n == nil {
			return line
		}
		for rest != "" {
			var idx string
			idx, rest, _ = strings.Cut(rest, "]")
			rest = strings.TrimPrefix(rest, "[")
			i, err := strconv.Atoi(idx)
			if err != nil || n.Kind != yaml.SequenceNode || i < 0 || i >= len(n.Content) {
				return line
			}
			n = n.Content[i]
			line = n.Line
		}
	}
	return line
}
