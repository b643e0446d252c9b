//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// The MCP server of the real exporter binary, asked by the SDK's own client
// as an agent would: over basic auth from --web.config.file, every tool
// called once, a what-if that changes nothing published, and the error a
// model reads for a wrong fact.

// agentPassword's bcrypt hash is in the web config below.
const (
	agentUser     = "agent"
	agentPassword = "agent-pass-4711"
	agentHash     = "$2a$10$0eeKE6oY2K/KeSiibYKEaOkGH/5e2rTw/aLMDjWpi90v2oT8.sv/q"
)

// basicAuth adds credentials to every request of an MCP client.
type basicAuth struct {
	user, pass string
	next       http.RoundTripper
}

func (b basicAuth) RoundTrip(req *http.Request) (*http.Response, error) {
	req = req.Clone(req.Context())
	req.SetBasicAuth(b.user, b.pass)
	return b.next.RoundTrip(req)
}

// startExporterWithAuth runs the exporter on the webshop behind basic auth;
// its readiness is asked with the credentials.
func startExporterWithAuth(t *testing.T, args ...string) *exporter {
	t.Helper()
	dir := t.TempDir()
	webConfig := writeFile(t, dir, "web.yml", fmt.Sprintf("basic_auth_users:\n  %s: %s\n", agentUser, agentHash))
	config := filepath.Join(repoRoot(), "examples", "webshop.yml")
	s := startServer(t, serverSpec{
		Name:  "capability_exporter",
		Bin:   exporterBinary(t),
		Ports: 1,
		Args: func(ports []int) []string {
			return append([]string{"--config.file=" + config, "--web.config.file=" + webConfig,
				fmt.Sprintf("--web.listen-address=127.0.0.1:%d", ports[0])}, args...)
		},
		Ready: func(ports []int) bool {
			req, _ := http.NewRequest(http.MethodGet, fmt.Sprintf("http://127.0.0.1:%d/-/ready", ports[0]), nil)
			req.SetBasicAuth(agentUser, agentPassword)
			resp, err := probeClient.Do(req)
			if err != nil {
				return false
			}
			resp.Body.Close()
			return resp.StatusCode == http.StatusOK
		},
		ReadyTimeout: 30 * time.Second,
	})
	return &exporter{URL: s.PortURL(0), server: s}
}

func connectMCP(t *testing.T, url string, rt http.RoundTripper) (*mcp.ClientSession, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), requestTimeout)
	defer cancel()
	client := mcp.NewClient(&mcp.Implementation{Name: "e2e-agent", Version: "1"}, nil)
	return client.Connect(ctx, &mcp.StreamableClientTransport{Endpoint: url + "/mcp",
		HTTPClient: &http.Client{Timeout: requestTimeout, Transport: rt}, MaxRetries: 1}, nil)
}

func authGet(t *testing.T, url string) string {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	req.SetBasicAuth(agentUser, agentPassword)
	resp, err := testClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b strings.Builder
	_, _ = fmt.Fprint(&b, resp.Status, "\n")
	buf := make([]byte, 32<<10)
	for {
		n, err := resp.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break
		}
	}
	return b.String()
}

