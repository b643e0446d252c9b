package config

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/capability-exporter/capability_exporter/triggers"
)

var update = flag.Bool("update", false, "rewrite the expected .err files of testdata/bad")

// TestBadConfigs loads every testdata/bad/*.yml and compares the whole error
// text with the sibling .err file: each error must name file, line and field.
func TestBadConfigs(t *testing.T) {
	files, err := filepath.Glob("testdata/bad/*.yml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no bad configs: %v", err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			_, err := Load(f)
			if err == nil {
				t.Fatal("loaded without error")
			}
			errFile := strings.TrimSuffix(f, ".yml") + ".err"
			if *update {
				if err := os.WriteFile(errFile, []byte(err.Error()+"\n"), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, rerr := os.ReadFile(errFile)
			if rerr != nil {
				t.Fatalf("missing expected error (run with -update): %v", rerr)
			}
			if got := err.Error() + "\n"; got != string(want) {
				t.Errorf("error mismatch\n got: %s\nwant: %s", got, want)
			}
			for _, line := range strings.Split(err.Error(), "\n") {
				if !strings.HasPrefix(line, "testdata/bad/") || !strings.Contains(line, ":") {
					t.Errorf("error line without file: %q", line)
				}
			}
		})
	}
}

func TestFullConfig(t *testing.T) {
	c, err := Load("testdata/good/full.yml")
	if err != nil {
		t.Fatal(err)
	}
	p := c.Sources.Prometheus
	if p == nil || p.URL.String() != "https://prometheus.example:9090" || time.Duration(p.Timeout) != 20*time.Second ||
		p.MaxConcurrency != 8 || p.TenantID != "platform" || p.HTTPClientConfig.BasicAuth.Username != "sre" {
		t.Errorf("prometheus section: %+v", p)
	}
	l := c.Sources.Loki
	if l == nil || l.MaxConcurrency != DefaultHTTPSource().MaxConcurrency || l.Timeout != DefaultHTTPSource().Timeout ||
		!l.HTTPClientConfig.FollowRedirects {
		t.Errorf("loki defaults not applied: %+v", l)
	}
	k := c.Sources.Kubernetes
	if k == nil || k.Kubeconfig != "/etc/kube/config" || k.PlatformNamespacesRegex != DefaultPlatformNamespacesRegex ||
		len(k.TeamLabels) != 2 || k.Timeout != Duration(time.Minute) {
		t.Errorf("kubernetes section: %+v", k)
	}
	for name, want := range map[string]float64{"compliance_required": 1, "developers": 14, "cross_service_debugging_per_week": 6 * 3600} {
		if v, ok := c.FactValues[name]; !ok || !v.Known || v.Number != want {
			t.Errorf("fact %s = %+v, want %v", name, v, want)
		}
	}
	for name, want := range map[string]float64{"microservices": 12, "cost_growth_ratio": 0.25, "tool.linkerd": 1, "tool.opencost": 0} {
		if v, ok := c.OverrideValues[name]; !ok || !v.Known || v.Number != want || v.Source != "override" {
			t.Errorf("override %s = %+v, want %v", name, v, want)
		}
	}
	if len(c.Rules.Capabilities) != 1 || c.Rules.File != "testdata/rules.yml" {
		t.Errorf("rules_file not resolved relative to the config: %q", c.Rules.File)
	}
	red := c.Redacted()
	for _, secret := range []string{"hunter2", "s3cret-token", "very-secret"} {
		if strings.Contains(red, secret) {
			t.Errorf("redacted config leaks %q:\n%s", secret, red)
		}
	}
}

func TestEmptyConfigUsesDefaults(t *testing.T) {
	c, err := Parse("empty.yml", nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Rules == nil || len(c.Rules.Capabilities) == 0 {
		t.Fatal("default rules not loaded")
	}
	if c.Sources.Prometheus != nil || c.Sources.Loki != nil || c.Sources.Kubernetes != nil {
		t.Error("an absent source section must stay unconfigured")
	}
	if len(c.FactValues) != 0 {
		t.Error("no fact declared, none may be known")
	}
}

// A fact declared as null is explicitly unknown, not false.
func TestNullFactIsUnknown(t *testing.T) {
	c, err := Parse("testdata/null.yml", []byte("rules_file: rules.yml\nfacts:\n  compliance_required: null\n  developers: 3\n"))
	if err != nil {
		t.Fatal(err)
	}
	if v := c.FactValues["compliance_required"]; v.Known || v.Code != triggers.CodeDeclaredUnknown {
		t.Errorf("a null fact reads %+v, want unknown, declared so", v)
	}
	if c.FactValues["developers"].Number != 3 {
		t.Error("developers not read")
	}
}

func TestRedactURL(t *testing.T) {
	c, err := Parse("x.yml", []byte("sources:\n  prometheus:\n    url: http://sre:hunter2@prom:9090/\n"))
	if err != nil {
		t.Fatal(err)
	}
	if got := RedactURL(&c.Sources.Prometheus.URL); strings.Contains(got, "hunter2") {
		t.Errorf("RedactURL leaks the password: %s", got)
	}
}

func TestRelativeKubeconfigFollowsTheConfigFile(t *testing.T) {
	c, err := Parse("/etc/capability_exporter/config.yml", []byte("sources:\n  kubernetes:\n    kubeconfig: kube/config\n"))
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Sources.Kubernetes.Kubeconfig; got != "/etc/capability_exporter/kube/config" {
		t.Errorf("kubeconfig = %q", got)
	}
}
