package config

import (
	"fmt"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/capability-exporter/capability_exporter/triggers"
)

// Warnings lists what the config declares that silences a measure: a fact
// that outranks a measurement or a derivation of the same signal, and every
// override (each replaces what a source measures). Such a config is valid,
// but its decisions no longer follow the cluster: copying an example's facts
// into a real deployment reports the example's answers. `check` prints
// these; the exporter logs them at start and on reload.
func (c *Config) Warnings() []*triggers.Error {
	var out []*triggers.Error
	if c.Rules == nil {
		return nil
	}
	measuredBy := map[string][]string{} // fact name -> the measures behind it, e.g. "loki (developers)"
	for _, sig := range c.Rules.Signals {
		alts := sig.Source.Alternatives()
		for i, alt := range alts {
			if alt.Fact == "" {
				continue
			}
			for _, later := range alts[i+1:] {
				if later.Fact == "" {
					measuredBy[alt.Fact] = appendNew(measuredBy[alt.Fact], measureWords(later))
				}
			}
		}
	}
	for _, kv := range mappingPairs(&c.Facts) {
		kinds := measuredBy[kv[0].Value]
		if len(kinds) == 0 || kv[1].Tag == "!!null" {
			continue
		}
		out = append(out, &triggers.Error{File: c.File, Line: kv[0].Line, Field: "facts." + kv[0].Value,
			Msg: fmt.Sprintf("warning: the declared value outranks what %s would measure; leave it out to use the measure", strings.Join(kinds, " and "))})
	}
	for _, kv := range mappingPairs(&c.Overrides) {
		if kv[1].Tag == "!!null" {
			continue
		}
		name := kv[0].Value
		what := "the source's measure"
		switch {
		case name == ToolWildcard:
			what = "the Kubernetes source's detection of every tool not named"
		case strings.HasPrefix(name, triggers.ToolSignalPrefix):
			what = "the Kubernetes source's detection"
		default:
			if s := c.Rules.Signal(name); s != nil {
				var kinds []string
				for _, alt := range s.Source.Alternatives() {
					if alt.Fact == "" {
						kinds = appendNew(kinds, measureWords(alt))
					}
				}
				what = "what " + strings.Join(kinds, " and ") + " would measure"
			}
		}
		out = append(out, &triggers.Error{File: c.File, Line: kv[0].Line, Field: "overrides." + name,
			Msg: "warning: replaces " + what + "; for what-if questions only, not a deployment"})
	}
	return out
}

// measureWords names what answers a signal alternative.
func measureWords(s triggers.SignalSource) string {
	if s.Derive != nil {
		return "other measures (derived)"
	}
	return s.Kind()
}

// mappingPairs returns the key and value nodes of a mapping node.
func mappingPairs(n *yaml.Node) [][2]*yaml.Node {
	if n.Kind != yaml.MappingNode {
		return nil
	}
	var out [][2]*yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		out = append(out, [2]*yaml.Node{n.Content[i], n.Content[i+1]})
	}
	return out
}

func appendNew(list []string, s string) []string {
	if slices.Contains(list, s) {
		return list
	}
	return append(list, s)
}
