package config

import (
	"fmt"
	"maps"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/capability-exporter/capability_exporter/triggers"
	"github.com/capability-exporter/capability_exporter/yamlpos"
)

// WhatIf is a what-if question: facts, overrides and thresholds, each a
// mapping written as the config file writes that section, laid over the
// config in force. A name given a value declares it, in place of the
// config's value; a name given null takes the config's declaration away: a
// fact becomes undeclared (unknown), an override leaves the measure, a
// threshold takes the rules' value again. A nil section asks nothing.
type WhatIf struct {
	Facts      *yaml.Node
	Overrides  *yaml.Node
	Thresholds *yaml.Node
}

// Empty reports whether w asks nothing: every section absent, null or an
// empty mapping.
func (w WhatIf) Empty() bool {
	for _, n := range []*yaml.Node{w.Facts, w.Overrides, w.Thresholds} {
		if n == nil || n.Kind == 0 || n.Tag == "!!null" {
			continue
		}
		if n.Kind == yaml.MappingNode && len(n.Content) == 0 {
			continue
		}
		return false
	}
	return true
}

// Problem is one thing wrong with a what-if, naming the field as the
// config file would (facts.compliance_required).
type Problem struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// WhatIfError lists every problem of a what-if, in the order of the
// sections and of the names within each.
type WhatIfError struct {
	Problems []Problem
}

func (e *WhatIfError) Error() string {
	parts := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		parts[i] = p.Field + ": " + p.Message
	}
	return strings.Join(parts, "; ")
}

// whatIfFile stands for the file in the errors the config's parsers return;
// a what-if has no file, so only field and message are kept.
const whatIfFile = "what-if"

// WhatIf returns a copy of c with w laid over its facts, overrides and
// thresholds, each section checked as Parse checks the file's: an unknown
// name, a value of the wrong type or a ratio written as a plain number
// above 1 is a *WhatIfError naming the field. c itself never changes, and
// neither do its rules: the copy shares everything else with c.
func (c *Config) WhatIf(w WhatIf) (*Config, error) {
	if c.Rules == nil {
		return nil, fmt.Errorf("the config has no rules")
	}
	var errs yamlpos.Errors
	out := *c
	rules := c.Rules

	if n, nulls, e := whatIfSection("facts", w.Facts, true, func(name string) string {
		if name == AdoptedFact {
			return "a what-if does not change adoption dates; declare them under facts.adopted in the config"
		}
		return ""
	}); e != nil {
		errs = append(errs, e...)
	} else if n != nil {
		vals, ferrs := parseFacts(whatIfFile, n, rules)
		errs = append(errs, ferrs...)
		out.FactValues = laid(c.FactValues, vals, nulls)
	}

	if n, nulls, e := whatIfSection("overrides", w.Overrides, true, nil); e != nil {
		errs = append(errs, e...)
	} else if n != nil {
		vals, oerrs := parseOverrides(whatIfFile, n, rules)
		errs = append(errs, oerrs...)
		named := map[string]bool{}
		for k := range yamlpos.Pairs(n) {
			named[k.Value] = true
		}
		for _, name := range nulls {
			if name != ToolWildcard {
				continue
			}
			// tool.*: null takes back the config's declaration of every
			// tool the what-if does not name.
			for _, t := range rules.Tools {
				if !named[t.SignalName()] {
					nulls = append(nulls, t.SignalName())
				}
			}
		}
		out.OverrideValues = laid(c.OverrideValues, vals, nulls)
	}

	if n, nulls, e := whatIfSection("thresholds", w.Thresholds, false, func(name string) string {
		if rules.Threshold(name) == nil {
			return "unknown threshold"
		}
		return ""
	}); e != nil {
		errs = append(errs, e...)
	} else if n != nil || len(nulls) > 0 {
		own := map[string]float64{}
		for _, t := range rules.Thresholds {
			if t.Own {
				own[t.Name] = t.Value
			}
		}
		if n != nil {
			vals, terrs := parseThresholds(whatIfFile, n, rules)
			errs = append(errs, terrs...)
			maps.Copy(own, vals)
		}
		for _, name := range nulls {
			delete(own, name)
		}
		out.Rules = rules.WithOwnThresholds(own)
	}

	if len(errs) > 0 {
		we := &WhatIfError{}
		for _, e := range errs {
			we.Problems = append(we.Problems, Problem{Field: e.Field, Message: e.Msg})
		}
		return nil, we
	}
	return &out, nil
}

// whatIfSection checks that a section is a mapping and splits it: the
// entries for the config's parser (nil when there are none), and the names
// given null. check, when set, refuses a name outright with its message.
// With passNulls the nulls go to the parser too, which checks their names
// and reads them as "not declared"; otherwise check must have checked them.
func whatIfSection(section string, n *yaml.Node, passNulls bool, check func(name string) string) (*yaml.Node, []string, yamlpos.Errors) {
	n = yamlpos.Root(n)
	if n == nil || n.Kind == 0 || (n.Kind == yaml.ScalarNode && n.Tag == "!!null") {
		return nil, nil, nil
	}
	if n.Kind != yaml.MappingNode {
		return nil, nil, yamlpos.Errors{{File: whatIfFile, Field: section, Msg: "want a mapping of names to values"}}
	}
	var errs yamlpos.Errors
	var nulls []string
	values := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
	for k, v := range yamlpos.Pairs(n) {
		if check != nil {
			if msg := check(k.Value); msg != "" {
				errs = append(errs, &yamlpos.Error{File: whatIfFile, Field: section + "." + k.Value, Msg: msg})
				continue
			}
		}
		if v.Kind == yaml.ScalarNode && v.Tag == "!!null" {
			nulls = append(nulls, k.Value)
			if passNulls {
				values.Content = append(values.Content, k, v)
			}
			continue
		}
		values.Content = append(values.Content, k, v)
	}
	if len(errs) > 0 {
		return nil, nil, errs
	}
	if len(values.Content) == 0 {
		return nil, nulls, nil
	}
	return values, nulls, nil
}

// laid returns base with values laid over it and the names in nulls taken
// out; base itself is not changed.
func laid(base, values map[string]triggers.Value, nulls []string) map[string]triggers.Value {
	out := maps.Clone(base)
	if out == nil {
		out = map[string]triggers.Value{}
	}
	for _, name := range nulls {
		delete(out, name)
	}
	maps.Copy(out, values)
	return out
}
