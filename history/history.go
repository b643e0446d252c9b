package history

import (
	"cmp"
	"slices"
	"time"

	"github.com/capability-exporter/capability_exporter/triggers"
)

// Defaults.
const (
	DefaultHold = 3   // evaluations a changed decision holds before it is published
	DefaultKeep = 100 // changes kept per capability
)

// History is the published decisions with what is pending for each, the
// recent changes, and the comparisons' last known truths for hysteresis.
type History struct {
	hold, keep int
	truths     triggers.Truths
	caps       map[string]*capability
}

// capability is one capability's record; it is never changed once a History
// that holds it is returned.
type capability struct {
	published triggers.Decision
	since     time.Time // when the published decision took effect
	pending   *Pending
	stale     *Stale
	changes   []Change // oldest first, at most keep
	total     int      // changes published since start
}

// Pending is a changed decision that has not held long enough yet.
type Pending struct {
	State triggers.State `json:"state"`
	Need  triggers.Need  `json:"need"`
	// Since is the evaluation that first saw it.
	Since time.Time `json:"since"`
	// Seen counts the evaluations it has held; Left those still needed.
	Seen int `json:"evaluations_seen"`
	Left int `json:"evaluations_left"`
	// Due is when it is published if it keeps holding, at the evaluation
	// interval in force.
	Due time.Time `json:"due"`
}

// Stale says that the published decision stays only because what replaced
// it is an unknown that has not held long enough: a source is down.
type Stale struct {
	Since   time.Time     `json:"since"`
	Signals []StaleSignal `json:"signals"`
}

// StaleSignal is a signal the new, unknown decision could not read.
type StaleSignal struct {
	Signal string `json:"signal"`
	Source string `json:"source,omitempty"`
	Reason string `json:"reason"`
	// Code is the reason's code (triggers.ReasonCode).
	Code triggers.ReasonCode `json:"reason_code"`
}

// Status is a capability's standing in one published History.
type Status struct {
	// Since is when the published decision took effect (the first
	// evaluation after start, or its last published change).
	Since   time.Time
	Pending *Pending
	Stale   *Stale
	// ChangesTotal counts published changes since start.
	ChangesTotal int
}

// New returns an empty History: the next evaluation publishes at once.
// hold below 1 is read as 1 (no hold); keep below 1 as DefaultKeep.
func New(hold, keep int) *History {
	if keep < 1 {
		keep = DefaultKeep
	}
	return &History{hold: max(hold, 1), keep: keep, caps: map[string]*capability{}}
}

// Hold returns the evaluations a changed decision must hold.
func (h *History) Hold() int { return h.hold }

// Truths returns the comparisons' last known truths, for
// triggers.EvaluateFrom.
func (h *History) Truths() triggers.Truths { return h.truths }

// Status returns the capability's standing, and false for a capability this
// History has not seen.
func (h *History) Status(id string) (Status, bool) {
	c, ok := h.caps[id]
	if !ok {
		return Status{}, false
	}
	return Status{Since: c.since, Pending: c.pending, Stale: c.stale, ChangesTotal: c.total}, true
}

// Changes returns the recent changes of every capability, newest first.
func (h *History) Changes() []Change {
	var out []Change
	for _, c := range h.caps {
		out = append(out, c.changes...)
	}
	slices.SortStableFunc(out, func(a, b Change) int {
		if c := b.Time.Compare(a.Time); c != 0 {
			return c
		}
		return cmp.Compare(a.Capability, b.Capability)
	})
	return out
}

// Next takes a new evaluation and returns the History after it, and the
// evaluation to publish: ev with each capability whose change has not held
// long enough replaced by its published decision, and the recommendation
// worked out again over the published decisions. ev is not changed.
// interval is the time to the next evaluation, for Pending.Due. With
// declared set (the first evaluation after a reload changed the config)
// every change is published at once: a declared change is not noise.
func (h *History) Next(r *triggers.Rules, ev *triggers.Evaluation, interval time.Duration, declared bool) (*History, *triggers.Evaluation) {
	next := &History{hold: h.hold, keep: h.keep, truths: nextTruths(h.truths, ev), caps: make(map[string]*capability, len(ev.Decisions))}
	out := *ev
	out.Decisions = slices.Clone(ev.Decisions)
	for i := range out.Decisions {
		d := &out.Decisions[i]
		prev := h.caps[d.Capability]
		c := h.step(prev, *d, ev.Time, interval, declared)
		next.caps[d.Capability] = c
		*d = c.published
	}
	triggers.Recommend(r, &out)
	return next, &out
}

