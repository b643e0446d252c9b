package httpapi

import (
	"strings"

	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/capability-exporter/capability_exporter/scope"
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
	matchers, ok := scope.PlainSelector(selector)
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

func ruleMatches(rule v1.AlertingRule, matchers []*labels.Matcher) bool {
	for _, m := range matchers {
		var v string
		switch m.Name {
		case model.MetricNameLabel:
			v = "ALERTS"
		case "alertname":
			v = rule.Name
		case "alertstate":
			if m.Matches("firing") || m.Matches("pending") {
				continue
			}
			return false
		default:
			v = string(rule.Labels[model.LabelName(m.Name)])
			if strings.Contains(v, "{{") {
				continue
			}
		}
		if !m.Matches(v) {
			return false
		}
	}
	return true
}
