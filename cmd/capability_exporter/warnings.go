package main

import (
	"log/slog"
	"strings"

	"github.com/capability-exporter/capability_exporter/config"
)

// logConfigWarnings logs what the config declares in place of a measure as
// one line naming every such value, since an example or a what-if config
// declares dozens on purpose and one line per value buries the log; `check`
// lists each with its line. Other warnings are logged one by one.
func logConfigWarnings(logger *slog.Logger, cfg *config.Config) {
	var declared []string
	for _, w := range cfg.Warnings() {
		if strings.HasPrefix(w.Field, "facts.") || strings.HasPrefix(w.Field, "overrides.") {
			declared = append(declared, w.Field)
			continue
		}
		logger.Warn("Config warning", "warning", w.Error())
	}
	if len(declared) > 0 {
		logger.Warn("Config declares values in place of what sources would measure: decisions follow the declared values, not the cluster; "+
			"right for an example or a what-if question, not for a deployment (capability_exporter check lists each with its line)",
			"file", cfg.File, "count", len(declared), "fields", strings.Join(declared, ", "))
	}
}
