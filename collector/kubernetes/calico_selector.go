package kubernetes

import (
	"fmt"
	"slices"
	"strings"

	"github.com/capability-exporter/capability_exporter/triggers"
)

// Calico writes its selectors as expressions ("app == 'web' && !has(canary)",
// "projectcalico.org/namespace not in {'kube-system'}"). The exporter reads
// them to tell which namespaces a GlobalNetworkPolicy applies to, with
// labels it may not know: a namespace's labels are known, a pod's are not.
// So a selector evaluates to a three-valued truth per namespace: true when
// it selects every pod there whatever their labels, false when none,
// unknown when it depends on pod labels.

// labelLookup answers a label key: its value and presence, or known false
// when the exporter cannot tell (a pod's label).
type labelLookup func(key string) (value string, present, known bool)

type calicoSelector func(labelLookup) triggers.Truth

// parseCalicoSelector parses Calico's selector syntax: all(), global(),
// has(k), k == 'v', k != 'v', k in {...}, k not in {...}, k contains 'v',
// k starts with 'v', k ends with 'v', combined with !, &&, || and
// parentheses. An empty selector selects everything.
func parseCalicoSelector(s string) (calicoSelector, error) {
	if strings.TrimSpace(s) == "" {
		return func(labelLookup) triggers.Truth { return triggers.True }, nil
	}
	toks, err := calicoTokens(s)
	if err != nil {
		return nil, err
	}
	p := &calicoParser{toks: toks}
	sel, err := p.or()
	if err != nil {
		return nil, err
	}
	if p.pos < len(p.toks) {
		return nil, fmt.Errorf("unexpected %q", p.toks[p.pos])
	}
	return sel, nil
}

func isCalicoKeyChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("_.-/", c) >= 0
}

func calicoTokens(s string) ([]string, error) {
	var toks []string
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case i+1 < len(s) && slices.Contains([]string{"&&", "||", "==", "!="}, s[i:i+2]):
			toks = append(toks, s[i:i+2])
			i += 2
		case strings.IndexByte("!(){},", c) >= 0:
			toks = append(toks, string(c))
			i++
		case c == '\'' || c == '"':
			j := strings.IndexByte(s[i+1:], c)
			if j < 0 {
				return nil, fmt.Errorf("unterminated string at offset %d", i)
			}
			toks = append(toks, s[i:i+j+2])
			i += j + 2
		case isCalicoKeyChar(c):
			j := i
			for j < len(s) && isCalicoKeyChar(s[j]) {
				j++
			}
			toks = append(toks, s[i:j])
			i = j
		default:
			return nil, fmt.Errorf("unexpected %q at offset %d", c, i)
		}
	}
	return toks, nil
}

type calicoParser struct {
	toks []string
	pos  int
}

func (p *calicoParser) peek(n int) string {
	if p.pos+n < len(p.toks) {
		return p.toks[p.pos+n]
	}
	return ""
}

func (p *calicoParser) expect(tok string) error {
	if p.peek(0) != tok {
		if p.peek(0) == "" {
			return fmt.Errorf("want %q, got the end", tok)
		}
		return fmt.Errorf("want %q, got %q", tok, p.peek(0))
	}
	p.pos++
	return nil
}

func (p *calicoParser) or() (calicoSelector, error) {
	left, err := p.and()
	for err == nil && p.peek(0) == "||" {
		p.pos++
		var right calicoSelector
		if right, err = p.and(); err == nil {
			l := left
			left = func(lk labelLookup) triggers.Truth { return l(lk).Or(right(lk)) }
		}
	}
	return left, err
}

func (p *calicoParser) and() (calicoSelector, error) {
	left, err := p.unary()
	for err == nil && p.peek(0) == "&&" {
		p.pos++
		var right calicoSelector
		if right, err = p.unary(); err == nil {
			l := left
			left = func(lk labelLookup) triggers.Truth { return l(lk).And(right(lk)) }
		}
	}
	return left, err
}

