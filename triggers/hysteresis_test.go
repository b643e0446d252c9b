package triggers

import (
	"maps"
	"math"
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

// A change's move tries a value past the band of the threshold it crosses:
// asked of an evaluation that carries the last truths, as the live exporter
// and a what-if asked of it do, that value moves the decision where the
// change says. "At least 50%" from 30% is tried as 60% (twice the 5% band
// past 50%); a time to resolve of 2h against "< 1h" with a 5m band as 30m,
// already past it; and a share from 20% into "above 40% and below 50%" as
// 48%, twice the 4% band past 40%, which stays in that range.
func TestChangeTriesPastTheBand(t *testing.T) {
	r := mustParse(t, `
signals:
  replicated: {help: Replicated share., type: ratio, fact: replicated}
  mttr: {help: Time to resolve., type: duration, fact: mttr, hysteresis: 5m}
  between: {help: A share cut twice., type: ratio, fact: between}
capabilities:
  chaos:
    complexity: low
    trigger: replicated >= 50%
  tracing:
    complexity: medium
    trigger: mttr < 1h
  narrow:
    complexity: low
    trigger: {all: [between > 40%, between < 50%]}
`)
	snap := Snapshot{"replicated": KnownValue(0.3, "fact"), "mttr": KnownValue(7200, "fact"), "between": KnownValue(0.2, "fact")}
	ev := Evaluate(r, snap, time.Unix(0, 0))
	want := map[string]float64{"replicated": 0.6, "mttr": 1800, "between": 0.48}
	for _, d := range ev.Decisions {
		if len(d.Changes) == 0 {
			t.Fatalf("%s: no change found", d.Capability)
		}
		for _, ch := range d.Changes {
			if len(ch.Moves) != 1 {
				continue
			}
			m := ch.Moves[0]
			if !m.Range.Contains(m.Range.Try) || math.Abs(m.Range.Try-want[m.Signal]) > 1e-9 {
				t.Errorf("%s: %s moves to %+v, want it to try %v", d.Capability, m.Signal, m.Range, want[m.Signal])
			}
			moved := maps.Clone(snap)
			moved[m.Signal] = KnownValue(m.Range.Try, "fact")
			next := EvaluateFrom(r, moved, time.Unix(60, 0), ev.Truths())
			if got := next.Decision(d.Capability).State; got != ch.To {
				t.Errorf("%s: %s at %v after %v reads %s, want %s", d.Capability, m.Signal, m.Range.Try, snap[m.Signal].Number, got, ch.To)
			}
		}
	}
}

// A change is found with the last truths held, as the live exporter and a
// what-if asked of it hold them: a signal inside the band of a threshold
// keeps its comparison's truth. Each change, applied with those truths,
// gives the state it names; and one held inside the band is still offered
// the move that takes it out past the band.
func TestChangesHoldTheLastTruths(t *testing.T) {
	r := mustParse(t, `
signals:
  x: {help: A share., type: ratio, fact: x, hysteresis: 2%}
  y: {help: A count., fact: y}
capabilities:
  held_true:
    complexity: low
    trigger: x > 20%
  held_false:
    complexity: low
    trigger: {all: [x > 20%, y > 5]}
`)
	check := func(name string, before, after Snapshot, capability string) {
		t.Helper()
		prev := Evaluate(r, before, time.Unix(0, 0)).Truths()
		ev := EvaluateFrom(r, after, time.Unix(60, 0), prev)
		d := ev.Decision(capability)
		for _, ch := range d.Changes {
			moved := maps.Clone(after)
			for _, m := range ch.Moves {
				moved[m.Signal] = KnownValue(m.Range.Try, "fact")
			}
			if got := EvaluateFrom(r, moved, time.Unix(120, 0), ev.Truths()).Decision(capability).State; got != ch.To {
				t.Errorf("%s: %+v reads %s with the last truths held, want %s", name, ch.Moves, got, ch.To)
			}
		}
		if len(d.Changes) == 0 {
			t.Errorf("%s: no change offered from %s", name, d.State)
		}
	}
	// x fell from 25% to 19%, inside the band: x > 20% still holds, and
	// only x under 18% moves the decision.
	check("x held true", Snapshot{"x": KnownValue(0.25, "fact")}, Snapshot{"x": KnownValue(0.19, "fact")}, "held_true")
	// x rose from 15% to 21%, inside the band: x > 20% still fails, so y
	// above 5 alone does not trigger it.
	check("x held false", Snapshot{"x": KnownValue(0.15, "fact"), "y": KnownValue(3, "fact")},
		Snapshot{"x": KnownValue(0.21, "fact"), "y": KnownValue(3, "fact")}, "held_false")
}
