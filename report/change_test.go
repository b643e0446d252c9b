package report

import (
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/capability-exporter/capability_exporter/triggers"
)

func parseRules(t *testing.T, yml string) *triggers.Rules {
	t.Helper()
	r, err := triggers.Parse("test.yml", []byte(yml))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func changeLines(cs []Change) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.To+": "+c.If)
	}
	return out
}

func TestWhatWouldChange(t *testing.T) {
	for _, tc := range []struct {
		name  string
		rules string
		snap  triggers.Snapshot
		id    string
		want  []string
	}{{
		// compliance_required feeds skip, trigger and now: flipping it alone
		// does not just leave skip, it makes the capability now.
		name: "one signal in several steps",
		rules: `
signals:
  developers: {help: d, fact: developers}
  compliance_required: {help: c, type: bool, fact: compliance_required}
capabilities:
  policy:
    complexity: medium
    trigger: {any: [developers > 10, compliance_required == true]}
    skip: {all: [developers < 10, compliance_required == false]}
    now: compliance_required == true
`,
		snap: triggers.Snapshot{"developers": triggers.KnownValue(8, "fact"), "compliance_required": triggers.KnownValue(0, "fact")},
		id:   "policy",
		want: []string{
			"not_triggered: developers would need to be exactly 10 (now 8)",
			"consider: developers would need to be above 10 (now 8)",
			"now: compliance_required would need to be yes (now no)",
		},
	}, {
		// Two reasons to wait: no single change leaves later, the pair does.
		name: "two reasons at once",
		rules: `
signals:
  replicated_ratio: {help: r, type: ratio, fact: replicated_ratio}
  incidents: {help: i, fact: incidents}
tools:
  velero: {namespaces: [velero], title: Velero}
  chaos_mesh: {crd_groups: [chaos-mesh.org], capability: chaos, title: Chaos Mesh}
foundations:
  backups: {title: Velero backups, present: tool.velero == true}
capabilities:
  chaos:
    complexity: low_medium
    trigger: incidents > 0
    gate: foundation.backups == false
    later: replicated_ratio < 50%
    now: incidents > 2
    requires: [backups]
`,
		snap: triggers.Snapshot{"replicated_ratio": triggers.KnownValue(0.2, "kubernetes"), "incidents": triggers.KnownValue(4, "prometheus"),
			"tool.velero": triggers.KnownValue(0, "kubernetes"), "tool.chaos_mesh": triggers.KnownValue(0, "kubernetes")},
		id: "chaos",
		want: []string{
			"adopted: Chaos Mesh would need to be detected (now not detected)",
			// No incident, no motive: not needed, whatever the gate says.
			"not_triggered: incidents would need to be exactly 0 (now 4)",
			// Moving incidents as well changes nothing while the gate holds.
			"now: Velero would need to be detected (now not detected), and replicated_ratio would need to be at least 50% (now 20%)",
		},
	}, {
		// Unknown now: every range that would settle it.
		name: "unknown signal",
		rules: `
signals:
  regions: {help: r, fact: regions}
capabilities:
  multi_region:
    complexity: high
    trigger: regions > 1
    skip: regions <= 1
    now: regions > 2
`,
		snap: triggers.Snapshot{},
		id:   "multi_region",
		want: []string{
			"skip: regions would need to be at most 1 (now unknown)",
			"consider: regions would need to be exactly 2 (now unknown)",
			"now: regions would need to be above 2 (now unknown)",
		},
	}, {
		name: "durations in human units",
		rules: `
signals:
  mttr: {help: m, type: duration, fact: mttr}
capabilities:
  tracing:
    complexity: medium
    trigger: mttr > 30m
    now: mttr > 1h
`,
		snap: triggers.Snapshot{"mttr": triggers.KnownValue(9000, "prometheus")},
		id:   "tracing",
		want: []string{
			"not_triggered: mttr would need to be at most 30m (now 2h30m)",
			"consider: mttr would need to be above 30m and at most 1h (now 2h30m)",
		},
	}, {
		// The search moves from the probable reading: a judgment the
		// team never declared is presumed, from the measure it cites,
		// and the line says so rather than "now".
		name: "a value presumed from a measure",
		rules: `
signals:
  resolve: {help: r, type: duration, kubernetes: microservices}
  debug:
    help: d
    type: duration
    fact: debug
    presume:
      - {value_of: resolve, when: 'resolve > 1h', says: slow to resolve}
capabilities:
  tracing:
    complexity: medium
    trigger: {motive: slow, if: debug > 1h}
`,
		snap: triggers.Snapshot{"resolve": triggers.KnownValue(7200, "prometheus")},
		id:   "tracing",
		want: []string{
			"not_triggered: debug would need to be at most 1h (presumed 2h from resolve)",
		},
	}, {
		name: "a value presumed outright",
		rules: `
signals:
  developers: {help: d, kubernetes: microservices}
  experts:
    help: e
    type: bool
    fact: experts
    presume:
      - {value: false, when: 'developers > 10', says: many developers}
capabilities:
  policy:
    complexity: medium
    trigger: {motive: many, if: developers > 10}
    skip: {answers: [many], if: experts == true}
`,
		snap: triggers.Snapshot{"developers": triggers.KnownValue(12, "kubernetes")},
		id:   "policy",
		want: []string{
			"skip: experts would need to be yes (presumed no)",
			"not_triggered: developers would need to be at most 10 (now 12)",
		},
	}, {
		// A bound is read as its value in the probable reading: the line
		// says what the measure proved.
		name: "a lower bound",
		rules: `
signals:
  developers: {help: d, kubernetes: rbac_human_subjects, lower_bound: true}
capabilities:
  policy:
    complexity: medium
    trigger: developers > 10
    skip: developers < 5
`,
		snap: triggers.Snapshot{"developers": triggers.KnownValue(12, "kubernetes")},
		id:   "policy",
		want: []string{
			"skip: developers would need to be below 5 (measured at least 12)",
			"not_triggered: developers would need to be at least 5 and at most 10 (measured at least 12)",
		},
	}, {
		name:  "an upper bound",
		rules: upperBoundRules,
		snap:  triggers.Snapshot{"debugging": triggers.KnownValue(7200, "prometheus")},
		id:    "tracing",
		want: []string{
			"not_triggered: debugging would need to be at most 1h (measured at most 2h)",
		},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			rules := parseRules(t, tc.rules)
			ev := triggers.Evaluate(rules, tc.snap, time.Unix(0, 0))
			got := changeLines(changesOf(rules, ev.Decision(tc.id)))
			if !slices.Equal(got, tc.want) {
				t.Errorf("what would change %s (%s):\n got: %s\nwant: %s", tc.id, ev.Decision(tc.id).State,
					strings.Join(got, "\n      "), strings.Join(tc.want, "\n      "))
			}
		})
	}
}

