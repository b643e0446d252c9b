// Command gendocs writes the parts of the documentation that are generated
// from the default rules, the framework's bullet list and the decision
// engine, between their markers: the per-capability tables of docs/rules.md
// (the rules' steps, and each bullet of the framework with the role it is
// encoded in), its thresholds, impact and datastore lists, the state table
// of docs/rules.md and docs/decisions.md, and docs/assess.md's example
// record and stderr, from a real assess run. Run it from the repository
// root:
//
//	go run ./tools/gendocs
//
// A unit test fails while the committed documents differ from what it
// writes.
package main
