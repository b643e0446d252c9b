package dashboards

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/capability-exporter/capability_exporter/triggers"
)

var needCodeRE = regexp.MustCompile(`capability_need\{need="(\w+)"[^}]*\}\s*\*\s*(\d+)`)

// Need is drawn beside the decision as one number per need; every need has
// its own code, and the value mappings name each as the exporter does, so a
// probable need never reads as settled.
func TestNeedCodesCoverEveryNeed(t *testing.T) {
	found := map[string]bool{}
	for file, d := range loadDashboards(t) {
		for _, p := range AllPanels(d.Panels) {
			for _, tg := range p.Targets {
				codes := needCodeRE.FindAllStringSubmatch(tg.Expr, -1)
				if len(codes) == 0 {
					continue
				}
				found[file] = true
				where := fmt.Sprintf("%s: panel %q query %s", file, p.Title, tg.RefID)
				var needs []string
				text := map[string]string{}
				for _, m := range mappingsFor(p, tg.RefID) {
					for k, v := range m.Options {
						text[k], _ = v.(map[string]any)["text"].(string)
					}
				}
				for _, c := range codes {
					needs = append(needs, c[1])
					if want := strings.ReplaceAll(c[1], "_", " "); text[c[2]] != want {
						t.Errorf("%s: code %s maps to %q, want %q", where, c[2], text[c[2]], want)
					}
				}
				var want []string
				for _, n := range triggers.Needs() {
					want = append(want, string(n))
				}
				if !slices.Equal(needs, want) || len(text) != len(want) {
					t.Errorf("%s: needs %v with mappings %v, want each of %v once", where, needs, text, want)
				}
			}
		}
	}
	for _, f := range []string{"capability-decisions.json", "capability-detail.json"} {
		if !found[f] {
			t.Errorf("%s shows no need beside the decision", f)
		}
	}
}
