package triggers

import (
	"testing"
	"time"
)

// BenchmarkEvaluateDefaultRules measures one evaluation of all eight
// capabilities of the default rules on the webshop snapshot: the work each
// evaluation cycle adds on top of the sources.
func BenchmarkEvaluateDefaultRules(b *testing.B) {
	r, err := Default()
	if err != nil {
		b.Fatal(err)
	}
	snap := webshop()
	now := time.Unix(0, 0)
	b.ReportAllocs()
	for b.Loop() {
		Evaluate(r, snap, now)
	}
}

// BenchmarkParseDefaultRules measures loading the embedded rules, which
// happens at start and on each reload.
func BenchmarkParseDefaultRules(b *testing.B) {
	data := DefaultRulesYAML()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse("default.yml", data); err != nil {
			b.Fatal(err)
		}
	}
}
