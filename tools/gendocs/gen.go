package main

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/capability-exporter/capability_exporter/triggers"
	"github.com/capability-exporter/capability_exporter/triggers/bullets"
)

// Markers around a generated block. The text between them is replaced
// whole; everything outside is hand-written and kept.
const endMarker = "<!-- end generated -->"

func beginMarker(name string) string {
	return "<!-- generated: " + name + " (go run ./tools/gendocs) -->"
}

// replaceBlock puts body between the named block's markers in doc.
func replaceBlock(doc, name, body string) (string, error) {
	begin := beginMarker(name)
	i := strings.Index(doc, begin)
	if i < 0 {
		return "", fmt.Errorf("no %q line", begin)
	}
	start := i + len(begin)
	j := strings.Index(doc[start:], endMarker)
	if j < 0 {
		return "", fmt.Errorf("block %q has no %q line after it", name, endMarker)
	}
	return doc[:start] + "\n\n" + strings.TrimSpace(body) + "\n\n" + doc[start+j:], nil
}

// cell escapes text for a Markdown table cell.
func cell(s string) string {
	return strings.ReplaceAll(strings.TrimSpace(s), "|", `\|`)
}

func code(s string) string { return "`" + s + "`" }

// says is the framework's words for a member: its own, else its leaves',
// with each threshold's default value for its {name}.
func says(r *triggers.Rules, c *triggers.Condition) string {
	if c.Says != "" {
		return r.Words(c.Says)
	}
	var words []string
	for _, l := range c.Leaves() {
		if l.Says != "" {
			words = append(words, r.Words(l.Says))
		}
	}
	sep := "; "
	if c.Any != nil {
		sep = "; or "
	}
	return strings.Join(words, sep)
}

// members are the top-level members of a condition: each is one bullet.
func members(c *triggers.Condition) []*triggers.Condition {
	if c == nil {
		return nil
	}
	if c.Any != nil {
		return c.Any
	}
	return []*triggers.Condition{c}
}

// ThresholdTable renders the rules' named thresholds: each name, its
// default in the rules' own notation, its type, whose number it is (the
// framework's, with its words, or these rules' own) and its help.
func ThresholdTable(r *triggers.Rules) string {
	var b strings.Builder
	b.WriteString("| threshold | default | type | whose | meaning |\n| --- | --- | --- | --- | --- |\n")
	for _, t := range r.Thresholds {
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", code(t.Name), code(t.DefaultText()), t.Type, cell(whose(t)), cell(t.Help))
	}
	return b.String()
}

// whose says whose number a default threshold is.
func whose(t *triggers.Threshold) string {
	if t.Seed != "" {
		return fmt.Sprintf("the framework's: %q", t.Seed)
	}
	return "these rules' own"
}

// CapabilityTables renders, for every capability of r, its bullets by the
// step they decide (motives with the NOT bullets that answer each,
// structural NOT cases, obligations, gates, LATER and NOW bullets,
// adoption, presumed and derived facts, and the foundations it builds on),
// then the framework's bullets about it, each with the role it is encoded
// in (BulletTable).
func CapabilityTables(r *triggers.Rules, l *bullets.List) (string, error) {
	cited, err := citations(r, l)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	for i, c := range r.Capabilities {
		fmt.Fprintf(&b, "### %d. %s (`%s`, %s)\n\n", i+1, c.Title, c.ID, c.Complexity)
		b.WriteString("| step | the framework's words | condition |\n| --- | --- | --- |\n")
		row := func(step string, m *triggers.Condition) {
			fmt.Fprintf(&b, "| %s | %s | %s |\n", step, cell(says(r, m)), code(m.String()))
		}
		motives := members(c.Trigger)
		skips := members(c.Skip)
		for _, m := range motives {
			row("motive "+code(m.Motive), m)
			for _, s := range skips {
				if slices.Contains(s.Answers, m.Motive) {
					row("↳ NOT, answers "+code(m.Motive), s)
				}
			}
		}
		for _, s := range skips {
			if len(s.Answers) == 0 {
				row("NOT, answers every motive", s)
			}
		}
		for _, step := range []struct {
			name string
			cond *triggers.Condition
		}{
			{"structural NOT", c.Structural},
			{"obligation (`must`)", c.Must},
			{"gate", c.Gate},
			{"LATER", c.Later},
			{"NOW", c.Now},
			{"adopted when", c.AdoptedIf},
		} {
			for _, m := range members(step.cond) {
				row(step.name, m)
			}
		}
		var tools []string
		for _, t := range r.Tools {
			if t.Capability == c.ID {
				tools = append(tools, t.Title)
			}
		}
		if len(tools) > 0 {
			fmt.Fprintf(&b, "| adopted when | a tool runs: %s | %s |\n", cell(strings.Join(tools, ", ")),
				code("tool.<id> == true"))
		}
		for _, sig := range readSignals(r, c) {
			for _, p := range sig.Presume {
				value := code(literal(sig.Type, p.Value))
				if p.From != "" {
					value = "as " + code(p.From)
				}
				fmt.Fprintf(&b, "| presumed | %s %s: %s | %s |\n", code(sig.Name), value,
					cell(r.Words(p.Says)), code(p.When.String()))
			}
			for _, alt := range sig.Source.Alternatives() {
				if d := alt.Derive; d != nil {
					for _, side := range []struct {
						value string
						cond  *triggers.Condition
					}{{"true", d.TrueIf}, {"false", d.FalseIf}} {
						if side.cond != nil {
							fmt.Fprintf(&b, "| derived | %s %s: %s | %s |\n", code(sig.Name), code(side.value),
								cell(says(r, side.cond)), code(side.cond.String()))
						}
					}
				}
			}
		}
		var builds []string
		for _, id := range c.Requires {
			if f := r.Foundation(id); f != nil {
				builds = append(builds, f.Title)
			}
		}
		if len(builds) > 0 {
			fmt.Fprintf(&b, "| builds on | %s | shown, never deciding |\n", cell(strings.Join(builds, ", ")))
		}
		b.WriteString("\n")
		if table := BulletTable(r, l, c, cited); table != "" {
			fmt.Fprintf(&b, "The framework's bullets about %s, in its order, each with the role it is encoded in:\n\n%s\n", c.Title, table)
		}
	}
	return b.String(), nil
}

