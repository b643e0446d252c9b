package collector

import (
	"context"
	"errors"
	"maps"

	"github.com/capability-exporter/capability_exporter/collector/source"
	"github.com/capability-exporter/capability_exporter/config"
	"github.com/capability-exporter/capability_exporter/triggers"
)

// ErrNoSnapshot is WhatIf's answer for a State that kept no snapshot of
// what the sources answered.
var ErrNoSnapshot = errors.New("the published evaluation kept no snapshot to decide again on")

// WhatIf decides again on what the sources answered for st, with the facts,
// overrides and thresholds of cfg: st.Config with a what-if laid over it
// (config.Config.WhatIf). No source is asked, nothing is published, and
// neither st nor the scheduler's history changes; the hold does not apply,
// so the answer is what the rules decide at once. The comparisons keep the
// truths st's history holds, as the next evaluation would.
//
// The State returned has cfg and the new evaluation; its sources, impact and
// snapshot are st's, and it tracks no history (no pending change, no
// "since").
func WhatIf(st *State, cfg *config.Config) (*State, error) {
	if st == nil || st.Evaluation == nil || st.Snapshot == nil {
		return nil, ErrNoSnapshot
	}
	rules := cfg.Rules
	values := maps.Clone(st.Snapshot)
	// The facts are answered again from cfg by the facts source itself,
	// under the keys the scheduler asks them by.
	var req source.Request
	for _, sig := range rules.Signals {
		alts := sig.Source.Alternatives()
		for i, alt := range alts {
			if alt.Fact == "" {
				continue
			}
			key := sig.Name
			if len(alts) > 1 {
				key = triggers.AlternativeKey(sig.Name, i)
			}
			req.Signals = append(req.Signals, source.SignalRequest{Key: key, Signal: sig, Spec: alt})
		}
	}
	facts, _ := newFactsSource(cfg.FactValues, nil)
	for key, v := range facts.Collect(context.Background(), req).Values {
		values[key] = withSource(v, "fact")
	}
	triggers.ResolveFirstKnown(rules, values)
	for name, v := range cfg.OverrideValues {
		values[name] = v
	}
	var truths triggers.Truths
	if st.History != nil {
		truths = st.History.Truths()
	}
	ev := triggers.EvaluateFrom(rules, values, st.Evaluation.Time, truths)
	return &State{Config: cfg, Evaluation: ev, Sources: st.Sources, Duration: st.Duration,
		ErrorTotals: st.ErrorTotals, Impact: st.Impact, Snapshot: st.Snapshot}, nil
}
