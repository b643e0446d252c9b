package bullets

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
)

const (
	frameworkFile = "../testdata/seed/priority-2-decision-framework.md"
	listFile      = "../testdata/seed/bullets.yml"
)

func load(t *testing.T) (*List, string) {
	t.Helper()
	l, err := Load(listFile)
	if err != nil {
		t.Fatal(err)
	}
	md, err := os.ReadFile(frameworkFile)
	if err != nil {
		t.Fatal(err)
	}
	return l, string(md)
}

// The capability sections of the framework by number, the decision matrix's
// rows and the webshop's lines by the names they give.
var (
	sectionCaps = map[string]string{"1": "service_mesh", "2": "distributed_tracing", "3": "chaos_engineering",
		"4": "policy_enforcement", "5": "cost_visibility", "6": "multi_region", "7": "observability", "8": "security_auditing"}
	matrixCaps = map[string]string{"Service Mesh": "service_mesh", "Distributed Tracing": "distributed_tracing",
		"Chaos Engineering": "chaos_engineering", "Policy Enforcement": "policy_enforcement",
		"Cost Visibility": "cost_visibility", "Multi-Region Readiness": "multi_region", "Enhanced Auditing": "security_auditing"}
	webshopCaps = map[string]string{"Distributed tracing": "distributed_tracing", "Cost visibility": "cost_visibility",
		"Policy enforcement": "policy_enforcement", "Service mesh": "service_mesh", "Multi-region": "multi_region",
		"Chaos andginoring": "chaos_engineering"}
	capHeadingRE = regexp.MustCompile(`^## (\d)\. `)
)

// headingSection names the section a bold "...:" line opens, or "".
func headingSection(h string) string {
	switch {
	case strings.Contains(h, "NOT implement when"):
		return Not
	case strings.Contains(h, "Implement NOW if"), strings.Contains(h, "Verhoog maturity NU als"):
		return Now
	case strings.Contains(h, "Wait LATER if"):
		return Later
	case strings.HasPrefix(h, "Voorbereidand NU"):
		return PrepareNow
	case strings.HasPrefix(h, "Activerand LATER"):
		return ActivateLater
	case h == "Probably YES:":
		return WebshopYes
	case h == "Probably NOT (now):":
		return WebshopNot
	case strings.HasSuffix(h, " when:"):
		return Trigger
	}
	return ""
}

// extract reads the framework's bullets from its text: each list item
// under a section heading of the eight capabilities and of the webshop
// case, and the decision matrix's trigger and skip cells (whole).
func extract(t *testing.T, md string) (items []Bullet, cells []Bullet) {
	t.Helper()
	capID, section, matrix := "", "", false
	for _, line := range strings.Split(md, "\n") {
		switch m := capHeadingRE.FindStringSubmatch(line); {
		case m != nil:
			capID, section, matrix = sectionCaps[m[1]], "", false
			continue
		case strings.HasPrefix(line, "## Decision Matrix"):
			capID, section, matrix = "", "", true
			continue
		case strings.HasPrefix(line, "### For the Webshop Case"):
			capID, section, matrix = "webshop", "", false
			continue
		case strings.HasPrefix(line, "## "):
			capID, section, matrix = "", "", false
			continue
		case strings.HasPrefix(line, "### "):
			section = ""
			continue
		}
		if matrix && strings.HasPrefix(line, "| **") {
			row := strings.Split(strings.Trim(line, "| "), "|")
			name := Normalise(row[0])
			id, ok := matrixCaps[name]
			if !ok {
				t.Fatalf("decision matrix row %q names no capability the test knows", name)
			}
			cells = append(cells, Bullet{Capability: id, Section: MatrixTrigger, Text: Normalise(row[1])},
				Bullet{Capability: id, Section: MatrixSkip, Text: Normalise(row[3])})
			continue
		}
		if capID == "" {
			continue
		}
		if strings.HasPrefix(line, "**") && strings.HasSuffix(strings.TrimSpace(line), ":**") {
			section = headingSection(Normalise(line))
			continue
		}
		if section == "" || !strings.HasPrefix(line, "- ") {
			continue
		}
		b := Bullet{Capability: capID, Section: section, Text: Normalise(line)}
		if capID == "webshop" {
			name, _, _ := strings.Cut(b.Text, " (")
			if b.Capability = webshopCaps[name]; b.Capability == "" {
				t.Fatalf("webshop line %q names no capability the test knows", b.Text)
			}
		}
		items = append(items, b)
	}
	return items, cells
}

