package collector

import (
	"context"
	"log/slog"

	"github.com/capability-exporter/capability_exporter/collector/source"
	"github.com/capability-exporter/capability_exporter/triggers"
)

// factsSource answers fact signals from the config's facts section. A fact
// the organisation did not declare is unknown, never false.
type factsSource struct {
	values map[string]triggers.Value
}

func newFactsSource(values map[string]triggers.Value, _ *slog.Logger) (*factsSource, error) {
	return &factsSource{values: values}, nil
}

func (s *factsSource) Collect(_ context.Context, req source.Request) source.Result {
	res := source.Result{Up: true, Values: make(map[string]triggers.Value, len(req.Signals))}
	for _, sr := range req.Signals {
		v, ok := s.values[sr.Spec.Fact]
		if !ok {
			v = triggers.UnknownValue(triggers.CodeNotConfigured, "not declared under facts:", "fact")
		}
		res.Values[sr.Key] = v
	}
	return res
}