func TestMCPOverBasicAuth(t *testing.T) {
	e := startExporterWithAuth(t)
	ctx := context.Background()

	cs, err := connectMCP(t, e.URL, basicAuth{agentUser, agentPassword, http.DefaultTransport})
	if err != nil {
		t.Fatalf("initialize over basic auth: %v\n%s", err, e.LogTail(20))
	}
	defer cs.Close()
	if info := cs.InitializeResult().ServerInfo; info.Name != "capability_exporter" {
		t.Errorf("server %+v", info)
	}
	tools, err := cs.ListTools(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]map[string]any{
		"list_decisions":     nil,
		"explain_capability": {"capability": "cost_visibility"},
		"what_if":            {"facts": map[string]any{"compliance_required": false, "fixed_costs": true, "tenants": 1}},
		"recent_changes":     {},
		"source_health":      nil,
	}
	if len(tools.Tools) != len(want) {
		t.Errorf("%d tools, want %d", len(tools.Tools), len(want))
	}

	metricsBefore := authGet(t, e.URL+"/metrics")
	evaluationBefore := authGet(t, e.URL+"/api/v1/evaluation")
	changesBefore := authGet(t, e.URL+"/api/v1/changes")

	results := map[string]map[string]any{}
	for _, tool := range tools.Tools {
		args, ok := want[tool.Name]
		if !ok {
			t.Errorf("unexpected tool %s", tool.Name)
			continue
		}
		res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: tool.Name, Arguments: args})
		if err != nil {
			t.Fatalf("%s: %v", tool.Name, err)
		}
		if res.IsError {
			t.Errorf("%s answered an error: %v", tool.Name, res.Content)
			continue
		}
		var out map[string]any
		data, _ := json.Marshal(res.StructuredContent)
		if err := json.Unmarshal(data, &out); err != nil {
			t.Fatalf("%s: %v", tool.Name, err)
		}
		results[tool.Name] = out
	}
	if d := results["list_decisions"]["decisions"]; d == nil || len(d.([]any)) != len(capabilities) {
		t.Errorf("list_decisions: %v", results["list_decisions"])
	}
	if results["explain_capability"]["id"] != "cost_visibility" {
		t.Errorf("explain_capability: %v", results["explain_capability"]["id"])
	}
	for _, d := range results["what_if"]["decisions"].([]any) {
		line := d.(map[string]any)
		switch line["capability"] {
		case "cost_visibility":
			if line["decision"] != "skip" && line["decision"] != "not_triggered" {
				t.Errorf("what_if: cost_visibility %v", line["decision"])
			}
		case "policy_enforcement":
			if line["decided_by"] == "must" {
				t.Errorf("what_if: policy_enforcement decided by must without compliance")
			}
		}
	}

	// The resources and the prompt, as an agent reads them.
	resources, err := cs.ListResources(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(resources.Resources) != len(capabilities)+2 {
		t.Errorf("%d resources, want the evaluation, the rules and one per capability", len(resources.Resources))
	}
	read, err := cs.ReadResource(ctx, &mcp.ReadResourceParams{URI: "capability-exporter://evaluation/cost_visibility"})
	if err != nil || len(read.Contents) != 1 || !strings.Contains(read.Contents[0].Text, `"id": "cost_visibility"`) {
		t.Errorf("reading cost_visibility: %v %v", err, read)
	}
	prompt, err := cs.GetPrompt(ctx, &mcp.GetPromptParams{Name: "decision_record", Arguments: map[string]string{"capability": "cost_visibility"}})
	if err != nil || len(prompt.Messages) == 0 {
		t.Fatalf("decision_record: %v %v", err, prompt)
	}
	if text := prompt.Messages[len(prompt.Messages)-1].Content.(*mcp.TextContent).Text; !strings.Contains(text, "Cost Visibility") {
		t.Errorf("decision_record for cost_visibility:\n%s", text)
	}

	// The error a model reads for a fact the rules do not know names it.
	res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "what_if", Arguments: map[string]any{
		"facts": map[string]any{"compliance_requird": true}}})
	if err != nil {
		t.Fatal(err)
	}
	if !res.IsError || !strings.Contains(fmt.Sprint(res.Content[0].(*mcp.TextContent).Text), "facts.compliance_requird") {
		t.Errorf("what_if with an unknown fact: isError %v, %v", res.IsError, res.Content)
	}

	// Nothing a tool did is published.
	if got := authGet(t, e.URL+"/api/v1/changes"); strings.Count(got, `"capability"`) != strings.Count(changesBefore, `"capability"`) {
		t.Errorf("/api/v1/changes changed:\n%s\n%s", changesBefore, got)
	}
	if !strings.Contains(evaluationBefore, `"decided_by": "must"`) ||
		currentStates(metricsBefore)["cost_visibility"] != "now" {
		t.Error("the published webshop is not what the quick start says")
	}
	// A rendered /metrics is served again for up to a second, and for up
	// to two while a newer one renders (scrape_cache.go).
	time.Sleep(2100 * time.Millisecond)
	metricsAfter := authGet(t, e.URL+"/metrics")
	if before, after := currentStates(metricsBefore), currentStates(metricsAfter); fmt.Sprint(before) != fmt.Sprint(after) {
		t.Errorf("published decisions changed: %v -> %v", before, after)
	}
	for _, line := range []string{
		`capability_exporter_mcp_tool_calls_total{outcome="ok",tool="what_if"} 1`,
		`capability_exporter_mcp_tool_calls_total{outcome="error",tool="what_if"} 1`,
		`capability_exporter_what_if_requests_total{outcome="answered",via="mcp"} 1`,
		`capability_exporter_what_if_requests_total{outcome="invalid",via="mcp"} 1`,
	} {
		if !strings.Contains(metricsAfter, line) {
			name := line[:strings.Index(line, "{")]
			var have []string
			for _, l := range strings.Split(metricsAfter, "\n") {
				if strings.HasPrefix(l, name+"{") {
					have = append(have, l)
				}
			}
			t.Errorf("/metrics lacks %s; it has:\n%s", line, strings.Join(have, "\n"))
		}
	}

	// A wrong password gets 401, before MCP sees the request.
	start := time.Now()
	if _, err := connectMCP(t, e.URL, basicAuth{agentUser, "wrong", http.DefaultTransport}); err == nil {
		t.Error("initialize with a wrong password succeeded")
	}
	t.Logf("the client gave up after %s", time.Since(start))
	req, _ := http.NewRequest(http.MethodPost, e.URL+"/mcp", strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"ping"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	req.SetBasicAuth(agentUser, "wrong")
	resp, err := testClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("wrong password: %s, want 401", resp.Status)
	}
}

