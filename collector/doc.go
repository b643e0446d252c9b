// Package collector runs the evaluation: on an interval it asks the sources
// (facts, Prometheus, Loki, Kubernetes) for signal values, has the rules
// decide, publishes the result, and exposes the published evaluation as
// Prometheus metrics, built once per evaluation. Each source lives in its
// own package and is built from its typed config section (sources.go).
package collector
