//go:build e2e

package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// The alert rules in a fleet: two clusters' exporters decide
// distributed_tracing now, one Prometheus evaluates deploy/rules over both
// (as a shared store's ruler does), and Alertmanager routes on the cluster
// label the alerts keep: the eu team's route gets eu's alert only, while the
// fleet route, grouping by alertname and capability, gets both clusters'
// alerts in one notification.
func TestFleetAlertsRoutePerClusterAndGroupAcrossClusters(t *testing.T) {
	dir := t.TempDir()
	fleet, eu := newGroupRecorder(t), newGroupRecorder(t)
	amConfig := writeFile(t, dir, "alertmanager.yml", fmt.Sprintf(`
route:
  receiver: fleet
  group_wait: 2s
  group_interval: 1s
  repeat_interval: 1h
  routes:
    # The eu team's own route; continue, so the fleet route sees it too.
    - receiver: eu
      matchers: ['cluster="eu"']
      group_by: [alertname, cluster, capability]
      continue: true
    # The platform team's view of the fleet: one capability's alerts of
    # every cluster in one group.
    - receiver: fleet
      group_by: [alertname, capability]
receivers:
  - name: fleet
    webhook_configs: [{url: %q}]
  - name: eu
    webhook_configs: [{url: %q}]
`, fleet.URL, eu.URL))
	am := startServer(t, serverSpec{
		Name: "alertmanager", Bin: requireBinary(t, "prometheus-alertmanager", "ALERTMANAGER", "prometheus-alertmanager"), Ports: 1,
		Args: func(ports []int) []string {
			return []string{"--config.file=" + amConfig, "--storage.path=" + filepath.Join(dir, "alertmanager"),
				fmt.Sprintf("--web.listen-address=127.0.0.1:%d", ports[0]), "--cluster.listen-address="}
		},
		Ready: httpReady("/-/ready"), ReadyTimeout: 30 * time.Second,
	})

	targets := map[string]string{}
	for _, c := range []string{"eu", "us"} {
		writeFleetConfig(t, filepath.Join(dir, c), factsNow)
		targets[c] = strings.TrimPrefix(startExporter(t, filepath.Join(dir, c, "config.yml"), "--evaluation.interval=1s").URL, "http://")
	}
	rewriteRuleDurations(t, filepath.Join(repoRoot(), "deploy", "rules"), filepath.Join(dir, "deploy-rules"))
	promConfig := writeFile(t, dir, "prometheus.yml", fmt.Sprintf(`
global: {scrape_interval: 1s, scrape_timeout: 1s, evaluation_interval: 1s}
rule_files: ['%s/*.yml']
alerting:
  alertmanagers: [{static_configs: [{targets: ['127.0.0.1:%d']}]}]
scrape_configs:
  - job_name: capability_exporter
    static_configs:
      - {targets: ['%s'], labels: {cluster: eu}}
      - {targets: ['%s'], labels: {cluster: us}}
`, filepath.Join(dir, "deploy-rules"), am.Ports[0], targets["eu"], targets["us"]))
	dataDir := t.TempDir()
	startServer(t, serverSpec{
		Name: "prometheus", Bin: requireBinary(t, "prometheus", "PROMETHEUS", "prometheus"), Ports: 1,
		Args: func(ports []int) []string {
			return []string{"--config.file=" + promConfig, "--storage.tsdb.path=" + dataDir,
				fmt.Sprintf("--web.listen-address=127.0.0.1:%d", ports[0]), "--rules.alert.resend-delay=1s"}
		},
		Ready: httpReady("/-/ready"), ReadyTimeout: 30 * time.Second,
	})

	isNow := func(a groupAlert) bool {
		return a.Labels["alertname"] == "CapabilityDecisionNow" && a.Labels["capability"] == "distributed_tracing"
	}
	// The fleet route: one notification holding both clusters' alerts.
	msg := fleet.Wait(t, 60*time.Second, "one notification of distributed_tracing now in both clusters", func(m groupMessage) bool {
		return len(m.clustersOf(isNow)) == 2
	})
	if got := msg.clustersOf(isNow); !slices.Equal(got, []string{"eu", "us"}) {
		t.Errorf("fleet notification carries clusters %v, want eu and us", got)
	}
	for _, a := range msg.Alerts {
		if isNow(a) && !strings.Contains(a.Annotations["summary"], "in cluster "+a.Labels["cluster"]) {
			t.Errorf("summary %q does not name cluster %s", a.Annotations["summary"], a.Labels["cluster"])
		}
	}
	// The eu route: eu's alert, never us's.
	eu.Wait(t, 30*time.Second, "eu's distributed_tracing now on the eu route", func(m groupMessage) bool {
		return slices.Equal(m.clustersOf(isNow), []string{"eu"})
	})
	for _, m := range eu.Messages() {
		for _, a := range m.Alerts {
			if a.Labels["cluster"] != "eu" {
				t.Errorf("the eu route got an alert of cluster %q: %v", a.Labels["cluster"], a.Labels)
			}
		}
	}
}

// groupRecorder is a webhook receiver that keeps whole notifications, each
// one Alertmanager group.
type groupRecorder struct {
	URL  string
	mu   sync.Mutex
	msgs []groupMessage
}

type groupMessage struct {
	Receiver string       `json:"receiver"`
	GroupKey string       `json:"groupKey"`
	Alerts   []groupAlert `json:"alerts"`
}

type groupAlert struct {
	Status      string            `json:"status"`
	Labels      map[string]string `json:"labels"`
	Annotations map[string]string `json:"annotations"`
}

// clustersOf returns the sorted clusters of the firing alerts that match.
func (m groupMessage) clustersOf(match func(groupAlert) bool) []string {
	var out []string
	for _, a := range m.Alerts {
		if a.Status == "firing" && match(a) && !slices.Contains(out, a.Labels["cluster"]) {
			out = append(out, a.Labels["cluster"])
		}
	}
	slices.Sort(out)
	return out
}

func newGroupRecorder(t *testing.T) *groupRecorder {
	g := &groupRecorder{}
	srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		var m groupMessage
		if err := json.NewDecoder(r.Body).Decode(&m); err != nil {
			http.Error(rw, err.Error(), http.StatusBadRequest)
			return
		}
		g.mu.Lock()
		g.msgs = append(g.msgs, m)
		g.mu.Unlock()
	}))
	t.Cleanup(srv.Close)
	g.URL = srv.URL
	return g
}

func (g *groupRecorder) Messages() []groupMessage {
	g.mu.Lock()
	defer g.mu.Unlock()
	return slices.Clone(g.msgs)
}

// Wait returns the first notification that matches, failing after timeout.
func (g *groupRecorder) Wait(t *testing.T, timeout time.Duration, what string, match func(groupMessage) bool) groupMessage {
	t.Helper()
	var found groupMessage
	waitFor(t, timeout, what, func() bool {
		for _, m := range g.Messages() {
			if match(m) {
				found = m
				return true
			}
		}
		return false
	})
	return found
}
