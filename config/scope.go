package config

import (
	"errors"
	"fmt"
	"maps"
	"slices"

	"go.yaml.in/yaml/v3"

	"github.com/capability-exporter/capability_exporter/scope"
	"github.com/capability-exporter/capability_exporter/triggers"
	"github.com/capability-exporter/capability_exporter/yamlpos"
)

// defaultPrometheusSelectors are the selectors the default rules refer to
// as ${name} in prometheus queries and alert history; sources.prometheus.
// selectors adds to them or replaces one by name.
var defaultPrometheusSelectors = map[string]string{
	// The alerts that count as incidents: firing, at a paging severity.
	"critical_alerts": `ALERTS{alertstate="firing",severity=~"critical|page"}`,
}

// defaultLokiSelectors are the selectors the default rules refer to in loki
// queries; sources.loki.selectors adds to them or replaces one by name.
var defaultLokiSelectors = map[string]string{
	// The Kubernetes API server's audit log.
	"audit_stream": `{job="kubernetes-audit"}`,
	// Users that are machines, not people (a regular expression on
	// user.username).
	"machine_users": `system:.*`,
	// Argo CD's audit stream: its API server logs each call with the user
	// who made it.
	"argocd_audit_stream": `{namespace="argocd", container="argocd-server"}`,
	// Vault's audit log, as a file audit device writing to stdout gives it:
	// one JSON line per request and response.
	"vault_audit_stream": "{namespace=\"vault\", container=\"vault\"} |= `\"type\":\"request\"`",
}

// DefaultSelectors returns a copy of the default selectors of a source kind
// (prometheus or loki).
func DefaultSelectors(kind string) map[string]string {
	switch kind {
	case "prometheus":
		return maps.Clone(defaultPrometheusSelectors)
	case "loki":
		return maps.Clone(defaultLokiSelectors)
	}
	return map[string]string{}
}

// selectorsOf returns the selectors a source kind's queries expand: the
// defaults, overlaid by the section's own.
func selectorsOf(kind string, s *HTTPSource) map[string]string {
	out := DefaultSelectors(kind)
	if s != nil {
		maps.Copy(out, s.Selectors)
	}
	return out
}

// checkScope validates the selectors and matchers of the prometheus and loki
// sections, then every query of the rules against them: a reference to a
// selector that is not defined is an error at the rule's line, and so, when
// matchers are set, is a query they cannot be added to. Without matchers a
// prometheus query is not parsed here, so that a server's own dialect
// (MetricsQL) stays usable. It fills each section's Selectors with the
// defaults it does not override.
func (c *Config) checkScope(doc *yaml.Node, errf func(file string, line int, field, msg string)) {
	sections := map[string]*HTTPSource{"prometheus": c.Sources.Prometheus, "loki": c.Sources.Loki}
	selectors := map[string]map[string]string{}
	matchers := map[string][]string{}
	for _, kind := range []string{"prometheus", "loki"} {
		s := sections[kind]
		selectors[kind] = selectorsOf(kind, s)
		if s == nil {
			continue
		}
		for _, name := range slices.Sorted(maps.Keys(s.Selectors)) {
			line := yamlpos.NodeLine(doc, "sources", kind, "selectors", name)
			field := "sources." + kind + ".selectors." + name
			switch {
			case !scope.NameRE.MatchString(name):
				errf(c.File, line, field, "bad selector name: want lowercase letters, digits and _")
			case s.Selectors[name] == "":
				errf(c.File, line, field, "empty selector")
			case len(scope.References(s.Selectors[name])) > 0:
				errf(c.File, line, field, "a selector cannot refer to another selector")
			}
		}
		s.Selectors = selectors[kind]
		if _, err := scope.ParseMatchers(s.Matchers); err != nil {
			var me *scope.MatcherError
			i := 0
			if errors.As(err, &me) {
				i = me.Index
			}
			errf(c.File, yamlpos.NodeLine(doc, "sources", kind, fmt.Sprintf("matchers[%d]", i)),
				fmt.Sprintf("sources.%s.matchers[%d]", kind, i), err.Error())
			continue
		}
		matchers[kind] = s.Matchers
	}
	if c.Rules == nil {
		return
	}
	for _, sig := range c.Rules.Signals {
		rulesDoc := c.Rules.Doc(sig.File)
		alts := []triggers.SignalSource{sig.Source}
		if len(sig.Source.FirstKnown) > 0 {
			alts = sig.Source.FirstKnown
		}
		for i, alt := range alts {
			path := []string{"signals", sig.Name}
			if len(sig.Source.FirstKnown) > 0 {
				path = append(path, fmt.Sprintf("first_known[%d]", i))
			}
			for _, q := range scopedQueries(alt) {
				qpath := append(slices.Clone(path), q.path...)
				field := qpath[0]
				for _, p := range qpath[1:] {
					field += "." + p
				}
				line := max(yamlpos.NodeLine(rulesDoc, qpath...), sig.Line)
				text, err := scope.Expand(q.text, selectors[q.kind])
				if err != nil {
					errf(sig.File, line, field, fmt.Sprintf("%v; define it under sources.%s.selectors", err, q.kind))
					continue
				}
				if err := q.check(text, matchers[q.kind]); err != nil {
					errf(sig.File, line, field, fmt.Sprintf("with sources.%s.matchers: %v", q.kind, err))
				}
			}
		}
	}
}

// scopedQuery is one query text of a rule that the scope rewrites.
type scopedQuery struct {
	kind  string   // prometheus or loki
	path  []string // below the signal or its alternative
	text  string
	check func(expanded string, matchers []string) error
}

func scopedQueries(src triggers.SignalSource) []scopedQuery {
	var out []scopedQuery
	if p := src.Prometheus; p != nil {
		if p.Query != "" {
			out = append(out, scopedQuery{"prometheus", []string{"prometheus", "query"}, p.Query, checkPromQL})
		}
		if p.AlertHistory != nil && p.AlertHistory.Selector != "" {
			out = append(out, scopedQuery{"prometheus", []string{"prometheus", "alert_history", "selector"}, p.AlertHistory.Selector, checkPromQL})
		}
	}
	if l := src.Loki; l != nil && l.Query != "" {
		out = append(out, scopedQuery{"loki", []string{"loki", "query"}, l.Query, checkLogQL})
	}
	return out
}

func checkPromQL(q string, matchers []string) error {
	if len(matchers) == 0 {
		return nil
	}
	ms, err := scope.ParseMatchers(matchers)
	if err == nil {
		_, err = scope.PromQL(q, ms)
	}
	return err
}

func checkLogQL(q string, matchers []string) error {
	if len(matchers) == 0 {
		return nil
	}
	ms, err := scope.ParseMatchers(matchers)
	if err == nil {
		_, err = scope.LogQL(q, ms)
	}
	return err
}
