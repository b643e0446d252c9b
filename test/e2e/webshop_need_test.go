//go:build e2e

package e2e

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/capability-exporter/capability_exporter/collector"
	"github.com/capability-exporter/capability_exporter/triggers"
)

// The webshop as a new user meets it: deploy/config.yml as shipped (its
// sources, no facts declared, no overrides), pointed at a real
// kube-apiserver holding the framework's webshop, a real Prometheus with its
// history and the Loki double with its audit log. From measurement alone the
// need must reproduce the framework's "For the Webshop Case": tracing, cost
// visibility and policy enforcement probably needed; service mesh (default
// deny in every app namespace, fewer than 10 services) and multi-region
// (every node in one region, traffic growing less than 50% in four weeks)
// probably not; chaos engineering not now, for
// want of an HA setup. Every settle_with names only signals that can change
// its decision.
func TestWebshopNeedFromShippedConfig(t *testing.T) {
	shop, prom := webshopPrometheus(t)
	lines, _ := webshopLogs(shop.End)
	loki := newLokiDouble(t, "", lines) // the shipped config sets no tenant
	c := startKubeCluster(t)
	kubeCreateMeasuredWebshop(t, c)
	kubeconfig := c.WriteKubeconfig(t, c.Admin, "webshop")

	shipped, err := os.ReadFile(filepath.Join(repoRoot(), "deploy", "config.yml"))
	if err != nil {
		t.Fatal(err)
	}
	cfg := string(shipped)
	for from, to := range map[string]string{
		"url: http://prometheus-operated.monitoring.svc:9090": "url: " + prom.URL,
		"url: http://loki-gateway.logging.svc":                "url: " + loki.URL,
		"kubernetes: {}":                                      "kubernetes: {kubeconfig: " + kubeconfig + ", context: webshop}",
	} {
		if !strings.Contains(cfg, from) {
			t.Fatalf("deploy/config.yml no longer has %q: update this test's substitutions", from)
		}
		cfg = strings.Replace(cfg, from, to, 1)
	}
	st, _ := evaluateConfig(t, writeFile(t, t.TempDir(), "config.yml", cfg))
	if len(st.Config.OverrideValues) > 0 {
		t.Fatal("the shipped config overrides measures")
	}
	for _, s := range st.Sources {
		if s.Configured && !s.Up {
			t.Errorf("source %s down: %v", s.Name, s.Errors)
		}
	}
	for _, s := range st.Evaluation.Signals {
		if s.Value.Source == "fact" && s.Value.Known {
			t.Errorf("fact %s declared in the shipped config", s.Name)
		}
	}

	for _, d := range st.Evaluation.Decisions {
		t.Logf("%-20s %-13s need=%-12s timing=%-7s probable=%-5v possible=%v settle_with=%v by=%s",
			d.Capability, d.State, d.Need, d.Timing, d.Probable, d.Possible, d.SettleWith, d.DecidedBy)
	}
	need := func(id string, want ...triggers.Need) *triggers.Decision {
		t.Helper()
		d := st.Evaluation.Decision(id)
		if d == nil {
			t.Fatalf("no decision for %s", id)
		}
		if !slices.Contains(want, d.Need) {
			t.Errorf("%s: need %s (state %s by %s, motives %+v), want %v", id, d.Need, d.State, d.DecidedBy, d.Motives, want)
		}
		return d
	}
	// No probable answer from nothing: each rests on a presumption (which
	// cites its measure) or on a measured value among its conditions.
	for _, d := range st.Evaluation.Decisions {
		if !d.Probable {
			continue
		}
		measuredCond := false
		for _, c := range d.Conditions {
			v := c.Value
			measuredCond = measuredCond || (v.Known && !v.Unasserted && v.Source != "fact" && v.Source != "presumed")
		}
		if len(d.Presumed) == 0 && !measuredCond {
			t.Errorf("%s: probable (need %s) with neither a presumption nor a measured condition", d.Capability, d.Need)
		}
	}
	need("distributed_tracing", triggers.NeedProbably)
	need("cost_visibility", triggers.NeedProbably)
	need("policy_enforcement", triggers.NeedProbably)
	need("service_mesh", triggers.NeedProbablyNot)
	need("multi_region", triggers.NeedProbablyNot)

	// Chaos engineering: "first HA setup". Either the gate holds it back
	// while the need is probable, or there is no HA at all to test.
	chaos := need("chaos_engineering", triggers.NeedProbably, triggers.NeedProbablyNot, triggers.NeedNo)
	switch {
	case chaos.State == triggers.StateNow:
		t.Errorf("chaos engineering now (%+v), want not now", chaos.Reasons)
	case chaos.State == triggers.StateLater && chaos.Need == triggers.NeedProbably:
		if chaos.DecidedBy != triggers.KindGate || !heldMentions(chaos.Reasons, "HA") {
			t.Errorf("chaos engineering later by %s for %+v, want the HA-setup gate", chaos.DecidedBy, chaos.Reasons)
		}
	case chaos.State == triggers.StateSkip && chaos.Need != triggers.NeedProbably:
		if !heldMentions(chaos.Reasons, "HA") {
			t.Errorf("chaos engineering skipped for %+v, want no HA setup", chaos.Reasons)
		}
	default:
		t.Errorf("chaos engineering %s with need %s, want later with need probably or skip with need no or probably not",
			chaos.State, chaos.Need)
	}

	// Every signal named to settle a decision can change it: knowing it
	// alone narrows what is possible, or the engine's what-ifs move the
	// decision with it.
	snap := snapshotOfState(st)
	named := 0
	for i := range st.Evaluation.Decisions {
		d := &st.Evaluation.Decisions[i]
		again, _ := triggers.Decide(st.Config.Rules, d.Capability, snap)
		if again.State != d.State || !slices.Equal(again.Possible, d.Possible) {
			t.Errorf("%s: the snapshot rebuilt from the evaluation decides %s %v, not %s %v", d.Capability,
				again.State, again.Possible, d.State, d.Possible)
			continue
		}
		for _, name := range d.SettleWith {
			named++
			if !canChange(st.Config.Rules, d, snap, name) {
				t.Errorf("%s: settle_with names %s, which changes neither what is possible nor the decision", d.Capability, name)
			}
		}
	}
	if named == 0 {
		t.Error("no decision names a signal to settle it: the check above tested nothing")
	}

	// Priority 1 measured, where that derivation is in the rules.
	derived := false
	if sig := st.Config.Rules.Signal("priority1_stable"); sig != nil {
		for _, alt := range sig.Source.Alternatives() {
			derived = derived || alt.Derive != nil
		}
	}
	if derived {
		if v := signalOf(t, st, "priority1_stable"); v.Source != "derived" {
			t.Errorf("priority1_stable = %+v, want derived from its parts", v)
		}
	} else {
		t.Log("priority1_stable has no derivation in these rules; not checked")
	}
}

