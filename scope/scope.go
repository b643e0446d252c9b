package scope

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
)

// promql parses PromQL as the exporter's targets may accept it: experimental
// functions included, since the server, not the exporter, decides what it
// supports.
var promql = parser.NewParser(parser.Options{EnableExperimentalFunctions: true})

// refRE matches a selector reference: ${name}.
var refRE = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)\}`)

// NameRE is what a selector name may look like.
var NameRE = regexp.MustCompile(`^[a-z_][a-z0-9_]*$`)

// References returns the selector names text refers to as ${name}, in order
// of first use.
func References(text string) []string {
	var out []string
	for _, m := range refRE.FindAllStringSubmatch(text, -1) {
		if !slices.Contains(out, m[1]) {
			out = append(out, m[1])
		}
	}
	return out
}

// Expand replaces each ${name} in text by selectors[name], as written. A
// name that selectors lacks is an error naming it; text is then returned
// with that reference left in place.
func Expand(text string, selectors map[string]string) (string, error) {
	var missing []string
	out := refRE.ReplaceAllStringFunc(text, func(ref string) string {
		name := ref[2 : len(ref)-1]
		if v, ok := selectors[name]; ok {
			return v
		}
		if !slices.Contains(missing, name) {
			missing = append(missing, name)
		}
		return ref
	})
	if len(missing) > 0 {
		return out, &UnknownSelectorError{Names: missing, Known: sortedKeys(selectors)}
	}
	return out, nil
}

// UnknownSelectorError names selector references that have no definition.
type UnknownSelectorError struct {
	Names []string
	Known []string
}

func (e *UnknownSelectorError) Error() string {
	refs := make([]string, len(e.Names))
	for i, n := range e.Names {
		refs[i] = "${" + n + "}"
	}
	s := "unknown selector " + strings.Join(refs, ", ")
	if len(e.Known) > 0 {
		s += " (defined: " + strings.Join(e.Known, ", ") + ")"
	}
	return s
}

func sortedKeys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// ParseMatcher reads one label matcher as PromQL and LogQL write it inside
// braces: cluster="prod-eu", region=~"eu-.*". A metric name matcher is
// refused: it would replace the metric of every selector.
func ParseMatcher(s string) (*labels.Matcher, error) {
	ms, err := promql.ParseMetricSelector("{" + s + "}")
	if err != nil {
		return nil, fmt.Errorf("bad matcher %q (want e.g. cluster=\"prod-eu\"): %w", s, err)
	}
	if len(ms) != 1 {
		return nil, fmt.Errorf("bad matcher %q: want exactly one matcher, found %d", s, len(ms))
	}
	if ms[0].Name == model.MetricNameLabel {
		return nil, fmt.Errorf("bad matcher %q: a scope cannot select the metric name", s)
	}
	return ms[0], nil
}

// ParseMatchers reads matchers with ParseMatcher; the error names the first
// bad one by index.
func ParseMatchers(ss []string) ([]*labels.Matcher, error) {
	out := make([]*labels.Matcher, 0, len(ss))
	for i, s := range ss {
		m, err := ParseMatcher(s)
		if err != nil {
			return nil, &MatcherError{Index: i, Err: err}
		}
		out = append(out, m)
	}
	return out, nil
}

// MatcherError is a matcher of a list that does not parse.
type MatcherError struct {
	Index int
	Err   error
}

func (e *MatcherError) Error() string { return e.Err.Error() }
func (e *MatcherError) Unwrap() error { return e.Err }

// sameMatcher says whether two matchers select alike as written.
func sameMatcher(a, b *labels.Matcher) bool {
	return a.Name == b.Name && a.Type == b.Type && a.Value == b.Value
}

// missingFrom returns the matchers of scope that have is lacks. A matcher on
// a label the selector already matches otherwise is still added: both must
// hold, so the scope narrows the selector and never widens it.
func missingFrom(have, scope []*labels.Matcher) []*labels.Matcher {
	var out []*labels.Matcher
	for _, m := range scope {
		if !slices.ContainsFunc(have, func(h *labels.Matcher) bool { return sameMatcher(h, m) }) {
			out = append(out, m)
		}
	}
	return out
}
