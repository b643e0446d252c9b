package report

import (
	"io"
	"testing"
)

// The page and the API build a Report on every request; the what-if search
// runs in the rules engine, once per evaluation.
func BenchmarkBuild(b *testing.B) {
	st := fixtureState(b)
	for b.Loop() {
		_ = WriteJSON(io.Discard, Build(st, Options{Now: generatedAt}))
	}
}
