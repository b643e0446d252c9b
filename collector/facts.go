package collector

import (
	"context"
	"log/slog"

	"github.com/capability-exporter/capability_exporter/config"
	"github.com/capability-exporter/capability_exporter/triggers"
)

// factsSource answers fact signals from the config's facts section. A fact
// the organisation did not declare is unknown, never false.
type factsSource struct {
	values map[string]triggers.Value
}

func init() {
	registerSource("fact",
		func(c *config.Config) (any, bool) { return c.FactValues, true },
		func(section any, _ *slog.Logger) (Source, error) {
			return &factsSource{values: section.(map[string]triggers.Value)}, nil
		})
}

func (s *factsSource) Collect(_ context.Context, req Request) Result {
	res := Result{Up: true, Values: make(map[string]triggers.Value, len(req.Signals))}
	for _, sr := range req.Signals {
		v, ok := s.values[sr.Spec.Fact]
		if !ok {
			v = triggers.UnknownValue("fact "+sr.Spec.Fact+" is not declared in the config's facts", "fact")
		}
		res.Values[sr.Key] = v
	}
	return res
}
