package main

import (
	"context"
	"log/slog"
	"slices"
	"time"

	"github.com/capability-exporter/capability_exporter/collector"
	"github.com/capability-exporter/capability_exporter/config"
	"github.com/capability-exporter/capability_exporter/yamlpos"
)

// checkProbe is check --probe: ask each configured source whether it
// answers, so that a first config whose URL is wrong does not pass as OK.
type checkProbe struct {
	on      bool
	timeout time.Duration
	logger  *slog.Logger
}

// run probes cfg's sources and returns a warning for each that did not
// answer, at the line of its url (or of its section).
func (p checkProbe) run(cfg *config.Config) []*yamlpos.Error {
	var out []*yamlpos.Error
	for _, r := range collector.Probe(context.Background(), cfg, p.timeout, p.logger) {
		if r.Up {
			continue
		}
		field, path := "sources."+r.Source, []string{"sources", r.Source}
		what := "the Kubernetes API"
		switch r.Source {
		case "prometheus", "loki":
			field, path = field+".url", append(path, "url")
			what = sourceURL(cfg, r.Source)
		}
		out = append(out, &yamlpos.Error{File: cfg.File, Line: cfg.Line(path...), Field: field,
			Msg: "warning: " + what + " did not answer (" + r.Cause + "); its signals will be unknown"})
	}
	// In the file's order, as every other list of errors is.
	slices.SortStableFunc(out, func(a, b *yamlpos.Error) int { return a.Line - b.Line })
	return out
}

func sourceURL(cfg *config.Config, kind string) string {
	s := cfg.Sources.Prometheus
	if kind == "loki" {
		s = cfg.Sources.Loki
	}
	return config.RedactURL(&s.URL)
}
