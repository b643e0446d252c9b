package history

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/capability-exporter/capability_exporter/triggers"
)

const rules = `
signals:
  cost_growth_ratio: {help: Cost growth month over month., type: ratio, prometheus: {query: 'vector(1)'}}
capabilities:
  cost_visibility:
    complexity: low
    trigger: cost_growth_ratio > 20%
    now: {if: cost_growth_ratio > 20%, says: Costs rising more than 20% a month}
`

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

const step = 5 * time.Minute

// run evaluates the cost growth values one after another (NaN is an
// outage of the source) with hold 3, and returns the History after each.
func run(t *testing.T, values ...float64) ([]*History, []*triggers.Evaluation) {
	t.Helper()
	r, err := triggers.Parse("rules.yml", []byte(rules))
	if err != nil {
		t.Fatal(err)
	}
	h := New(DefaultHold, 0)
	var hs []*History
	var evs []*triggers.Evaluation
	for i, v := range values {
		val := triggers.KnownValue(v, "prometheus")
		if v != v {
			val = triggers.UnknownValue(triggers.CodeSourceDown, "dial tcp 10.0.0.1:9090: connection refused", "prometheus")
		}
		now := t0.Add(time.Duration(i) * step)
		ev := triggers.EvaluateFrom(r, triggers.Snapshot{"cost_growth_ratio": val}, now, h.Truths())
		var pub *triggers.Evaluation
		h, pub = h.Next(r, ev, step, false)
		hs = append(hs, h)
		evs = append(evs, pub)
	}
	return hs, evs
}

func TestOscillatingSignalPublishesNoChange(t *testing.T) {
	hs, evs := run(t, 0.19, 0.21, 0.19, 0.21, 0.19, 0.21, 0.19, 0.21)
	last := hs[len(hs)-1]
	if ch := last.Changes(); len(ch) != 0 {
		t.Fatalf("published %d changes, want none: %+v", len(ch), ch)
	}
	for i, ev := range evs {
		if s := ev.Decisions[0].State; s != triggers.StateNotTriggered {
			t.Errorf("evaluation %d published %s, want not_triggered", i, s)
		}
	}
	if st, _ := last.Status("cost_visibility"); st.Pending != nil || !st.Since.Equal(t0) {
		t.Errorf("status %+v, want nothing pending since the first evaluation", st)
	}
}

func TestHeldMovePublishesOneChangeWithItsCause(t *testing.T) {
	hs, evs := run(t, 0.19, 0.21, 0.19, 0.25, 0.25, 0.25, 0.25)
	for i, want := range []triggers.State{"not_triggered", "not_triggered", "not_triggered", "not_triggered", "not_triggered", "now", "now"} {
		if s := evs[i].Decisions[0].State; s != want {
			t.Errorf("evaluation %d published %s, want %s", i, s, want)
		}
	}
	st, _ := hs[4].Status("cost_visibility")
	if st.Pending == nil || st.Pending.State != triggers.StateNow || st.Pending.Left != 1 ||
		!st.Pending.Since.Equal(t0.Add(3*step)) || !st.Pending.Due.Equal(t0.Add(5*step)) || st.Stale != nil {
		t.Errorf("after two evaluations at 25%%: status %+v pending %+v, want now pending, one evaluation left, due at the sixth", st, st.Pending)
	}
	if evs[4].Recommended != "" || evs[5].Recommended != "cost_visibility" {
		t.Errorf("recommended %q then %q, want none while held, then cost_visibility", evs[4].Recommended, evs[5].Recommended)
	}
	changes := hs[len(hs)-1].Changes()
	if len(changes) != 1 {
		t.Fatalf("published %d changes, want exactly one: %+v", len(changes), changes)
	}
	ch := changes[0]
	if ch.NeedFrom != triggers.NeedNo || ch.NeedTo != triggers.NeedYes {
		t.Errorf("need %s → %s, want no → yes", ch.NeedFrom, ch.NeedTo)
	}
	if ch.From != triggers.StateNotTriggered || ch.To != triggers.StateNow || !ch.Time.Equal(t0.Add(5*step)) {
		t.Errorf("change %s → %s at %v, want not_triggered → now at the sixth evaluation", ch.From, ch.To, ch.Time)
	}
	if len(ch.Signals) != 1 || ch.Signals[0].String() != "cost_growth_ratio 19% → 25% (prometheus)" {
		t.Errorf("signals %v, want cost_growth_ratio 19%% → 25%% (prometheus)", ch.Signals)
	}
	var flipped []string
	for _, c := range ch.Conditions {
		flipped = append(flipped, c.Kind+": "+c.Condition+" "+c.From.String()+"→"+c.To.String())
	}
	if got := strings.Join(flipped, "; "); got != "trigger: cost_growth_ratio > 20% false→true; now: cost_growth_ratio > 20% false→true" {
		t.Errorf("flipped %q", got)
	}
	if st, _ := hs[len(hs)-1].Status("cost_visibility"); st.ChangesTotal != 1 || !st.Since.Equal(ch.Time) || st.Pending != nil {
		t.Errorf("status %+v, want one change, in force since it", st)
	}
	js, err := json.Marshal(ch.Signals[0])
	if err != nil || !strings.Contains(string(js), `"from":{"value":0.19,"text":"19%","source":"prometheus"}`) {
		t.Errorf("JSON %s %v", js, err)
	}
}

