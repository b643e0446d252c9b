//go:build e2e

package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// webshopLogs are the webshop's Kubernetes audit log and checkout logs: the
// humans who changed something (12 in the last 30 days, 2 more only before
// that), an auditor who only reads, controllers and service accounts, and
// the checkout's error lines.
func webshopLogs(end time.Time) (lines []logLine, humans30d int) {
	audit := map[string]string{"job": "kubernetes-audit", "cluster": "webshop"}
	event := func(user, verb, resource, name string, t time.Time) logLine {
		line, _ := json.Marshal(map[string]any{
			"kind": "Event", "apiVersion": "audit.k8s.io/v1", "level": "Metadata", "stage": "ResponseComplete",
			"auditID": fmt.Sprintf("%08x-%d", t.UnixNano()%0xffffffff, len(user)), "verb": verb,
			"requestURI":     fmt.Sprintf("/apis/apps/v1/namespaces/webshop/%s/%s", resource, name),
			"user":           map[string]any{"username": user, "groups": []string{"system:authenticated"}},
			"objectRef":      map[string]any{"resource": resource, "namespace": "webshop", "name": name, "apiGroup": "apps"},
			"responseStatus": map[string]any{"code": 200}, "requestReceivedTimestamp": t.Format(time.RFC3339Nano),
		})
		return logLine{stream: audit, t: t, line: string(line)}
	}
	people := []string{"anouk", "bram", "daan", "emma", "fleur", "jesse", "lotte", "milan", "noor", "sem", "tess", "vince"}
	for i, p := range people {
		for d := 1; d <= 29; d += 3 + i%3 {
			lines = append(lines, event(p+"@webshop.example", "patch", "deployments", "checkout", end.Add(-time.Duration(d)*shopDay+time.Duration(i)*time.Hour)))
		}
	}
	for d := 1; d <= 29; d += 2 { // reads, but changes nothing: not a developer
		lines = append(lines, event("auditor@webshop.example", "list", "deployments", "", end.Add(-time.Duration(d)*shopDay)))
	}
	for _, p := range []string{"ruud", "yara"} { // left the team a month ago
		lines = append(lines, event(p+"@webshop.example", "update", "deployments", "cart", end.Add(-32*shopDay)))
	}
	for d := 0; d < 35; d++ {
		t := end.Add(-time.Duration(d)*shopDay - 90*time.Minute)
		lines = append(lines,
			event("system:serviceaccount:argocd:argocd-application-controller", "patch", "deployments", "frontend", t),
			event("system:kube-controller-manager", "update", "replicasets", "frontend-6d4cf56db6", t.Add(time.Minute)),
			event("system:node:node-1", "patch", "pods", "frontend-6d4cf56db6-x2x9z", t.Add(2*time.Minute)))
	}
	app := map[string]string{"namespace": "webshop", "app": "checkout", "job": "webshop/checkout"}
	for h := 0; h < 48; h++ {
		t := end.Add(-time.Duration(h) * time.Hour)
		lines = append(lines, logLine{stream: app, t: t, line: `level=info msg="order placed" order_id=` + strconv.Itoa(h)})
		if h%6 == 0 {
			lines = append(lines, logLine{stream: app, t: t.Add(-time.Second), line: `level=error msg="payment provider timeout" provider=ideal`})
		}
	}
	slices.SortFunc(lines, func(a, b logLine) int { return a.t.Compare(b.t) })
	return lines, len(people)
}

