package dashboards

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// labelListRE finds the label lists that decide which series stay apart:
// by (...), on (...), without (...), ignoring (...).
var labelListRE = regexp.MustCompile(`\b(by|on|without|ignoring)\s*\(([^)]*)\)`)

// With the cluster variable at All or several clusters, a query that
// aggregated the cluster label away would merge the clusters' decisions into
// one: every by and on keeps cluster, and no without or ignoring drops it.
func TestQueriesKeepClustersApart(t *testing.T) {
	for file, d := range loadDashboards(t) {
		for _, p := range AllPanels(d.Panels) {
			for _, tg := range p.Targets {
				for _, m := range labelListRE.FindAllStringSubmatch(stripStrings(tg.Expr), -1) {
					var labels []string
					for _, l := range strings.Split(m[2], ",") {
						labels = append(labels, strings.TrimSpace(l))
					}
					keeps := slices.Contains(labels, "cluster")
					if m[1] == "without" || m[1] == "ignoring" {
						keeps = !keeps
					}
					if !keeps {
						t.Errorf("%s: panel %q query %s: %s (%s) merges clusters", file, p.Title, tg.RefID, m[1], m[2])
					}
				}
			}
		}
	}
}

func TestFleetDashboard(t *testing.T) {
	d, ok := loadDashboards(t)["capability-fleet.json"]
	if !ok {
		t.Fatal("no capability-fleet.json")
	}
	if c := varNamed(d, "cluster"); c == nil {
		t.Fatal("no cluster variable")
	}
	find := func(what string, match func(Panel) bool) Panel {
		t.Helper()
		for _, p := range AllPanels(d.Panels) {
			if match(p) {
				return p
			}
		}
		t.Fatalf("no panel showing %s", what)
		return Panel{}
	}
	matrix := func(row, column string) func(Panel) bool {
		return func(p Panel) bool {
			for _, tr := range p.Transformations {
				if tr.ID == "groupingToMatrix" && tr.Options["rowField"] == row && tr.Options["columnField"] == column {
					return true
				}
			}
			return false
		}
	}
	queries := func(p Panel) string {
		var b strings.Builder
		for _, tg := range p.Targets {
			fmt.Fprintln(&b, tg.Expr)
		}
		return b.String()
	}

	// The grid: a cluster per row, a capability per column, each cell the
	// decision's code, drawn as the state's name.
	grid := find("a cluster x capability grid of decisions", matrix("cluster", "capability"))
	if len(grid.Targets) != 1 || !stateCodeRE.MatchString(grid.Targets[0].Expr) || !grid.Targets[0].Instant {
		t.Errorf("grid %q: want one instant query of decision codes, got %s", grid.Title, queries(grid))
	}
	if len(grid.FieldConfig.Defaults.Mappings) == 0 {
		t.Errorf("grid %q: the codes need value mappings to state names", grid.Title)
	}

	next := find("the recommended next step per cluster", func(p Panel) bool {
		return strings.Contains(queries(p), "capability_recommended_next")
	})
	// A cluster where nothing is now still has its row.
	if q := queries(next); !strings.Contains(q, "by (cluster, capability)") || !strings.Contains(q, "or on (cluster)") {
		t.Errorf("panel %q: want one row per cluster, the next step or none: %s", next.Title, q)
	}

	// Not changes(): VictoriaMetrics counts a series that starts inside the
	// window as a change, Prometheus does not. The decisions held in the
	// window read the same on both.
	changes := find("the decisions that changed in 7 days", func(p Panel) bool {
		return strings.Contains(queries(p), "max_over_time(capability_decision{")
	})
	if q := queries(changes); changes.TimeFrom != "7d" || !strings.Contains(q, "[$__range]") || strings.Contains(q, "changes(") {
		t.Errorf("panel %q: want the decisions held over the last 7 days (timeFrom 7d, $__range, no changes()), got timeFrom %q: %s",
			changes.Title, changes.TimeFrom, q)
	}

	health := find("source health per cluster", matrix("cluster", "source"))
	if q := queries(health); !strings.Contains(q, "capability_exporter_source_up") || !strings.Contains(q, "capability_exporter_source_configured") {
		t.Errorf("panel %q: want source_up + source_configured (up, down, not configured): %s", health.Title, q)
	}
}

func varNamed(d Dashboard, name string) *Variable {
	for i, v := range d.Templating.List {
		if v.Name == name {
			return &d.Templating.List[i]
		}
	}
	return nil
}
