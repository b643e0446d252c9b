package triggers

import (
	"strings"
	"testing"
)

// value_of presumes a judgment to be what a measure of its type reads: a
// proxy, not a bound. The loader takes a measured signal of the same type
// only, and never value and value_of together.
func TestPresumeValueOfParse(t *testing.T) {
	rules := func(presume string) string {
		return `
signals:
  resolve: {help: Time to resolve., type: duration, kubernetes: microservices}
  count: {help: A count., kubernetes: microservices}
  other: {help: Another judgment., type: duration, fact: other}
  debug:
    help: Time to debug.
    type: duration
    fact: debug
    presume:
      - ` + presume + `
capabilities:
  c:
    title: C
    complexity: low
    trigger: {motive: slow, if: debug > 1h}
`
	}
	if _, err := Parse("ok.yml", []byte(rules(`{value_of: resolve, when: 'resolve > 1h', says: slow to resolve}`))); err != nil {
		t.Fatalf("value_of a measured duration: %v", err)
	}
	for presume, want := range map[string]string{
		`{value_of: nothing, when: 'resolve > 1h', says: s}`:            `unknown signal "nothing"`,
		`{value_of: count, when: 'resolve > 1h', says: s}`:              "count is a number",
		`{value_of: other, when: 'resolve > 1h', says: s}`:              "a judgment",
		`{value: 1h, value_of: resolve, when: 'resolve > 1h', says: s}`: "not both",
		`{when: 'resolve > 1h', says: s}`:                               "missing value",
	} {
		_, err := Parse("bad.yml", []byte(rules(presume)))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: error %v, want %q", presume, err, want)
		}
	}
}
