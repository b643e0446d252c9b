package triggers

import (
	"strings"
	"testing"
	"time"
)

// priority1Parts is a cluster whose Priority 1 parts all hold.
func priority1Parts() Snapshot {
	return Snapshot{
		"nodes_not_ready": known(0), "gitops_apps": known(12), "gitops_apps_failing": known(0),
		"prometheus_reachable": known(1), "loki_reachable": known(1), "networkpolicies": known(7),
		"deployments_unavailable": known(0), "deployments_stuck": known(0),
	}
}

// priority1_stable is derived from the framework's definition of Priority 1
// when it is not declared: false only when something that exists fails,
// unknown when a part cannot be read, and a declared value outranks it.
func TestPriority1StableDerived(t *testing.T) {
	r, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	with := func(change Snapshot, drop ...string) Snapshot {
		s := priority1Parts()
		for k, v := range change {
			s[k] = v
		}
		for _, k := range drop {
			delete(s, k)
		}
		return s
	}
	for _, tc := range []struct {
		name   string
		snap   Snapshot
		want   Truth
		reason string // in the derived value's reason
	}{
		{name: "every part holds", snap: with(nil), want: True, reason: "nodes_not_ready == 0"},
		// No GitOps tool and no network policy: missing foundations, which
		// inform and count neither way.
		{name: "no GitOps tool, no network policy", snap: with(Snapshot{"gitops_apps": known(0), "networkpolicies": known(0)}), want: True},
		{name: "a node NotReady", snap: with(Snapshot{"nodes_not_ready": known(1)}), want: False, reason: "nodes_not_ready > 0"},
		{name: "an Argo CD application Degraded", snap: with(Snapshot{"gitops_apps_failing": known(2)}), want: False, reason: "gitops_apps_failing > 0"},
		{name: "a Deployment stuck", snap: with(Snapshot{"deployments_stuck": known(1)}), want: False, reason: "deployments_stuck > 0"},
		// Something that fails settles it even while another source is down.
		{name: "a Deployment unavailable, Loki down", snap: with(Snapshot{"deployments_unavailable": known(3)}, "loki_reachable"), want: False},
		{name: "Loki down", snap: with(nil, "loki_reachable"), want: Unknown},
		{name: "the Kubernetes API down", snap: with(nil, "nodes_not_ready", "gitops_apps_failing", "networkpolicies",
			"deployments_unavailable", "deployments_stuck"), want: Unknown},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ev := Evaluate(r, tc.snap, time.Now())
			var sig SignalResult
			for _, s := range ev.Signals {
				if s.Name == "priority1_stable" {
					sig = s
				}
			}
			v := sig.Value
			got := Unknown
			if v.Known {
				got = Truthf(v.Number != 0)
			}
			if got != tc.want || v.Source != "derived" || !strings.Contains(v.Reason, tc.reason) {
				t.Errorf("priority1_stable = %+v, want %v derived, reason with %q", v, tc.want, tc.reason)
			}
			// Every part is shown with the value it read.
			parts := map[string]bool{}
			for _, c := range sig.Derivation {
				parts[c.Signal] = true
				if c.Value.Known != tc.snap.get(c.Signal).Known {
					t.Errorf("part %s read %+v, want the snapshot's value", c.Expr, c.Value)
				}
			}
			for name := range priority1Parts() {
				if name != "gitops_apps" && !parts[name] {
					t.Errorf("part %s not shown among %v", name, parts)
				}
			}
		})
	}

	// A declared value outranks the derived one; the parts are still shown.
	s := with(Snapshot{"nodes_not_ready": known(2), "priority1_stable": KnownValue(1, "fact")})
	for _, sig := range Evaluate(r, s, time.Now()).Signals {
		if sig.Name == "priority1_stable" && (sig.Value.Source != "fact" || sig.Value.Number != 1 || len(sig.Derivation) == 0) {
			t.Errorf("declared priority1_stable = %+v with %d parts, want the declared 1 and the parts", sig.Value, len(sig.Derivation))
		}
	}
}
