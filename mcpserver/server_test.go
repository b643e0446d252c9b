package mcpserver

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"

	"github.com/capability-exporter/capability_exporter/collector"
	"github.com/capability-exporter/capability_exporter/config"
	"github.com/capability-exporter/capability_exporter/whatif"
)

// serve runs the MCP handler on the quick start's evaluation and connects
// the SDK's own client to it.
func serve(t *testing.T) (*mcp.ClientSession, *Metrics, *collector.Scheduler) {
	t.Helper()
	cfg, err := config.Load("../examples/webshop.yml")
	if err != nil {
		t.Fatal(err)
	}
	sched := collector.NewScheduler(cfg, time.Minute, slog.New(slog.DiscardHandler))
	t.Cleanup(sched.Close)
	sched.Evaluate(context.Background())
	m := NewMetrics()
	h := New(Options{Current: sched.Current, WhatIf: whatif.New(sched.Current, whatif.Options{}), Version: "test", Metrics: m})
	mux := http.NewServeMux()
	mux.Handle(Path, h)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	client := mcp.NewClient(&mcp.Implementation{Name: "test", Version: "1"}, nil)
	cs, err := client.Connect(context.Background(), &mcp.StreamableClientTransport{Endpoint: srv.URL + Path}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cs.Close() })
	return cs, m, sched
}

func call(t *testing.T, cs *mcp.ClientSession, tool string, args map[string]any) (*mcp.CallToolResult, map[string]any) {
	t.Helper()
	res, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: tool, Arguments: args})
	if err != nil {
		t.Fatalf("%s: %v", tool, err)
	}
	var out map[string]any
	if !res.IsError {
		data, _ := json.Marshal(res.StructuredContent)
		if err := json.Unmarshal(data, &out); err != nil {
			t.Fatalf("%s: %v", tool, err)
		}
	}
	return res, out
}

func text(res *mcp.CallToolResult) string {
	var b strings.Builder
	for _, c := range res.Content {
		if tc, ok := c.(*mcp.TextContent); ok {
			b.WriteString(tc.Text)
		}
	}
	return b.String()
}

