package yamlpos

import (
	"fmt"
	"iter"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Key is a mapping key with its line, in file order.
type Key struct {
	Name string
	Line int
	Node *yaml.Node // the value
}

// MapKeys returns the keys of the mapping under field of m, in order.
func MapKeys(m *yaml.Node, field string) []Key {
	var out []Key
	for k, v := range Pairs(MappingValue(m, field)) {
		out = append(out, Key{k.Value, k.Line, v})
	}
	return out
}

// NodeLine returns the line of the deepest part of path that doc holds:
// each part a mapping key, optionally followed by sequence indexes
// ("first_known[1]", "any[0]"). doc is a parsed document or any node in
// one. When not even the first part is there it returns the line of doc's
// top node, so an error about a missing field points at its would-be parent.
func NodeLine(doc *yaml.Node, path ...string) int {
	n := doc
	if r := Root(doc); r != nil {
		n = r
	}
	line := n.Line
	for _, part := range path {
		if n.Kind != yaml.MappingNode {
			return line
		}
		name, rest := part, ""
		k, v := mappingEntry(n, name)
		if k == nil {
			// A key with brackets of its own is rare; read them as
			// indexes only when no such key is there.
			name, rest, _ = strings.Cut(part, "[")
			k, v = mappingEntry(n, name)
		}
		if k == nil {
			return line
		}
		line, n = k.Line, v
		for rest != "" {
			var idx string
			idx, rest, _ = strings.Cut(rest, "]")
			rest = strings.TrimPrefix(rest, "[")
			i, err := strconv.Atoi(idx)
			if err != nil || n.Kind != yaml.SequenceNode || i < 0 || i >= len(n.Content) {
				return line
			}
			n = n.Content[i]
			line = n.Line
		}
	}
	return line
}

// MappingValue returns the value node under name in mapping m, or nil when
// m is not a mapping or has no such key.
func MappingValue(m *yaml.Node, name string) *yaml.Node {
	_, v := mappingEntry(m, name)
	return v
}

// mappingEntry returns the key and value nodes of name in mapping m, or nils.
func mappingEntry(m *yaml.Node, name string) (key, value *yaml.Node) {
	for k, v := range Pairs(m) {
		if k.Value == name {
			return k, v
		}
	}
	return nil, nil
}

// Root returns the top node of a parsed document, or nil when the document
// is empty. Any other node is its own root.
func Root(doc *yaml.Node) *yaml.Node {
	if doc == nil || doc.Kind != yaml.DocumentNode {
		return doc
	}
	if len(doc.Content) == 0 {
		return nil
	}
	return doc.Content[0]
}

// FieldLine returns the line of the deepest part of a dotted field path
// such as capabilities.x.trigger.any[1] or
// signals.x.prometheus.alert_history.window that the document holds.
func FieldLine(root *yaml.Node, field string) int {
	return NodeLine(root, strings.Split(field, ".")...)
}

// FieldAt returns the dotted path of the mapping key on line of a parsed
// document (sequence items as [i]), or "" when no key starts there.
func FieldAt(doc *yaml.Node, line int) string {
	if line <= 0 {
		return ""
	}
	var walk func(n *yaml.Node, path string) string
	walk = func(n *yaml.Node, path string) string {
		switch n.Kind {
		case yaml.DocumentNode:
			for _, c := range n.Content {
				if p := walk(c, path); p != "" {
					return p
				}
			}
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				k, v := n.Content[i], n.Content[i+1]
				p := k.Value
				if path != "" {
					p = path + "." + k.Value
				}
				if k.Line == line {
					return p
				}
				if found := walk(v, p); found != "" {
					return found
				}
			}
		case yaml.SequenceNode:
			for i, c := range n.Content {
				p := fmt.Sprintf("%s[%d]", path, i)
				if c.Line == line && c.Kind == yaml.ScalarNode {
					return p
				}
				if found := walk(c, p); found != "" {
					return found
				}
			}
		}
		return ""
	}
	return walk(doc, "")
}

// valueAt returns the dotted path of a value on line tagged tag (!!map,
// !!seq, !!str, ...): the one at path near, else near's closest ancestor,
// else the shallowest. It returns "" when no value fits.
func valueAt(doc *yaml.Node, line int, tag, near string) string {
	best, bestDepth, bestNear := "", -1, -1
	var walk func(n *yaml.Node, path string, depth int)
	walk = func(n *yaml.Node, path string, depth int) {
		visit := func(v *yaml.Node, p string) {
			if v.Line == line && v.ShortTag() == tag {
				closeness := -1
				if p == near || strings.HasPrefix(near, p+".") || strings.HasPrefix(near, p+"[") {
					closeness = len(p)
				}
				if closeness > bestNear || (closeness == bestNear && (bestDepth < 0 || depth < bestDepth)) {
					best, bestDepth, bestNear = p, depth, closeness
				}
			}
			walk(v, p, depth+1)
		}
		switch n.Kind {
		case yaml.DocumentNode:
			for _, c := range n.Content {
				walk(c, path, depth)
			}
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				p := n.Content[i].Value
				if path != "" {
					p = path + "." + p
				}
				visit(n.Content[i+1], p)
			}
		case yaml.SequenceNode:
			for i, c := range n.Content {
				visit(c, fmt.Sprintf("%s[%d]", path, i))
			}
		}
	}
	walk(doc, "", 0)
	return best
}

// Pairs yields the key and value nodes of a mapping node, in file order;
// of any other node (or nil), nothing.
func Pairs(n *yaml.Node) iter.Seq2[*yaml.Node, *yaml.Node] {
	return func(yield func(k, v *yaml.Node) bool) {
		if n == nil || n.Kind != yaml.MappingNode {
			return
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			if !yield(n.Content[i], n.Content[i+1]) {
				return
			}
		}
	}
}
