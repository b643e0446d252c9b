package mcpserver

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/capability-exporter/capability_exporter/config"
	"github.com/capability-exporter/capability_exporter/triggers"
)

// The resources' addresses.
const (
	uriEvaluation       = "capability-exporter://evaluation"
	uriCapabilityPrefix = uriEvaluation + "/"
	uriRules            = "capability-exporter://rules"
)

func (h *Handler) addResources(s *mcp.Server, cfg *config.Config) {
	s.AddResource(&mcp.Resource{URI: uriEvaluation, Name: "evaluation", Title: "The last evaluation, whole",
		MIMEType: "application/json",
		Description: "The exporter's last evaluation as GET /api/v1/evaluation serves it (about 200 KB): every capability's " +
			"decision with its conditions, reasons and what would change it, the signals, tools, foundations, thresholds, " +
			"sources and recent changes. Prefer the tools or one capability's resource unless you need it all."},
		h.readEvaluation)
	s.AddResource(&mcp.Resource{URI: uriRules, Name: "rules", Title: "The rules in force, with the framework's bullets",
		MIMEType: "text/markdown",
		Description: "The rules as loaded (the default rules, an extending rules file, the organisation's thresholds): " +
			"per capability the conditions of each step with the framework's words and the bullet each encodes, the bullets " +
			"no condition encodes and why, and every named threshold with the value in force and whose it is."},
		h.readRules)
	if cfg == nil || cfg.Rules == nil {
		return
	}
	for _, c := range cfg.Rules.Capabilities {
		s.AddResource(&mcp.Resource{URI: uriCapabilityPrefix + c.ID, Name: c.ID, Title: c.Title + ": its decision",
			MIMEType: "application/json",
			Description: "One capability of the last evaluation as GET /api/v1/evaluation gives it: " + c.Title +
				"'s decision, need, timing, conditions with their values and thresholds, reasons, tools, foundations, " +
				"impact and what would change it."},
			h.readCapability)
	}
}

func jsonContents(uri string, v any) (*mcp.ReadResourceResult, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return &mcp.ReadResourceResult{Contents: []*mcp.ResourceContents{{URI: uri, MIMEType: "application/json", Text: buf.String()}}}, nil
}

func (h *Handler) readEvaluation(_ context.Context, req *mcp.ReadResourceRequest) (*mcp.ReadResourceResult, error) {
	_, r, err := h.current()
	if err != nil {
		return nil, err
	}
	return jsonContents(req.Params.URI, r)
}

func (h *Handler) readCapability(_ context.Context, req *mcp.ReadResourceRequest) (*mcp.ReadResourceResult, error) {
	_, r, err := h.current()
	if err != nil {
		return nil, err
	}
	id := strings.TrimPrefix(req.Params.URI, uriCapabilityPrefix)
	c, err := capabilityIn(r, id)
	if err != nil {
		return nil, mcp.ResourceNotFoundError(req.Params.URI)
	}
	return jsonContents(req.Params.URI, c)
}

func (h *Handler) readRules(_ context.Context, req *mcp.ReadResourceRequest) (*mcp.ReadResourceResult, error) {
	st := h.opts.Current()
	if st == nil || st.Config == nil || st.Config.Rules == nil {
		return nil, errNotReady
	}
	return &mcp.ReadResourceResult{Contents: []*mcp.ResourceContents{{URI: req.Params.URI, MIMEType: "text/markdown",
		Text: RulesMarkdown(st.Config.Rules)}}}, nil
}

// RulesMarkdown renders the rules in force for a reader who does not have
// the rules file: per capability, each step's conditions with the
// framework's words and the bullets they encode, then the thresholds in
// force.
func RulesMarkdown(r *triggers.Rules) string {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	p("# The rules in force\n\n")
	file := r.File
	if file == "" {
		file = "<default rules>"
	}
	p("- Rules: %s\n", file)
	if r.Extends != "" {
		p("- Extending: %s (the default rules, with the capabilities, signals and thresholds of the file above added or replaced)\n", r.Extends)
	}
	p("- A decision reads, per capability: adopted (a tool runs), then need (structural NOT cases, obligations (must), NOT bullets (skip) against the trigger's motives), then timing (gates, LATER, NOW).\n\n")

	cited := r.Citations()
	for i, c := range r.Capabilities {
		capabilityRules(&b, r, i, c, cited)
	}
	var presumed []string
	for _, ci := range cited {
		if ci.Role == triggers.RolePresume && ci.Signal != nil {
			presumed = append(presumed, fmt.Sprintf("- `%s` presumed %s when `%s`: %q", ci.Signal.Name,
				triggers.FormatValue(ci.Signal.Type, ci.Presumption.Value), ci.Condition.String(), ci.Quote))
		}
	}
	if len(presumed) > 0 {
		p("## Presumptions (the framework's webshop lines, for probable answers)\n\n%s\n\n", strings.Join(presumed, "\n"))
	}
	p("## Thresholds in force\n\n| threshold | value in force | whose | the rules' value | meaning |\n| --- | --- | --- | --- | --- |\n")
	for _, t := range r.Thresholds {
		whose := "the rules'"
		switch {
		case t.Own:
			whose = "the organisation's"
		case t.Seed != "":
			whose = fmt.Sprintf("the framework's: %q", t.Seed)
		}
		p("| `%s` | `%s` | %s | `%s` | %s |\n", t.Name, t.ValueText(), cell(whose), t.DefaultText(), cell(t.Help))
	}
	return b.String()
}

