//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"github.com/capability-exporter/capability_exporter/report"
)

// browserRules give a decision in most states from declared facts, and one
// that hinges on a Prometheus nobody listens on, so the page must show an
// unknown with its reason.
const browserRules = `
signals:
  developers:
    help: People who deploy to the cluster.
    fact: developers
  compliance_required:
    help: A compliance regime (GDPR, DORA, PCI-DSS) applies.
    type: bool
    fact: compliance_required
  tenants:
    help: Teams sharing the cluster.
    fact: tenants
  replicated_ratio:
    help: Workloads with two or more replicas.
    type: ratio
    fact: replicated_ratio
  regions_with_users:
    help: Regions whose users need low latency.
    fact: regions_with_users
  alerting_rules:
    help: Alerting rules in use.
    fact: alerting_rules
  incident_mttr:
    help: Mean time to resolve critical alerts over 30 days.
    type: duration
    prometheus:
      alert_history: {selector: 'ALERTS{alertstate="firing",severity="critical"}', window: 30d, measure: mean_resolution}
capabilities:
  policy_enforcement:
    title: Policy Enforcement
    complexity: medium
    trigger:
      any:
        - {if: developers > 10, says: More than 10 developers}
        - {if: compliance_required == true, says: A compliance requirement}
    now: {if: compliance_required == true, says: Compliance requires automated validation}
    questions:
      - Which policies are critical?
      - What is our exception strategy?
  cost_visibility:
    title: Cost Visibility
    complexity: low
    trigger: {if: tenants > 1, says: Multi-tenant}
    skip: {if: tenants <= 1, says: "Single team, fixed costs"}
  chaos_engineering:
    title: Chaos Engineering
    complexity: low_medium
    trigger: developers > 5
    later: {if: replicated_ratio < 50%, says: No HA setup to test}
  multi_region:
    title: Multi-Region Readiness
    complexity: high
    trigger: {if: regions_with_users > 1, says: Latency requirements in several regions}
  observability:
    title: Observability Maturity
    complexity: low_medium
    trigger: {if: alerting_rules > 20, says: Alert volume grows}
    now: alerting_rules > 100
  distributed_tracing:
    title: Distributed Tracing
    complexity: medium
    trigger: {if: incident_mttr > 1h, says: Debugging cross-service issues takes more than 1 hour per incident}
    now: incident_mttr > 1h
`

// Credentials the config carries; the page must show none of them.
var browserSecrets = []string{"pw-in-url-4821", "basic-secret-9930", "org-tenant-7712", "hdr-secret-5543"}

func chromiumBinary(t *testing.T) string {
	t.Helper()
	p := os.Getenv("CHROMIUM")
	if p == "" {
		p = "/usr/bin/chromium"
	}
	if _, err := exec.LookPath(p); err != nil {
		t.Fatalf("chromium not found at %s (install the Debian package chromium, or set CHROMIUM): %v", p, err)
	}
	return p
}

