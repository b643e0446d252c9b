// Package report explains an evaluation: it turns a published
// collector.State into one stable document (Report) and renders it as the
// JSON API, the server-rendered status page and a Markdown decision record.
// All three read the same Report, built from one State, so they never
// disagree and never trigger an evaluation of their own.
//
// The JSON field names of Report (model.go) are a public API (documented in docs/api.md):
// add fields, never rename or remove them within api_version v1.
package report