// TestLokiDoubleFollowsTheAPI pins the double to Loki's documented answers,
// so that a test passing against it says something about Loki.
func TestLokiDoubleFollowsTheAPI(t *testing.T) {
	end := time.Now().Truncate(time.Second)
	lines, humans := webshopLogs(end)
	d := newLokiDouble(t, "webshop", lines)
	get := func(path string, params map[string]string, tenant string) (int, map[string]any, string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, d.URL+path, nil)
		q := req.URL.Query()
		for k, v := range params {
			q.Set(k, v)
		}
		req.URL.RawQuery = q.Encode()
		if tenant != "" {
			req.Header.Set("X-Scope-OrgID", tenant)
		}
		resp, err := testClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body map[string]any
		raw, _ := io.ReadAll(resp.Body)
		_ = json.Unmarshal(raw, &body)
		return resp.StatusCode, body, string(raw)
	}
	devs := `count(sum by (user_username) (count_over_time({job="kubernetes-audit"} |~ "\"verb\":\"(create|update|patch|delete)\"" | json | user_username !~ "system:.*" [30d])))`
	for _, ts := range []string{
		strconv.FormatInt(end.UnixNano(), 10), strconv.FormatInt(end.Unix(), 10),
		strconv.FormatFloat(float64(end.UnixMilli())/1000, 'f', 3, 64), end.Format(time.RFC3339Nano),
	} {
		code, body, raw := get("/loki/api/v1/query", map[string]string{"query": devs, "time": ts}, "webshop")
		data, _ := body["data"].(map[string]any)
		result, _ := data["result"].([]any)
		if code != 200 || data["resultType"] != "vector" || len(result) != 1 || data["stats"] == nil {
			t.Fatalf("instant query at %s: %d %s", ts, code, raw)
		}
		value := result[0].(map[string]any)["value"].([]any)
		if value[1] != strconv.Itoa(humans) {
			t.Errorf("time=%s: %v developers, want %d", ts, value[1], humans)
		}
	}
	code, _, raw := get("/loki/api/v1/query_range", map[string]string{
		"query": `sum by (level) (count_over_time({app="checkout"} | logfmt [1h]))`, "start": strconv.FormatInt(end.Add(-6*time.Hour).UnixNano(), 10),
		"end": strconv.FormatInt(end.UnixNano(), 10), "step": "3600"}, "webshop")
	if code != 400 || !strings.HasPrefix(raw, "parse error at line 1") {
		t.Errorf("an expression the double does not know must be a 400 parse error, got %d %s", code, raw)
	}
	code, body, raw := get("/loki/api/v1/query_range", map[string]string{
		"query": `sum(count_over_time({app="checkout"} |= "level=error" [6h]))`, "start": strconv.FormatInt(end.Add(-12*time.Hour).UnixNano(), 10),
		"end": strconv.FormatInt(end.UnixNano(), 10), "step": "6h"}, "webshop")
	data, _ := body["data"].(map[string]any)
	if code != 200 || data["resultType"] != "matrix" {
		t.Fatalf("query_range: %d %s", code, raw)
	}
	if values := data["result"].([]any)[0].(map[string]any)["values"].([]any); len(values) != 3 {
		t.Errorf("range of 12h at step 6h: %d points, want start, start+step and end", len(values))
	}
	code, body, _ = get("/loki/api/v1/query_range", map[string]string{"query": `{app="checkout"} |= "level=error"`, "since": "24h",
		"end": strconv.FormatInt(end.UnixNano(), 10), "limit": "3", "direction": "backward"}, "webshop")
	data, _ = body["data"].(map[string]any)
	if code != 200 || data["resultType"] != "streams" {
		t.Fatalf("log query over a range: %d %v", code, body)
	}
	stream := data["result"].([]any)[0].(map[string]any)
	if values := stream["values"].([]any); len(values) != 3 || values[0].([]any)[0].(string) < values[1].([]any)[0].(string) {
		t.Errorf("limit 3 backward: %v", values)
	}
	for _, tc := range []struct {
		path   string
		params map[string]string
		tenant string
		code   int
		says   string
	}{
		{"/loki/api/v1/query", map[string]string{"query": `{app="checkout"}`}, "webshop", 400, "log queries are not supported as an instant query type"},
		{"/loki/api/v1/query", map[string]string{"query": devs}, "", 401, "no org id"},
		{"/loki/api/v1/query", map[string]string{"query": `sum(count_over_time({app=~".*"}[1h]))`}, "webshop", 400, "at least one regexp or equality matcher"},
		{"/loki/api/v1/query", map[string]string{"query": `sum(count_over_time({app="checkout"}[40d]))`}, "webshop", 400, "the query time range exceeds the limit"},
		{"/loki/api/v1/query", map[string]string{"query": devs, "time": "yesterday"}, "webshop", 400, "invalid parameter \"time\""},
		{"/loki/api/v1/query_range", map[string]string{"query": devs, "start": "0", "end": strconv.FormatInt(end.Unix(), 10), "step": "1"}, "webshop", 400, "exceeded maximum resolution of 11,000 points"},
	} {
		code, _, raw := get(tc.path, tc.params, tc.tenant)
		if code != tc.code || !strings.Contains(raw, tc.says) {
			t.Errorf("%s %v: %d %q, want %d saying %q", tc.path, tc.params, code, raw, tc.code, tc.says)
		}
	}
	d.fail(devs, 429, 504)
	for _, want := range []int{429, 504, 200} {
		if code, _, raw := get("/loki/api/v1/query", map[string]string{"query": devs}, "webshop"); code != want {
			t.Errorf("injected faults: %d %s, want %d", code, raw, want)
		}
	}
}