// The status page of the real exporter binary, in a real browser with
// scripts disabled: every capability row shows its decision and the reason
// for it, every section its conditions, the unknown its reason, and no
// credential from the config appears. The screenshot is kept for people.
func TestStatusPageInBrowser(t *testing.T) {
	chromium := chromiumBinary(t)
	dir := t.TempDir()
	rules := writeFile(t, dir, "rules.yml", browserRules)
	deadPort := freePort(t)
	cfg := writeFile(t, dir, "config.yml", fmt.Sprintf(`rules_file: %s
facts:
  developers: 14
  compliance_required: true
  tenants: 1
  replicated_ratio: 20%%
  alerting_rules: 35
sources:
  prometheus:
    url: http://alice:pw-in-url-4821@127.0.0.1:%d
    timeout: 2s
    basic_auth: {username: alice, password: basic-secret-9930}
    tenant_id: org-tenant-7712
    http_headers:
      X-Extra-Auth: {secrets: [hdr-secret-5543]}
`, rules, deadPort))
	e := startExporter(t, cfg, "--evaluation.interval=1h", "--evaluation.timeout=10s")

	apiBody := e.Get(t, report.APIPath)
	var api report.Report
	if err := json.Unmarshal([]byte(apiBody), &api); err != nil {
		t.Fatalf("%s: %v", report.APIPath, err)
	}
	if len(api.Capabilities) != 6 {
		t.Fatalf("the API lists %d capabilities, want 6", len(api.Capabilities))
	}
	states := map[string]string{}
	for _, c := range api.Capabilities {
		states[c.ID] = c.Decision
	}
	for id, want := range map[string]string{"policy_enforcement": "now", "cost_visibility": "skip",
		// regions_with_users is the team's to declare, and no measure
		// speaks to it: "probably not triggered" would rest on nothing,
		// so multi-region is unknown and the page asks.
		"chaos_engineering": "later", "multi_region": "unknown", "observability": "consider",
		"distributed_tracing": "unknown"} {
		if states[id] != want {
			t.Errorf("%s = %q, want %q", id, states[id], want)
		}
	}

	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(chromium),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	)
	defer cancelAlloc()
	browser, cancelBrowser := chromedp.NewContext(alloc)
	defer cancelBrowser()
	// The first Run starts the browser and must not carry a deadline.
	if err := chromedp.Do(browser); err != nil {
		t.Fatalf("starting %s: %v", chromium, err)
	}
	ctx, cancel := context.WithTimeout(browser, 60*time.Second)
	defer cancel()

	noScripts := chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true})
		return err
	})
	if err := chromedp.Do(ctx, noScripts, chromedp.Navigate(e.URL+"/"),
		chromedp.WaitVisible(chromedp.CSS("table.decisions"))); err != nil {
		t.Fatalf("loading %s/: %v", e.URL, err)
	}
	text := func(css string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(css)))
		if err != nil {
			t.Fatalf("reading %s: %v", css, err)
		}
		return s
	}

	for _, c := range api.Capabilities {
		row := text(fmt.Sprintf(`table.decisions tr[data-capability=%q]`, c.ID))
		for _, want := range []string{c.Title, strings.ReplaceAll(c.Decision, "_", " "), c.Summary} {
			if !strings.Contains(row, want) {
				t.Errorf("row %s shows %q, lacking %q", c.ID, row, want)
			}
		}
		if c.RecommendedNext != strings.Contains(row, "recommended next step") {
			t.Errorf("row %s: recommended %v, but the row reads %q", c.ID, c.RecommendedNext, row)
		}
		section := text(fmt.Sprintf(`section[data-capability=%q]`, c.ID))
		for _, cond := range c.Conditions {
			if !strings.Contains(section, cond.Expr) {
				t.Errorf("section %s lacks the condition %q", c.ID, cond.Expr)
			}
			if cond.Value == nil && !strings.Contains(section, *cond.Reason) {
				t.Errorf("section %s lacks why %s is unknown: %q", c.ID, cond.Signal, *cond.Reason)
			}
		}
		for _, ch := range c.WhatWouldChange {
			if !strings.Contains(section, ch.If) {
				t.Errorf("section %s lacks what would change it: %q", c.ID, ch.If)
			}
		}
		for _, q := range c.OpenQuestions {
			if !strings.Contains(section, q) {
				t.Errorf("section %s lacks the open question %q", c.ID, q)
			}
		}
	}
	if got := text("#recommended"); !strings.Contains(got, "Policy Enforcement") {
		t.Errorf("the recommended next step reads %q, want Policy Enforcement", got)
	}
	if got := text(`tr[data-source="prometheus"]`); !strings.Contains(got, "down") || !strings.Contains(got, "X-Extra-Auth") {
		t.Errorf("the Prometheus source row reads %q, want it down with its header names", got)
	}
	if got := text("#age"); !strings.Contains(got, "ago") {
		t.Errorf("the page does not say how old the evaluation is: %q", got)
	}
	html, err := chromedp.Run(ctx, chromedp.OuterHTML(chromedp.CSS("html")))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range browserSecrets {
		for name, body := range map[string]string{"page": html, "API": apiBody} {
			if strings.Contains(body, s) {
				t.Errorf("the %s shows the secret %q", name, s)
			}
		}
	}
	for _, link := range []string{`href="/metrics"`, `href="` + report.APIPath + `"`} {
		if !strings.Contains(html, link) {
			t.Errorf("the page lacks the link %s", link)
		}
	}

	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(repoRoot(), "test", "artifacts", "status-page.png")
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(out, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s (%d bytes)", out, len(png))
}