// The bullet list is the framework's, word for word and complete: every
// list item of the sections it names, in the framework's order, and the
// decision matrix's cells made of its parts.
func TestListIsTheFrameworks(t *testing.T) {
	l, md := load(t)
	items, cells := extract(t, md)
	if len(items) < 100 || len(cells) != 14 {
		t.Fatalf("read %d bullets and %d matrix cells from the framework; the headings it uses changed?", len(items), len(cells))
	}
	var listed []Bullet
	parts := map[[2]string][]string{}
	for _, b := range l.Bullets {
		if b.Section == MatrixTrigger || b.Section == MatrixSkip {
			k := [2]string{b.Capability, b.Section}
			parts[k] = append(parts[k], b.Text)
			continue
		}
		listed = append(listed, Bullet{Capability: b.Capability, Section: b.Section, Text: b.Text})
	}
	type key struct{ capability, section, text string }
	byKey := func(bs []Bullet) map[key]bool {
		m := map[key]bool{}
		for _, b := range bs {
			m[key{b.Capability, b.Section, b.Text}] = true
		}
		return m
	}
	inList, inText := byKey(listed), byKey(items)
	for _, b := range items {
		if !inList[key{b.Capability, b.Section, b.Text}] {
			t.Errorf("the framework's %s %s bullet %q is not in %s", b.Capability, b.Section, b.Text, listFile)
		}
	}
	for _, b := range listed {
		if !inText[key{b.Capability, b.Section, b.Text}] {
			t.Errorf("%s lists %s %s %q, which the framework does not say there", listFile, b.Capability, b.Section, b.Text)
		}
	}
	// The framework's order within each capability.
	order := func(bs []Bullet) map[string][]string {
		m := map[string][]string{}
		for _, b := range bs {
			m[b.Capability] = append(m[b.Capability], b.Section+": "+b.Text)
		}
		return m
	}
	want := order(items)
	for id, got := range order(listed) {
		if !slices.Equal(got, want[id]) {
			t.Errorf("%s's bullets are not in the framework's order:\n got %q\nwant %q", id, got, want[id])
		}
	}
	for _, c := range cells {
		k := [2]string{c.Capability, c.Section}
		if got := strings.Join(parts[k], ", "); got != c.Text {
			t.Errorf("decision matrix %s %s: the parts listed make %q, the cell says %q", c.Capability, c.Section, got, c.Text)
		}
		delete(parts, k)
	}
	for k, p := range parts {
		t.Errorf("%s lists decision matrix parts %q for %s %s, which has no such cell", listFile, p, k[0], k[1])
	}
	// The licence travels with the text.
	data, err := os.ReadFile(listFile)
	if err != nil {
		t.Fatal(err)
	}
	lic, err := os.ReadFile("../testdata/seed/LICENSE")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Copyright (c) 2024 @vanhoutenbos", "MIT License"} {
		if !strings.Contains(string(data), want) && !strings.Contains(string(lic), want) {
			t.Errorf("neither the list nor its LICENSE says %q", want)
		}
	}
	if !strings.Contains(string(lic), "Permission is hereby granted") || !strings.Contains(string(data), "@vanhoutenbos") {
		t.Error("the list's copyright and licence notice is missing")
	}
}

func TestNormalise(t *testing.T) {
	for in, want := range map[string]string{
		"- ✅ You have **> 5 microservices** with complex  inter-service communication": "You have > 5 microservices with complex inter-service communication",
		"- ❌ **Manual review** process  works well":                                    "Manual review process works well",
		"   - ❓ **Database replication** (biggest challenge!)":                         "Database replication (biggest challenge!)",
		"1. **Start simple**: Priority 1 first":                                        "Start simple: Priority 1 first",
		"⚠️ [TIMING]\nWhy  Now":                                                        "[TIMING] Why Now",
		"Cilium CNI (Priority 1) → Service mesh":                                       "Cilium CNI (Priority 1) → Service mesh",
		"99.9% uptime": "99.9% uptime",
	} {
		if got := Normalise(in); got != want {
			t.Errorf("Normalise(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestResolve(t *testing.T) {
	l, _ := load(t)
	for _, c := range []struct {
		capability, role, quote string
		section, text           string
		err                     string
	}{
		// Part of one bullet.
		{"chaos_engineering", "structural", "single replica", Not, "You no HA setup have (single replica, single node)", ""},
		// The whole text of one bullet, which another holds too.
		{"chaos_engineering", "gate", "You no HA setup have", Later, "You no HA setup have", ""},
		{"security_auditing", "later", "No compliance requirement", Later, "No compliance requirement", ""},
		// The same words in two sections: the role says which.
		{"security_auditing", "skip", "No security team", Not, "No security team", ""},
		{"security_auditing", "later", "No security team", Later, "No security team", ""},
		// A webshop line, from a presumption (no capability).
		{"", "presume", "Service mesh (< 10 services, network policies sufficient)", WebshopNot, "Service mesh (< 10 services, network policies sufficient)", ""},
		// A matrix part of its own.
		{"chaos_engineering", "structural", "Dev environment", MatrixSkip, "Dev environment", ""},
		{"service_mesh", "trigger", "security/observability per-service", "", "", "restates"},
		{"service_mesh", "trigger", "> 10 developers", "", "", "in none of the bullets of service_mesh"},
		{"distributed_tracing", "trigger", "You", "", "", "fits several"},
	} {
		b, err := l.Resolve(c.capability, c.role, c.quote)
		switch {
		case c.err != "":
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("Resolve(%s, %s, %q) = %v, %v; want an error with %q", c.capability, c.role, c.quote, b, err, c.err)
			}
		case err != nil:
			t.Errorf("Resolve(%s, %s, %q): %v", c.capability, c.role, c.quote, err)
		case b.Section != c.section || b.Text != c.text:
			t.Errorf("Resolve(%s, %s, %q) = %s, want %s %q", c.capability, c.role, c.quote, b, c.section, c.text)
		}
	}
}
