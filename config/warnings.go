package config

import (
	"fmt"
	"slices"
	"strings"

	"github.com/capability-exporter/capability_exporter/scope"
	"github.com/capability-exporter/capability_exporter/triggers"
	"github.com/capability-exporter/capability_exporter/yamlpos"
)

// Warnings lists what the config declares that silences a measure: a fact
// that outranks a measurement or a derivation of the same signal, and every
// override (each replaces what a source measures). Such a config is valid,
// but its decisions no longer follow the cluster: copying an example's facts
// into a real deployment reports the example's answers. `check` prints
// these; the exporter logs them at start and on reload.
func (c *Config) Warnings() []*yamlpos.Error {
	var out []*yamlpos.Error
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
	for k, v := range yamlpos.Pairs(&c.Facts) {
		kinds := measuredBy[k.Value]
		if len(kinds) == 0 || v.Tag == "!!null" {
			continue
		}
		out = append(out, &yamlpos.Error{File: c.File, Line: k.Line, Field: "facts." + k.Value,
			Msg: fmt.Sprintf("warning: the declared value outranks what %s would measure; leave it out to use the measure", strings.Join(kinds, " and "))})
	}
	for k, v := range yamlpos.Pairs(&c.Overrides) {
		if v.Tag == "!!null" {
			continue
		}
		name := k.Value
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
		out = append(out, &yamlpos.Error{File: c.File, Line: k.Line, Field: "overrides." + name,
			Msg: "warning: replaces " + what + "; for what-if questions only, not a deployment"})
	}
	if p := c.Sources.Prometheus; p != nil {
		out = append(out, c.unreadWindows(p.Selectors)...)
	}
	return out
}

// unreadWindows warns about each Prometheus query the Prometheus parser
// does not read (MetricsQL) and that declares no window: the source cannot
// tell how far back it reads, so its answer will read unknown. Without a
// Prometheus source every such signal is unknown anyway, so nothing is said.
func (c *Config) unreadWindows(selectors map[string]string) []*yamlpos.Error {
	var out []*yamlpos.Error
	for _, sig := range c.Rules.Signals {
		alts := []triggers.SignalSource{sig.Source}
		if len(sig.Source.FirstKnown) > 0 {
			alts = sig.Source.FirstKnown
		}
		for i, alt := range alts {
			p := alt.Prometheus
			if p == nil || p.Query == "" || p.Window > 0 {
				continue
			}
			text, err := scope.Expand(p.Query, selectors)
			if err != nil {
				continue // an error of its own, reported by the config check
			}
			perr := scope.CheckPromQL(text)
			if perr == nil {
				continue
			}
			path := []string{"signals", sig.Name}
			if len(sig.Source.FirstKnown) > 0 {
				path = append(path, fmt.Sprintf("first_known[%d]", i))
			}
			path = append(path, "prometheus", "query")
			out = append(out, &yamlpos.Error{File: sig.File, Line: max(yamlpos.NodeLine(c.Rules.Doc(sig.File), path...), sig.Line),
				Field: strings.Join(path, "."),
				Msg: fmt.Sprintf("warning: the Prometheus parser does not read this query (%v), so the exporter cannot tell how far back it reads "+
					"and its answer reads unknown; declare window: (how far back its data must reach; 5m for a query that reads no range)", perr)})
		}
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

func appendNew(list []string, s string) []string {
	if slices.Contains(list, s) {
		return list
	}
	return append(list, s)
}
