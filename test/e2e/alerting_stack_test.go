//go:build e2e

package e2e

// The observability stack the alerting and dashboard tests share: the
// exporter on facts only, a real Prometheus scraping it every second and
// evaluating deploy/rules (with short for/keep_firing_for), and a real
// Alertmanager posting to a webhook inside the test.

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	promapi "github.com/prometheus/client_golang/api"
	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"
	"go.yaml.in/yaml/v3"
)

// stackRules are small rules on facts alone, so that a test drives decisions
// by rewriting the config's facts. distributed_tracing has no tool, so its
// decision is known without the Kubernetes source; chaos_engineering lists a
// tool, whose detection is unknown here, so every kind of series exists.
// cost_visibility is adopted by a declared fact, so that its impact series
// exist: unknown here, as the stack reads no store.
const stackRules = `
signals:
  microservices:
    help: Services the team runs, as declared.
    fact: microservices
  incident_debugging:
    help: Time it takes to debug an incident, as declared.
    type: duration
    fact: incident_debugging
  prometheus_running:
    help: Whether Prometheus runs, as declared.
    type: bool
    fact: prometheus_running
  nodes:
    help: Nodes in the cluster.
    kubernetes: nodes
tools:
  litmus:
    title: LitmusChaos
    capability: chaos_engineering
    crd_groups: [litmuschaos.io]
foundations:
  prometheus:
    title: Prometheus
    present: prometheus_running == true
capabilities:
  chaos_engineering:
    title: Chaos Engineering
    complexity: high
    trigger: microservices > 20
    skip: microservices < 3
    later: prometheus_running == false
    now: incident_debugging > 4h
    requires: [prometheus]
  distributed_tracing:
    title: Distributed Tracing
    complexity: medium
    trigger: {any: [microservices > 5, incident_debugging > 1h]}
    skip: microservices < 3
    now: incident_debugging > 1h
    requires: [prometheus]
  cost_visibility:
    title: Cost Visibility
    complexity: low
    trigger: microservices > 50
    adopted_if: prometheus_running == true
    impact:
      - {signal: nodes, better: lower}
`

// Facts that keep distributed_tracing not triggered, and that make it now.
const (
	factsQuiet = "microservices: 4\nincident_debugging: 30m\nprometheus_running: true\n"
	factsNow   = "microservices: 12\nincident_debugging: 3h\nprometheus_running: true\n"
)

// The rules' durations rewritten: long enough to tell pending from firing
// and a held alert from a resolved one, with 1s scrapes and rule
// evaluations, short enough for a test of about a minute.
const (
	stackFor           = 2 * time.Second
	stackKeepFiringFor = 4 * time.Second
)

type alertingStack struct {
	dir        string
	configPath string
	exporter   *exporter
	promURL    string
	prom       promv1.API
	hook       *webhookRecorder
	// The servers, for tests that stop or pause them.
	alertmanager, prometheus *server
	started                  time.Time
	alertRules               int // alerting rules in deploy/rules
}

