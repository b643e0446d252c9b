package triggers

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/common/model"
	"go.yaml.in/yaml/v3"

	"github.com/capability-exporter/capability_exporter/yamlpos"
)

// Op is a comparison operator.
type Op string

// The comparison operators a condition leaf may use.
const (
	OpGT Op = ">"
	OpGE Op = ">="
	OpLT Op = "<"
	OpLE Op = "<="
	OpEQ Op = "=="
	OpNE Op = "!="
)

// Compare applies op to v and threshold.
func (op Op) Compare(v, threshold float64) bool {
	switch op {
	case OpGT:
		return v > threshold
	case OpGE:
		return v >= threshold
	case OpLT:
		return v < threshold
	case OpLE:
		return v <= threshold
	case OpEQ:
		return v == threshold
	case OpNE:
		return v != threshold
	}
	return false
}

var leafRE = regexp.MustCompile(`^\s*([a-z][a-z0-9_]*(?:\.[a-z][a-z0-9_]*)?)\s*(>=|<=|==|!=|>|<|=)?\s*(.*?)\s*$`)

// leaf is a parsed comparison before its literal is read against the signal's
// type.
type leaf struct {
	signal  string
	op      Op
	literal string
}

// parseLeaf reads `<signal> <op> <literal>`.
func parseLeaf(s string) (leaf, error) {
	m := leafRE.FindStringSubmatch(s)
	if m == nil || strings.TrimSpace(s) == "" {
		return leaf{}, fmt.Errorf("condition %q: want `<signal> <op> <literal>`, e.g. `microservices > 5`", s)
	}
	l := leaf{signal: m[1], op: Op(m[2]), literal: m[3]}
	switch {
	case m[2] == "":
		return leaf{}, fmt.Errorf("condition %q: missing operator after %q (want one of > >= < <= == !=)", s, l.signal)
	case m[2] == "=":
		return leaf{}, fmt.Errorf("condition %q: bad operator \"=\" (did you mean ==?)", s)
	case l.literal == "":
		return leaf{}, fmt.Errorf("condition %q: missing value after %q", s, m[2])
	case strings.ContainsAny(l.literal, " \t<>=!"):
		return leaf{}, fmt.Errorf("condition %q: bad operator or value %q (want one of > >= < <= == != then one value)", s, l.literal)
	}
	return l, nil
}

// parseLiteral reads a literal as a value of type t: true/false for bool,
// Prometheus durations (1h, 30m) for duration, percentages (20%) for ratio,
// and plain numbers for any type but bool.
func parseLiteral(t ValueType, lit string) (float64, error) {
	switch t {
	case TypeBool:
		switch lit {
		case "true":
			return 1, nil
		case "false":
			return 0, nil
		}
		return 0, fmt.Errorf("value %q: a bool signal compares with true or false", lit)
	case TypeDuration:
		if d, err := model.ParseDuration(lit); err == nil {
			return time.Duration(d).Seconds(), nil
		}
	case TypeRatio:
		if p, ok := strings.CutSuffix(lit, "%"); ok {
			f, err := strconv.ParseFloat(p, 64)
			if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
				return 0, fmt.Errorf("value %q: not a percentage", lit)
			}
			return f / 100, nil
		}
	}
	f, err := strconv.ParseFloat(lit, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		hint := "a number"
		switch t {
		case TypeDuration:
			hint = "a duration such as 1h or 30m, or seconds"
		case TypeRatio:
			hint = "a ratio such as 0.2 or 20%"
		}
		return 0, fmt.Errorf("value %q: want %s", lit, hint)
	}
	return f, nil
}

