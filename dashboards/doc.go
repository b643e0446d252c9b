// Package dashboards holds the exporter's Grafana dashboards.
//
// It reads them as Grafana imports them, for the checks that keep them
// true: the unit tests here read their structure, test/e2e runs their
// queries against a real Prometheus.
package dashboards
