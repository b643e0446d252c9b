// Package scope reads and rewrites the queries of the rules: every PromQL
// and LogQL text the exporter sends or reasons about passes through here.
//
// Rewriting: named selectors written ${name} are expanded, and the
// configured label matchers (a cluster, say) are added to every series
// selector, so that an exporter pointed at a store shared by several
// clusters reads only its own. PromQL is rewritten through the Prometheus
// parser, never by string edits; LogQL stream selectors are found by a
// small scanner that knows LogQL's strings, and their matchers are read by
// the same parser.
//
// Reading: how far back a query reads (the window of its ranges and
// subqueries, each selector's lookback through ranges, offsets and @), and
// whether a selector is a plain vector selector that can take a range.
//
// The package is pure: no network, no config, no logging.
package scope
