package triggers

import (
	"fmt"
	"strings"
)

// Every bullet traced. A condition of the default rules that encodes a
// bullet of the framework quotes it in seed:, and a bullet no condition
// encodes is listed under its capability's not_encoded:, with the reason.
// A test holds both against the framework's bullet list
// (testdata/seed/bullets.yml); docs/rules.md shows, per capability, each
// bullet with the role it is encoded in. An organisation's rules need
// neither.

// NotEncoded is a bullet of the framework that no condition encodes, and
// why.
type NotEncoded struct {
	Seed   string // the bullet, quoted
	Reason string
	Line   int
}

// rawNotEncoded is one entry of a capability's not_encoded: list.
type rawNotEncoded struct {
	Seed   string `yaml:"seed"`
	Reason string `yaml:"reason"`
}

func (p *parser) notEncoded(c *Capability, raw []rawNotEncoded, field string) {
	for i, r := range raw {
		sub := fmt.Sprintf("%s[%d]", field, i)
		if strings.TrimSpace(r.Seed) == "" {
			p.errf(c.Line, sub+".seed", "missing seed: the framework's bullet that is not encoded")
		}
		if strings.TrimSpace(r.Reason) == "" {
			p.errf(c.Line, sub+".reason", "missing reason: why no condition encodes the bullet")
		}
		c.NotEncoded = append(c.NotEncoded, NotEncoded{Seed: r.Seed, Reason: r.Reason, Line: c.Line})
	}
}

// The roles a cited bullet is encoded in: the condition kinds (trigger,
// structural, must, skip, gate, later, now), and these.
const (
	RoleChecklist = "checklist" // a preparation item (multi-region's "Prepare NOW")
	RolePresume   = "presume"   // a presumption of a judgment (the webshop's lines)
)

// Citation is one quote of the framework in the rules: where it is and the
// role of the condition that carries it.
type Citation struct {
	// Capability is the capability whose condition quotes the bullet; empty
	// for a presumption, which belongs to a signal.
	Capability string
	// Role is the kind of the condition (KindTrigger, ..., KindNow),
	// RoleChecklist or RolePresume.
	Role  string
	Quote string
	// Condition is the condition that carries the quote; for a
	// presumption, its when.
	Condition *Condition
	// Signal and Presumption are set for a presumption's quote.
	Signal      *Signal
	Presumption *Presumption
}

// Citations lists the rules' quotes of the framework in file order:
// capability by capability, each kind's conditions at any depth, the
// checklist, then the presumptions of the signals. A quote found anywhere
// else (a contradiction, adopted_if, a derivation, a foundation) has an
// empty role: it encodes no bullet, and the test of the bullets rejects it.
func (r *Rules) Citations() []Citation {
	var out []Citation
	var walk func(capID, role string, c *Condition)
	walk = func(capID, role string, c *Condition) {
		if c == nil {
			return
		}
		for _, q := range c.Seed {
			out = append(out, Citation{Capability: capID, Role: role, Quote: q, Condition: c})
		}
		walk(capID, role, c.Not)
		for _, m := range c.Any {
			walk(capID, role, m)
		}
		for _, m := range c.All {
			walk(capID, role, m)
		}
	}
	for _, c := range r.Capabilities {
		for _, k := range []struct {
			role string
			cond *Condition
		}{{KindTrigger, c.Trigger}, {KindStructural, c.Structural}, {KindMust, c.Must}, {KindSkip, c.Skip},
			{KindGate, c.Gate}, {KindLater, c.Later}, {KindNow, c.Now}, {"", c.AdoptedIf}} {
			walk(c.ID, k.role, k.cond)
		}
		for _, item := range c.Checklist {
			walk(c.ID, RoleChecklist, item)
		}
		for _, item := range c.Contradictions {
			walk(c.ID, "", item)
		}
	}
	for _, s := range r.Signals {
		for _, pr := range s.Presume {
			for _, q := range pr.Seed {
				out = append(out, Citation{Role: RolePresume, Quote: q, Condition: pr.When, Signal: s, Presumption: pr})
			}
			walk("", "", pr.When)
		}
		for _, alt := range s.Source.Alternatives() {
			if d := alt.Derive; d != nil {
				walk("", "", d.TrueIf)
				walk("", "", d.FalseIf)
			}
		}
	}
	for _, f := range r.Foundations {
		walk("", "", f.Present)
	}
	return out
}
