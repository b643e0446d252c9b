// Package httpapi is the sources that query an HTTP API: a server that
// speaks the Prometheus HTTP API, and Loki. They share the client (auth,
// TLS, tenant), the retries, the errors by reason and the cache of slow
// answers, so they fail alike. What a query reads and how it is scoped is
// package scope's; this package sends what scope returns.
package httpapi