func TestOutageShorterThanHoldShowsStale(t *testing.T) {
	nan := func() float64 { var z float64; return z / z }()
	hs, evs := run(t, 0.25, nan, nan, 0.25, 0.25)
	for i, ev := range evs {
		if s := ev.Decisions[0].State; s != triggers.StateNow {
			t.Errorf("evaluation %d published %s, want now throughout", i, s)
		}
	}
	for _, i := range []int{1, 2} {
		st, _ := hs[i].Status("cost_visibility")
		if st.Stale == nil || len(st.Stale.Signals) != 1 || !st.Stale.Since.Equal(t0.Add(step)) {
			t.Fatalf("evaluation %d: status %+v, want stale since the outage", i, st)
		}
		s := st.Stale.Signals[0]
		if s.Signal != "cost_growth_ratio" || s.Source != "prometheus" || !strings.Contains(s.Reason, "connection refused") {
			t.Errorf("stale signal %+v, want cost_growth_ratio from prometheus with the reason", s)
		}
		if st.Pending == nil || st.Pending.State != triggers.StateUnknown {
			t.Errorf("pending %+v, want unknown", st.Pending)
		}
	}
	for _, i := range []int{3, 4} {
		if st, _ := hs[i].Status("cost_visibility"); st.Stale != nil || st.Pending != nil {
			t.Errorf("evaluation %d after the outage: %+v, want neither stale nor pending", i, st)
		}
	}
	if ch := hs[4].Changes(); len(ch) != 0 {
		t.Errorf("published %d changes, want none", len(ch))
	}
}

func TestOutageAsLongAsHoldPublishesUnknownAndKnownReturnsAtOnce(t *testing.T) {
	nan := func() float64 { var z float64; return z / z }()
	hs, evs := run(t, 0.25, nan, nan, nan, 0.25)
	want := []triggers.State{"now", "now", "now", "unknown", "now"}
	for i, ev := range evs {
		if s := ev.Decisions[0].State; s != want[i] {
			t.Errorf("evaluation %d published %s, want %s", i, s, want[i])
		}
	}
	ch := hs[4].Changes()
	if len(ch) != 2 || ch[0].From != triggers.StateUnknown || ch[1].To != triggers.StateUnknown {
		t.Fatalf("changes %+v, want now → unknown, then unknown → now", ch)
	}
	if s := ch[1].Signals; len(s) != 1 || s[0].String() != "cost_growth_ratio 25% → unknown (prometheus)" {
		t.Errorf("signals %v", s)
	}
}

func TestChangesAreBounded(t *testing.T) {
	r, err := triggers.Parse("rules.yml", []byte(rules))
	if err != nil {
		t.Fatal(err)
	}
	h := New(1, 5)
	for i := range 40 {
		v := 0.1
		if i%2 == 1 {
			v = 0.5
		}
		ev := triggers.EvaluateFrom(r, triggers.Snapshot{"cost_growth_ratio": triggers.KnownValue(v, "prometheus")}, t0.Add(time.Duration(i)*step), h.Truths())
		h, _ = h.Next(r, ev, step, false)
	}
	ch := h.Changes()
	if len(ch) != 5 || !ch[0].Time.Equal(t0.Add(39*step)) {
		t.Fatalf("kept %d changes, newest at %v; want 5, newest first", len(ch), ch[0].Time)
	}
	if st, _ := h.Status("cost_visibility"); st.ChangesTotal != 39 {
		t.Errorf("total %d, want 39", st.ChangesTotal)
	}
}
