package mcpserver

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/capability-exporter/capability_exporter/collector"
	"github.com/capability-exporter/capability_exporter/config"
	"github.com/capability-exporter/capability_exporter/report"
	"github.com/capability-exporter/capability_exporter/whatif"
)

// Path is where the server is mounted.
const Path = "/mcp"

// maxBody bounds a request's body: the largest is a what_if, a few dozen
// values.
const maxBody = 256 << 10

// Options are what the server reads.
type Options struct {
	// Current returns the last published State, or nil before the first
	// evaluation (collector.Scheduler.Current).
	Current func() *collector.State
	// WhatIf answers what_if; the JSON API shares it, and with it the
	// concurrency limit.
	WhatIf *whatif.Service
	// Version is the exporter's version.
	Version string
	Logger  *slog.Logger
	Metrics *Metrics
	// Now is the clock; nil means time.Now. Tests fix it.
	Now func() time.Time
}

// Handler serves MCP at Path.
type Handler struct {
	opts Options
	http http.Handler

	mu     sync.Mutex
	cfg    *config.Config // the config srv was built for
	srv    *mcp.Server
	srvSet bool
}

// New returns the MCP handler.
func New(o Options) *Handler {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	o.Logger = slog.New(quietHandler{o.Logger.Handler()})
	h := &Handler{opts: o}
	stream := mcp.NewStreamableHTTPHandler(h.server, &mcp.StreamableHTTPOptions{
		// Nothing is kept between requests: any replica behind a Service
		// answers any request, and no session outlives its client.
		Stateless:           true,
		Logger:              o.Logger,
		MaxRequestBodyBytes: maxBody,
	})
	// A browser page elsewhere cannot make a visitor's browser call the
	// tools; clients that are not browsers send no Origin and pass.
	h.http = http.NewCrossOriginProtection().Handler(stream)
	return h
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, req *http.Request) { h.http.ServeHTTP(w, req) }

// server returns the MCP server for the config in force: its resources
// list one entry per capability of the rules, which a reload may change.
func (h *Handler) server(*http.Request) *mcp.Server {
	var cfg *config.Config
	if st := h.opts.Current(); st != nil {
		cfg = st.Config
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.srvSet || cfg != h.cfg {
		h.srv, h.cfg, h.srvSet = h.build(cfg), cfg, true
	}
	return h.srv
}

const instructions = `This server is capability_exporter, a Prometheus exporter that decides, from live data
(Prometheus, Loki, the Kubernetes API) and the organisation's declared facts, when each platform
capability of the Priority 2 decision framework becomes worth its complexity: service mesh,
distributed tracing, chaos engineering, policy enforcement, cost visibility, multi-region
readiness, observability maturity, security auditing.

Each capability has a decision: adopted, now, later, consider, skip, not_triggered or unknown;
a need (yes, probably, probably_not, no, unknown: "do we need it?") and a timing (now, later,
none, unknown: "why now or not?"). "probably" answers rest on the framework's reading of a
question the team has not declared; unknown ones list what would settle them.

Start with list_decisions; use explain_capability for the evidence behind one decision;
what_if to try declared facts, overrides of measured values or thresholds without changing
anything; recent_changes for what changed and why; source_health when values are unknown.
Quote the exporter's values and the framework's words as given: do not invent measurements.
Everything here is read-only and answers from the last evaluation (its time is in every
answer): no call queries a source or changes the exporter.`

func (h *Handler) build(cfg *config.Config) *mcp.Server {
	s := mcp.NewServer(&mcp.Implementation{Name: "capability_exporter", Title: "capability_exporter",
		Version: h.opts.Version}, &mcp.ServerOptions{Instructions: instructions, Logger: h.opts.Logger})
	s.AddReceivingMiddleware(func(next mcp.MethodHandler) mcp.MethodHandler {
		return func(ctx context.Context, method string, req mcp.Request) (mcp.Result, error) {
			h.opts.Metrics.request(method)
			return next(ctx, method, req)
		}
	})
	h.addTools(s)
	h.addResources(s, cfg)
	h.addPrompts(s)
	return s
}

// errNotReady is every tool's and resource's answer before the first
// evaluation is published.
var errNotReady = errors.New("the exporter has not finished its first evaluation yet; ask again in a moment")

// current returns the published State and its report.
func (h *Handler) current() (*collector.State, *report.Report, error) {
	st := h.opts.Current()
	if st == nil || st.Evaluation == nil {
		return nil, nil, errNotReady
	}
	return st, report.Build(st, report.Options{Now: h.opts.Now(), Version: h.opts.Version}), nil
}
