//go:build e2e

package e2e

import (
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/capability-exporter/capability_exporter/triggers"
)

// metricsScrape is one parsed /metrics of the exporter. Its readers fail the
// test when the series they read is absent: a missing series is a broken
// exporter (or a test reading the wrong name), never a 0 that happens to
// satisfy the check. value is the one reader that reports absence instead.
type metricsScrape struct {
	t    testing.TB
	fams map[string]*dto.MetricFamily
}

func scrapeExporter(t testing.TB, e *exporter) metricsScrape {
	t.Helper()
	body := e.Get(t, "/metrics")
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(body))
	if err != nil {
		t.Fatalf("parse /metrics: %v", err)
	}
	return metricsScrape{t: t, fams: fams}
}

// value returns the sample of name whose labels include want, and whether
// there is one.
func (s metricsScrape) value(name string, want map[string]string) (float64, bool) {
	f := s.fams[name]
	if f == nil {
		return 0, false
	}
next:
	for _, m := range f.Metric {
		have := map[string]string{}
		for _, l := range m.Label {
			have[l.GetName()] = l.GetValue()
		}
		for k, v := range want {
			if have[k] != v {
				continue next
			}
		}
		switch {
		case m.Gauge != nil:
			return m.Gauge.GetValue(), true
		case m.Counter != nil:
			return m.Counter.GetValue(), true
		case m.Untyped != nil:
			return m.Untyped.GetValue(), true
		}
	}
	return 0, false
}

// must returns the sample of name whose labels include want, and fails the
// test when there is none.
func (s metricsScrape) must(t testing.TB, name string, want map[string]string) float64 {
	t.Helper()
	v, ok := s.value(name, want)
	if !ok {
		t.Fatalf("/metrics has no %s%v (families: %s)", name, want, strings.Join(slices.Sorted(maps.Keys(s.fams)), " "))
	}
	return v
}

func (s metricsScrape) sourceUp(source string) float64 {
	s.t.Helper()
	return s.must(s.t, "capability_exporter_source_up", map[string]string{"source": source})
}

func (s metricsScrape) known(signal string) bool {
	s.t.Helper()
	return s.must(s.t, "capability_signal_known", map[string]string{"signal": signal}) == 1
}

func (s metricsScrape) signal(signal string) float64 {
	s.t.Helper()
	return s.must(s.t, "capability_signal_value", map[string]string{"signal": signal})
}

func (s metricsScrape) errors(source, reason string) float64 {
	s.t.Helper()
	return s.must(s.t, "capability_exporter_source_errors_total", map[string]string{"source": source, "reason": reason})
}

// decision returns the capability's state: the one of its StateSet at 1.
// It fails the test unless exactly one is.
func (s metricsScrape) decision(capability string) string {
	s.t.Helper()
	var states []string
	for _, st := range triggers.States() {
		if s.must(s.t, "capability_decision", map[string]string{"capability": capability, "state": string(st)}) == 1 {
			states = append(states, string(st))
		}
	}
	if len(states) != 1 {
		s.t.Fatalf("capability_decision{capability=%q} is 1 for %v, want exactly one state", capability, states)
	}
	return states[0]
}

// waitScrape polls /metrics until cond holds.
func waitScrape(t *testing.T, e *exporter, timeout time.Duration, what string, cond func(metricsScrape) bool) metricsScrape {
	t.Helper()
	var last metricsScrape
	waitFor(t, timeout, what, func() bool {
		last = scrapeExporter(t, e)
		return cond(last)
	})
	return last
}
