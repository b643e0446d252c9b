package collector

import "github.com/capability-exporter/capability_exporter/collector/source"

// The scheduler's callers (the status report, the tests that script a
// source) name the source types through the collector.
type (
	// Source is source.Source.
	Source = source.Source
	// Request is source.Request.
	Request = source.Request
	// SignalRequest is source.SignalRequest.
	SignalRequest = source.SignalRequest
	// Result is source.Result.
	Result = source.Result
	// Error is source.Error.
	Error = source.Error
)