func heldMentions(hs []triggers.Held, word string) bool {
	return slices.ContainsFunc(hs, func(h triggers.Held) bool { return strings.Contains(h.Says, word) })
}

// snapshotOfState rebuilds the snapshot an evaluation read: every signal
// as it was, less the derived ones (the rules derive them again from the
// rest), and every tool's detection.
func snapshotOfState(st *collector.State) triggers.Snapshot {
	snap := triggers.Snapshot{}
	for _, s := range st.Evaluation.Signals {
		if s.Value.Source != "derived" {
			snap[s.Name] = s.Value
		}
	}
	for _, tr := range st.Evaluation.Tools {
		v := triggers.UnknownValue(triggers.CodeNotCollected, tr.Reason, "kubernetes")
		if tr.Detected != triggers.Unknown {
			v = triggers.KnownValue(boolNumber(tr.Detected == triggers.True), "kubernetes")
		}
		snap[triggers.ToolSignalPrefix+tr.ID] = v
	}
	return snap
}

func boolNumber(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// canChange says whether name can change d: the engine's what-ifs name it;
// or knowing it alone narrows the states d can still take or moves its
// state; or, failing both, the rest of settle_with does not settle d
// without it: some values of the others leave more than one state possible
// while name stays unknown. Values are tried on each side of every
// threshold the decision compares a signal with.
func canChange(r *triggers.Rules, d *triggers.Decision, snap triggers.Snapshot, name string) bool {
	for _, ch := range d.Changes {
		if slices.Contains(ch.Signals, name) {
			return true
		}
	}
	decide := func(set map[string]float64) triggers.Decision {
		moved := triggers.Snapshot{}
		for k, val := range snap {
			moved[k] = val
		}
		for k, v := range set {
			moved[k] = triggers.KnownValue(v, "fact")
		}
		got, _ := triggers.Decide(r, d.Capability, moved)
		return got
	}
	for _, v := range candidateValues(d, name) {
		if got := decide(map[string]float64{name: v}); got.State != d.State || !slices.Equal(got.Possible, d.Possible) {
			return true
		}
	}
	var others []string
	for _, o := range d.SettleWith {
		if o != name {
			others = append(others, o)
		}
	}
	// Every combination of the others' values, up to a bound.
	combos := 1
	for _, o := range others {
		combos *= len(candidateValues(d, o))
		if combos > 1<<14 {
			break
		}
	}
	for i := 0; i < min(combos, 1<<14); i++ {
		set, rest := map[string]float64{}, i
		for _, o := range others {
			vs := candidateValues(d, o)
			set[o] = vs[rest%len(vs)]
			rest /= len(vs)
		}
		if got := decide(set); len(got.Possible) > 1 {
			return true
		}
	}
	return false
}

// candidateValues are values of name on each side of every threshold d
// compares it with, and 0 and 1 (false and true).
func candidateValues(d *triggers.Decision, name string) []float64 {
	out := []float64{0, 1}
	for _, c := range d.Conditions {
		if c.Signal == name && c.Type != triggers.TypeBool {
			for _, v := range []float64{c.Threshold - 1, c.Threshold, c.Threshold + 1} {
				if !slices.Contains(out, v) {
					out = append(out, v)
				}
			}
		}
	}
	return out
}
