package whatif

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/capability-exporter/capability_exporter/collector"
	"github.com/capability-exporter/capability_exporter/config"
	"github.com/capability-exporter/capability_exporter/report"
	"github.com/capability-exporter/capability_exporter/yamlpos"
)

// Path is where the JSON API answers what-ifs.
const Path = "/api/" + report.APIVersion + "/what-if"

// The defaults of Options.
const (
	DefaultTimeout = 10 * time.Second
	DefaultMaxBody = 64 << 10 // bytes: a what-if names a few dozen values at most
)

// Errors Ask returns besides a *config.WhatIfError.
var (
	// ErrBusy: as many what-ifs as the limit allows are running; the
	// caller may ask again in a moment (HTTP 429).
	ErrBusy = errors.New("too many what-ifs at once; ask again in a moment")
	// ErrNotReady: no evaluation is published yet (HTTP 503).
	ErrNotReady = errors.New("the first evaluation has not finished yet")
	// ErrTimeout: the what-if took longer than the timeout (HTTP 503). It
	// still holds its place in the limit until it ends.
	ErrTimeout = errors.New("the what-if took longer than its timeout")
)

// Options bound a Service.
type Options struct {
	// Limit is the most what-ifs that run at once; more are refused with
	// ErrBusy. 0 means runtime.NumCPU(): a what-if is pure computation.
	Limit int
	// Timeout bounds one what-if; 0 means DefaultTimeout.
	Timeout time.Duration
	// Version is the exporter's version, as report.Options has it.
	Version string
	// Metrics counts what-ifs; nil counts nothing.
	Metrics *Metrics
	// Now is the clock; nil means time.Now. Tests fix it.
	Now func() time.Time
	// decide replaces collector.WhatIf in tests that need a slow one.
	decide func(*collector.State, *config.Config) (*collector.State, error)
}

// Service answers what-ifs on the State a scheduler last published.
type Service struct {
	current func() *collector.State
	opts    Options
	slots   chan struct{}
}

