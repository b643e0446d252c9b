// Package collector keeps the exporter's published evaluation: the one
// immutable State that /metrics, the status page and the API read.
//
// A Scheduler makes it on an interval, once at start and after each reload,
// in steps: plan what each source is asked, collect the answers
// concurrently, merge them into the values the rules read, evaluate the
// rules with the decisions' history, and publish. An Exporter renders the
// published State as Prometheus metrics, built once per evaluation, so that
// a scrape never reaches a source. Each source (facts, Prometheus, Loki,
// Kubernetes) lives in its own package and is built from its typed config
// section (sources.go).
package collector
