package scope

import (
	"fmt"
	"strings"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
)

// LogQL has no Go parser light enough to depend on, but what it needs here
// is small: outside its strings ("…" with escapes, `…` raw) and # comments,
// a brace opens a stream selector and a bracket a range. Braces and
// brackets inside strings (line_format templates, regular expressions) are
// text and are left alone. The matchers inside a stream selector are the
// same as PromQL's and are read by the Prometheus parser.

// LogQL adds matchers to every stream selector of query. With no matchers
// the query is returned as written.
func LogQL(query string, matchers []*labels.Matcher) (string, error) {
	if len(matchers) == 0 {
		return query, nil
	}
	var b strings.Builder
	last := 0
	err := scanLogQL(query, func(open, end int) error {
		inner := query[open+1 : end]
		have, err := promql.ParseMetricSelector("{" + inner + "}")
		if err != nil {
			return fmt.Errorf("stream selector %s: %w", query[open:end+1], err)
		}
		add := missingFrom(have, matchers)
		if len(add) == 0 {
			return nil
		}
		b.WriteString(query[last : open+1])
		if strings.Contains(inner, "#") {
			// A # comment inside the braces runs to the end of its line
			// and would swallow matchers written after it: the scope goes
			// first.
			for _, m := range add {
				b.WriteString(m.String() + ", ")
			}
			b.WriteString(strings.TrimLeft(inner, " \t\r\n"))
			last = end
			return nil
		}
		kept := strings.TrimRight(inner, " \t\r\n")
		b.WriteString(kept)
		for i, m := range add {
			if i > 0 || kept != "" && !strings.HasSuffix(kept, ",") {
				b.WriteString(",")
			}
			if i > 0 || kept != "" {
				b.WriteString(" ")
			}
			b.WriteString(m.String())
		}
		last = end
		return nil
	}, nil)
	if err != nil {
		return "", fmt.Errorf("cannot add the scope's matchers to %q: %w", query, err)
	}
	b.WriteString(query[last:])
	return b.String(), nil
}

// CheckLogQL reports whether the scanner can read query's strings, stream
// selectors and ranges. It is not a full LogQL check: Loki has the last word.
func CheckLogQL(query string) error {
	return scanLogQL(query, func(open, end int) error {
		_, err := promql.ParseMetricSelector(query[open : end+1])
		return err
	}, nil)
}

// LogQLWindow returns the longest range of a LogQL query ([30d] in
// count_over_time(... [30d])); 0 for none.
func LogQLWindow(query string) (time.Duration, error) {
	var longest time.Duration
	var bad error
	err := scanLogQL(query, nil, func(text string) {
		d, err := model.ParseDuration(strings.TrimSpace(text))
		if err != nil {
			td, terr := time.ParseDuration(strings.TrimSpace(text))
			if terr != nil {
				bad = fmt.Errorf("range [%s]: %w", text, err)
				return
			}
			d = model.Duration(td)
		}
		longest = max(longest, time.Duration(d))
	})
	if err == nil {
		err = bad
	}
	return longest, err
}

// scanLogQL walks query outside strings and comments, calling selector with
// the offsets of each stream selector's braces and rng with the text of each
// range between brackets.
func scanLogQL(query string, selector func(open, end int) error, rng func(text string)) error {
	for i := 0; i < len(query); i++ {
		switch c := query[i]; c {
		case '"', '`':
			end, err := stringEnd(query, i)
			if err != nil {
				return err
			}
			i = end
		case '#':
			for i < len(query) && query[i] != '\n' {
				i++
			}
		case '{':
			end, err := selectorEnd(query, i)
			if err != nil {
				return err
			}
			if selector != nil {
				if err := selector(i, end); err != nil {
					return err
				}
			}
			i = end
		case '}':
			return fmt.Errorf("unbalanced } at offset %d", i)
		case '[':
			end := strings.IndexAny(query[i+1:], "[]\"`{}")
			if end < 0 || query[i+1+end] != ']' {
				return fmt.Errorf("unclosed [ at offset %d", i)
			}
			if rng != nil {
				rng(query[i+1 : i+1+end])
			}
			i += 1 + end
		}
	}
	return nil
}

// stringEnd returns the offset of the quote that closes the string opening
// at start.
func stringEnd(query string, start int) (int, error) {
	quote := query[start]
	for j := start + 1; j < len(query); j++ {
		switch query[j] {
		case '\\':
			if quote == '"' {
				j++
			}
		case quote:
			return j, nil
		}
	}
	return 0, fmt.Errorf("unterminated string at offset %d", start)
}

// selectorEnd returns the offset of the brace that closes the stream
// selector opening at open.
func selectorEnd(query string, open int) (int, error) {
	for j := open + 1; j < len(query); j++ {
		switch query[j] {
		case '"', '`':
			end, err := stringEnd(query, j)
			if err != nil {
				return 0, err
			}
			j = end
		case '#':
			for j < len(query) && query[j] != '\n' {
				j++
			}
		case '{':
			return 0, fmt.Errorf("{ inside the stream selector opened at offset %d", open)
		case '}':
			return j, nil
		}
	}
	return 0, fmt.Errorf("unclosed { at offset %d", open)
}