func TestRangeWords(t *testing.T) {
	known := func(v float64) triggers.Value { return triggers.KnownValue(v, "") }
	for _, tc := range []struct {
		typ        triggers.ValueType
		thresholds []float64
		current    triggers.Value
		want       []string
	}{
		// Counts: nothing lies strictly between 1 and 2.
		{triggers.TypeNumber, []float64{2, 1, 2}, known(3), []string{"below 1", "exactly 1", "exactly 2", "above 2"}},
		{triggers.TypeNumber, []float64{0.5, 2}, known(3), []string{"below 0.5", "exactly 0.5", "above 0.5 and below 2", "exactly 2", "above 2"}},
		// Nothing below zero for a count that is not negative now.
		{triggers.TypeNumber, []float64{0}, known(3), []string{"exactly 0", "above 0"}},
		{triggers.TypeNumber, []float64{0}, known(-2), []string{"below 0", "exactly 0", "above 0"}},
		{triggers.TypeRatio, []float64{0.1, 0.5}, known(0.2), []string{"below 10%", "exactly 10%", "above 10% and below 50%", "exactly 50%", "above 50%"}},
		{triggers.TypeBool, []float64{1}, triggers.Value{}, []string{"no", "yes"}},
	} {
		rs := triggers.Ranges(tc.typ, tc.thresholds, tc.current)
		var got []string
		for _, r := range rs {
			got = append(got, rangeWords(r, tc.typ))
			if !r.Contains(r.Try) {
				t.Errorf("range %q tries %v, outside itself", rangeWords(r, tc.typ), r.Try)
			}
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("Ranges(%s, %v) = %q, want %q", tc.typ, tc.thresholds, got, tc.want)
		}
	}
	if r := (triggers.Range{Lo: math.Inf(-1), Hi: 5, HiIncl: true}); rangeWords(r, triggers.TypeNumber) != "at most 5" {
		t.Errorf("merged open range reads %q", rangeWords(r, triggers.TypeNumber))
	}
}

// A derived value reads as the evaluation derived it, and each what-if
// derives it again from the moved measure.
func TestWhatWouldChangeThroughADerivedSignal(t *testing.T) {
	rules := parseRules(t, `
signals:
  coverage: {help: c, type: ratio, kubernetes: default_deny_namespace_ratio}
  sufficient:
    help: s
    type: bool
    first_known:
      - fact: sufficient
      - derive: {true_if: coverage >= 100%, false_if: coverage < 100%}
capabilities:
  mesh:
    complexity: medium_high
    trigger: coverage >= 0
    skip: sufficient == true
    now: coverage >= 0
`)
	ev := triggers.Evaluate(rules, triggers.Snapshot{"coverage": triggers.KnownValue(1, "kubernetes")}, time.Unix(0, 0))
	if d := ev.Decision("mesh"); d.State != triggers.StateSkip {
		t.Fatalf("mesh = %s, want skip by the derived signal", d.State)
	}
	got := strings.Join(changeLines(changesOf(rules, ev.Decision("mesh"))), "\n")
	for _, want := range []string{"sufficient would need to be no (now yes)", "coverage would need to be at least 0% and below 100% (now 100%)"} {
		if !strings.Contains(got, want) {
			t.Errorf("what would change lacks %q:\n%s", want, got)
		}
	}
}