func TestToolsResourcesAndPrompt(t *testing.T) {
	cs, m, sched := serve(t)
	ctx := context.Background()
	if got := cs.InitializeResult().ServerInfo.Name; got != "capability_exporter" {
		t.Errorf("server name %q", got)
	}
	tools, err := cs.ListTools(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, tl := range tools.Tools {
		names = append(names, tl.Name)
		if !tl.Annotations.ReadOnlyHint || len(tl.Description) < 200 {
			t.Errorf("%s: read-only %v, description of %d characters", tl.Name, tl.Annotations.ReadOnlyHint, len(tl.Description))
		}
	}
	slices.Sort(names)
	if want := slices.Sorted(slices.Values(toolNames)); !slices.Equal(names, want) {
		t.Errorf("tools %v, want %v", names, want)
	}

	res, out := call(t, cs, toolListDecisions, nil)
	if res.IsError || len(out["decisions"].([]any)) != 8 || out["recommended_next"] != "cost_visibility" {
		t.Errorf("list_decisions: %s", text(res))
	}

	res, out = call(t, cs, toolExplain, map[string]any{"capability": "policy_enforcement"})
	if res.IsError {
		t.Fatalf("explain_capability: %s", text(res))
	}
	if out["decided_by"] != "must" {
		t.Errorf("policy_enforcement decided by %v", out["decided_by"])
	}
	held := out["conditions"].(map[string]any)["held"].([]any)
	var seeded bool
	for _, c := range held {
		if len(c.(map[string]any)["seed"].([]any)) > 0 {
			seeded = true
		}
	}
	if !seeded || len(out["framework_bullets"].([]any)) == 0 {
		t.Errorf("explain_capability quotes no bullet of the framework: %s", text(res)[:min(600, len(text(res)))])
	}
	for _, r := range out["reasons"].([]any) {
		if len(r.(map[string]any)["seed"].([]any)) == 0 {
			t.Errorf("reason %v carries no bullet", r)
		}
	}
	res, _ = call(t, cs, toolExplain, map[string]any{"capability": "service_meshh"})
	if !res.IsError || !strings.Contains(text(res), "service_mesh,") {
		t.Errorf("unknown capability: error %v: %s", res.IsError, text(res))
	}

	before := sched.Current()
	res, out = call(t, cs, toolWhatIf, map[string]any{"facts": map[string]any{"compliance_required": false, "fixed_costs": true, "tenants": 1},
		"capability": "cost_visibility"})
	if res.IsError {
		t.Fatalf("what_if: %s", text(res))
	}
	if d := out["capability"].(map[string]any)["decision"]; d != "skip" && d != "not_triggered" {
		t.Errorf("what_if: cost_visibility %v", d)
	}
	if len(out["differences"].([]any)) == 0 {
		t.Error("what_if: no differences")
	}
	if sched.Current() != before {
		t.Error("what_if published a State")
	}
	res, _ = call(t, cs, toolWhatIf, map[string]any{"facts": map[string]any{"compliance_requird": true}})
	if !res.IsError || !strings.Contains(text(res), "facts.compliance_requird") {
		t.Errorf("what_if with an unknown fact: error %v: %s", res.IsError, text(res))
	}
	res, _ = call(t, cs, toolWhatIf, map[string]any{"facts": map[string]any{"compliance_required": "true"}})
	if !res.IsError || !strings.Contains(text(res), "facts.compliance_required: want true or false") {
		t.Errorf("what_if with a string for a bool: error %v: %s", res.IsError, text(res))
	}

	res, out = call(t, cs, toolRecentChanges, map[string]any{"capability": "service_mesh"})
	if res.IsError || out["changes"] == nil {
		t.Errorf("recent_changes: %s", text(res))
	}
	res, out = call(t, cs, toolSourceHealth, nil)
	if res.IsError || len(out["sources"].([]any)) == 0 {
		t.Errorf("source_health: %s", text(res))
	}

	resources, err := cs.ListResources(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	var uris []string
	for _, r := range resources.Resources {
		uris = append(uris, r.URI)
	}
	for _, want := range []string{uriEvaluation, uriRules, uriCapabilityPrefix + "service_mesh", uriCapabilityPrefix + "security_auditing"} {
		if !slices.Contains(uris, want) {
			t.Errorf("resources %v lack %s", uris, want)
		}
	}
	for _, uri := range []string{uriEvaluation, uriCapabilityPrefix + "cost_visibility"} {
		rr, err := cs.ReadResource(ctx, &mcp.ReadResourceParams{URI: uri})
		if err != nil {
			t.Fatal(err)
		}
		var doc map[string]any
		if err := json.Unmarshal([]byte(rr.Contents[0].Text), &doc); err != nil {
			t.Errorf("%s: %v", uri, err)
		}
	}
	rr, err := cs.ReadResource(ctx, &mcp.ReadResourceParams{URI: uriRules})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"## 1. Service Mesh", "Thresholds in force", "cost_growth_per_month", "not encoded"} {
		if !strings.Contains(rr.Contents[0].Text, want) {
			t.Errorf("the rules lack %q", want)
		}
	}
	if _, err := cs.ReadResource(ctx, &mcp.ReadResourceParams{URI: uriCapabilityPrefix + "nope"}); err == nil {
		t.Error("an unknown capability's resource was read")
	}

	prompts, err := cs.ListPrompts(ctx, nil)
	if err != nil || len(prompts.Prompts) != 1 || prompts.Prompts[0].Name != promptDecisionRecord {
		t.Fatalf("prompts: %v %+v", err, prompts)
	}
	pr, err := cs.GetPrompt(ctx, &mcp.GetPromptParams{Name: promptDecisionRecord, Arguments: map[string]string{"capability": "distributed_tracing"}})
	if err != nil {
		t.Fatal(err)
	}
	md := pr.Messages[0].Content.(*mcp.TextContent).Text
	if !strings.Contains(md, "Distributed Tracing") || strings.Contains(md, "### Service Mesh") {
		t.Errorf("decision_record is not one capability's record:\n%s", md)
	}

	reg := prometheus.NewRegistry()
	reg.MustRegister(m)
	if got := testutil.ToFloat64(m.calls.WithLabelValues(toolWhatIf, outcomeOK)); got != 1 {
		t.Errorf("what_if ok calls %v, want 1", got)
	}
	if got := testutil.ToFloat64(m.calls.WithLabelValues(toolWhatIf, outcomeError)); got != 2 {
		t.Errorf("what_if error calls %v, want 2", got)
	}
	if got := testutil.ToFloat64(m.requests.WithLabelValues("tools/call")); got < 8 {
		t.Errorf("tools/call requests %v", got)
	}
}

// Before the first evaluation every tool says so, and nothing fails.
func TestBeforeTheFirstEvaluation(t *testing.T) {
	h := New(Options{Current: func() *collector.State { return nil }, WhatIf: whatif.New(func() *collector.State { return nil }, whatif.Options{})})
	srv := httptest.NewServer(h)
	defer srv.Close()
	cs, err := mcp.NewClient(&mcp.Implementation{Name: "test"}, nil).Connect(context.Background(), &mcp.StreamableClientTransport{Endpoint: srv.URL}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer cs.Close()
	for _, tool := range toolNames {
		args := map[string]any{"capability": "service_mesh"}
		if tool == toolListDecisions || tool == toolSourceHealth {
			args = nil
		}
		res, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: tool, Arguments: args})
		if err != nil {
			t.Fatalf("%s: %v", tool, err)
		}
		if !res.IsError || !strings.Contains(text(res), "first evaluation") {
			t.Errorf("%s: %s", tool, text(res))
		}
	}
}

