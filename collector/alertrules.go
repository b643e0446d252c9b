package collector

import (
	"regexp"
	"strconv"
	"strings"

	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"
)

// Which loaded alerting rules could fire the alerts an alert history
// selects: an empty history counts as "nothing fired" only where one is
// loaded (or ALERTS series show that alerts are written to the server).

func countAlertingRules(res v1.RulesResult) int {
	n := 0
	for _, g := range res.Groups {
		for _, r := range g.Rules {
			if _, ok := r.(v1.AlertingRule); ok {
				n++
			}
		}
	}
	return n
}

// matchingAlertingRules counts the loaded alerting rules whose alerts the
// selector can match: the selector's matchers hold on the ALERTS series
// the rule writes, as far as the rule fixes it (its name, its static
// labels, alertstate). A label the rule does not set reads empty, as in
// Prometheus; a templated label value could be anything. Meta-alert rules
// (Watchdog, InfoInhibitor, severity="none") do not count. A selector the
// scan cannot read as a plain vector selector matches every rule.
func matchingAlertingRules(res v1.RulesResult, selector string) int {
	matchers, ok := selectorMatchers(selector)
	n := 0
	for _, g := range res.Groups {
		for _, r := range g.Rules {
			rule, isAlert := r.(v1.AlertingRule)
			// A meta-alert's rule proves nothing: its alerts never count.
			if !isAlert || isMetaAlert(model.Metric{"alertname": model.LabelValue(rule.Name), "severity": rule.Labels["severity"]}) {
				continue
			}
			if !ok || ruleMatches(rule, matchers) {
				n++
			}
		}
	}
	return n
}

func ruleMatches(rule v1.AlertingRule, matchers []labelMatcher) bool {
	for _, m := range matchers {
		var v string
		switch m.name {
		case "__name__":
			v = "ALERTS"
		case "alertname":
			v = rule.Name
		case "alertstate":
			if m.matches("firing") || m.matches("pending") {
				continue
			}
			return false
		default:
			v = string(rule.Labels[model.LabelName(m.name)])
			if strings.Contains(v, "{{") {
				continue
			}
		}
		if !m.matches(v) {
			return false
		}
	}
	return true
}

type labelMatcher struct {
	name, op, value string
	re              *regexp.Regexp
}

func (m labelMatcher) matches(v string) bool {
	switch m.op {
	case "=":
		return v == m.value
	case "!=":
		return v != m.value
	case "=~":
		return m.re.MatchString(v)
	case "!~":
		return !m.re.MatchString(v)
	}
	return false
}

var matcherRE = regexp.MustCompile(`^\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*("(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|` + "`[^`]*`" + `)\s*$`)

// selectorMatchers reads a plain vector selector's label matchers, its
// metric name as a __name__ matcher. ok is false for anything else.
func selectorMatchers(selector string) ([]labelMatcher, bool) {
	sels := querySelectors(selector)
	if len(sels) != 1 || !vectorSelectorRE.MatchString(selector) {
		return nil, false
	}
	var out []labelMatcher
	if sels[0].Metric != "" {
		out = append(out, labelMatcher{name: "__name__", op: "=", value: sels[0].Metric})
	}
	body := sels[0].Selector[len(sels[0].Metric):]
	body = strings.TrimSuffix(strings.TrimPrefix(body, "{"), "}")
	for _, part := range splitMatchers(body) {
		if strings.TrimSpace(part) == "" {
			continue
		}
		g := matcherRE.FindStringSubmatch(part)
		if g == nil {
			return nil, false
		}
		val := g[3]
		if val[0] == '\'' {
			val = `"` + strings.ReplaceAll(val[1:len(val)-1], `"`, `\"`) + `"`
		}
		unq, err := strconv.Unquote(val)
		if err != nil {
			return nil, false
		}
		m := labelMatcher{name: g[1], op: g[2], value: unq}
		if m.op == "=~" || m.op == "!~" {
			re, err := regexp.Compile("^(?:" + unq + ")$")
			if err != nil {
				return nil, false
			}
			m.re = re
		}
		out = append(out, m)
	}
	return out, true
}

// splitMatchers splits a matcher list at the commas outside quotes.
func splitMatchers(s string) []string {
	var parts []string
	var quote byte
	from := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quote != 0 && c == '\\' && quote != '`':
			i++
		case quote != 0 && c == quote:
			quote = 0
		case quote == 0 && (c == '"' || c == '\'' || c == '`'):
			quote = c
		case quote == 0 && c == ',':
			parts = append(parts, s[from:i])
			from = i + 1
		}
	}
	return append(parts, s[from:])
}
