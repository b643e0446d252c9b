package yamlpos

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Error is one problem in a file, located by line and named by field path.
type Error struct {
	File  string
	Line  int
	Field string // dotted path such as capabilities.service_mesh.trigger
	Msg   string
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
	}
	b.WriteString(": ")
	if e.Field != "" {
		b.WriteString(e.Field)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Errors is every problem found in one file, in line order. Loaders collect
// all of them rather than stopping at the first, so one run of `check` shows
// the whole list.
type Errors []*Error

func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// Err returns es as an error, or nil when empty.
func (es Errors) Err() error {
	if len(es) == 0 {
		return nil
	}
	return es
}

var yamlLineRE = regexp.MustCompile(`^(?:yaml: )?line (\d+): (.*)$`)
var unknownFieldRE = regexp.MustCompile(`^field (\S+) not found(.*)$`)
var yamlTypeRE = regexp.MustCompile(` in type [\w.]+`)
var yamlNumberTypeRE = regexp.MustCompile(`^(?:u?int(?:8|16|32|64)?|float(?:32|64))$`)
var yamlUnmarshalRE = regexp.MustCompile("^cannot unmarshal !!(\\w+)(?: (`.*`))? into (\\S+)$")

// DecodeErrors turns a yaml decoding error into located Errors. typeNames maps
// Go type names in yaml's messages to words a user knows; data, when given,
// lets each error name the field at its line.
func DecodeErrors(file string, err error, typeNames map[string]string, data []byte) Errors {
	var doc yaml.Node
	if data != nil {
		_ = yaml.Unmarshal(data, &doc)
	}
	var msgs []string
	var te *yaml.TypeError
	if errors.As(err, &te) {
		msgs = te.Errors
	} else {
		msgs = []string{strings.TrimPrefix(err.Error(), "yaml: ")}
	}
	var out Errors
	for _, m := range msgs {
		e := &Error{File: file, Msg: m}
		if sm := yamlLineRE.FindStringSubmatch(m); sm != nil {
			e.Line, _ = strconv.Atoi(sm[1])
			e.Msg = sm[2]
		}
		e.Msg = yamlTypeRE.ReplaceAllStringFunc(e.Msg, func(s string) string {
			name := strings.TrimPrefix(s, " in type ")
			if word, ok := typeNames[name]; ok {
				return " in " + word
			}
			return s
		})
		if sm := unknownFieldRE.FindStringSubmatch(e.Msg); sm != nil {
			e.Field = sm[1]
			e.Msg = "unknown field" + sm[2]
		}
		if path := FieldAt(&doc, e.Line); path != "" {
			e.Field = path
		}
		if sm := yamlUnmarshalRE.FindStringSubmatch(e.Msg); sm != nil {
			// The node of the wrong kind rather than the first key on its
			// line: a block mapping under help: starts on its own first key.
			if path := valueAt(&doc, e.Line, "!!"+sm[1], e.Field); path != "" {
				e.Field = path
			}
		}
		out = append(out, e)
	}
	return out
}

// LineError is an error that knows its line, for unmarshalers of scalar
// types whose errors yaml would otherwise leave unlocated.
func LineError(n *yaml.Node, err error) error {
	return fmt.Errorf("line %d: %w", n.Line, err)
}

// PlainTypeError words yaml's "cannot unmarshal !!seq into string" as "want
// a string, found a list"; typeNames are the Go types that read a mapping.
// Other messages are returned as they are.
func PlainTypeError(msg string, typeNames map[string]string) string {
	sm := yamlUnmarshalRE.FindStringSubmatch(msg)
	if sm == nil {
		return msg
	}
	want := wantWords(sm[3], typeNames)
	if want == "" {
		return msg
	}
	return "want " + want + ", found " + foundWords(sm[1], sm[2])
}

// wantWords names what a Go type of yaml's message reads from YAML, or ""
// when there are no plain words for it.
func wantWords(goType string, typeNames map[string]string) string {
	switch {
	case goType == "string":
		return "a string"
	case goType == "bool":
		return "true or false"
	case yamlNumberTypeRE.MatchString(goType):
		return "a number"
	case goType == "[]string":
		return "a list of strings"
	case strings.HasPrefix(goType, "[]"):
		return "a list"
	case strings.HasPrefix(goType, "map["), typeNames[goType] != "":
		return "a mapping"
	}
	return ""
}

// foundWords names a YAML node by its tag and yaml's excerpt of its value.
func foundWords(tag, excerpt string) string {
	switch tag {
	case "seq":
		return "a list"
	case "map":
		return "a mapping"
	case "str":
		return "the string " + excerpt
	case "int", "float":
		return "the number " + excerpt
	}
	return strings.TrimSpace("!!" + tag + " " + excerpt)
}
