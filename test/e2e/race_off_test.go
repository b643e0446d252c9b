//go:build e2e && !race

package e2e

// raceEnabled: this test binary runs without the race detector, and so does
// the exporter binary it launches (the perf tier's figures are taken so).
const raceEnabled = false