// A what_if refused at the concurrency limit counts as rejected, the MCP
// face of HTTP 429; each call's duration is observed under its tool.
func TestToolCallsCountedByOutcome(t *testing.T) {
	m := NewMetrics()
	h := &Handler{opts: Options{Metrics: m}}
	busy := instrument(h, toolWhatIf, func(context.Context, whatIfInput) (any, error) { return nil, whatif.ErrBusy })
	if _, _, err := busy(context.Background(), nil, whatIfInput{}); !errors.Is(err, whatif.ErrBusy) {
		t.Fatalf("err %v, want ErrBusy", err)
	}
	ok := instrument(h, toolListDecisions, func(context.Context, noInput) (any, error) { return struct{}{}, nil })
	if _, _, err := ok(context.Background(), nil, noInput{}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		tool, outcome string
		want          float64
	}{
		{toolWhatIf, outcomeRejected, 1}, {toolWhatIf, outcomeOK, 0}, {toolWhatIf, outcomeError, 0},
		{toolListDecisions, outcomeOK, 1},
	} {
		if got := testutil.ToFloat64(m.calls.WithLabelValues(c.tool, c.outcome)); got != c.want {
			t.Errorf("%s %s: %v, want %v", c.tool, c.outcome, got, c.want)
		}
	}
	if n := testutil.CollectAndCount(m.duration, "capability_exporter_mcp_tool_duration_seconds"); n != len(toolNames) {
		t.Errorf("%d duration series, want one per tool", n)
	}
	for _, tool := range []string{toolWhatIf, toolListDecisions} {
		var d dto.Metric
		if err := m.duration.WithLabelValues(tool).(prometheus.Histogram).Write(&d); err != nil {
			t.Fatal(err)
		}
		if got := d.GetHistogram().GetSampleCount(); got != 1 {
			t.Errorf("%s: %d durations observed, want 1", tool, got)
		}
	}
}
