package triggers

import (
	"os"
	"slices"
	"strings"
	"testing"
)

func TestExtendDefault(t *testing.T) {
	def, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	r, err := Load("testdata/extend/all.yml")
	if err != nil {
		t.Fatal(err)
	}
	if r.Extends != DefaultRulesFile || r.File != "testdata/extend/all.yml" {
		t.Errorf("File, Extends = %q, %q", r.File, r.Extends)
	}
	if got, want := len(r.Signals), len(def.Signals)+1; got != want {
		t.Errorf("%d signals, want the defaults' and one more: %d", got, want)
	}
	if s := r.Signal("grpc_services"); s == nil || s.File != r.File || r.Signals[len(r.Signals)-1] != s {
		t.Errorf("new signal %+v: want it last, from the extending file", s)
	}
	if s := r.Signal("microservices"); s == nil || s.File != DefaultRulesFile {
		t.Errorf("default signal %+v: want it from the default rules", s)
	}
	if tool := r.Tool("traefik_mesh"); tool == nil || tool.Capability != "service_mesh" || len(r.Tools) != len(def.Tools)+1 {
		t.Errorf("new tool %+v, %d tools", tool, len(r.Tools))
	}

	// The added condition is one more member of the trigger's any; the
	// default rules are untouched.
	dt, ddt := r.Capability("distributed_tracing"), def.Capability("distributed_tracing")
	if got, want := len(dt.Trigger.Any), len(ddt.Trigger.Any)+1; got != want {
		t.Fatalf("trigger has %d members, want %d", got, want)
	}
	if last := dt.Trigger.Any[len(dt.Trigger.Any)-1]; last.Expr != "grpc_services > 3" || last.Says == "" {
		t.Errorf("added member %+v", last)
	}
	if (&Condition{Any: dt.Trigger.Any[:len(ddt.Trigger.Any)]}).String() != ddt.Trigger.String() {
		t.Error("the default members changed")
	}
	if dt.Must.String() != ddt.Must.String() {
		t.Error("a kind not named changed")
	}

	// The replaced capability keeps its place; the order stays the file's.
	ch := r.Capability("chaos_engineering")
	if ch.Trigger.String() != "production_environment == true" || ch.Gate != nil || ch.Skip != nil || ch.Later != nil || ch.Complexity != ComplexityMedium {
		t.Errorf("chaos_engineering not replaced whole: %+v", ch)
	}
	var ids, defIDs []string
	for i, c := range r.Capabilities {
		ids = append(ids, c.ID)
		if c.Order != i {
			t.Errorf("%s: Order %d at %d", c.ID, c.Order, i)
		}
	}
	for _, c := range def.Capabilities {
		defIDs = append(defIDs, c.ID)
	}
	if !slices.Equal(ids, defIDs) {
		t.Errorf("capabilities %v, want the defaults' order %v", ids, defIDs)
	}
	if dch := def.Capability("chaos_engineering"); dch.Trigger.String() == ch.Trigger.String() || dch.Complexity != ComplexityLowMedium {
		t.Error("replacing chaos_engineering changed the default rules")
	}
}

// An extending file's conditions may use every kind on a capability the
// defaults leave without it, and read a foundation the capability did not.
func TestExtendAddsAKindAndAFoundation(t *testing.T) {
	r, err := Parse("x.yml", []byte(`extends: default
add_conditions:
  cost_visibility:
    adopted_if: foundation.velero == true
`))
	if err != nil {
		t.Fatal(err)
	}
	c := r.Capability("cost_visibility")
	if c.AdoptedIf == nil || !slices.Contains(c.foundations, "velero") {
		t.Errorf("adopted_if %v, foundations %v", c.AdoptedIf, c.foundations)
	}
}

// The rules printed by `capability_exporter rules` load as a rules file of
// their own.
func TestDefaultRulesLoadAsAFile(t *testing.T) {
	r, err := Parse("r.yml", DefaultRulesYAML())
	if err != nil {
		t.Fatal(err)
	}
	if r.Extends != "" || len(r.Capabilities) != 8 {
		t.Errorf("Extends %q, %d capabilities", r.Extends, len(r.Capabilities))
	}
}

// Every example of docs/rules.md that extends the defaults loads.
func TestDocsExtendExamples(t *testing.T) {
	doc, err := os.ReadFile("../docs/rules.md")
	if err != nil {
		t.Fatal(err)
	}
	blocks := 0
	for _, part := range strings.Split(string(doc), "```yaml\n")[1:] {
		block, _, _ := strings.Cut(part, "```")
		if !strings.HasPrefix(block, "extends: default") {
			continue
		}
		blocks++
		if _, err := Parse("docs/rules.md example", []byte(block)); err != nil {
			t.Errorf("example %d:\n%s\n%v", blocks, block, err)
		}
	}
	if blocks < 5 {
		t.Errorf("found %d examples that extend the defaults, want the format and one for each of signal, tool, condition and capability", blocks)
	}
}
