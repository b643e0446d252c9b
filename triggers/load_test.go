package triggers

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/capability-exporter/capability_exporter/yamlpos"
)

var update = flag.Bool("update", false, "rewrite testdata/bad/*.err from the loader's current messages")

// TestParseBadFiles loads each testdata/bad/*.yml and compares the error with
// the sibling .err file, byte for byte: the messages are what a user reads
// from `capability_exporter check`, so a change to one is a visible change.
func TestParseBadFiles(t *testing.T) {
	files, err := filepath.Glob("testdata/bad/*.yml")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 20 {
		t.Fatalf("found %d bad files, want the whole table", len(files))
	}
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".yml")
		t.Run(name, func(t *testing.T) {
			r, err := Load(file)
			if err == nil {
				t.Fatalf("Load(%s) = %d capabilities, want an error", file, len(r.Capabilities))
			}
			var es yamlpos.Errors
			if !errors.As(err, &es) {
				t.Fatalf("Load(%s) error is %T, want Errors: %v", file, err, err)
			}
			for _, e := range es {
				if e.File != file {
					t.Errorf("error %q names file %q, want %q", e, e.File, file)
				}
			}
			got := err.Error() + "\n"
			errFile := strings.TrimSuffix(file, ".yml") + ".err"
			if *update {
				if err := os.WriteFile(errFile, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, rerr := os.ReadFile(errFile)
			if rerr != nil {
				t.Fatalf("%v (run with -update to create it)", rerr)
			}
			if got != string(want) {
				t.Errorf("Load(%s) error:\n%s\nwant (%s):\n%s", file, got, errFile, want)
			}
		})
	}
}

func TestParseValid(t *testing.T) {
	r, err := Load("testdata/valid.yml")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range r.Signals {
		names = append(names, s.Name)
	}
	if want := []string{"microservices", "incident_mttr", "cost_growth", "firing_critical", "slo_rules", "loki_up", "developers", "security_team"}; !slices.Equal(names, want) {
		t.Errorf("signals = %q, want file order %q", names, want)
	}
	kinds := map[string]string{"microservices": "kubernetes", "incident_mttr": "prometheus", "loki_up": "loki", "developers": "first_known", "security_team": "fact"}
	for name, kind := range kinds {
		if got := r.Signal(name).Source.Kind(); got != kind {
			t.Errorf("signal %s source %q, want %q", name, got, kind)
		}
	}
	if s := r.Signal("microservices"); s.Type != TypeNumber || s.Line != 3 {
		t.Errorf("microservices type %q line %d, want number at line 3", s.Type, s.Line)
	}
	if ah := r.Signal("incident_mttr").Source.Prometheus.AlertHistory; ah == nil || time.Duration(ah.Window) != 30*24*time.Hour || ah.Measure != "mean_resolution" {
		t.Errorf("incident_mttr alert_history = %+v", ah)
	}
	if e := r.Signal("firing_critical").Source.Prometheus.Empty; e != EmptyZero {
		t.Errorf("firing_critical empty = %q", e)
	}
	alts := r.Signal("developers").Source.Alternatives()
	if len(alts) != 3 || alts[0].Kind() != "fact" || alts[1].Kind() != "loki" || alts[2].Kind() != "kubernetes" {
		t.Errorf("developers alternatives = %+v", alts)
	}
	facts := r.Facts()
	if len(facts) != 2 || facts[0].Name != "developers" || facts[0].Type != TypeNumber || facts[1].Name != "security_team" || facts[1].Type != TypeBool {
		t.Errorf("facts = %+v", facts)
	}

	if tl := r.Tool("tempo"); tl == nil || tl.Title != "tempo" || tl.Capability != "distributed_tracing" || tl.SignalName() != "tool.tempo" {
		t.Errorf("tempo = %+v", tl)
	}
	if f := r.Foundation("loki"); f == nil || f.Title != "loki" || f.Present.String() != "loki_up == true" {
		t.Errorf("loki foundation = %+v", f)
	}

	c := r.Capability("distributed_tracing")
	if c.Title != "Distributed Tracing" || c.Complexity != ComplexityMedium || c.Order != 0 || c.Line != 48 {
		t.Errorf("distributed_tracing = %+v", c)
	}
	for kind, want := range map[string]string{
		KindTrigger: "microservices > 5 or incident_mttr > 1h",
		KindSkip:    "microservices < 5",
		KindNow:     "incident_mttr > 4h",
		KindLater:   "developers < 5 and not (firing_critical > 0)",
	} {
		got := map[string]*Condition{KindTrigger: c.Trigger, KindSkip: c.Skip, KindNow: c.Now, KindLater: c.Later}[kind].String()
		if got != want {
			t.Errorf("%s = %q, want %q", kind, got, want)
		}
	}
	if c.Skip.Says != "Fewer than 5 services" || c.Skip.Line != 52 {
		t.Errorf("skip says %q at line %d", c.Skip.Says, c.Skip.Line)
	}
	if !slices.Equal(c.Requires, []string{"prometheus", "loki"}) || len(c.Questions) != 1 {
		t.Errorf("requires %q questions %q", c.Requires, c.Questions)
	}
	if m := r.Capability("service_mesh"); m.Skip != nil || m.Now != nil || m.Later != nil || m.Title != "service_mesh" || m.Order != 1 {
		t.Errorf("service_mesh = %+v", m)
	}
	if got := r.Capability("security_auditing").Trigger.Leaves()[1].Threshold; got != 0.2 {
		t.Errorf("cost_growth > 20%% threshold = %v", got)
	}
	if r.Signal("nope") != nil || r.Tool("nope") != nil || r.Foundation("nope") != nil || r.Capability("nope") != nil {
		t.Error("lookup of an undeclared name is not nil")
	}
}