// citations maps each bullet of l to the rules' quotes of it, in file
// order. A quote that fits no bullet is an error: the rules' test says
// which.
func citations(r *triggers.Rules, l *bullets.List) (map[*bullets.Bullet][]triggers.Citation, error) {
	out := map[*bullets.Bullet][]triggers.Citation{}
	for _, ci := range r.Citations() {
		if ci.Role == "" {
			return nil, fmt.Errorf("seed %q on a condition that encodes no bullet", ci.Quote)
		}
		bl, err := l.Resolve(ci.Capability, ci.Role, ci.Quote)
		if err != nil {
			return nil, fmt.Errorf("%s %s: %w", ci.Capability, ci.Role, err)
		}
		out[bl] = append(out[bl], ci)
	}
	return out, nil
}

// BulletTable renders the framework's bullets about capability c, in the
// framework's order: each with the role of every condition that quotes it,
// the condition and the thresholds it compares with; or why no condition
// encodes it; or, for a part of the decision matrix, the bullets it
// restates.
func BulletTable(r *triggers.Rules, l *bullets.List, c *triggers.Capability, cited map[*bullets.Bullet][]triggers.Citation) string {
	var b strings.Builder
	for _, bl := range l.Of(c.ID) {
		section, text := bullets.SectionTitle(bl.Section), cell(bl.Text)
		row := func(role, cond, thresholds string) {
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", section, text, role, cond, thresholds)
			section, text = "", "(the same)"
		}
		for _, ci := range cited[bl] {
			cond := ci.Condition
			if ci.Presumption != nil {
				row(fmt.Sprintf("presumed %s %s", code(ci.Signal.Name), code(literal(ci.Signal.Type, ci.Presumption.Value))),
					code(cond.String()), thresholdsOf(r, cond))
				continue
			}
			row(roleOf(c, ci), code(cond.String()), thresholdsOf(r, cond))
		}
		for _, ne := range c.NotEncoded {
			if found, err := l.Resolve(c.ID, "", ne.Seed); err == nil && found == bl {
				row("not encoded", cell(ne.Reason), "–")
			}
		}
		if bl.Alias() {
			var of []string
			for _, a := range bl.AliasOf {
				of = append(of, fmt.Sprintf("%q", a))
			}
			row("alias", cell("restates "+strings.Join(of, ", ")), "–")
		}
	}
	if b.Len() == 0 {
		return ""
	}
	return "| section | the framework's bullet | encoded as | condition | threshold |\n| --- | --- | --- | --- | --- |\n" + b.String()
}