func (p *calicoParser) unary() (calicoSelector, error) {
	switch p.peek(0) {
	case "!":
		p.pos++
		inner, err := p.unary()
		if err != nil {
			return nil, err
		}
		return func(lk labelLookup) triggers.Truth { return inner(lk).Not() }, nil
	case "(":
		p.pos++
		inner, err := p.or()
		if err != nil {
			return nil, err
		}
		return inner, p.expect(")")
	}
	return p.term()
}

func (p *calicoParser) str() (string, error) {
	t := p.peek(0)
	if len(t) < 2 || (t[0] != '\'' && t[0] != '"') {
		return "", fmt.Errorf("want a quoted string, got %q", t)
	}
	p.pos++
	return t[1 : len(t)-1], nil
}

func (p *calicoParser) set() ([]string, error) {
	if err := p.expect("{"); err != nil {
		return nil, err
	}
	var out []string
	for p.peek(0) != "}" {
		v, err := p.str()
		if err != nil {
			return nil, err
		}
		out = append(out, v)
		if p.peek(0) == "," {
			p.pos++
		}
	}
	p.pos++
	return out, nil
}

func (p *calicoParser) term() (calicoSelector, error) {
	key := p.peek(0)
	if key == "" || !isCalicoKeyChar(key[0]) {
		return nil, fmt.Errorf("want a label, got %q", key)
	}
	p.pos++
	switch {
	case (key == "all" || key == "global") && p.peek(0) == "(":
		p.pos++
		if err := p.expect(")"); err != nil {
			return nil, err
		}
		// global() selects what has no namespace (host endpoints, global
		// sets): no pod of any namespace.
		t := triggers.Truthf(key == "all")
		return func(labelLookup) triggers.Truth { return t }, nil
	case key == "has" && p.peek(0) == "(":
		p.pos++
		k := p.peek(0)
		p.pos++
		if err := p.expect(")"); err != nil {
			return nil, err
		}
		return labelTest(k, func(_ string, present bool) bool { return present }), nil
	}
	op := p.peek(0)
	p.pos++
	switch op {
	case "==", "!=", "contains":
		v, err := p.str()
		if err != nil {
			return nil, err
		}
		switch op {
		case "==":
			return labelTest(key, func(got string, present bool) bool { return present && got == v }), nil
		case "!=":
			return labelTest(key, func(got string, present bool) bool { return !present || got != v }), nil
		}
		return labelTest(key, func(got string, present bool) bool { return present && strings.Contains(got, v) }), nil
	case "starts", "ends":
		if err := p.expect("with"); err != nil {
			return nil, err
		}
		v, err := p.str()
		if err != nil {
			return nil, err
		}
		if op == "starts" {
			return labelTest(key, func(got string, present bool) bool { return present && strings.HasPrefix(got, v) }), nil
		}
		return labelTest(key, func(got string, present bool) bool { return present && strings.HasSuffix(got, v) }), nil
	case "in":
		vs, err := p.set()
		if err != nil {
			return nil, err
		}
		return labelTest(key, func(got string, present bool) bool { return present && slices.Contains(vs, got) }), nil
	case "not":
		if err := p.expect("in"); err != nil {
			return nil, err
		}
		vs, err := p.set()
		if err != nil {
			return nil, err
		}
		return labelTest(key, func(got string, present bool) bool { return !present || !slices.Contains(vs, got) }), nil
	}
	return nil, fmt.Errorf("want an operator after %q, got %q", key, op)
}

// labelTest is one comparison on a label, unknown when the label is.
func labelTest(key string, f func(value string, present bool) bool) calicoSelector {
	return func(lk labelLookup) triggers.Truth {
		v, present, known := lk(key)
		if !known {
			return triggers.Unknown
		}
		return triggers.Truthf(f(v, present))
	}
}
