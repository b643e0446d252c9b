package collector

import (
	"context"
	"log/slog"
	"slices"
	"time"

	"github.com/capability-exporter/capability_exporter/collector/source"
	"github.com/capability-exporter/capability_exporter/config"
)

// ProbeResult says whether one configured source answered a probe.
type ProbeResult struct {
	Source string // prometheus, loki or kubernetes
	Up     bool
	// Cause is why it did not answer: its first error, or the reason it
	// could not be built from its config section.
	Cause string
}

// Probe asks each configured source of cfg once, with nothing to measure:
// each kind then checks only that its server answers (Prometheus' build
// info, Loki's, the Kubernetes API's version). It is what `check --probe`
// runs, under one deadline for all sources together.
func Probe(ctx context.Context, cfg *config.Config, timeout time.Duration, logger *slog.Logger) []ProbeResult {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var kinds []string
	for kind, f := range factories {
		if _, ok := f.section(cfg); ok && kind != "fact" {
			kinds = append(kinds, kind)
		}
	}
	slices.Sort(kinds)
	out := make([]ProbeResult, len(kinds))
	done := make(chan struct{})
	for i, kind := range kinds {
		go func() {
			defer func() { done <- struct{}{} }()
			out[i] = probeOne(ctx, cfg, kind, logger)
		}()
	}
	for range kinds {
		<-done
	}
	return out
}

func probeOne(ctx context.Context, cfg *config.Config, kind string, logger *slog.Logger) (pr ProbeResult) {
	pr.Source = kind
	defer func() {
		if p := recover(); p != nil {
			pr.Up, pr.Cause = false, source.Recovered("probe", p).Error()
		}
	}()
	f := factories[kind]
	section, _ := f.section(cfg)
	// The zero options: a probe reuses no slow answer.
	src, err := f.build(section, logger, sourceOptions{})
	if err != nil {
		pr.Cause = source.Error{Reason: source.ReasonStart, Err: err}.Error()
		return pr
	}
	if c, ok := src.(source.Closer); ok {
		defer c.Close()
	}
	res := src.Collect(ctx, source.Request{Rules: cfg.Rules})
	pr.Up = res.Up
	if len(res.Errors) > 0 {
		pr.Cause = cfg.Scrub(res.Errors[0].Error())
	} else if !res.Up {
		pr.Cause = "no answer"
	}
	return pr
}
