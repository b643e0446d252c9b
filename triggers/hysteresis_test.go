package triggers

import (
	"testing"
	"time"
)

const costRules = `
signals:
  cost_growth: {help: Cost growth month over month., type: ratio, fact: cost_growth}
  idle: {help: Idle CPU., type: ratio, fact: idle, hysteresis: 0}
  services: {help: Services., fact: services}
  mttr: {help: Time to resolve., type: duration, fact: mttr, hysteresis: 5m}
capabilities:
  cost_visibility:
    complexity: low
    trigger: {any: [cost_growth > 20%, idle > 50%]}
    now: cost_growth > 20%
  tracing:
    complexity: medium
    trigger: {any: [services > 5, mttr < 1h]}
`

// truthsOver evaluates the values of signal one after another, carrying
// the truths, and returns the truth of expr at each step.
func truthsOver(t *testing.T, r *Rules, signal, expr string, values ...float64) []Truth {
	t.Helper()
	var prev Truths
	var out []Truth
	for i, v := range values {
		ev := EvaluateFrom(r, Snapshot{signal: KnownValue(v, "prometheus")}, time.Unix(int64(i), 0), prev)
		if signal == "cost_growth" {
			// The decision reads the truths the conditions show.
			want := StateNotTriggered
			for _, c := range ev.Decisions[0].Conditions {
				if c.Expr == "cost_growth > 20%" && c.Truth == True {
					want = StateNow
				}
			}
			if got := ev.Decisions[0].State; got != want {
				t.Errorf("%s at %v: decision %s, want %s as its conditions read", signal, v, got, want)
			}
		}
		got := Unknown
		for _, d := range ev.Decisions {
			for _, c := range d.Conditions {
				if c.Expr == expr {
					got = c.Truth
				}
			}
		}
		out = append(out, got)
		next := ev.Truths()
		for k, t := range prev {
			if _, ok := next[k]; !ok {
				next[k] = t // an unknown truth keeps the last known one
			}
		}
		prev = next
	}
	return out
}

func TestHysteresisKeepsTruthInsideTheBand(t *testing.T) {
	r, err := Parse("rules.yml", []byte(costRules))
	if err != nil {
		t.Fatal(err)
	}
	F, T := False, True
	for _, tc := range []struct {
		name, signal, expr string
		values             []float64
		want               []Truth
	}{
		// The default band of a ratio is 10% of the threshold: 18%..22%.
		{"hovering below stays false", "cost_growth", "cost_growth > 20%", []float64{0.19, 0.21, 0.19, 0.21}, []Truth{F, F, F, F}},
		{"starts past the band, stops past it", "cost_growth", "cost_growth > 20%", []float64{0.19, 0.21, 0.25, 0.19, 0.17}, []Truth{F, F, T, T, F}},
		{"first evaluation reads the bare threshold", "cost_growth", "cost_growth > 20%", []float64{0.21, 0.19, 0.181, 0.179}, []Truth{T, T, T, F}},
		{"declared zero band flips at the threshold", "idle", "idle > 50%", []float64{0.49, 0.51, 0.49}, []Truth{F, T, F}},
		{"counts have no default band", "services", "services > 5", []float64{5, 6, 5}, []Truth{F, T, F}},
		// A declared band of 5m around 1h, on a less-than.
		{"less-than leans the other way", "mttr", "mttr < 1h", []float64{3700, 3500, 3200, 3500, 3800, 3960}, []Truth{F, F, T, T, T, F}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := truthsOver(t, r, tc.signal, tc.expr, tc.values...)
			if len(got) != len(tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Fatalf("%s over %v: got %v, want %v", tc.expr, tc.values, got, tc.want)
				}
			}
		})
	}
}

func TestHysteresisRejectsBadBands(t *testing.T) {
	for _, tc := range []struct{ band, typ, want string }{
		{"-1%", "ratio", `rules.yml:3: signals.s.hysteresis: value "-1%": a band is not negative`},
		{"x", "duration", `rules.yml:3: signals.s.hysteresis: value "x": want a duration such as 1h or 30m, or seconds`},
		{"1", "bool", `rules.yml:3: signals.s.hysteresis: a bool signal has no threshold to keep a band around`},
	} {
		rules := "\nsignals:\n  s: {help: S., type: " + tc.typ + ", fact: s, hysteresis: '" + tc.band + "'}\n  b: {help: B., type: bool, fact: b}\ncapabilities:\n  c: {complexity: low, trigger: b == true}\n"
		_, err := Parse("rules.yml", []byte(rules))
		if err == nil || err.Error() != tc.want {
			t.Errorf("band %q on %s: got %v, want %s", tc.band, tc.typ, err, tc.want)
		}
	}
}
