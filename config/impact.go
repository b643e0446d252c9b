package config

import (
	"fmt"
	"time"

	"github.com/prometheus/common/model"
	"go.yaml.in/yaml/v3"

	"github.com/capability-exporter/capability_exporter/impact"
	"github.com/capability-exporter/capability_exporter/triggers"
	"github.com/capability-exporter/capability_exporter/yamlpos"
)

// Impact is the config's impact: section, how the impact of an adopted
// capability is judged. Each field left out keeps the exporter's default
// (impact.DefaultOptions): an organisation that judges over a quarter, or
// wants a 25% move before it calls a signal improved, sets its own.
type Impact struct {
	// Margin is how far an impact signal must move, against its value
	// before adoption, to count as improved: 10% or 0.1.
	Margin yaml.Node `yaml:"margin"`
	// JudgingPeriod is how long after adoption a capability none of whose
	// impact signals improved raises the framework's exit question.
	JudgingPeriod yaml.Node `yaml:"judging_period"`
	// MinWindow is the shortest window on each side of adoption worth
	// judging; younger, the answer is "too early".
	MinWindow yaml.Node `yaml:"min_window"`

	// Options are the settings in force, after Parse.
	Options impact.Options `yaml:"-"`
}

// parseImpact reads the impact: section into c.Impact.Options and returns
// each bad value with its line.
func (c *Config) parseImpact(file string) yamlpos.Errors {
	var errs yamlpos.Errors
	o := impact.DefaultOptions()
	bad := func(n *yaml.Node, field, msg string, args ...any) {
		errs = append(errs, &yamlpos.Error{File: file, Line: n.Line, Field: "impact." + field, Msg: fmt.Sprintf(msg, args...)})
	}
	if n := &c.Impact.Margin; n.Kind != 0 && n.Tag != "!!null" {
		v, err := triggers.ParseValue(triggers.TypeRatio, n.Value)
		switch {
		case err != nil || n.Kind != yaml.ScalarNode:
			bad(n, "margin", "want a ratio such as 10%% or 0.1, got %q", n.Value)
		case v <= 0 || v >= 1:
			bad(n, "margin", "want a ratio above 0%% and below 100%%, got %s", n.Value)
		default:
			o.Margin = v
		}
	}
	duration := func(n *yaml.Node, field string, into *time.Duration) bool {
		if n.Kind == 0 || n.Tag == "!!null" {
			return false
		}
		d, err := model.ParseDuration(n.Value)
		if err != nil || n.Kind != yaml.ScalarNode || d <= 0 {
			bad(n, field, "want a positive duration such as 60d or 12w, got %q", n.Value)
			return false
		}
		*into = time.Duration(d)
		return true
	}
	if duration(&c.Impact.MinWindow, "min_window", &o.MinWindow) && o.MinWindow > impact.MaxWindow {
		bad(&c.Impact.MinWindow, "min_window", "want at most %s, the longest window measured on each side of adoption, got %s",
			model.Duration(impact.MaxWindow), c.Impact.MinWindow.Value)
		o.MinWindow = impact.DefaultMinWindow
	}
	if duration(&c.Impact.JudgingPeriod, "judging_period", &o.Judging) && o.Judging < o.MinWindow {
		bad(&c.Impact.JudgingPeriod, "judging_period", "want at least min_window (%s): a capability is judged only once its windows are old enough, got %s",
			model.Duration(o.MinWindow), c.Impact.JudgingPeriod.Value)
	}
	c.Impact.Options = o
	return errs
}

// ImpactOptions returns the impact settings in force: the defaults for a
// config not made by Parse.
func (c *Config) ImpactOptions() impact.Options {
	if c.Impact.Options == (impact.Options{}) {
		return impact.DefaultOptions()
	}
	return c.Impact.Options
}