// step decides what one capability publishes.
func (h *History) step(prev *capability, d triggers.Decision, now time.Time, interval time.Duration, declared bool) *capability {
	switch {
	case prev == nil:
		// The first evaluation after start (or of a capability a reload
		// added) publishes at once: there is nothing to hold.
		return &capability{published: d, since: now}
	case key(prev.published) == key(d):
		// Unchanged: the published decision takes the new evaluation's
		// reasons and values; whatever was pending did not hold.
		c := *prev
		c.published, c.pending, c.stale = d, nil, nil
		return &c
	case prev.published.State == triggers.StateUnknown, declared:
		// An unknown gives way at once: it claims nothing that a known
		// decision could be seen to reverse.
		return h.publish(prev, d, now)
	}
	c := *prev
	p := &Pending{State: d.State, Need: d.Need, Since: now, Seen: 1}
	if prev.pending != nil && prev.pending.State == d.State && prev.pending.Need == d.Need {
		p.Since, p.Seen = prev.pending.Since, prev.pending.Seen+1
	}
	if p.Seen >= h.hold {
		return h.publish(prev, d, now)
	}
	p.Left = h.hold - p.Seen
	if interval > 0 {
		p.Due = now.Add(time.Duration(p.Left) * interval)
	}
	c.pending, c.stale = p, nil
	if d.State == triggers.StateUnknown || d.Need == triggers.NeedUnknown {
		c.stale = &Stale{Since: p.Since, Signals: staleSignals(d)}
	}
	return &c
}

// publish makes d the capability's decision and records the change.
func (h *History) publish(prev *capability, d triggers.Decision, now time.Time) *capability {
	ch := diff(prev.published, d, now)
	changes := prev.changes
	if len(changes) >= h.keep {
		changes = changes[len(changes)-h.keep+1:]
	}
	return &capability{published: d, since: now, changes: append(slices.Clip(changes), ch), total: prev.total + 1}
}

// key is what a change is a change of: the state, or the need alone.
func key(d triggers.Decision) string { return string(d.State) + "/" + string(d.Need) }

// nextTruths keeps each comparison's last known truth: a comparison that is
// unknown now (its source is down) keeps the truth it had, so that the band
// applies again once the source is back. Comparisons the rules no longer
// read are dropped.
func nextTruths(prev triggers.Truths, ev *triggers.Evaluation) triggers.Truths {
	out := ev.Truths()
	read := map[string]bool{}
	for _, d := range ev.Decisions {
		for _, c := range d.Conditions {
			read[c.Expr] = true
		}
	}
	for _, f := range ev.Foundations {
		for _, c := range f.Conditions {
			read[c.Expr] = true
		}
	}
	for expr, t := range prev {
		if _, known := out[expr]; !known && read[expr] {
			out[expr] = t
		}
	}
	return out
}

// staleSignals names the signals that keep the new decision unknown, each
// with the source that failed and its reason.
func staleSignals(d triggers.Decision) []StaleSignal {
	values := map[string]triggers.Value{}
	for _, c := range d.Conditions {
		values[c.Signal] = c.Value
	}
	var out []StaleSignal
	for _, name := range d.BlockedBy {
		s := StaleSignal{Signal: name}
		if v, ok := values[name]; ok {
			s.Source, s.Reason, s.Code = v.Source, v.Reason, v.Code
		}
		for _, t := range d.Tools {
			if triggers.ToolSignalPrefix+t.ID == name {
				s.Source, s.Reason, s.Code = "kubernetes", t.Reason, t.Code
			}
		}
		out = append(out, s)
	}
	return out
}
