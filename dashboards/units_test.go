package dashboards

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/capability-exporter/capability_exporter/triggers"
)

// unitFor is the Grafana unit a signal of type t is drawn in: the value is
// in base units (seconds, ratios 0..1), which these units read.
func unitFor(t triggers.ValueType) string {
	switch t {
	case triggers.TypeDuration:
		return "s"
	case triggers.TypeRatio:
		return "percentunit"
	}
	return "none"
}

var signalMatcherRE = regexp.MustCompile(`signal(=~|!~)"([^"$]+)"`)

// signalFilter is a query's signal matcher as a predicate, or nil.
func signalFilter(expr string) func(string) bool {
	m := signalMatcherRE.FindStringSubmatch(expr)
	if m == nil {
		return nil
	}
	re := regexp.MustCompile("^(?:" + m[2] + ")$")
	return func(s string) bool { return re.MatchString(s) == (m[1] == "=~") }
}

// Every panel that draws signal values or thresholds draws each signal of
// the rules in the unit of its type: 2h and 25%, never 7200 and 0.25.
// A panel reads a signal when its query's signal matcher admits it (or it
// has none); its unit is the field override whose name pattern matches the
// series of that signal, else the panel's default.
func TestPanelUnitsFollowSignalTypes(t *testing.T) {
	rules, err := triggers.Default()
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for file, d := range loadDashboards(t) {
		for _, p := range AllPanels(d.Panels) {
			reads := false
			var admit func(string) bool
			for _, tg := range p.Targets {
				// The series drawn are those of the expression's first
				// metric; a later one may only select (and on ...).
				expr := strings.TrimSpace(tg.Expr)
				if strings.HasPrefix(expr, "capability_signal_value{") || strings.HasPrefix(expr, "capability_condition_threshold{") {
					reads = true
					if f := signalFilter(tg.Expr); f != nil {
						admit = f
					}
				}
			}
			if !reads {
				continue
			}
			checked++
			admitted := 0
			for _, s := range rules.Signals {
				if admit != nil && !admit(s.Name) {
					continue
				}
				admitted++
				// The series names a time series panel shows: the signal's
				// value ({{signal}} {{cluster}}) and a threshold
				// ({{kind}}: {{condition}} {{cluster}}).
				for _, series := range []string{s.Name + " prod-eu", "trigger: " + s.Name + " > 5 prod-eu"} {
					if got, want := unitOf(p, series), unitFor(s.Type); got != want {
						t.Errorf("%s: panel %q draws %s (%s) in unit %q, want %q", file, p.Title, s.Name, s.Type, got, want)
						break
					}
				}
			}
			if admitted == 0 {
				t.Errorf("%s: panel %q admits no signal of the rules", file, p.Title)
			}
		}
	}
	if checked < 2 {
		t.Errorf("%d panels draw signal values or thresholds; want the detail dashboard's", checked)
	}
}

// The split tables together show every signal once.
func TestConditionTablesCoverEverySignalOnce(t *testing.T) {
	rules, err := triggers.Default()
	if err != nil {
		t.Fatal(err)
	}
	var matchers []func(string) bool
	for _, d := range loadDashboards(t) {
		for _, p := range AllPanels(d.Panels) {
			if p.Type != "table" || !strings.HasPrefix(p.Title, "Conditions on ") {
				continue
			}
			f := signalFilter(p.Targets[0].Expr)
			if f == nil {
				t.Fatalf("panel %q selects no signals by type", p.Title)
			}
			matchers = append(matchers, f)
		}
	}
	var wrong []string
	for _, s := range rules.Signals {
		n := 0
		for _, admits := range matchers {
			if admits(s.Name) {
				n++
			}
		}
		if n != 1 {
			wrong = append(wrong, s.Name)
		}
	}
	sort.Strings(wrong)
	if len(matchers) != 3 {
		t.Errorf("%d condition tables, want one for durations, ratios and the rest", len(matchers))
	}
	if len(wrong) > 0 {
		t.Errorf("signals in no table or in several: %v; the tables' signal=~ lists follow the rules' types:\n%s", wrong, typeLists(rules))
	}
}

// typeLists is what the panels' signal lists should say, for the message.
func typeLists(rules *triggers.Rules) string {
	by := map[string][]string{}
	for _, s := range rules.Signals {
		u := unitFor(s.Type)
		by[u] = append(by[u], s.Name)
	}
	var b strings.Builder
	for _, u := range []string{"s", "percentunit", "none"} {
		slices.Sort(by[u])
		b.WriteString(u + ": " + strings.Join(by[u], "|") + "\n")
	}
	return b.String()
}

// unitOf is the unit Grafana gives a series of the panel: the last field
// override by name pattern that matches it and sets a unit, else the
// default.
func unitOf(p Panel, series string) string {
	unit := p.FieldConfig.Defaults.Unit
	for _, o := range p.FieldConfig.Overrides {
		pattern, _ := o.Matcher.Options.(string)
		if o.Matcher.ID != "byRegexp" || !regexp.MustCompile(pattern).MatchString(series) {
			continue
		}
		for _, prop := range o.Properties {
			if prop.ID == "unit" {
				_ = json.Unmarshal(prop.Value, &unit)
			}
		}
	}
	return unit
}

// Unknown is missing data, not a failure: it is drawn grey wherever a value
// mapping names it.
func TestUnknownIsGreyNotRed(t *testing.T) {
	files, err := filepath.Glob("*.json")
	if err != nil {
		t.Fatal(err)
	}
	found := 0
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var doc any
		if err := json.Unmarshal(data, &doc); err != nil {
			t.Fatal(err)
		}
		var walk func(v any)
		walk = func(v any) {
			switch v := v.(type) {
			case map[string]any:
				if text, ok := v["text"].(string); ok && strings.Contains(strings.ToLower(text), "unknown") {
					if color, ok := v["color"]; ok {
						found++
						if color != unknownColor {
							t.Errorf("%s: %q is coloured %v, want grey %s", f, text, color, unknownColor)
						}
					}
				}
				for _, sub := range v {
					walk(sub)
				}
			case []any:
				for _, sub := range v {
					walk(sub)
				}
			}
		}
		walk(doc)
	}
	if found == 0 {
		t.Error("no value mapping names unknown")
	}
}

const unknownColor = "#8e8e8e"

// Every dashboard's job variable offers All, as cluster and instance do.
func TestJobAllowsAll(t *testing.T) {
	for file, d := range loadDashboards(t) {
		for _, v := range d.Templating.List {
			if v.Name == "job" && (!v.IncludeAll || v.AllValue == "") {
				t.Errorf("%s: job includeAll %v, allValue %q; want All", file, v.IncludeAll, v.AllValue)
			}
		}
	}
}
