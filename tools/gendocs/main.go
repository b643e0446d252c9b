package main

import (
	"fmt"
	"os"

	"github.com/capability-exporter/capability_exporter/triggers"
	"github.com/capability-exporter/capability_exporter/triggers/bullets"
)

// inputs are what the blocks are generated from.
type inputs struct {
	rules   *triggers.Rules
	bullets *bullets.List
	root    string
	assess  *assessRun // the example assess run, made once on first use
}

// assessRun runs the example assess once for the blocks that show it.
func (in *inputs) assessRun() (*assessRun, error) {
	if in.assess == nil {
		run, err := runAssess(in.root)
		if err != nil {
			return nil, err
		}
		in.assess = run
	}
	return in.assess, nil
}

// blocks are the generated blocks, by file and name.
type block struct {
	file, name string
	body       func(*inputs) (string, error)
}

var blocks = []block{
	{"docs/rules.md", "thresholds", func(in *inputs) (string, error) { return ThresholdTable(in.rules), nil }},
	{"docs/rules.md", "impact and exit", func(in *inputs) (string, error) { return ImpactTable(in.rules), nil }},
	{"docs/rules.md", "datastores", func(in *inputs) (string, error) { return DatastoreList(in.rules), nil }},
	{"docs/rules.md", "capability tables", func(in *inputs) (string, error) { return CapabilityTables(in.rules, in.bullets) }},
	{"docs/decisions.md", "state table", func(*inputs) (string, error) { return StateTable() }},
	{"docs/rules.md", "state table", func(*inputs) (string, error) { return StateTable() }},
	{"docs/assess.md", "example record", func(in *inputs) (string, error) {
		run, err := in.assessRun()
		if err != nil {
			return "", err
		}
		return AssessExample(run), nil
	}},
	{"docs/assess.md", "example stderr", func(in *inputs) (string, error) {
		run, err := in.assessRun()
		if err != nil {
			return "", err
		}
		return AssessStderr(run), nil
	}},
}

// bulletList is the framework's bullet list, under the repository root:
// the test data the rules' test of their seed: quotes reads too.
const bulletList = "triggers/testdata/seed/bullets.yml"

// generate returns each file's text with its blocks written afresh; root
// is the repository root.
func generate(root string) (map[string]string, error) {
	r, err := triggers.Default()
	if err != nil {
		return nil, err
	}
	l, err := bullets.Load(root + "/" + bulletList)
	if err != nil {
		return nil, err
	}
	in := &inputs{rules: r, bullets: l, root: root}
	out := map[string]string{}
	for _, b := range blocks {
		text, ok := out[b.file]
		if !ok {
			data, err := os.ReadFile(root + "/" + b.file)
			if err != nil {
				return nil, err
			}
			text = string(data)
		}
		body, err := b.body(in)
		if err != nil {
			return nil, fmt.Errorf("%s, %s: %w", b.file, b.name, err)
		}
		if text, err = replaceBlock(text, b.name, body); err != nil {
			return nil, fmt.Errorf("%s: %w", b.file, err)
		}
		out[b.file] = text
	}
	return out, nil
}

func main() {
	files, err := generate(".")
	if err == nil {
		for name, text := range files {
			if err = os.WriteFile(name, []byte(text), 0o644); err != nil {
				break
			}
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "gendocs:", err)
		os.Exit(1)
	}
}
