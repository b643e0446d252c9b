//go:build e2e

package e2e

import (
	"bufio"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/capability-exporter/capability_exporter/report"
)

// Impact since adoption against a real Prometheus holding 95 days of
// generated history:
//
//   - Jaeger was adopted 20 days ago: kube-state-metrics'
//     kube_deployment_created of jaeger-collector says so from then on.
//     Critical incidents took 2-3 h to resolve before, 30-45 min since.
//   - A cost visibility tool was declared adopted 61 days ago (facts.adopted),
//     and the requested CPU and memory grew 5% a month throughout: no
//     change in cost growth, so after the 60-day judging period the exit
//     question is raised.
//
// Every expected number comes from the generated incidents, not from
// constants in the assertions.
type impactHistory struct {
	end, adopted, declared time.Time
	length                 time.Duration
	before, since          []firing // critical incidents
}

func newImpactHistory(end time.Time) *impactHistory {
	h := &impactHistory{end: end, adopted: end.Add(-20 * shopDay).Truncate(time.Second), declared: end.Add(-61 * shopDay), length: 95 * shopDay}
	incident := func(start time.Time, d time.Duration) firing {
		return firing{labels: map[string]string{"alertname": "CheckoutLatencyHigh", "namespace": "shop", "severity": "critical"},
			start: start.Truncate(time.Minute).Add(alertEvalOffset), d: d}
	}
	// Before: one incident every two days, 2h to 3h; those that start more
	// than 20 days before adoption fall outside the window compared.
	for k := 1; k <= 15; k++ {
		d := 2*time.Hour + time.Duration((k*37)%61)*time.Minute
		h.before = append(h.before, incident(h.adopted.Add(-time.Duration(k)*2*shopDay+5*time.Hour), d))
	}
	// Since: every two days, 30 to 45 minutes.
	for k := 1; k <= 9; k++ {
		d := 30*time.Minute + time.Duration((k*7)%16)*time.Minute
		h.since = append(h.since, incident(h.adopted.Add(time.Duration(k)*2*shopDay-5*time.Hour), d))
	}
	return h
}

// truth is the median duration of the incidents inside [from, to], as the
// exporter measures one: from its first firing sample to its last.
func impactTruth(runs []firing, from, to time.Time) time.Duration {
	var ds []time.Duration
	for _, r := range runs {
		if r.start.After(from) && r.start.Add(r.d).Before(to) {
			ds = append(ds, r.d-alertEvalEvery)
		}
	}
	slices.Sort(ds)
	n := len(ds)
	if n%2 == 1 {
		return ds[n/2]
	}
	return (ds[n/2-1] + ds[n/2]) / 2
}

