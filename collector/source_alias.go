package collector

import "github.com/capability-exporter/capability_exporter/collector/source"

// The scheduler's callers (the status report, the tests that script a
// source) name the source types through the collector.
type (
	Source        = source.Source
	Request       = source.Request
	SignalRequest = source.SignalRequest
	Result        = source.Result
	SourceError   = source.SourceError
)
