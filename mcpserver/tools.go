package mcpserver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/capability-exporter/capability_exporter/history"
	"github.com/capability-exporter/capability_exporter/report"
	"github.com/capability-exporter/capability_exporter/whatif"
)

// The tools, by name.
const (
	toolListDecisions    = "list_decisions"
	toolExplain          = "explain_capability"
	toolWhatIf           = "what_if"
	toolRecentChanges    = "recent_changes"
	toolSourceHealth     = "source_health"
	defaultChangesLimit  = 20
	mostChangesPerAnswer = 100
)

var toolNames = []string{toolListDecisions, toolExplain, toolWhatIf, toolRecentChanges, toolSourceHealth}

// readOnly marks a tool that changes nothing and asks nothing outside the
// exporter: every tool here.
var readOnly = &mcp.ToolAnnotations{ReadOnlyHint: true, IdempotentHint: true, DestructiveHint: new(bool), OpenWorldHint: new(bool)}

const capabilityArg = "The capability's id, as list_decisions gives it: service_mesh, distributed_tracing, chaos_engineering, " +
	"policy_enforcement, cost_visibility, multi_region, observability, security_auditing (the rules in force may add others)."

type noInput struct{}

type explainInput struct {
	Capability string `json:"capability" jsonschema:"The capability's id, as list_decisions gives it (e.g. service_mesh, cost_visibility)."`
}

type whatIfInput struct {
	Facts      map[string]any `json:"facts,omitempty" jsonschema:"Facts to declare, as the config's facts: section writes them: name to value (true, 12, \"2h\"); null makes a declared fact undeclared again."`
	Overrides  map[string]any `json:"overrides,omitempty" jsonschema:"Values for measured signals, as the config's overrides: section writes them (microservices: 12, cost_growth_ratio: \"25%\", tool.linkerd: true); null takes the config's override away."`
	Thresholds map[string]any `json:"thresholds,omitempty" jsonschema:"The organisation's own values of the rules' named thresholds, as the config's thresholds: section writes them (cost_growth_per_month: \"15%\"); null takes the rules' value again."`
	Capability string         `json:"capability,omitempty" jsonschema:"Optional: a capability id whose full explanation under the what-if to include."`
}

type changesInput struct {
	Capability string `json:"capability,omitempty" jsonschema:"Optional: only this capability's changes."`
	Limit      int    `json:"limit,omitempty" jsonschema:"Optional: at most this many changes, newest first (default 20, at most 100)."`
}