// startAlertingStack starts Alertmanager (with a webhook receiver), the
// exporter with facts, and Prometheus scraping it and loading deploy/rules
// with short durations, and waits until Prometheus has scraped the exporter.
func startAlertingStack(t *testing.T, facts string) *alertingStack {
	t.Helper()
	promBin := requireBinary(t, "prometheus", "PROMETHEUS", "prometheus")
	amBin := requireBinary(t, "prometheus-alertmanager", "ALERTMANAGER", "prometheus-alertmanager")
	s := &alertingStack{dir: t.TempDir(), hook: newWebhookRecorder(t), started: time.Now()}

	writeFile(t, s.dir, "rules.yml", stackRules)
	s.configPath = filepath.Join(s.dir, "config.yml")
	s.WriteFacts(t, facts)
	s.exporter = startExporter(t, s.configPath, "--evaluation.interval=2s")

	amConfig := writeFile(t, s.dir, "alertmanager.yml", fmt.Sprintf(`
route:
  receiver: test
  group_by: [alertname, capability, source, instance]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: test
    webhook_configs:
      - url: %s
        send_resolved: true
`, s.hook.URL))
	s.alertmanager = startServer(t, serverSpec{
		Name:  "alertmanager",
		Bin:   amBin,
		Ports: 1,
		Args: func(ports []int) []string {
			return []string{"--config.file=" + amConfig, "--storage.path=" + filepath.Join(s.dir, "alertmanager"),
				fmt.Sprintf("--web.listen-address=127.0.0.1:%d", ports[0]), "--cluster.listen-address="}
		},
		Ready:        httpReady("/-/ready"),
		ReadyTimeout: 30 * time.Second,
	})

	s.alertRules = rewriteRuleDurations(t, filepath.Join(repoRoot(), "deploy", "rules"), filepath.Join(s.dir, "deploy-rules"))
	promConfig := writeFile(t, s.dir, "prometheus.yml", fmt.Sprintf(`
global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
rule_files:
  - %s/*.yml
alerting:
  alertmanagers:
    - static_configs:
        - targets: ['127.0.0.1:%d']
scrape_configs:
  - job_name: capability_exporter
    static_configs:
      - targets: ['%s']
        labels:
          cluster: e2e
`, filepath.Join(s.dir, "deploy-rules"), s.alertmanager.Ports[0], strings.TrimPrefix(s.exporter.URL, "http://")))
	s.prometheus = startServer(t, serverSpec{
		Name:  "prometheus",
		Bin:   promBin,
		Ports: 1,
		Args: func(ports []int) []string {
			return []string{"--config.file=" + promConfig, "--storage.tsdb.path=" + filepath.Join(s.dir, "prometheus"),
				fmt.Sprintf("--web.listen-address=127.0.0.1:%d", ports[0]), "--rules.alert.resend-delay=1s"}
		},
		Ready:        httpReady("/-/ready"),
		ReadyTimeout: 30 * time.Second,
	})
	s.promURL = s.prometheus.PortURL(0)
	client, err := promapi.NewClient(promapi.Config{Address: s.promURL})
	if err != nil {
		t.Fatal(err)
	}
	s.prom = promv1.NewAPI(client)
	waitFor(t, 30*time.Second, "Prometheus to scrape the exporter", func() bool {
		return len(s.Query(t, `capability_decision{job="capability_exporter",cluster="e2e"}`)) > 0
	})
	return s
}

// WriteFacts rewrites the exporter's config with the given facts section.
func (s *alertingStack) WriteFacts(t *testing.T, facts string) {
	t.Helper()
	var body strings.Builder
	body.WriteString("rules_file: rules.yml\nsources: {}\nfacts:\n")
	for _, l := range strings.Split(strings.TrimSpace(facts), "\n") {
		body.WriteString("  " + l + "\n")
	}
	writeFile(t, s.dir, "config.yml", body.String())
}

