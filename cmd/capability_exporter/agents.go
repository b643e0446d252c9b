package main

import (
	"log/slog"
	"net/http"

	"github.com/prometheus/common/version"

	"github.com/capability-exporter/capability_exporter/collector"
	"github.com/capability-exporter/capability_exporter/mcpserver"
	"github.com/capability-exporter/capability_exporter/whatif"
)

// The what-if and MCP metrics, part of the exporter's own on /metrics.
var (
	whatIfMetrics = whatif.NewMetrics()
	mcpMetrics    = mcpserver.NewMetrics()
)

// agentEndpoints mounts what agents and scripts ask besides reading:
// POST /api/v1/what-if and, unless turned off, the MCP server at /mcp. Both
// read the State sched publishes and share one what-if service, so one
// limit of concurrent what-ifs (one per CPU) covers both. Without MCP, /mcp
// falls to the status page's handler, which answers 404.
func agentEndpoints(mux *http.ServeMux, sched *collector.Scheduler, mcpOn bool, logger *slog.Logger) {
	svc := whatif.New(sched.Current, whatif.Options{Version: version.Version, Metrics: whatIfMetrics})
	mux.Handle(whatif.Path, svc.Handler())
	if mcpOn {
		mux.Handle(mcpserver.Path, mcpserver.New(mcpserver.Options{Current: sched.Current, WhatIf: svc,
			Version: version.Version, Logger: logger.With("component", "mcp"), Metrics: mcpMetrics}))
	}
}
