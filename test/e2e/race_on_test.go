//go:build e2e && race

package e2e

// raceEnabled: this test binary runs under the race detector, so the
// exporter binary it launches is built with -race too.
const raceEnabled = true
