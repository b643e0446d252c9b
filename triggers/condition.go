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
)

// Op is a comparison operator.
type Op string

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
		return LineError(n, fmt.Errorf("bad duration %q (want e.g. 30d, 1h)", n.Value))
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
