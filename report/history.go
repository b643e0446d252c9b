package report

import (
	"cmp"
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/capability-exporter/capability_exporter/collector"
	"github.com/capability-exporter/capability_exporter/history"
	"github.com/capability-exporter/capability_exporter/triggers"
)

// ChangesPath is where the recent published changes are served.
const ChangesPath = "/api/" + APIVersion + "/changes"

// recentOnPage bounds the changes the page and the evaluation JSON show;
// ChangesPath serves every change kept.
const recentOnPage = 20

// Pending is a changed decision not published yet: it has not held for the
// configured number of evaluations.
type Pending struct {
	Decision        string     `json:"decision"`
	Need            string     `json:"need"`
	Since           time.Time  `json:"since"` // the first evaluation that saw it
	EvaluationsLeft int        `json:"evaluations_left"`
	Due             *time.Time `json:"due"` // when it is published if it keeps holding
}

// Stale says that the published decision is kept only because the new one
// is unknown for a short outage; Signals name what could not be read.
type Stale struct {
	Since   time.Time       `json:"since"`
	Signals []UnknownSignal `json:"signals"`
}

// ChangesDoc is the document served at ChangesPath.
type ChangesDoc struct {
	APIVersion  string    `json:"api_version"`
	GeneratedAt time.Time `json:"generated_at"`
	// DecisionHold is the evaluations a change must hold to be published.
	DecisionHold int `json:"decision_hold"`
	// Changes are the published changes kept in memory, newest first: at
	// most 100 per capability, lost when the exporter restarts.
	Changes []history.Change `json:"changes"`
}

// historyOf adds a capability's pending change and staleness.
func (b builder) historyOf(h *history.History, c *Capability) {
	if h == nil {
		return
	}
	hs, ok := h.Status(c.ID)
	if !ok {
		return
	}
	c.ChangesTotal = hs.ChangesTotal
	if p := hs.Pending; p != nil {
		c.Pending = &Pending{Decision: string(p.State), Need: string(p.Need), Since: p.Since.UTC(), EvaluationsLeft: p.Left}
		if !p.Due.IsZero() {
			due := p.Due.UTC()
			c.Pending.Due = &due
		}
	}
	if s := hs.Stale; s != nil {
		c.Stale = &Stale{Since: s.Since.UTC(), Signals: []UnknownSignal{}}
		for _, sig := range s.Signals {
			code := cmp.Or(sig.Code, triggers.CodeNotCollected)
			c.Stale.Signals = append(c.Stale.Signals, UnknownSignal{Signal: sig.Signal, Source: sig.Source,
				Reason: cmp.Or(b.clean.clean(sig.Reason), code.Text()), ReasonCode: code, Blocking: true})
		}
	}
}

// recentChanges returns the newest changes of h, at most n (all with n < 0).
func recentChanges(h *history.History, n int) []history.Change {
	if h == nil {
		return []history.Change{}
	}
	all := h.Changes()
	if n >= 0 && len(all) > n {
		all = all[:n]
	}
	if all == nil {
		all = []history.Change{}
	}
	return all
}

// Changes serves the recent published changes at ChangesPath, newest
// first; ?capability=<id> keeps one capability's.
func (h Handlers) Changes() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if !allowRead(w, req) {
			return
		}
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		st := h.Current()
		if st == nil || st.Evaluation == nil {
			w.WriteHeader(http.StatusServiceUnavailable)
			_ = json.NewEncoder(w).Encode(map[string]string{"api_version": APIVersion,
				"error": "the first evaluation has not finished yet"})
			return
		}
		doc := changesDoc(st, h.now())
		if id := req.URL.Query().Get("capability"); id != "" {
			kept := []history.Change{}
			for _, ch := range doc.Changes {
				if ch.Capability == id {
					kept = append(kept, ch)
				}
			}
			doc.Changes = kept
		}
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		_ = enc.Encode(doc)
	})
}

func changesDoc(st *collector.State, now time.Time) ChangesDoc {
	doc := ChangesDoc{APIVersion: APIVersion, GeneratedAt: now.UTC(), Changes: recentChanges(st.History, -1)}
	if st.History != nil {
		doc.DecisionHold = st.History.Hold()
	}
	return doc
}

func (h Handlers) now() time.Time {
	if h.Now != nil {
		return h.Now()
	}
	return time.Now()
}

// changes writes the decision record's "Recent changes" section.
func (m *mdWriter) changes(r *Report) {
	m.line("## Recent changes\n")
	if len(r.RecentChanges) == 0 {
		m.line("None recorded. The exporter keeps the changes it published since it started (a one-off `assess` " +
			"evaluates once, so it has none); the long history is in Prometheus, in `capability_decision`.\n")
		return
	}
	m.line("| When | Capability | Change | Cause |")
	m.line("| --- | --- | --- | --- |")
	for _, ch := range r.RecentChanges {
		var cause []string
		for _, s := range ch.Signals {
			cause = append(cause, code(s.String()))
		}
		for _, c := range ch.Conditions {
			if len(ch.Signals) == 0 || c.Kind == "adopted" {
				cause = append(cause, code(c.Condition)+" "+c.From.String()+" → "+c.To.String())
			}
		}
		change := stateWords(string(ch.From)) + " → " + stateWords(string(ch.To))
		if ch.NeedFrom != ch.NeedTo {
			change += " (need " + stateWords(string(ch.NeedFrom)) + " → " + stateWords(string(ch.NeedTo)) + ")"
		}
		m.f("| %s | %s | %s | %s |\n", ch.Time.UTC().Format("2006-01-02 15:04 MST"), cell(ch.Capability),
			change, strings.Join(cause, "; "))
	}
	m.line("")
}

// held writes a capability's pending change and staleness.
func (m *mdWriter) held(c *Capability) {
	if s := c.Stale; s != nil {
		m.f("**Stale** since %s: the new evaluations cannot decide it and have not held long enough to replace it.", s.Since.Format("2006-01-02 15:04 MST"))
		for _, sig := range s.Signals {
			m.f(" %s (%s): %s.", code(sig.Signal), md(sig.Source), md(sig.Reason))
		}
		m.line("\n")
	}
	if p := c.Pending; p != nil {
		m.f("Pending: %s since %s, published after %d more evaluations that agree.\n\n", stateWords(p.Decision),
			p.Since.Format("2006-01-02 15:04 MST"), p.EvaluationsLeft)
	}
}
