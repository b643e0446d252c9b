package collector

import (
	"log/slog"

	"github.com/capability-exporter/capability_exporter/collector/httpapi"
	"github.com/capability-exporter/capability_exporter/collector/kubernetes"
	"github.com/capability-exporter/capability_exporter/collector/source"
	"github.com/capability-exporter/capability_exporter/config"
	"github.com/capability-exporter/capability_exporter/triggers"
)

// factory builds one kind of source from its config section. The scheduler
// keeps the section to tell whether a reload changed it; the source itself
// is built from its typed section.
type factory struct {
	// section returns the source's config section and whether it is set.
	section func(*config.Config) (any, bool)
	build   func(section any, logger *slog.Logger, opts sourceOptions) (source.Source, error)
	// reasons are the fixed reasons the kind counts its errors by. The
	// scheduler starts every configured source's counter at 0 for each, so
	// that increase() and rate() see the first error too.
	reasons []source.Reason
	// detectsTools: the source answers each tool's detection under the key
	// tool.<id>, and takes part whenever the rules name tools.
	detectsTools bool
}

// sourceOptions are the scheduler's settings for the sources it builds.
type sourceOptions struct {
	http httpapi.Options
}

// typed makes a factory from a source's typed section and constructor.
func typed[S any, T source.Source](section func(*config.Config) (S, bool), build func(S, *slog.Logger, sourceOptions) (T, error), reasons []source.Reason) factory {
	return factory{
		section: func(c *config.Config) (any, bool) { return section(c) },
		build: func(s any, logger *slog.Logger, opts sourceOptions) (source.Source, error) {
			src, err := build(s.(S), logger, opts)
			if err != nil {
				return nil, err
			}
			return src, nil
		},
		reasons: reasons,
	}
}

// factories are the source kinds this exporter is built with, by the kind
// the rules name them by.
var factories = map[string]factory{
	"fact": typed(func(c *config.Config) (map[string]triggers.Value, bool) { return c.FactValues, true },
		func(facts map[string]triggers.Value, logger *slog.Logger, _ sourceOptions) (*factsSource, error) {
			return newFactsSource(facts, logger)
		}, source.KindReasons("fact")),
	"prometheus": typed(func(c *config.Config) (*config.HTTPSource, bool) {
		return c.Sources.Prometheus, c.Sources.Prometheus != nil
	}, func(cfg *config.HTTPSource, logger *slog.Logger, opts sourceOptions) (*httpapi.Prometheus, error) {
		return httpapi.NewPrometheus(cfg, logger, opts.http)
	}, source.KindReasons("prometheus")),
	"loki": typed(func(c *config.Config) (*config.HTTPSource, bool) { return c.Sources.Loki, c.Sources.Loki != nil },
		func(cfg *config.HTTPSource, logger *slog.Logger, opts sourceOptions) (*httpapi.Loki, error) {
			return httpapi.NewLoki(cfg, logger, opts.http)
		}, source.KindReasons("loki")),
	"kubernetes": withTools(typed(func(c *config.Config) (*config.KubernetesSource, bool) {
		return c.Sources.Kubernetes, c.Sources.Kubernetes != nil
	}, func(cfg *config.KubernetesSource, logger *slog.Logger, _ sourceOptions) (*kubernetes.Source, error) {
		return kubernetes.NewFromConfig(cfg, logger)
	}, source.KindReasons("kubernetes"))),
}

func withTools(f factory) factory {
	f.detectsTools = true
	return f
}

// ErrorReasons returns the reasons capability_exporter_source_errors_total
// counts a source kind's errors by: those the kind declares
// (source.KindReasons).
func ErrorReasons(kind string) []source.Reason {
	return errorReasons(factories, kind)
}

func errorReasons(fs map[string]factory, kind string) []source.Reason {
	f, ok := fs[kind]
	if !ok || f.reasons == nil {
		return []source.Reason{source.ReasonStart, source.ReasonPanic}
	}
	return append([]source.Reason(nil), f.reasons...)
}