// FormatValue renders v as the rules would write it for a signal of type t.
func FormatValue(t ValueType, v float64) string {
	switch t {
	case TypeBool:
		if v != 0 {
			return "true"
		}
		return "false"
	case TypeDuration:
		// To the millisecond, the finest unit a Prometheus duration writes,
		// while time.Duration holds it (about 292 years); plain seconds
		// otherwise.
		if ms := math.Round(v * 1000); v >= 0 && ms < math.MaxInt64/1e6 && (ms > 0 || v == 0) {
			return model.Duration(time.Duration(ms) * time.Millisecond).String()
		}
		return strconv.FormatFloat(v, 'g', 4, 64) + "s"
	case TypeRatio:
		// 12 significant digits, so that 0.29 reads 29% rather than
		// 28.999999999999996%.
		p, _ := strconv.ParseFloat(strconv.FormatFloat(v*100, 'g', 12, 64), 64)
		return strconv.FormatFloat(p, 'f', -1, 64) + "%"
	}
	return strconv.FormatFloat(v, 'f', -1, 64)
}

// Duration is a Prometheus-style duration in the rules file (30d, 1h).
type Duration time.Duration

// UnmarshalYAML reads a Prometheus duration; its error carries the line.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	v, err := model.ParseDuration(n.Value)
	if err != nil || n.Kind != yaml.ScalarNode {
		return yamlpos.LineError(n, fmt.Errorf("bad duration %q (want e.g. 30d, 1h)", n.Value))
	}
	*d = Duration(v)
	return nil
}

// MarshalText writes a Prometheus duration.
func (d Duration) MarshalText() ([]byte, error) {
	return []byte(model.Duration(d).String()), nil
}

// ParseValue reads a literal as a value of type t, the way conditions read
// theirs, so declared facts and overrides accept exactly what rules do:
// true/false, durations (6h), percentages (20%) and finite numbers.
func ParseValue(t ValueType, lit string) (float64, error) { return parseLiteral(t, lit) }

// nodePos identifies a node by where it starts; the raw types hold copies of
// the document's nodes, which aliases do not point at.
type nodePos struct{ line, column int }

// maxConditions bounds the conditions of one file, aliases expanded.
const maxConditions = 10000

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
	for k, v := range yamlpos.Pairs(n) {
		sub := field + "." + k.Value
		switch k.Value {
		case "says":
			if v.Kind != yaml.ScalarNode {
				p.errf(v.Line, sub, "want a string")
			}
			c.Says = v.Value
			p.says(v.Value, v.Line, sub)
		case "seed":
			c.Seed = p.seed(v, sub)
		case "motive":
			if v.Kind != yaml.ScalarNode || !nameRE.MatchString(v.Value) {
				p.errf(v.Line, sub, "want a motive name in lower_snake_case")
			}
			c.Motive = v.Value
		case "answers":
			if v.Kind != yaml.SequenceNode || len(v.Content) == 0 {
				p.errf(v.Line, sub, "want a non-empty list of motive names")
				continue
			}
			for _, m := range v.Content {
				c.Answers = append(c.Answers, m.Value)
			}
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
			p.errf(k.Line, sub, "unknown field %q in condition (want if, says, any, all, not, motive, answers or seed)", k.Value)
		}
	}
	if combos != 1 {
		p.errf(n.Line, field, "want exactly one of if, any, all or not; found %d", combos)
	}
	return c
}

// seed reads a seed: field, one quote or a list of them, each the
// framework's words, which a test holds against the framework's text.
func (p *parser) seed(n *yaml.Node, field string) []string {
	items := []*yaml.Node{n}
	if n.Kind == yaml.SequenceNode {
		items = n.Content
	}
	var out []string
	for _, q := range items {
		if q.Kind != yaml.ScalarNode || strings.TrimSpace(q.Value) == "" {
			p.errf(q.Line, field, "want the framework's words, a quote or a list of quotes")
			continue
		}
		out = append(out, q.Value)
	}
	if len(out) == 0 && n.Kind == yaml.SequenceNode {
		p.errf(n.Line, field, "want the framework's words, a quote or a list of quotes")
	}
	return out
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
	if p.thresholdLeaf(c, t, l.literal, line, field, expr) {
		return
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
	if id, ok := strings.CutPrefix(name, FoundationSignalPrefix); ok {
		// Foundations are read after tools and derived signals and before
		// capabilities, so only capabilities may read foundation.<id>.
		return TypeBool, p.r.foundations[id] != nil
	}
	if s := p.r.signals[name]; s != nil {
		return s.Type, true
	}
	return "", false
}
