package whatif

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// The outcomes a what-if is counted by.
const (
	OutcomeAnswered    = "answered"
	OutcomeInvalid     = "invalid"     // a field is wrong (HTTP 400)
	OutcomeRejected    = "rejected"    // the limit was reached (HTTP 429)
	OutcomeTimeout     = "timeout"     // longer than the timeout, or the caller left
	OutcomeUnavailable = "unavailable" // no evaluation published yet
	OutcomeFailed      = "failed"      // anything else
)

// The faces a what-if is asked through.
const (
	ViaAPI = "api"
	ViaMCP = "mcp"
)

var (
	outcomes = []string{OutcomeAnswered, OutcomeInvalid, OutcomeRejected, OutcomeTimeout, OutcomeUnavailable, OutcomeFailed}
	vias     = []string{ViaAPI, ViaMCP}
)

// Metrics are the what-ifs' part of the exporter's own metrics. Every
// series exists from the start, at 0, so that increase() sees the first.
type Metrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	inFlight prometheus.Gauge
}

// NewMetrics makes the what-if metrics; register them with the exporter's
// registry.
func NewMetrics() *Metrics {
	m := &Metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "capability_exporter_what_if_requests_total",
			Help: "What-ifs asked, by the face that asked (api: POST /api/v1/what-if, mcp: the what_if tool) and outcome (answered; invalid: a field is wrong; rejected: at the concurrency limit, HTTP 429; timeout; unavailable: no evaluation yet; failed).",
		}, []string{"via", "outcome"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "capability_exporter_what_if_duration_seconds",
			Help:    "Time to answer a what-if that got a place under the concurrency limit, by face.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"via"}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "capability_exporter_what_ifs_in_flight",
			Help: "What-ifs being decided now; at most the number of CPUs.",
		}),
	}
	for _, v := range vias {
		for _, o := range outcomes {
			m.requests.WithLabelValues(v, o)
		}
		m.duration.WithLabelValues(v)
	}
	return m
}

// Describe implements prometheus.Collector.
func (m *Metrics) Describe(ch chan<- *prometheus.Desc) {
	m.requests.Describe(ch)
	m.duration.Describe(ch)
	m.inFlight.Describe(ch)
}

// Collect implements prometheus.Collector.
func (m *Metrics) Collect(ch chan<- prometheus.Metric) {
	m.requests.Collect(ch)
	m.duration.Collect(ch)
	m.inFlight.Collect(ch)
}

func (m *Metrics) observe(via, outcome string, d time.Duration) {
	if m == nil {
		return
	}
	m.requests.WithLabelValues(via, outcome).Inc()
	if outcome != OutcomeRejected {
		m.duration.WithLabelValues(via).Observe(d.Seconds())
	}
}

func (m *Metrics) inFlightAdd(d float64) {
	if m != nil {
		m.inFlight.Add(d)
	}
}
