// Package authproxy stands in for the auth front of managed Prometheus
// stores in tests: a proxy that verifies each request's AWS SigV4
// signature or bearer token before passing it to a real server, and a
// token endpoint that issues short-lived tokens by client credentials or by
// a Google service account's signed assertion. Tests of the exporter's
// managed-store auth run against it, both in unit tests and in test/e2e.
package authproxy