func (h *Handler) addTools(s *mcp.Server) {
	mcp.AddTool(s, &mcp.Tool{Name: toolListDecisions, Title: "List the capability decisions", Annotations: readOnly,
		Description: `Every platform capability with its current decision. Use it first, to see where the platform stands.

Returns evaluated_at (when the exporter last evaluated; age_seconds how long ago), recommended_next (the one capability
to take on next, or null), and per capability: decision (adopted: it runs; now: implement it now; later: needed, but
wait; consider: needed, no urgency; skip: the framework says not needed; not_triggered: nothing calls for it;
unknown: a signal it hinges on could not be read), need (yes, probably, probably_not, no, unknown), timing (now,
later, none, unknown), probable (true: the answer rests on the framework's reading of a question the team has not
declared, so say "probably"), possible (the decisions still reachable while unknowns stay unknown), decided_by (the
step that decided: adopted, structural, must, skip, gate, later, now, trigger), reason (one sentence on why) and
pending (a changed decision waiting out the hold, or null). questions lists the undeclared facts that would settle
the most decisions. Call explain_capability for the evidence behind one.`},
		instrument(h, toolListDecisions, h.listDecisions))
	mcp.AddTool(s, &mcp.Tool{Name: toolExplain, Title: "Explain one capability's decision", Annotations: readOnly,
		Description: `Everything behind one capability's decision. Use it when asked why, or what it would take.

Returns the decision, need, timing, probable, possible and decided_by as list_decisions does; conditions split into
held, not_held and unknown, each with its kind (trigger, structural, must, gate, skip, later, now), expr as the rules
write it, says (the framework's words), seed (the framework's bullet it encodes, quoted), value_text and
threshold_text, threshold_name and threshold_note (whose number: yours or the framework's), source (fact, override,
prometheus, loki, kubernetes, derived) and, when unknown, reason; reasons (the deciding step's conditions that
held), motives (why the capability is still relevant), not_bullets (the framework's NOT bullets that hold and the
motives each answers), outweighed (what held on the losing side), presumed (judgments a probable answer presumed,
with the measure cited), settle_with (the fewest unknown signals that would decide it), asks (undeclared facts that
would change what is possible), questions (the facts to declare, with the question each answers) and
open_questions (the framework's questions for the team); framework_bullets (every bullet of the framework the rules
encode for this capability, with its role) and not_encoded (bullets no condition encodes, and why); tools (what
would mark it adopted), foundations (the Priority 1 components it builds on: they inform, never decide), impact
(for an adopted one, its measured effect since adoption) and what_would_change (each way the decision would move,
with set: the what_if values that ask it).`},
		instrument(h, toolExplain, h.explain))
	mcp.AddTool(s, &mcp.Tool{Name: toolWhatIf, Title: "What if: decide again with other facts, values or thresholds", Annotations: readOnly,
		Description: `Decides every capability again on the last evaluation's data with the facts, overrides and thresholds given,
laid over the exporter's config, and says what differs. Use it for "what if we had compliance requirements?",
"and with 12 microservices?", "if our cost threshold were 15%?". Nothing is published or stored and no source is
queried: the exporter's own decisions do not change.

Arguments are written as the config file writes them and checked as strictly: facts (e.g. compliance_required:
true, tenants: 1, dr_rto_hours: 4, debugging_per_incident: "2h"), overrides of measured signals (microservices: 12,
cost_growth_ratio: "25%", tool.linkerd: true) and thresholds (cost_growth_per_month: "15%"). Booleans are JSON
true/false, not strings; ratios "15%" or 0.15; durations "30m". null takes the config's declaration away. A wrong
name or value is an error naming the field (facts.compliance_requird: unknown fact). Each change explain_capability
lists under what_would_change carries set, the values that ask it here.

Returns asked (the what-if as NAME=VALUE), decisions (as list_decisions, under the what-if), differences (each
capability whose decision, need, timing, possible, decided_by or recommendation differs from the published one,
published beside what_if; pending: true when that difference is a change the exporter has already seen but not yet
published, not the what-if's doing), signals (the values that differ, including facts derived from them) and, when
capability is given, that capability's full explanation under the what-if. At most as many what-ifs as the
exporter has CPUs run at once; beyond that this tool answers an error saying to retry.`},
		instrument(h, toolWhatIf, h.whatIf))
	mcp.AddTool(s, &mcp.Tool{Name: toolRecentChanges, Title: "Recent decision changes and their causes", Annotations: readOnly,
		Description: `The decisions the exporter published as changed since it started, newest first, with their causes. Use it
for "what changed?" or "why is this now?".

Returns decision_hold (evaluations a change must hold before it is published) and changes, each with capability,
time, from and to (decisions), need_from and need_to, decided_by, conditions (the comparisons whose truth flipped:
kind, condition, says, from, to as true, false or unknown) and signals (the values behind them, before and after).
The list lives in memory: a restart empties it; Prometheus keeps the long history in capability_decision.`},
		instrument(h, toolRecentChanges, h.recentChanges))
	mcp.AddTool(s, &mcp.Tool{Name: toolSourceHealth, Title: "Source health", Annotations: readOnly,
		Description: `Each source the exporter reads (fact: the config's declared facts; prometheus; loki; kubernetes), whether it
answered in the last evaluation, and why not. Use it when decisions or values are unknown.

Returns evaluated_at and age_seconds, and per source: status (up, down, not_configured), configured, up,
duration_seconds, endpoint (credentials hidden), auth (the kind only), cause (the first failed request and why),
fault and fix (a down source's cause in words and how to mend it), errors, and unknown_signals (the signals it left
unknown in that evaluation).`},
		instrument(h, toolSourceHealth, h.sourceHealth))
}

