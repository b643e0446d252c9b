package report

import (
	"strings"
	"testing"

	"github.com/capability-exporter/capability_exporter/collector"
)

// A tool that is not detected but left traces (CRDs of an uninstalled
// release) says so on the page and in the JSON: "not detected" alone would
// hide why the cluster's CRDs did not count.
func TestToolNotDetectedShowsItsTraces(t *testing.T) {
	st := fixtureState(t)
	const traces = "CRDs only (not running)"
	for i := range st.Evaluation.Tools {
		if st.Evaluation.Tools[i].ID == "jaeger" {
			st.Evaluation.Tools[i].Reason = traces
		}
	}
	for i := range st.Evaluation.Decisions {
		for j := range st.Evaluation.Decisions[i].Tools {
			if st.Evaluation.Decisions[i].Tools[j].ID == "jaeger" {
				st.Evaluation.Decisions[i].Tools[j].Reason = traces
			}
		}
	}
	h := Handlers{Current: func() *collector.State { return st }, MetricsPath: "/metrics"}
	if body := get(h.Page(), "/").Body.String(); !strings.Contains(body, `not detected</span> <span class="reason">`+traces) {
		t.Errorf("the page does not say %q beside the undetected tool", traces)
	}
	if body := get(h.JSON(), APIPath).Body.String(); !strings.Contains(body, `"reason": "`+traces+`"`) {
		t.Errorf("the JSON does not give the reason %q", traces)
	}
}
