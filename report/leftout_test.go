package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/capability-exporter/capability_exporter/collector"
	"github.com/capability-exporter/capability_exporter/config"
	"github.com/capability-exporter/capability_exporter/triggers"
)

const leftOutRules = `
signals:
  microservices: {help: Services a Service selects., kubernetes: microservices}
  workloads: {help: Workloads., kubernetes: workloads}
capabilities:
  mesh:
    complexity: medium_high
    trigger: microservices > 5
`

// leftOutState is one evaluation in which the microservices measure left
// out the datastores of the quick start's shop.
func leftOutState(t *testing.T, left *triggers.LeftOut) *collector.State {
	t.Helper()
	rules := parseRules(t, leftOutRules)
	ms := triggers.KnownValue(1, "kubernetes")
	ms.LeftOut = left
	snap := triggers.Snapshot{"microservices": ms, "workloads": triggers.KnownValue(5, "kubernetes")}
	return &collector.State{Config: &config.Config{Rules: rules}, Evaluation: triggers.Evaluate(rules, snap, evaluatedAt)}
}

func shopLeftOut() *triggers.LeftOut {
	return &triggers.LeftOut{Total: 4, Objects: []triggers.LeftOutObject{
		{Name: "shop/broker", Reason: "image rabbitmq"}, {Name: "shop/cache", Reason: "image redis"},
		{Name: "shop/mongo", Reason: "image mongo"}, {Name: "shop/orders", Reason: "image postgresql"}}}
}

func servePage(t *testing.T, st *collector.State) string {
	t.Helper()
	rec := httptest.NewRecorder()
	Handlers{Current: func() *collector.State { return st }, Now: func() time.Time { return generatedAt }}.Page().
		ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	return rec.Body.String()
}

func serveJSON(t *testing.T, st *collector.State) map[string]json.RawMessage {
	t.Helper()
	rec := httptest.NewRecorder()
	Handlers{Current: func() *collector.State { return st }, Now: func() time.Time { return generatedAt }}.JSON().
		ServeHTTP(rec, httptest.NewRequest(http.MethodGet, APIPath, nil))
	var doc struct {
		Signals []map[string]json.RawMessage `json:"signals"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &doc); err != nil {
		t.Fatalf("%v: %s", err, rec.Body.String())
	}
	out := map[string]json.RawMessage{}
	for _, s := range doc.Signals {
		var name string
		if err := json.Unmarshal(s["name"], &name); err != nil {
			t.Fatal(err)
		}
		if raw, ok := s["left_out"]; ok {
			var b bytes.Buffer
			if err := json.Compact(&b, raw); err != nil {
				t.Fatal(err)
			}
			out[name] = b.Bytes()
		}
	}
	return out
}

// The JSON, the page and the Markdown record name each workload the count
// left out, with why, beside the count; a signal that left nothing out
// has no left_out at all.
func TestLeftOutIsShown(t *testing.T) {
	st := leftOutState(t, shopLeftOut())

	js := serveJSON(t, st)
	want := `{"total":4,"objects":[{"name":"shop/broker","reason":"image rabbitmq"},{"name":"shop/cache","reason":"image redis"},` +
		`{"name":"shop/mongo","reason":"image mongo"},{"name":"shop/orders","reason":"image postgresql"}]}`
	if got := string(js["microservices"]); got != want {
		t.Errorf("JSON microservices left_out = %s, want %s", got, want)
	}
	if got, ok := js["workloads"]; ok {
		t.Errorf("JSON workloads has left_out %s, want none", got)
	}

	page := servePage(t, st)
	_, row, _ := strings.Cut(page, `<tr data-signal="microservices">`)
	row, _, _ = strings.Cut(row, "</tr>")
	for _, want := range []string{`<div class="leftout">4 left out, not counted:</div>`,
		`<li data-left-out="shop/mongo"><code>shop/mongo</code>: image mongo</li>`,
		`<li data-left-out="shop/cache"><code>shop/cache</code>: image redis</li>`,
		`<li data-left-out="shop/orders"><code>shop/orders</code>: image postgresql</li>`,
		`<li data-left-out="shop/broker"><code>shop/broker</code>: image rabbitmq</li>`} {
		if !strings.Contains(row, want) {
			t.Errorf("page's microservices row lacks %s:\n%s", want, row)
		}
	}
	_, other, _ := strings.Cut(page, `<tr data-signal="workloads">`)
	if other, _, _ = strings.Cut(other, "</tr>"); strings.Contains(other, "left out") {
		t.Errorf("page's workloads row names something left out:\n%s", other)
	}

	var md strings.Builder
	if err := WriteMarkdown(&md, Build(st, Options{Now: generatedAt})); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"## Left out of the counts", "- `microservices` is **1**; 4 left out:",
		"  - `shop/mongo`: image mongo", "  - `shop/orders`: image postgresql"} {
		if !strings.Contains(md.String(), want) {
			t.Errorf("Markdown lacks %q:\n%s", want, md.String())
		}
	}
}

// Beyond the objects a value names, the page says how many more there are.
func TestLeftOutCountsTheRest(t *testing.T) {
	left := &triggers.LeftOut{Total: triggers.MaxLeftOut + 3}
	for i := range triggers.MaxLeftOut {
		left.Objects = append(left.Objects, triggers.LeftOutObject{Name: fmt.Sprintf("shop/cache-%02d", i), Reason: "image redis"})
	}
	page := servePage(t, leftOutState(t, left))
	for _, want := range []string{fmt.Sprintf("%d left out, not counted:", triggers.MaxLeftOut+3), "<li>and 3 more</li>"} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %s", want)
		}
	}
	if n := strings.Count(page, "data-left-out="); n != triggers.MaxLeftOut {
		t.Errorf("page names %d left out, want %d", n, triggers.MaxLeftOut)
	}
}

// A count that is unknown names nothing as left out.
func TestLeftOutOfUnknownValueIsNotShown(t *testing.T) {
	v := triggers.UnknownValue(triggers.CodeAuth, "forbidden", "kubernetes")
	v.LeftOut = shopLeftOut()
	if got := leftOutOf(v); got != nil {
		t.Errorf("left out of an unknown value = %+v, want nil", got)
	}
}