// With --no-web.mcp there is no /mcp, while the what-if API stays.
func TestNoWebMCP(t *testing.T) {
	e := startExporter(t, filepath.Join(repoRoot(), "examples", "webshop.yml"), "--no-web.mcp")
	req, _ := http.NewRequest(http.MethodPost, e.URL+"/mcp", strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{}}`))
	req.Header.Set("Content-Type", "application/json")
	resp, err := testClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("POST /mcp with --no-web.mcp: %s, want 404", resp.Status)
	}
	resp, err = testClient.Post(e.URL+"/api/v1/what-if", "application/json", strings.NewReader(`{"facts": {"tenants": 1}}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("POST /api/v1/what-if: %s", resp.Status)
	}
	if _, err := connectMCP(t, e.URL, http.DefaultTransport); err == nil {
		t.Error("an MCP client connected with --no-web.mcp")
	}
}

// The chart serves /mcp by default; mcp.enabled=false passes --no-web.mcp.
func TestHelmChartMCPValue(t *testing.T) {
	for _, c := range []struct {
		set  []string
		want bool
	}{{nil, false}, {[]string{"--set", "mcp.enabled=true"}, false}, {[]string{"--set", "mcp.enabled=false"}, true}} {
		objs := helmTemplate(t, "capability-exporter", "monitoring", c.set...)
		containers, _, _ := unstructured.NestedSlice(oneOf(t, objs, "Deployment").Object, "spec", "template", "spec", "containers")
		container := containers[0].(map[string]any)
		got := false
		for _, a := range container["args"].([]any) {
			if a == "--no-web.mcp" {
				got = true
			}
		}
		if got != c.want {
			t.Errorf("helm template %v: --no-web.mcp in args %v, want %v", c.set, container["args"], c.want)
		}
	}
}