func (h *impactHistory) write(t *testing.T, path string) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	b := bufio.NewWriter(f)
	sample := func(series string, v float64, at time.Time) {
		fmt.Fprintf(b, "%s %s %d\n", series, strconv.FormatFloat(v, 'g', -1, 64), at.Unix())
	}
	start := h.end.Add(-h.length)
	b.WriteString("# TYPE up gauge\n")
	for at := start; !at.After(h.end); at = at.Add(scrapeEvery) {
		sample(`up{job="node",instance="node-1"}`, 1, at)
	}
	b.WriteString("# TYPE kube_deployment_created gauge\n")
	for at := h.adopted; !at.After(h.end); at = at.Add(scrapeEvery) {
		sample(`kube_deployment_created{namespace="tracing",deployment="jaeger-collector"}`, float64(h.adopted.Unix()), at)
	}
	// Requests grow 5% a month, continuously: the month-over-month growth
	// is the same before the cost tool and since.
	b.WriteString("# TYPE kube_pod_container_resource_requests gauge\n")
	for _, res := range []struct {
		name, unit string
		v          float64
	}{{"cpu", "core", 4}, {"memory", "byte", 8 << 30}} {
		series := fmt.Sprintf(`kube_pod_container_resource_requests{namespace="shop",pod="checkout-0",container="app",resource=%q,unit=%q}`, res.name, res.unit)
		for at := start; !at.After(h.end); at = at.Add(scrapeEvery) {
			months := at.Sub(start).Hours() / 24 / 30
			sample(series, res.v*math.Pow(1.05, months), at)
		}
	}
	b.WriteString("# TYPE ALERTS gauge\n")
	// One series: its samples go in time order, or promtool drops them.
	runs := append(slices.Clone(h.before), h.since...)
	slices.SortFunc(runs, func(a, b firing) int { return a.start.Compare(b.start) })
	for _, a := range runs {
		a.labels["alertstate"] = "firing"
		series := "ALERTS" + labelString(a.labels)
		for at := a.start; at.Before(a.start.Add(a.d)); at = at.Add(alertEvalEvery) {
			sample(series, 1, at)
		}
	}
	b.WriteString("# EOF\n")
	if err := b.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestImpactSinceAdoption(t *testing.T) {
	h := newImpactHistory(time.Now().Truncate(time.Minute))
	input := filepath.Join(t.TempDir(), "impact.om")
	h.write(t, input)
	dataDir := t.TempDir()
	backfillFile(t, input, dataDir)
	p := startPrometheus(t, dataDir)
	cfg := writeFile(t, t.TempDir(), "config.yml", fmt.Sprintf(`sources:
  prometheus: {url: %s, timeout: 30s}
overrides:
  tool.jaeger: true
  tool.opencost: true
facts:
  adopted:
    cost_visibility: %s
`, p.URL, h.declared.UTC().Format(time.RFC3339)))
	e := startExporter(t, cfg)

	var rep report.Report
	if err := json.Unmarshal([]byte(e.Get(t, report.APIPath)), &rep); err != nil {
		t.Fatal(err)
	}
	impacts := map[string]*report.Impact{}
	for _, c := range rep.Capabilities {
		impacts[c.ID] = c.Impact
	}

	// Tracing: adopted when kube-state-metrics first saw jaeger-collector.
	tr := impacts["distributed_tracing"]
	if tr == nil || tr.AdoptedAt == nil {
		t.Fatalf("distributed_tracing impact = %+v", tr)
	}
	if !tr.AdoptedAt.Equal(h.adopted) || tr.AdoptedFrom != "store" {
		t.Errorf("adopted %v from %s, want %v from the store", tr.AdoptedAt, tr.AdoptedFrom, h.adopted)
	}
	w := time.Duration(tr.WindowSeconds * float64(time.Second))
	if d := w - 20*shopDay; d < -time.Minute || d > 5*time.Minute {
		t.Errorf("window %s, want 20 days", w)
	}
	var mttr *report.ImpactSignal
	for i := range tr.Signals {
		if tr.Signals[i].Signal == "incident_mttr_seconds" {
			mttr = &tr.Signals[i]
		}
	}
	if mttr == nil || mttr.Before == nil || mttr.After == nil || mttr.Ratio == nil {
		t.Fatalf("incident_mttr_seconds impact = %+v", mttr)
	}
	before := impactTruth(h.before, h.adopted.Add(-w), h.adopted)
	since := impactTruth(h.since, h.adopted, h.adopted.Add(w))
	tolerance := func(truth float64) float64 { return math.Max((5 * time.Minute).Seconds(), 0.05*truth) }
	for _, c := range []struct {
		what      string
		got, want float64
	}{{"before", *mttr.Before, before.Seconds()}, {"since", *mttr.After, since.Seconds()}} {
		if math.Abs(c.got-c.want) > tolerance(c.want) {
			t.Errorf("median time to resolve %s adoption = %s, want %s", c.what, time.Duration(c.got*1e9), time.Duration(c.want*1e9))
		}
	}
	wantRatio := since.Seconds() / before.Seconds()
	if math.Abs(*mttr.Ratio-wantRatio) > 0.05*wantRatio || !mttr.Improved {
		t.Errorf("ratio %.3f (improved %v), want %.3f and improved", *mttr.Ratio, mttr.Improved, wantRatio)
	}
	t.Logf("tracing: %s (truth %s before, %s since, ratio %.3f)", mttr.Text, before, since, wantRatio)

	// Cost visibility: growth unchanged, 61 days on: the exit question.
	cv := impacts["cost_visibility"]
	if cv == nil || cv.AdoptedAt == nil || cv.AdoptedFrom != "declared" {
		t.Fatalf("cost_visibility impact = %+v", cv)
	}
	for _, s := range cv.Signals {
		t.Logf("cost: %s%s%s", s.Text, reasonNote(" before: ", s.BeforeReason), reasonNote(" since: ", s.AfterReason))
		if s.Signal == "cost_growth_ratio" && (s.Ratio == nil || math.Abs(*s.Ratio-1) > 0.05 || s.Improved) {
			t.Errorf("cost growth impact = %+v, want ratio 1, not improved", s)
		}
	}
	if cv.ExitQuestion == nil || len(cv.Exit) != 1 || cv.Exit[0].Tool != "opencost" || cv.Exit[0].Exit == "" {
		t.Errorf("cost visibility: exit question %v, exit %+v", cv.ExitQuestion, cv.Exit)
	}
	if tr.ExitQuestion != nil {
		t.Errorf("tracing improved, yet the exit question: %s", *tr.ExitQuestion)
	}

	page := e.Get(t, "/")
	for _, want := range []string{"Impact since adoption", mttr.Text, "Exit question", "OpenCost: " + cv.Exit[0].Exit} {
		if !strings.Contains(page, htmlEscape(want)) {
			t.Errorf("page lacks %q", want)
		}
	}
	metrics := e.Get(t, "/metrics")
	for _, want := range []string{
		fmt.Sprintf(`capability_adopted_timestamp_seconds{capability="distributed_tracing"} %s`, strconv.FormatFloat(float64(h.adopted.Unix()), 'e', -1, 64)),
		`capability_impact_ratio{capability="distributed_tracing",signal="incident_mttr_seconds"} `,
		`capability_impact_ratio{capability="cost_visibility",signal="cost_growth_ratio"} `,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}

func reasonNote(prefix string, s *string) string {
	if s == nil {
		return ""
	}
	return prefix + *s
}

// htmlEscape escapes what html/template escapes in the texts compared.
func htmlEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "'", "&#39;", "<", "&lt;", ">", "&gt;", `"`, "&#34;", "+", "&#43;").Replace(s)
}
