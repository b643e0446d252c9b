//go:build e2e

package e2e

// webshopRules are the exporter rules of these tests: every Prometheus and
// Loki measure, and capabilities whose decisions the history drives.
const webshopRules = `
signals:
  incident_mttr:
    help: Mean time to resolve critical and paging alerts over 30 days.
    type: duration
    prometheus: {alert_history: {selector: 'ALERTS{alertstate="firing",severity=~"critical|page"}', window: 30d, measure: mean_resolution}}
  incident_median:
    help: Median time to resolve critical and paging alerts over 30 days.
    type: duration
    prometheus: {alert_history: {selector: 'ALERTS{alertstate="firing",severity=~"critical|page"}', window: 30d, measure: median_resolution}}
  incidents:
    help: Critical and paging incidents resolved in 30 days.
    prometheus: {alert_history: {selector: 'ALERTS{alertstate="firing",severity=~"critical|page"}', window: 30d, measure: incidents}}
  open_incidents:
    help: Critical and paging alerts firing now.
    prometheus: {alert_history: {selector: 'ALERTS{alertstate="firing",severity=~"critical|page"}', window: 30d, measure: open_incidents}}
  quiet_mttr:
    help: Mean time to resolve an alert that never fired; unknown, never 0.
    type: duration
    prometheus: {alert_history: {selector: 'ALERTS{alertstate="firing",severity="never"}', window: 30d, measure: mean_resolution}}
  quiet_incidents:
    help: Incidents of an alert that never fired; a known 0.
    prometheus: {alert_history: {selector: 'ALERTS{alertstate="firing",severity="never"}', window: 30d, measure: incidents}}
  critical_alerts_per_day:
    help: Critical and paging alerts that started per day over 7 days.
    prometheus: {alert_history: {selector: 'ALERTS{alertstate="firing",severity=~"critical|page"}', window: 7d, measure: alerts_per_day}}
  alerts_per_day:
    help: Alerts of any severity that started per day over 30 days.
    prometheus: {alert_history: {selector: 'ALERTS{alertstate="firing"}', window: 30d, measure: alerts_per_day}}
  cost_growth:
    help: Growth of requested CPU against 30 days ago, OpenCost first.
    type: ratio
    first_known:
      - prometheus: {query: 'sum(node_total_hourly_cost) / sum(node_total_hourly_cost offset 30d) - 1'}
      - prometheus: {query: 'sum(kube_pod_container_resource_requests{resource="cpu"}) / sum(kube_pod_container_resource_requests{resource="cpu"} offset 30d) - 1'}
  traffic_growth:
    help: Growth of the request rate against four weeks ago.
    type: ratio
    prometheus: {query: 'sum(rate(http_requests_total[1d])) / sum(rate(http_requests_total[1d] offset 4w)) - 1'}
  error_ratio:
    help: Share of requests that failed over a day.
    type: ratio
    prometheus: {query: 'sum(rate(http_requests_total{code=~"5.."}[1d])) / sum(rate(http_requests_total[1d]))'}
  critical_firing:
    help: Critical alerts firing now; none is a real 0.
    prometheus: {query: 'count(ALERTS{alertstate="firing",severity="critical"})', empty: zero}
  ingress_requests:
    help: Requests at the ingress; no ingress metrics means unknown.
    prometheus: {query: 'sum(rate(nginx_ingress_controller_requests[5m]))'}
  idle_search:
    help: A ratio over no traffic is NaN.
    type: ratio
    prometheus: {query: 'sum(http_requests_total{service="search"} * 0) / sum(http_requests_total{service="search"} * 0)'}
  per_service_rate:
    help: A query that forgot to aggregate.
    prometheus: {query: 'rate(http_requests_total{service="frontend"}[1h])'}
  broken_query:
    help: A query with a syntax error.
    prometheus: {query: 'sum(rate(http_requests_total[5m])'}
  alerting_rules:
    help: Alerting rules loaded.
    prometheus: {rules: alerting_rules}
  rules_without_severity:
    help: Alerting rules without severity.
    prometheus: {rules: alerting_rules_without_severity}
  slo_rules:
    help: SLO recording rules.
    prometheus: {rules: slo_recording_rules}
  prometheus_reachable:
    help: Prometheus answers.
    type: bool
    prometheus: {reachable: true}
  developers:
    help: Humans in the audit log over 30 days.
    first_known:
      - fact: developers
      - loki: {query: 'count(sum by (user_username) (count_over_time({job="kubernetes-audit"} |~ "\"verb\":\"(create|update|patch|delete)\"" | json | user_username != "" | user_username !~ "system:.*" [30d])))'}
  checkout_errors:
    help: Checkout error lines over a day.
    loki: {query: 'sum(count_over_time({app="checkout"} |= "level=error" [1d]))', empty: zero}
  loki_reachable:
    help: Loki answers.
    type: bool
    loki: {reachable: true}
  microservices:
    help: Declared for this test; the Kubernetes tier measures it elsewhere.
    fact: microservices
capabilities:
  distributed_tracing:
    title: Distributed Tracing
    complexity: medium
    trigger: {any: [microservices > 5, incident_mttr > 1h]}
    skip: microservices < 5
    now: incident_mttr > 1h
  chaos_engineering:
    title: Chaos Engineering
    complexity: low_medium
    trigger: incidents > 0
    now: open_incidents > 0
  cost_visibility:
    title: Cost Visibility
    complexity: low
    trigger: cost_growth > 20%
    now: cost_growth > 30%
  observability_maturity:
    title: Observability Maturity
    complexity: medium
    trigger: {any: [rules_without_severity > 0, critical_alerts_per_day > 4]}
    now: slo_rules == 0
  multi_region:
    title: Multi-Region Readiness
    complexity: high
    trigger: traffic_growth > 50%
    now: error_ratio > 1%
  policy_enforcement:
    title: Policy Enforcement
    complexity: medium
    trigger: developers > 10
  service_mesh:
    title: Service Mesh
    complexity: medium_high
    trigger: ingress_requests > 100
`
