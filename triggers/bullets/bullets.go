package bullets

import (
	"bytes"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"
	"unicode"

	"go.yaml.in/yaml/v3"
)

// The sections of the framework a bullet comes from.
const (
	Trigger       = "trigger"        // "Implement ... when:"
	Not           = "not"            // "NOT implement when:"
	Now           = "now"            // "Implement NOW if:", "Verhoog maturity NU als:"
	Later         = "later"          // "Wait LATER if:"
	PrepareNow    = "prepare_now"    // multi-region's "Voorbereidand NU (niet activerand!):"
	ActivateLater = "activate_later" // multi-region's "Activerand LATER (Layer 3):"
	MatrixTrigger = "matrix_trigger" // a part of the decision matrix's "Trigger Condition"
	MatrixSkip    = "matrix_skip"    // a part of the decision matrix's "Skip If..."
	WebshopYes    = "webshop_yes"    // "For the Webshop Case": "Probably YES:"
	WebshopNot    = "webshop_not"    // "For the Webshop Case": "Probably NOT (now):"
)

// sections lists the sections in the framework's order within a capability.
var sections = []string{Trigger, Not, Now, Later, PrepareNow, ActivateLater, MatrixTrigger, MatrixSkip, WebshopYes, WebshopNot}

// SectionTitle is the section as the framework heads it.
func SectionTitle(section string) string { return sectionTitles[section] }

var sectionTitles = map[string]string{
	Trigger: "TRIGGER", Not: "NOT", Now: "NOW", Later: "LATER",
	PrepareNow: "Prepare NOW", ActivateLater: "Activate LATER",
	MatrixTrigger: "matrix: trigger", MatrixSkip: "matrix: skip if",
	WebshopYes: "webshop: probably yes", WebshopNot: "webshop: probably not (now)",
}

// Bullet is one bullet of the framework.
type Bullet struct {
	Capability string `yaml:"capability"`
	Section    string `yaml:"section"`
	Text       string `yaml:"text"`
	// AliasOf, for a part of the decision matrix that restates section
	// bullets, are those bullets' texts.
	AliasOf []string `yaml:"alias_of"`
}

// Alias reports whether the bullet restates others.
func (b *Bullet) Alias() bool { return len(b.AliasOf) > 0 }

func (b *Bullet) String() string {
	return fmt.Sprintf("%s %s %q", b.Capability, sectionTitles[b.Section], b.Text)
}

// List is the framework's bullets in its order.
type List struct {
	Bullets []*Bullet
}

// Load reads and checks a bullet list.
func Load(path string) (*List, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var bs []*Bullet
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&bs); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	l := &List{Bullets: bs}
	var errs []string
	for i, b := range bs {
		switch {
		case b.Capability == "":
			errs = append(errs, fmt.Sprintf("bullet %d: no capability", i))
		case !slices.Contains(sections, b.Section):
			errs = append(errs, fmt.Sprintf("bullet %d: unknown section %q (want one of %s)", i, b.Section, strings.Join(sections, ", ")))
		case b.Text == "" || Normalise(b.Text) != b.Text:
			errs = append(errs, fmt.Sprintf("bullet %d: text %q is not normalised", i, b.Text))
		}
		if b.Alias() && b.Section != MatrixTrigger && b.Section != MatrixSkip {
			errs = append(errs, fmt.Sprintf("%s: only a part of the decision matrix is an alias", b))
		}
		for _, a := range b.AliasOf {
			if !slices.ContainsFunc(bs, func(o *Bullet) bool { return o.Capability == b.Capability && o.Text == a && !o.Alias() }) {
				errs = append(errs, fmt.Sprintf("%s: alias of %q, which is no bullet of %s", b, a, b.Capability))
			}
		}
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("%s: %s", path, strings.Join(errs, "; "))
	}
	return l, nil
}

// Of returns the bullets of a capability, in the framework's order.
func (l *List) Of(capability string) []*Bullet {
	var out []*Bullet
	for _, b := range l.Bullets {
		if b.Capability == capability {
			out = append(out, b)
		}
	}
	return out
}

// Contains reports whether a quote is part of any bullet's text, aliases
// included.
func (l *List) Contains(quote string) bool {
	q := Normalise(quote)
	return q != "" && slices.ContainsFunc(l.Bullets, func(b *Bullet) bool { return strings.Contains(b.Text, q) })
}

// rolePreference says, for a quote that fits bullets of several sections
// word for word (security auditing's "No security team" is both a NOT and
// a LATER bullet), which section a condition of each role encodes.
var rolePreference = map[string][]string{
	"trigger":    {Trigger, MatrixTrigger},
	"structural": {Not, MatrixSkip, Later},
	"skip":       {Not, MatrixSkip, WebshopNot},
	"must":       {Now},
	"now":        {Now, ActivateLater},
	"later":      {Later},
	"gate":       {Later, Not, ActivateLater, WebshopNot},
	"checklist":  {PrepareNow},
	"presume":    {WebshopNot, WebshopYes},
}

// Resolve returns the bullet a quote cites: of the capability (any, when
// capability is empty), not an alias, the only one whose text holds the
// quote; else the only one whose text is the quote; else the only one of
// the first section the role prefers.
func (l *List) Resolve(capability, role, quote string) (*Bullet, error) {
	q := Normalise(quote)
	if q == "" {
		return nil, fmt.Errorf("empty quote")
	}
	var found, aliases []*Bullet
	for _, b := range l.Bullets {
		if (capability != "" && b.Capability != capability) || !strings.Contains(b.Text, q) {
			continue
		}
		if b.Alias() {
			aliases = append(aliases, b)
		} else {
			found = append(found, b)
		}
	}
	if len(found) > 1 {
		if exact := slices.DeleteFunc(slices.Clone(found), func(b *Bullet) bool { return b.Text != q }); len(exact) > 0 {
			found = exact
		}
	}
	if len(found) > 1 {
		for _, sec := range rolePreference[role] {
			if in := slices.DeleteFunc(slices.Clone(found), func(b *Bullet) bool { return b.Section != sec }); len(in) > 0 {
				found = in
				break
			}
		}
	}
	of := "the framework's bullets"
	if capability != "" {
		of = "the bullets of " + capability
	}
	switch {
	case len(found) == 1:
		return found[0], nil
	case len(found) > 1:
		var names []string
		for _, b := range found {
			names = append(names, b.String())
		}
		return nil, fmt.Errorf("%q fits several of %s (%s): quote more", quote, of, strings.Join(names, "; "))
	case len(aliases) > 0:
		return nil, fmt.Errorf("%q quotes %s, which restates %q: quote that", quote, aliases[0], aliases[0].AliasOf)
	}
	return nil, fmt.Errorf("%q is in none of %s", quote, of)
}

var (
	listMarkerRE = regexp.MustCompile(`(?m)^\s*(?:[-*+]|\d+\.)\s+`)
	spaceRE      = regexp.MustCompile(`\s+`)
)

// Normalise makes text comparable with the framework's bullets: emphasis
// (**), emoji (✅ ❌ and the like), list markers at the start of a line and
// runs of whitespace go; case and everything else stay.
func Normalise(s string) string {
	s = strings.ReplaceAll(s, "**", "")
	s = strings.Map(func(r rune) rune {
		if unicode.Is(unicode.So, r) || r == '\uFE0F' {
			return -1
		}
		return r
	}, s)
	s = listMarkerRE.ReplaceAllString(s, "")
	return strings.TrimSpace(spaceRE.ReplaceAllString(s, " "))
}
