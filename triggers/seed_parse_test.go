package triggers

import (
	"slices"
	"strings"
	"testing"
)

// seed: is a quote or a list of quotes on any condition, leaf or
// combination, and on a presumption and a threshold; not_encoded: lists a
// capability's bullets with their reasons.
func TestSeedAndNotEncodedParse(t *testing.T) {
	r, err := Parse("x.yml", []byte(`
thresholds:
  many:
    value: 5
    help: More than this many is many.
    seed: '> 5 microservices'
signals:
  services: {help: Services., kubernetes: microservices}
  simple:
    help: Calls are simple.
    type: bool
    fact: simple
    presume:
      - {value: true, when: 'services < 3', says: few services, seed: 'Webshop line'}
capabilities:
  c:
    title: C
    complexity: low
    trigger:
      any:
        - {motive: scale, all: ['services > {many}', 'simple == false'], seed: 'You have > 5 microservices'}
        - {motive: other, if: simple == true, seed: [one quote, another quote]}
    not_encoded:
      - {seed: Complexity outweighs benefits, reason: the team weighs it}
`))
	if err != nil {
		t.Fatal(err)
	}
	c := r.Capability("c")
	if got := c.Trigger.Any[0].Seed; !slices.Equal(got, []string{"You have > 5 microservices"}) {
		t.Errorf("combination seed = %q", got)
	}
	if got := c.Trigger.Any[1].Seed; !slices.Equal(got, []string{"one quote", "another quote"}) {
		t.Errorf("leaf seed = %q", got)
	}
	if got := r.Signal("simple").Presume[0].Seed; !slices.Equal(got, []string{"Webshop line"}) {
		t.Errorf("presumption seed = %q", got)
	}
	if got := r.Threshold("many").Seed; got != "> 5 microservices" {
		t.Errorf("threshold seed = %q", got)
	}
	if len(c.NotEncoded) != 1 || c.NotEncoded[0].Seed != "Complexity outweighs benefits" || c.NotEncoded[0].Reason != "the team weighs it" {
		t.Errorf("not_encoded = %+v", c.NotEncoded)
	}
	var quotes []string
	for _, ci := range r.Citations() {
		quotes = append(quotes, ci.Role+": "+ci.Quote)
	}
	if want := []string{"trigger: You have > 5 microservices", "trigger: one quote", "trigger: another quote", "presume: Webshop line"}; !slices.Equal(quotes, want) {
		t.Errorf("citations = %q, want %q", quotes, want)
	}

	_, err = Parse("bad.yml", []byte(`
signals:
  services: {help: Services., kubernetes: microservices}
capabilities:
  c:
    title: C
    complexity: low
    trigger: {if: services > 5, seed: {quote: no}}
    skip: {if: services < 2, seed: []}
    not_encoded:
      - {seed: A bullet}
      - {reason: no bullet named}
`))
	for _, want := range []string{
		"capabilities.c.trigger.seed: want the framework's words",
		"capabilities.c.skip.seed: want the framework's words",
		"capabilities.c.not_encoded[0].reason: missing reason",
		"capabilities.c.not_encoded[1].seed: missing seed",
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v, want %q", err, want)
		}
	}
}

// An organisation's rules file, extending the defaults or not, quotes
// nothing: seed: is the default rules' trace, never a requirement.
func TestRulesWithoutSeedParse(t *testing.T) {
	r, err := Parse("ours.yml", []byte(`extends: default
thresholds:
  our_services:
    value: 3
    help: Three services are enough for us to want tracing.
add_conditions:
  distributed_tracing:
    trigger: {if: 'microservices > {our_services}', says: Our services call each other in chains}
capabilities:
  chaos_engineering:
    title: Chaos Engineering
    complexity: low_medium
    trigger: {if: production_environment == true, says: You run production}
`))
	if err != nil {
		t.Fatal(err)
	}
	if th := r.Threshold("our_services"); th == nil || th.Seed != "" {
		t.Errorf("our_services = %+v", th)
	}
	for _, ci := range r.Citations() {
		if ci.Capability == "chaos_engineering" {
			t.Errorf("the replaced chaos_engineering still cites %q", ci.Quote)
		}
	}
	if _, err := Parse("plain.yml", []byte(`
signals:
  services: {help: Services., kubernetes: microservices}
capabilities:
  c: {title: C, complexity: low, trigger: {if: services > 5, says: Many services}}
`)); err != nil {
		t.Errorf("a rules file of its own without seed: %v", err)
	}
}