// Reload POSTs /-/reload and returns the status code.
func (s *alertingStack) Reload(t *testing.T) int {
	t.Helper()
	resp, err := testClient.Post(s.exporter.URL+"/-/reload", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// Query runs an instant query and returns its vector.
func (s *alertingStack) Query(t *testing.T, q string) model.Vector {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	v, _, err := s.prom.Query(ctx, q, time.Now())
	if err != nil {
		t.Fatalf("query %s: %v", q, err)
	}
	vec, ok := v.(model.Vector)
	if !ok {
		t.Fatalf("query %s: want a vector, got %s", q, v.Type())
	}
	return vec
}

// ActiveAlerts returns the names of the alerts Prometheus holds pending or
// firing, with their state.
func (s *alertingStack) ActiveAlerts(t *testing.T) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res, err := s.prom.Alerts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, a := range res.Alerts {
		out = append(out, fmt.Sprintf("%s{%s} %s", a.Labels["alertname"], a.Labels["capability"]+a.Labels["source"], a.State))
	}
	return out
}

// RulesEvaluatedAfter reports whether Prometheus has evaluated every
// alerting rule at or after ts.
func (s *alertingStack) RulesEvaluatedAfter(t *testing.T, ts time.Time) bool {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res, err := s.prom.Rules(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, g := range res.Groups {
		for _, r := range g.Rules {
			if a, ok := r.(promv1.AlertingRule); ok {
				n++
				if a.LastEvaluation.Before(ts) {
					return false
				}
			}
		}
	}
	return n == s.alertRules
}

// rewriteRuleDurations copies every rules file of src into dst with each
// alert's for and keep_firing_for shortened, editing the parsed YAML rather
// than the text. It fails unless every alert had its for rewritten and both
// capability alerts their keep_firing_for, and returns the alert count.
func rewriteRuleDurations(t *testing.T, src, dst string) int {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(src, "*.yml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dst, 0o755); err != nil {
		t.Fatal(err)
	}
	alerts, keeps := 0, 0
	for _, f := range files {
		if strings.HasSuffix(f, ".test.yml") {
			continue // promtool's tests, not rules
		}
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var doc yaml.Node
		if err := yaml.Unmarshal(data, &doc); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		for _, group := range alertingYAMLValue(doc.Content[0], "groups").Content {
			for _, rule := range alertingYAMLValue(group, "rules").Content {
				name := alertingYAMLValue(rule, "alert")
				if name == nil {
					continue
				}
				alerts++
				forNode := alertingYAMLValue(rule, "for")
				if forNode == nil {
					t.Fatalf("%s: alert %s has no for:, so it would fire on the first evaluation", f, name.Value)
				}
				forNode.Value = model.Duration(stackFor).String()
				if keep := alertingYAMLValue(rule, "keep_firing_for"); keep != nil {
					keep.Value = model.Duration(stackKeepFiringFor).String()
					keeps++
				} else if strings.HasPrefix(name.Value, "Capability") && !strings.HasPrefix(name.Value, "CapabilityExporter") {
					t.Fatalf("%s: alert %s has no keep_firing_for:, so a signal at its threshold makes it flap", f, name.Value)
				}
			}
		}
		out, err := yaml.Marshal(&doc)
		if err != nil {
			t.Fatal(err)
		}
		writeFile(t, dst, filepath.Base(f), string(out))
	}
	if alerts < 7 || keeps < 2 {
		t.Fatalf("rewrote %d alerts (%d keep_firing_for) in %v; want the 7 alerts of deploy/rules", alerts, keeps, files)
	}
	return alerts
}

func alertingYAMLValue(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

// webhookRecorder is the Alertmanager webhook receiver: it keeps every
// alert of every notification it is sent.
type webhookRecorder struct {
	URL string
	mu  sync.Mutex
	got []notifiedAlert
}

type notifiedAlert struct {
	Status      string            `json:"status"`
	Labels      map[string]string `json:"labels"`
	Annotations map[string]string `json:"annotations"`
	StartsAt    time.Time         `json:"startsAt"`
	EndsAt      time.Time         `json:"endsAt"`
	Received    time.Time         `json:"-"`
}

func newWebhookRecorder(t *testing.T) *webhookRecorder {
	w := &webhookRecorder{}
	srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		var msg struct {
			Version string          `json:"version"`
			Alerts  []notifiedAlert `json:"alerts"`
		}
		if err := json.NewDecoder(r.Body).Decode(&msg); err != nil || msg.Version != "4" {
			t.Errorf("webhook: not an Alertmanager v4 message (version %q): %v", msg.Version, err)
			http.Error(rw, "bad message", http.StatusBadRequest)
			return
		}
		w.mu.Lock()
		for _, a := range msg.Alerts {
			a.Received = time.Now()
			w.got = append(w.got, a)
		}
		w.mu.Unlock()
	}))
	t.Cleanup(srv.Close)
	w.URL = srv.URL + "/alertmanager"
	return w
}

// Wait returns an alert notified since `since` that matches, or fails after
// timeout listing what did arrive.
func (w *webhookRecorder) Wait(t *testing.T, timeout time.Duration, since time.Time, what string, match func(notifiedAlert) bool) notifiedAlert {
	t.Helper()
	return w.WaitWhile(t, timeout, since, what, match, func() {})
}

// WaitWhile is Wait, calling poll every 100ms while it waits.
func (w *webhookRecorder) WaitWhile(t *testing.T, timeout time.Duration, since time.Time, what string, match func(notifiedAlert) bool, poll func()) notifiedAlert {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		w.mu.Lock()
		for _, a := range w.got {
			if !a.Received.Before(since) && match(a) {
				w.mu.Unlock()
				return a
			}
		}
		w.mu.Unlock()
		if time.Now().After(deadline) {
			t.Fatalf("no notification of %s within %s; received: %s", what, timeout, w.Summary())
		}
		poll()
		time.Sleep(100 * time.Millisecond)
	}
}

// Names returns the alert names notified at all.
func (w *webhookRecorder) Names() map[string]bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := map[string]bool{}
	for _, a := range w.got {
		out[a.Labels["alertname"]] = true
	}
	return out
}

// Summary lists what arrived, for failure messages.
func (w *webhookRecorder) Summary() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	var b strings.Builder
	for _, a := range w.got {
		fmt.Fprintf(&b, "\n  %s %s %v", a.Received.Format("15:04:05.000"), a.Status, a.Labels)
	}
	if b.Len() == 0 {
		return "nothing"
	}
	return b.String()
}

// All returns every alert notified so far.
func (w *webhookRecorder) All() []notifiedAlert {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.got)
}