// capabilityRules renders the rules of capability c, the i-th: each step's
// conditions with the framework's words and bullets, its tools and what it
// builds on, the bullets cited about it, and its open questions.
func capabilityRules(b *strings.Builder, r *triggers.Rules, i int, c *triggers.Capability, cited []triggers.Citation) {
	p := func(format string, args ...any) { fmt.Fprintf(b, format, args...) }
	p("## %d. %s (`%s`, complexity %s)\n\n", i+1, c.Title, c.ID, c.Complexity)
	p("| step | condition | the framework's words | the framework's bullet (seed) |\n| --- | --- | --- | --- |\n")
	row := func(step string, m *triggers.Condition) { conditionRow(b, r, step, m) }
	for _, m := range members(c.Trigger) {
		step := "trigger (motive)"
		if m.Motive != "" {
			step = "trigger (motive `" + m.Motive + "`)"
		}
		row(step, m)
	}
	for _, m := range members(c.Skip) {
		step := "NOT (skip), answers every motive"
		if len(m.Answers) > 0 {
			step = "NOT (skip), answers " + strings.Join(m.Answers, ", ")
		}
		row(step, m)
	}
	for _, st := range []struct {
		name string
		cond *triggers.Condition
	}{{"structural NOT", c.Structural}, {"obligation (must)", c.Must}, {"gate", c.Gate}, {"LATER", c.Later},
		{"NOW", c.Now}, {"adopted when", c.AdoptedIf}} {
		for _, m := range members(st.cond) {
			row(st.name, m)
		}
	}
	for _, item := range c.Checklist {
		row("checklist", item)
	}
	var tools []string
	for _, t := range r.Tools {
		if t.Capability == c.ID {
			tools = append(tools, t.Title)
		}
	}
	if len(tools) > 0 {
		p("\nAdopted when a tool runs: %s.\n", strings.Join(tools, ", "))
	}
	if len(c.Requires) > 0 {
		p("Builds on (informs, never decides): %s.\n", strings.Join(c.Requires, ", "))
	}
	var bullets []string
	for _, ci := range cited {
		if ci.Capability == c.ID {
			bullets = append(bullets, fmt.Sprintf("- %s: %q, encoded as `%s`", ci.Role, ci.Quote, ci.Condition.String()))
		}
	}
	for _, ne := range c.NotEncoded {
		bullets = append(bullets, fmt.Sprintf("- not encoded: %q, because %s", ne.Seed, ne.Reason))
	}
	if len(bullets) > 0 {
		p("\nThe framework's bullets about %s, with the role each is encoded in:\n\n%s\n", c.Title, strings.Join(bullets, "\n"))
	}
	if len(c.Questions) > 0 {
		p("\nOpen decision questions:\n\n- %s\n", strings.Join(c.Questions, "\n- "))
	}
	p("\n")
}

// conditionRow renders one condition of a step as a table row: the
// condition, its words, and the framework's bullets it and its members
// encode.
func conditionRow(b *strings.Builder, r *triggers.Rules, step string, m *triggers.Condition) {
	var seeds []string
	var collect func(n *triggers.Condition)
	collect = func(n *triggers.Condition) {
		if n == nil {
			return
		}
		seeds = appendNew(seeds, n.Seed...)
		collect(n.Not)
		for _, x := range append(slices.Clone(n.Any), n.All...) {
			collect(x)
		}
	}
	collect(m)
	quoted := make([]string, len(seeds))
	for j, s := range seeds {
		quoted[j] = fmt.Sprintf("%q", s)
	}
	fmt.Fprintf(b, "| %s | `%s` | %s | %s |\n", step, cell(m.String()), cell(r.Words(m.Says)), cell(strings.Join(quoted, "; ")))
}

// members are a condition's top-level members: each is one bullet.
func members(c *triggers.Condition) []*triggers.Condition {
	if c == nil {
		return nil
	}
	if c.Any != nil {
		return c.Any
	}
	return []*triggers.Condition{c}
}

func cell(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", " ").Replace(s)
}