// One run reports every problem of a file, in line order, each with a field.
func TestParseReportsAllErrors(t *testing.T) {
	_, err := Load("testdata/bad/many_errors.yml")
	var es yamlpos.Errors
	if !errors.As(err, &es) {
		t.Fatalf("error %v is not Errors", err)
	}
	if len(es) < 6 {
		t.Fatalf("got %d errors, want every problem of the file:\n%v", len(es), err)
	}
	if !slices.IsSortedFunc(es, func(a, b *yamlpos.Error) int { return a.Line - b.Line }) {
		t.Errorf("errors not in line order:\n%v", err)
	}
	fields := map[string]bool{}
	for _, e := range es {
		if e.Line == 0 || e.Field == "" {
			t.Errorf("error without line or field: %q", e)
		}
		fields[e.Field] = true
	}
	for _, f := range []string{"signals.nodes.help", "signals.nodes.type", "tools.istio.capability",
		"capabilities.service_mesh.complexity", "capabilities.service_mesh.requires[0]",
		"capabilities.service_mesh.skip", "capabilities.service_mesh.later"} {
		if !fields[f] {
			t.Errorf("no error for %s in:\n%v", f, err)
		}
	}
	if es.Err() == nil || yamlpos.Errors(nil).Err() != nil {
		t.Error("Err() of errors is nil, or of none is not nil")
	}
}

// The same file gives the same errors in the same order every time.
func TestParseErrorsStable(t *testing.T) {
	data, err := os.ReadFile("testdata/bad/flow_style_errors.yml")
	if err != nil {
		t.Fatal(err)
	}
	_, first := Parse("flow.yml", data)
	for range 20 {
		if _, again := Parse("flow.yml", data); again.Error() != first.Error() {
			t.Fatalf("errors changed between runs:\n%v\nthen:\n%v", first, again)
		}
	}
}

func TestLoadMissingFile(t *testing.T) {
	if _, err := Load("testdata/no_such_file.yml"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Load of a missing file = %v, want not exist", err)
	}
}

// The embedded default rules must always parse: Default's error is a build
// defect, so this test is what guards it.
func TestDefault(t *testing.T) {
	r, err := Default()
	if err != nil {
		t.Fatalf("default rules:\n%v", err)
	}
	if len(r.Capabilities) == 0 || r.File != DefaultRulesFile {
		t.Errorf("default rules have %d capabilities, file %q", len(r.Capabilities), r.File)
	}
	// Each call parses afresh: what one caller changes, another does not see.
	again, _ := Default()
	if again == r || again.Capabilities[0] == r.Capabilities[0] {
		t.Error("two calls of Default share their rules")
	}
	b := DefaultRulesYAML()
	if len(b) == 0 {
		t.Fatal("no embedded default rules")
	}
	b[0] ^= 0xff
	if DefaultRulesYAML()[0] == b[0] {
		t.Error("DefaultRulesYAML returns the embedded bytes, not a copy")
	}
}

// Type errors read in the words of the file, not of Go.
func TestPlainTypeError(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"cannot unmarshal !!seq into string", "want a string, found a list"},
		{"cannot unmarshal !!map into []string", "want a list of strings, found a mapping"},
		{"cannot unmarshal !!str `prometheus` into []string", "want a list of strings, found the string `prometheus`"},
		{"cannot unmarshal !!str `yes` into bool", "want true or false, found the string `yes`"},
		{"cannot unmarshal !!str `lots` into int", "want a number, found the string `lots`"},
		{"cannot unmarshal !!seq into triggers.rawCapability", "want a mapping, found a list"},
		{"cannot unmarshal !!str `x` into map[string]triggers.rawSignal", "want a mapping, found the string `x`"},
		{"cannot unmarshal !!int `5` into []triggers.SignalSource", "want a list, found the number `5`"},
		// Types without plain words keep yaml's message.
		{"cannot unmarshal !!seq into triggers.Empty", "cannot unmarshal !!seq into triggers.Empty"},
		{"cannot unmarshal !!seq into interface {}", "cannot unmarshal !!seq into interface {}"},
		{"mapping key \"a\" already defined at line 2", "mapping key \"a\" already defined at line 2"},
	} {
		if got := yamlpos.PlainTypeError(tt.in, rawTypeNames); got != tt.want {
			t.Errorf("yamlpos.PlainTypeError(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
