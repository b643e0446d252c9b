package triggers

import (
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/capability-exporter/capability_exporter/triggers/bullets"
)

// The framework's text and its bullet list, kept with their licence in
// testdata/seed: the tests read no file outside the project.
const (
	seedFramework = "testdata/seed/priority-2-decision-framework.md"
	seedBullets   = "testdata/seed/bullets.yml"
)

func seedList(t *testing.T) (*bullets.List, string) {
	t.Helper()
	l, err := bullets.Load(seedBullets)
	if err != nil {
		t.Fatal(err)
	}
	md, err := os.ReadFile(seedFramework)
	if err != nil {
		t.Fatal(err)
	}
	return l, bullets.Normalise(string(md))
}

// roleSections are the framework's sections a condition of each role may
// encode: a motive comes from a TRIGGER bullet, an obligation from a NOW
// bullet, a gate from a LATER or NOT bullet about readiness (or the
// activation preconditions), a presumption from a webshop line.
var roleSections = map[string][]string{
	KindTrigger:    {bullets.Trigger, bullets.MatrixTrigger},
	KindStructural: {bullets.Not, bullets.Later, bullets.MatrixSkip},
	KindSkip:       {bullets.Not, bullets.MatrixSkip, bullets.WebshopNot},
	KindMust:       {bullets.Now},
	KindNow:        {bullets.Now, bullets.ActivateLater},
	KindLater:      {bullets.Later},
	KindGate:       {bullets.Later, bullets.Not, bullets.ActivateLater, bullets.WebshopNot},
	RoleChecklist:  {bullets.PrepareNow, bullets.Not},
	RolePresume:    {bullets.WebshopNot, bullets.WebshopYes},
}

// traceProblems holds rules against the framework: every seed: quote is
// the framework's words, in the bullet list, in a place that encodes a
// bullet and in a role its section allows; no bullet is cited twice in one
// role; every bullet but the matrix's aliases is cited or listed under
// not_encoded, not both; a threshold's quote states its number.
func traceProblems(r *Rules, l *bullets.List, framework string) []string {
	var out []string
	inText := func(q string) bool { return strings.Contains(framework, bullets.Normalise(q)) }
	type use struct {
		role   string
		quotes []string
	}
	cited := map[*bullets.Bullet][]use{}
	for _, c := range r.Citations() {
		where := c.Capability
		if c.Signal != nil {
			where = "signal " + c.Signal.Name
		}
		if c.Condition != nil {
			where += fmt.Sprintf(" (line %d)", c.Condition.Line)
		}
		if !inText(c.Quote) {
			out = append(out, fmt.Sprintf("%s: seed %q is not in the framework's text", where, c.Quote))
			continue
		}
		if c.Role == "" {
			out = append(out, fmt.Sprintf("%s: seed %q on a condition that encodes no bullet (a contradiction, adopted_if, a derivation or a foundation)", where, c.Quote))
			continue
		}
		b, err := l.Resolve(c.Capability, c.Role, c.Quote)
		if err != nil {
			out = append(out, fmt.Sprintf("%s %s: %v", where, c.Role, err))
			continue
		}
		if !slices.Contains(roleSections[c.Role], b.Section) {
			out = append(out, fmt.Sprintf("%s: %s cited as %s, which a %s bullet is not", where, b, c.Role, bullets.SectionTitle(b.Section)))
		}
		i := slices.IndexFunc(cited[b], func(u use) bool { return u.role == c.Role })
		if i < 0 {
			cited[b] = append(cited[b], use{role: c.Role, quotes: []string{c.Quote}})
			continue
		}
		// One bullet split over several conditions of one role is fine
		// where each quotes its own part ("single replica", "single
		// node"); the same words twice are one bullet encoded twice.
		for _, q := range cited[b][i].quotes {
			if strings.Contains(q, c.Quote) || strings.Contains(c.Quote, q) {
				out = append(out, fmt.Sprintf("%s: %s cited twice as %s (%q, %q)", where, b, c.Role, q, c.Quote))
			}
		}
		cited[b][i].quotes = append(cited[b][i].quotes, c.Quote)
	}
	notEncoded := map[*bullets.Bullet]bool{}
	for _, c := range r.Capabilities {
		for _, ne := range c.NotEncoded {
			if !inText(ne.Seed) {
				out = append(out, fmt.Sprintf("%s not_encoded: %q is not in the framework's text", c.ID, ne.Seed))
				continue
			}
			b, err := l.Resolve(c.ID, "", ne.Seed)
			switch {
			case err != nil:
				out = append(out, fmt.Sprintf("%s not_encoded: %v", c.ID, err))
			case notEncoded[b]:
				out = append(out, fmt.Sprintf("%s not_encoded lists %s twice", c.ID, b))
			case len(cited[b]) > 0:
				out = append(out, fmt.Sprintf("%s not_encoded lists %s, which a rule cites as %s", c.ID, b, cited[b][0].role))
			}
			if b != nil {
				notEncoded[b] = true
			}
		}
	}
	for _, b := range l.Bullets {
		if !b.Alias() && len(cited[b]) == 0 && !notEncoded[b] {
			out = append(out, fmt.Sprintf("%s is cited by no rule and not listed under not_encoded", b))
		}
	}
	number := regexp.MustCompile(`[0-9]+(?:\.[0-9]+)?`)
	for _, t := range r.Thresholds {
		if t.Seed == "" {
			continue
		}
		n := number.FindString(t.DefaultText())
		switch {
		case !inText(t.Seed):
			out = append(out, fmt.Sprintf("threshold %s: seed %q is not in the framework's text", t.Name, t.Seed))
		case !l.Contains(t.Seed):
			out = append(out, fmt.Sprintf("threshold %s: seed %q is in no bullet", t.Name, t.Seed))
		case !regexp.MustCompile(`(^|[^0-9.])` + regexp.QuoteMeta(n) + `([^0-9.]|$)`).MatchString(t.Seed):
			out = append(out, fmt.Sprintf("threshold %s: seed %q does not state its value %s", t.Name, t.Seed, t.DefaultText()))
		}
	}
	return out
}

