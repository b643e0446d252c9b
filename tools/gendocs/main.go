// Command gendocs writes the parts of the documentation that are generated
// from the default rules, the framework's bullet list and the decision
// engine, between their markers: the per-capability tables of docs/rules.md
// (the rules' steps, and each bullet of the framework with the role it is
// encoded in), its thresholds, impact and
// datastore lists, and the state table of the README. Run it from the
// repository root:
//
//	go run ./tools/gendocs
//
// A unit test fails while the committed documents differ from what it
// writes.
package main

import (
	"fmt"
	"os"

	"github.com/capability-exporter/capability_exporter/triggers"
	"github.com/capability-exporter/capability_exporter/triggers/bullets"
)

// blocks are the generated blocks, by file and name.
type block struct {
	file, name string
	body       func(*triggers.Rules, *bullets.List) (string, error)
}

var blocks = []block{
	{"docs/rules.md", "thresholds", func(r *triggers.Rules, _ *bullets.List) (string, error) { return ThresholdTable(r), nil }},
	{"docs/rules.md", "impact and exit", func(r *triggers.Rules, _ *bullets.List) (string, error) { return ImpactTable(r), nil }},
	{"docs/rules.md", "datastores", func(r *triggers.Rules, _ *bullets.List) (string, error) { return DatastoreList(r), nil }},
	{"docs/rules.md", "capability tables", CapabilityTables},
	{"README.md", "state table", func(*triggers.Rules, *bullets.List) (string, error) { return StateTable() }},
	{"docs/rules.md", "state table", func(*triggers.Rules, *bullets.List) (string, error) { return StateTable() }},
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
		body, err := b.body(r, l)
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
