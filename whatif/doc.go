// Package whatif answers what-if questions on the exporter's live
// evaluation: facts, overrides and thresholds, written as the config writes
// them, laid over the last published evaluation's snapshot and decided again
// at once. No source is asked, nothing is published, and neither the config
// nor the history changes. The JSON API (POST /api/v1/what-if) and the MCP
// server's what_if tool ask through one Service, so that one bound on
// concurrent what-ifs covers both.
package whatif