// Every bullet of the framework is traced: the default rules cite it in
// the role it is encoded in, or say why they do not.
func TestEveryBulletTraced(t *testing.T) {
	l, framework := seedList(t)
	r, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range traceProblems(r, l, framework) {
		t.Error(p)
	}
}

// The check bites: a bullet that loses its quote, one quoted twice in one
// role, a quote that is not the framework's, a quote on a contradiction, a
// NOW bullet cited as a motive, a not_encoded bullet a rule cites, and a
// threshold whose quote states another number are each reported.
func TestTraceProblemsFound(t *testing.T) {
	l, framework := seedList(t)
	for _, c := range []struct {
		name, old, new, want string
	}{
		{"uncited", ", seed: 'You want to do canary deployments or traffic splitting'}", "}",
			`"You want to do canary deployments or traffic splitting" is cited by no rule`},
		{"twice in one role", ", seed: 'Basic Prometheus metrics provide enough information'}",
			", seed: 'Basic Prometheus metrics provide enough information'}\n        - {answers: [security], if: mtls_required == false, says: x, seed: 'Basic Prometheus metrics'}",
			`cited twice as skip`},
		{"not the framework's", "seed: 'You have < 5 services'}", "seed: 'You have fewer than 5 services'}",
			`"You have fewer than 5 services" is not in the framework's text`},
		{"on a contradiction", "says: mTLS is required everywhere}", "says: mTLS is required everywhere, seed: 'You require security compliance (mTLS everywhere)'}",
			`encodes no bullet`},
		{"wrong role", "{motive: siem, if: siem_integration_needed == true, says: You want SIEM integration (centralised security monitoring), seed: 'You SIEM integration want (centralized security monitoring)'}",
			"{motive: siem, if: siem_integration_needed == true, says: x, seed: 'Break-glass procedures needed'}", `cited as trigger, which a NOW bullet is not`},
		{"not_encoded and cited", "      - seed: 'Complexity outweighs benefits (multi-region is HARD)'", "      - seed: 'You no DR requirement have'",
			`which a rule cites as skip`},
		{"threshold's number", "seed: '> 20% per month'", "seed: '> 1 hour per incident'", `does not state its value 20%`},
	} {
		t.Run(c.name, func(t *testing.T) {
			text := string(DefaultRulesYAML())
			if strings.Count(text, c.old) != 1 {
				t.Fatalf("the default rules hold %q %d times", c.old, strings.Count(text, c.old))
			}
			r, err := Parse("mutated.yml", []byte(strings.Replace(text, c.old, c.new, 1)))
			if err != nil {
				t.Fatal(err)
			}
			problems := traceProblems(r, l, framework)
			if !slices.ContainsFunc(problems, func(p string) bool { return strings.Contains(p, c.want) }) {
				t.Errorf("no problem says %q: %q", c.want, problems)
			}
		})
	}
}

// Only numbers the framework states carry its words; the rules' own
// numbers carry none, so that the page shows them as the rules' own.
func TestThresholdSeedsAreTheFrameworksNumbers(t *testing.T) {
	r, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	var own []string
	for _, th := range r.Thresholds {
		if th.Seed == "" {
			own = append(own, th.Name)
		}
	}
	slices.Sort(own)
	want := []string{"alert_fatigue_per_day", "fast_traffic_growth", "ha_nodes", "ha_workload_share", "idle_cpu_share",
		"paging_share", "slow_incident_resolution", "stateless_share"}
	if !slices.Equal(own, want) {
		t.Errorf("thresholds without the framework's words: %q, want %q", own, want)
	}
}