// instrument counts a tool's calls and durations and turns its error into
// the tool's isError answer, which a model reads, rather than a protocol
// error.
func instrument[In any](h *Handler, name string, f func(context.Context, In) (any, error)) mcp.ToolHandlerFor[In, any] {
	return func(ctx context.Context, _ *mcp.CallToolRequest, in In) (*mcp.CallToolResult, any, error) {
		start := time.Now()
		out, err := f(ctx, in)
		outcome := outcomeOK
		switch {
		case errors.Is(err, whatif.ErrBusy):
			outcome = outcomeRejected
		case err != nil:
			outcome = outcomeError
		}
		h.opts.Metrics.call(name, outcome, time.Since(start))
		if err != nil {
			return nil, nil, err
		}
		return nil, out, nil
	}
}

// decisionLine is one capability in brief.
type decisionLine struct {
	Capability      string          `json:"capability"`
	Title           string          `json:"title"`
	Decision        string          `json:"decision"`
	Need            string          `json:"need"`
	Timing          string          `json:"timing"`
	Probable        bool            `json:"probable"`
	Possible        []string        `json:"possible"`
	DecidedBy       string          `json:"decided_by"`
	RecommendedNext bool            `json:"recommended_next"`
	Reason          string          `json:"reason"`
	Pending         *report.Pending `json:"pending"`
}

func linesOf(caps []report.Capability) []decisionLine {
	out := make([]decisionLine, 0, len(caps))
	for _, c := range caps {
		out = append(out, decisionLine{Capability: c.ID, Title: c.Title, Decision: c.Decision, Need: c.Need, Timing: c.Timing,
			Probable: c.Probable, Possible: c.Possible, DecidedBy: c.DecidedBy, RecommendedNext: c.RecommendedNext,
			Reason: c.Summary, Pending: c.Pending})
	}
	return out
}

type decisionsOutput struct {
	EvaluatedAt     time.Time         `json:"evaluated_at"`
	AgeSeconds      float64           `json:"age_seconds"`
	Cluster         string            `json:"cluster"`
	RecommendedNext *string           `json:"recommended_next"`
	Decisions       []decisionLine    `json:"decisions"`
	Questions       []report.Question `json:"questions"`
}

func (h *Handler) listDecisions(context.Context, noInput) (any, error) {
	_, r, err := h.current()
	if err != nil {
		return nil, err
	}
	return decisionsOutput{EvaluatedAt: r.EvaluatedAt, AgeSeconds: r.AgeSeconds, Cluster: r.Cluster,
		RecommendedNext: r.RecommendedNext, Decisions: linesOf(r.Capabilities), Questions: r.Questions}, nil
}

func (h *Handler) explain(_ context.Context, in explainInput) (any, error) {
	st, r, err := h.current()
	if err != nil {
		return nil, err
	}
	c, err := capabilityIn(r, in.Capability)
	if err != nil {
		return nil, err
	}
	return explainedOf(st.Config.Rules, r, c), nil
}

// capabilityIn finds id in r, or says which ids there are.
func capabilityIn(r *report.Report, id string) (*report.Capability, error) {
	var ids []string
	for i := range r.Capabilities {
		if r.Capabilities[i].ID == id {
			return &r.Capabilities[i], nil
		}
		ids = append(ids, r.Capabilities[i].ID)
	}
	if id == "" {
		return nil, fmt.Errorf("capability: want one of %s", strings.Join(ids, ", "))
	}
	return nil, fmt.Errorf("capability: unknown capability %q (want one of %s)", id, strings.Join(ids, ", "))
}

