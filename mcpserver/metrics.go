package mcpserver

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// The outcomes a tool call is counted by.
const (
	outcomeOK       = "ok"
	outcomeError    = "error"    // the tool answered isError: a wrong argument, nothing published yet
	outcomeRejected = "rejected" // what_if at the concurrency limit: the MCP face of HTTP 429
)

// methods are the MCP methods counted by name; any other is "other", so
// that a client cannot grow the label's values.
var methods = []string{"initialize", "notifications/initialized", "ping", "tools/list", "tools/call",
	"resources/list", "resources/templates/list", "resources/read", "prompts/list", "prompts/get", "other"}

// Metrics are the MCP server's part of the exporter's own metrics. Every
// series exists from the start, at 0.
type Metrics struct {
	requests *prometheus.CounterVec
	calls    *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

// NewMetrics makes the MCP metrics; register them with the exporter's
// registry.
func NewMetrics() *Metrics {
	m := &Metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "capability_exporter_mcp_requests_total",
			Help: "MCP requests received on /mcp, by method (initialize, tools/call, resources/read, ...; other for any method not listed).",
		}, []string{"method"}),
		calls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "capability_exporter_mcp_tool_calls_total",
			Help: "MCP tool calls, by tool and outcome (ok; error: the tool answered isError; rejected: what_if at the concurrency limit).",
		}, []string{"tool", "outcome"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "capability_exporter_mcp_tool_duration_seconds",
			Help:    "Time an MCP tool took to answer, by tool.",
			Buckets: []float64{.001, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"tool"}),
	}
	for _, name := range methods {
		m.requests.WithLabelValues(name)
	}
	for _, t := range toolNames {
		for _, o := range []string{outcomeOK, outcomeError, outcomeRejected} {
			m.calls.WithLabelValues(t, o)
		}
		m.duration.WithLabelValues(t)
	}
	return m
}

// Describe implements prometheus.Collector.
func (m *Metrics) Describe(ch chan<- *prometheus.Desc) {
	m.requests.Describe(ch)
	m.calls.Describe(ch)
	m.duration.Describe(ch)
}

// Collect implements prometheus.Collector.
func (m *Metrics) Collect(ch chan<- prometheus.Metric) {
	m.requests.Collect(ch)
	m.calls.Collect(ch)
	m.duration.Collect(ch)
}

func (m *Metrics) request(method string) {
	if m == nil {
		return
	}
	for _, known := range methods {
		if method == known {
			m.requests.WithLabelValues(method).Inc()
			return
		}
	}
	m.requests.WithLabelValues("other").Inc()
}

func (m *Metrics) call(tool, outcome string, d time.Duration) {
	if m == nil {
		return
	}
	m.calls.WithLabelValues(tool, outcome).Inc()
	m.duration.WithLabelValues(tool).Observe(d.Seconds())
}