// New returns a Service reading current (collector.Scheduler.Current).
func New(current func() *collector.State, o Options) *Service {
	if o.Limit <= 0 {
		o.Limit = runtime.NumCPU()
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.decide == nil {
		o.decide = collector.WhatIf
	}
	return &Service{current: current, opts: o, slots: make(chan struct{}, o.Limit)}
}

// Limit is the most what-ifs that run at once.
func (s *Service) Limit() int { return cap(s.slots) }

// Answer is a what-if's answer: every capability as the JSON API gives it,
// decided on the published snapshot with the what-if laid over it, and what
// differs from the published result.
type Answer struct {
	APIVersion  string    `json:"api_version"`
	GeneratedAt time.Time `json:"generated_at"`
	// EvaluatedAt is when the published evaluation whose snapshot the
	// what-if decided on finished.
	EvaluatedAt time.Time `json:"evaluated_at"`
	// Asked is the what-if, one NAME=VALUE per value, as assess --set
	// writes it (fact.compliance_required=false); null takes the config's
	// declaration away.
	Asked []string `json:"asked"`
	// RecommendedNext is the one now capability to take on next under the
	// what-if, or null.
	RecommendedNext *string             `json:"recommended_next"`
	Capabilities    []report.Capability `json:"capabilities"`
	// Differences lists each capability whose outcome differs from the
	// published one, in the rules' order; empty when nothing does.
	Differences []Difference `json:"differences"`
	// Signals lists each signal whose value differs from the published
	// evaluation's: those the what-if sets and those derived from them.
	Signals []SignalDifference `json:"signals"`
	// Thresholds are the thresholds in force under the what-if.
	Thresholds []report.Threshold `json:"thresholds"`
}

// Outcome is a capability's decision in brief.
type Outcome struct {
	Decision        string   `json:"decision"`
	Need            string   `json:"need"`
	Timing          string   `json:"timing"`
	Possible        []string `json:"possible"`
	DecidedBy       string   `json:"decided_by"`
	Probable        bool     `json:"probable"`
	RecommendedNext bool     `json:"recommended_next"`
	Summary         string   `json:"summary"`
}

// Difference is one capability whose outcome under the what-if differs
// from the published one.
type Difference struct {
	Capability string  `json:"capability"`
	Published  Outcome `json:"published"`
	WhatIf     Outcome `json:"what_if"`
	// Pending is true when deciding again without the what-if already
	// gives this outcome: a change --decision.hold has not published yet,
	// not the what-if's doing.
	Pending bool `json:"pending"`
}

// SignalDifference is a signal whose value the what-if changes.
type SignalDifference struct {
	Signal    string `json:"signal"`
	Published string `json:"published"` // the value for people, unknown when unknown
	WhatIf    string `json:"what_if"`
	Source    string `json:"source"` // where the what-if's value comes from: fact, override, derived, ...
}

// Ask answers w on the last published State. via labels the metrics (api,
// mcp). It returns ErrBusy when Limit what-ifs are running, ErrNotReady
// before the first evaluation, a *config.WhatIfError naming each field
// that is wrong, and ErrTimeout when the answer takes longer than the
// timeout. An empty w answers the published result unchanged.
func (s *Service) Ask(ctx context.Context, via string, w config.WhatIf) (*Answer, error) {
	start := time.Now()
	m := s.opts.Metrics
	select {
	case s.slots <- struct{}{}:
	default:
		m.observe(via, OutcomeRejected, 0)
		return nil, ErrBusy
	}
	m.inFlightAdd(1)
	done := make(chan struct{})
	var ans *Answer
	var err error
	go func() {
		defer func() {
			if p := recover(); p != nil {
				err = fmt.Errorf("the what-if failed: %v", p)
			}
			m.inFlightAdd(-1)
			<-s.slots
			close(done)
		}()
		ans, err = s.answer(w)
	}()
	timer := time.NewTimer(s.opts.Timeout)
	defer timer.Stop()
	select {
	case <-done:
	case <-timer.C:
		m.observe(via, OutcomeTimeout, time.Since(start))
		return nil, ErrTimeout
	case <-ctx.Done():
		m.observe(via, OutcomeTimeout, time.Since(start))
		return nil, ctx.Err()
	}
	var we *config.WhatIfError
	switch {
	case err == nil:
		m.observe(via, OutcomeAnswered, time.Since(start))
	case errors.As(err, &we):
		m.observe(via, OutcomeInvalid, time.Since(start))
	case errors.Is(err, ErrNotReady):
		m.observe(via, OutcomeUnavailable, time.Since(start))
	default:
		m.observe(via, OutcomeFailed, time.Since(start))
	}
	return ans, err
}

func (s *Service) answer(w config.WhatIf) (*Answer, error) {
	st := s.current()
	if st == nil || st.Evaluation == nil {
		return nil, ErrNotReady
	}
	now := s.opts.Now()
	ro := report.Options{Now: now, Version: s.opts.Version}
	published := report.Build(st, ro)
	ans := &Answer{APIVersion: report.APIVersion, GeneratedAt: now.UTC(), EvaluatedAt: st.Evaluation.Time.UTC(),
		Asked: Asked(w), Differences: []Difference{}, Signals: []SignalDifference{}}
	if w.Empty() {
		ans.RecommendedNext, ans.Capabilities, ans.Thresholds = published.RecommendedNext, published.Capabilities, published.Thresholds
		return ans, nil
	}
	cfg, err := st.Config.WhatIf(w)
	if err != nil {
		return nil, err
	}
	next, err := s.opts.decide(st, cfg)
	if err != nil {
		return nil, err
	}
	asked := report.Build(next, ro)
	ans.RecommendedNext, ans.Capabilities, ans.Thresholds = asked.RecommendedNext, asked.Capabilities, asked.Thresholds

	// Decided again without the what-if, only where the published result
	// may hold back a change: the hold, or a decision kept through an
	// outage.
	var fresh *report.Report
	for _, c := range published.Capabilities {
		if c.Pending != nil || c.Stale != nil {
			if again, err := s.opts.decide(st, st.Config); err == nil {
				fresh = report.Build(again, ro)
			}
			break
		}
	}
	for _, c := range asked.Capabilities {
		pub := find(published, c.ID)
		if pub == nil {
			continue
		}
		was, is := outcomeOf(*pub), outcomeOf(c)
		if was.same(is) {
			continue
		}
		d := Difference{Capability: c.ID, Published: was, WhatIf: is}
		if fresh != nil {
			if f := find(fresh, c.ID); f != nil && outcomeOf(*f).same(is) {
				d.Pending = true
			}
		}
		ans.Differences = append(ans.Differences, d)
	}
	pubSignals := map[string]report.Signal{}
	for _, sg := range published.Signals {
		pubSignals[sg.Name] = sg
	}
	for _, sg := range asked.Signals {
		p, ok := pubSignals[sg.Name]
		if ok && p.Text == sg.Text && p.Source == sg.Source {
			continue
		}
		ans.Signals = append(ans.Signals, SignalDifference{Signal: sg.Name, Published: p.Text, WhatIf: sg.Text, Source: sg.Source})
	}
	return ans, nil
}

func find(r *report.Report, id string) *report.Capability {
	for i := range r.Capabilities {
		if r.Capabilities[i].ID == id {
			return &r.Capabilities[i]
		}
	}
	return nil
}

func outcomeOf(c report.Capability) Outcome {
	return Outcome{Decision: c.Decision, Need: c.Need, Timing: c.Timing, Possible: c.Possible, DecidedBy: c.DecidedBy,
		Probable: c.Probable, RecommendedNext: c.RecommendedNext, Summary: c.Summary}
}

// same compares what decides; the summary follows from it.
func (o Outcome) same(p Outcome) bool {
	return o.Decision == p.Decision && o.Need == p.Need && o.Timing == p.Timing && slices.Equal(o.Possible, p.Possible) &&
		o.DecidedBy == p.DecidedBy && o.Probable == p.Probable && o.RecommendedNext == p.RecommendedNext
}

// The prefixes of a what-if's values as assess --set writes them, by
// section.
var prefixes = []struct{ prefix, section string }{
	{"fact.", "facts"}, {"override.", "overrides"}, {"threshold.", "thresholds"},
}

// Asked lists w's values as assess --set writes them: fact.NAME=VALUE,
// override.NAME=VALUE, threshold.NAME=VALUE, in that order.
func Asked(w config.WhatIf) []string {
	out := []string{}
	for _, p := range prefixes {
		for k, v := range yamlpos.Pairs(yamlpos.Root(section(w, p.section))) {
			val := v.Value
			if v.Kind != yaml.ScalarNode {
				val = "…"
			} else if v.Tag == "!!null" {
				val = "null"
			}
			out = append(out, p.prefix+k.Value+"="+val)
		}
	}
	return out
}

func section(w config.WhatIf, name string) *yaml.Node {
	switch name {
	case "facts":
		return w.Facts
	case "overrides":
		return w.Overrides
	}
	return w.Thresholds
}

// ParseSet reads assess's --set values, each fact.NAME=VALUE,
// override.NAME=VALUE or threshold.NAME=VALUE, into a what-if. VALUE is read
// as YAML reads a value in the config file (true, 12, 15%, 2h, null), so the
// config's checks apply to it unchanged. Some names are both a fact and an
// override; the prefix says which is meant.
func ParseSet(sets []string) (config.WhatIf, error) {
	var w config.WhatIf
	var problems []config.Problem
	for _, s := range sets {
		key, value, ok := strings.Cut(s, "=")
		var sec string
		var name string
		for _, p := range prefixes {
			if n, found := strings.CutPrefix(key, p.prefix); found {
				sec, name = p.section, n
			}
		}
		if !ok || sec == "" || name == "" {
			problems = append(problems, config.Problem{Field: "--set " + s,
				Message: "want fact.NAME=VALUE, override.NAME=VALUE or threshold.NAME=VALUE"})
			continue
		}
		var doc yaml.Node
		err := yaml.Unmarshal([]byte(value), &doc)
		v := yamlpos.Root(&doc)
		if err != nil || v == nil || v.Kind != yaml.ScalarNode {
			if value == "" {
				problems = append(problems, config.Problem{Field: sec + "." + name, Message: "want a value after =; null takes the config's away"})
				continue
			}
			problems = append(problems, config.Problem{Field: sec + "." + name, Message: fmt.Sprintf("want a single value, got %q", value)})
			continue
		}
		target := &w.Facts
		switch sec {
		case "overrides":
			target = &w.Overrides
		case "thresholds":
			target = &w.Thresholds
		}
		if *target == nil {
			*target = &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
		}
		(*target).Content = append((*target).Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: name}, v)
	}
	if len(problems) > 0 {
		return config.WhatIf{}, &config.WhatIfError{Problems: problems}
	}
	return w, nil
}