type whatIfOutput struct {
	EvaluatedAt     time.Time                 `json:"evaluated_at"`
	Asked           []string                  `json:"asked"`
	RecommendedNext *string                   `json:"recommended_next"`
	Decisions       []decisionLine            `json:"decisions"`
	Differences     []whatif.Difference       `json:"differences"`
	Signals         []whatif.SignalDifference `json:"signals"`
	Capability      *explained                `json:"capability,omitempty"`
}

func (h *Handler) whatIf(ctx context.Context, in whatIfInput) (any, error) {
	st := h.opts.Current()
	if st == nil || st.Evaluation == nil {
		return nil, errNotReady
	}
	body, err := json.Marshal(map[string]map[string]any{"facts": in.Facts, "overrides": in.Overrides, "thresholds": in.Thresholds})
	if err != nil {
		return nil, err
	}
	w, err := whatif.ParseJSON(body)
	if err != nil {
		return nil, err
	}
	ans, err := h.opts.WhatIf.Ask(ctx, whatif.ViaMCP, w)
	if err != nil {
		if errors.Is(err, whatif.ErrBusy) {
			return nil, fmt.Errorf("%w (at most %d at once): retry in a second", err, h.opts.WhatIf.Limit())
		}
		return nil, err
	}
	out := whatIfOutput{EvaluatedAt: ans.EvaluatedAt, Asked: ans.Asked, RecommendedNext: ans.RecommendedNext,
		Decisions: linesOf(ans.Capabilities), Differences: ans.Differences, Signals: ans.Signals}
	if in.Capability != "" {
		r := &report.Report{Capabilities: ans.Capabilities}
		c, err := capabilityIn(r, in.Capability)
		if err != nil {
			return nil, err
		}
		e := explainedOf(st.Config.Rules, nil, c)
		out.Capability = &e
	}
	return out, nil
}

type changesOutput struct {
	DecisionHold int              `json:"decision_hold"`
	Changes      []history.Change `json:"changes"`
}

func (h *Handler) recentChanges(_ context.Context, in changesInput) (any, error) {
	st, r, err := h.current()
	if err != nil {
		return nil, err
	}
	if in.Capability != "" {
		if _, err := capabilityIn(r, in.Capability); err != nil {
			return nil, err
		}
	}
	limit := in.Limit
	switch {
	case limit < 0:
		return nil, fmt.Errorf("limit: want a positive number, got %d", limit)
	case limit == 0:
		limit = defaultChangesLimit
	case limit > mostChangesPerAnswer:
		limit = mostChangesPerAnswer
	}
	out := changesOutput{Changes: []history.Change{}}
	if st.History != nil {
		out.DecisionHold = st.History.Hold()
		for _, ch := range st.History.Changes() {
			if in.Capability != "" && ch.Capability != in.Capability {
				continue
			}
			if len(out.Changes) == limit {
				break
			}
			out.Changes = append(out.Changes, ch)
		}
	}
	return out, nil
}

type sourceHealth struct {
	report.Source
	UnknownSignals []string `json:"unknown_signals"`
}

type healthOutput struct {
	EvaluatedAt               time.Time      `json:"evaluated_at"`
	AgeSeconds                float64        `json:"age_seconds"`
	EvaluationDurationSeconds float64        `json:"evaluation_duration_seconds"`
	Sources                   []sourceHealth `json:"sources"`
}

func (h *Handler) sourceHealth(context.Context, noInput) (any, error) {
	_, r, err := h.current()
	if err != nil {
		return nil, err
	}
	out := healthOutput{EvaluatedAt: r.EvaluatedAt, AgeSeconds: r.AgeSeconds, EvaluationDurationSeconds: r.EvaluationDurationSeconds,
		Sources: []sourceHealth{}}
	for _, s := range r.Sources {
		sh := sourceHealth{Source: s, UnknownSignals: []string{}}
		for _, sg := range r.Signals {
			if sg.Value == nil && sg.Source == s.Name && !slices.Contains(sh.UnknownSignals, sg.Name) {
				sh.UnknownSignals = append(sh.UnknownSignals, sg.Name)
			}
		}
		out.Sources = append(out.Sources, sh)
	}
	return out, nil
}
