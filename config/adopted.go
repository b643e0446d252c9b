package config

import (
	"fmt"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/capability-exporter/capability_exporter/triggers"
	"github.com/capability-exporter/capability_exporter/yamlpos"
)

// AdoptedFact is the key under facts that declares, per capability, when it
// was adopted: a date (2026-10-04) or an RFC 3339 time. A declared date
// outranks what the cluster and the store remember, for a tool installed
// before either could see it, or reinstalled since.
const AdoptedFact = "adopted"

// parseAdopted reads facts.adopted and returns the facts section without
// it, for parseFacts.
func parseAdopted(file string, facts *yaml.Node, rules *triggers.Rules) (map[string]time.Time, yaml.Node, yamlpos.Errors) {
	out := map[string]time.Time{}
	rest := *facts
	if facts.Kind != yaml.MappingNode {
		return out, rest, nil
	}
	rest.Content = nil
	var n *yaml.Node
	for k, v := range yamlpos.Pairs(facts) {
		if k.Value == AdoptedFact {
			n = v
			continue
		}
		rest.Content = append(rest.Content, k, v)
	}
	if n == nil || n.Tag == "!!null" {
		return out, rest, nil
	}
	field := "facts." + AdoptedFact
	if n.Kind != yaml.MappingNode {
		return out, rest, yamlpos.Errors{{File: file, Line: n.Line, Field: field, Msg: "want a mapping of capabilities to dates (2026-10-04)"}}
	}
	var errs yamlpos.Errors
	for k, v := range yamlpos.Pairs(n) {
		f := field + "." + k.Value
		if rules.Capability(k.Value) == nil {
			errs = append(errs, &yamlpos.Error{File: file, Line: k.Line, Field: f, Msg: "unknown capability"})
			continue
		}
		t, err := parseDate(v.Value)
		if err != nil || v.Kind != yaml.ScalarNode {
			errs = append(errs, &yamlpos.Error{File: file, Line: v.Line, Field: f, Msg: fmt.Sprintf("want a date (2026-10-04) or an RFC 3339 time, got %q", v.Value)})
			continue
		}
		out[k.Value] = t
	}
	return out, rest, errs
}

func parseDate(s string) (time.Time, error) {
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	return time.Parse(time.RFC3339, s)
}