// roleOf names the role a citation encodes its bullet in, as the step
// table does; a condition below a top-level member is a part of one.
func roleOf(c *triggers.Capability, ci triggers.Citation) string {
	kinds := map[string]*triggers.Condition{triggers.KindTrigger: c.Trigger, triggers.KindStructural: c.Structural,
		triggers.KindMust: c.Must, triggers.KindSkip: c.Skip, triggers.KindGate: c.Gate, triggers.KindLater: c.Later,
		triggers.KindNow: c.Now}
	cond := ci.Condition
	var role string
	switch ci.Role {
	case triggers.KindTrigger:
		role = "motive"
		if cond.Motive != "" {
			role += " " + code(cond.Motive)
		}
	case triggers.KindStructural:
		role = "structural NOT"
	case triggers.KindMust:
		role = "obligation (`must`)"
	case triggers.KindSkip:
		role = "NOT, answers every motive"
		if len(cond.Answers) > 0 {
			var as []string
			for _, a := range cond.Answers {
				as = append(as, code(a))
			}
			role = "NOT, answers " + strings.Join(as, ", ")
		}
	case triggers.KindGate:
		role = "gate"
	case triggers.KindLater:
		role = "LATER"
	case triggers.KindNow:
		role = "NOW"
	case triggers.RoleChecklist:
		return "checklist item"
	default:
		return ci.Role
	}
	if !slices.Contains(members(kinds[ci.Role]), cond) {
		role += " (a part)"
	}
	return role
}

// thresholdsOf lists the named thresholds a condition compares with, each
// with its default and whose number it is.
func thresholdsOf(r *triggers.Rules, cond *triggers.Condition) string {
	var out []string
	for _, leaf := range cond.Leaves() {
		t := r.Threshold(leaf.ThresholdName)
		if t == nil {
			continue
		}
		s := fmt.Sprintf("%s = %s (%s)", code("{"+t.Name+"}"), code(t.DefaultText()), whose(t))
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	if len(out) == 0 {
		return "–"
	}
	return cell(strings.Join(out, "; "))
}

// readSignals lists, in file order, the signals a capability's conditions
// read, and those their presumptions and derivations read in turn.
func readSignals(r *triggers.Rules, c *triggers.Capability) []*triggers.Signal {
	seen := map[string]bool{}
	var queue []string
	add := func(conds ...*triggers.Condition) {
		for _, cond := range conds {
			for _, l := range cond.Leaves() {
				if !seen[l.Signal] {
					seen[l.Signal] = true
					queue = append(queue, l.Signal)
				}
			}
		}
	}
	add(c.Trigger, c.Structural, c.Must, c.Gate, c.Skip, c.Later, c.Now, c.AdoptedIf)
	for len(queue) > 0 {
		sig := r.Signal(queue[0])
		queue = queue[1:]
		if sig == nil {
			continue
		}
		for _, p := range sig.Presume {
			add(p.When)
		}
		for _, alt := range sig.Source.Alternatives() {
			if alt.Derive != nil {
				add(alt.Derive.TrueIf, alt.Derive.FalseIf)
			}
		}
	}
	var out []*triggers.Signal
	for _, sig := range r.Signals {
		if seen[sig.Name] {
			out = append(out, sig)
		}
	}
	return out
}

func literal(t triggers.ValueType, v float64) string {
	if t == triggers.TypeBool {
		return strconv.FormatBool(v != 0)
	}
	return strconv.FormatFloat(v, 'f', -1, 64)
}

// ImpactTable lists, per capability, the impact signals with the way each
// should move, and each of its tools' exit paths.
func ImpactTable(r *triggers.Rules) string {
	var b strings.Builder
	b.WriteString("| capability | impact signals (better) | exit path per tool |\n| --- | --- | --- |\n")
	for _, c := range r.Capabilities {
		var sigs, exits []string
		for _, is := range c.Impact {
			sigs = append(sigs, code(is.Signal)+" ("+string(is.Better)+")")
		}
		for _, t := range r.Tools {
			if t.Capability != c.ID {
				continue
			}
			exit := t.Exit
			if exit == "" {
				exit = "none given"
			}
			exits = append(exits, t.Title+": "+exit)
		}
		if len(sigs) == 0 {
			sigs = []string{"none: no measure in the store shows this capability's impact"}
		}
		if len(exits) == 0 {
			exits = []string{"no tool: adopted by its adopted_if"}
		}
		fmt.Fprintf(&b, "| %s (`%s`) | %s | %s |\n", cell(c.Title), c.ID, cell(strings.Join(sigs, ", ")), cell(strings.Join(exits, "<br>")))
	}
	return b.String()
}

// DatastoreList renders what the microservices measure leaves out by
// default: the image names, name suffixes and component label values of the
// rules' datastores: section.
func DatastoreList(r *triggers.Rules) string {
	codes := func(items []string) string {
		if len(items) == 0 {
			return "none"
		}
		out := make([]string, len(items))
		for i, s := range items {
			out[i] = code(s)
		}
		return strings.Join(out, ", ")
	}
	d := r.Datastores
	var b strings.Builder
	fmt.Fprintf(&b, "- images: %s\n", codes(d.Images))
	fmt.Fprintf(&b, "- names ending in: %s\n", codes(d.NameSuffixes))
	fmt.Fprintf(&b, "- %s label values: %s\n", code(triggers.ComponentLabel), codes(d.Components))
	return b.String()
}
