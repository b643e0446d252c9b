package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// With deploy/config.yml and nothing reachable, assess --fail-on-unknown
// says each source's fault once and one line per unknown decision, in
// under 2 KB: the record and the JSON carry the rest.
func TestAssessWithNothingReachableIsShort(t *testing.T) {
	shipped, err := os.ReadFile(filepath.Join("..", "..", "deploy", "config.yml"))
	if err != nil {
		t.Fatal(err)
	}
	cfg := string(shipped)
	for _, from := range []string{"http://prometheus-operated.monitoring.svc:9090", "http://loki-gateway.logging.svc"} {
		if !strings.Contains(cfg, from) {
			t.Fatalf("deploy/config.yml no longer has %s: update this test", from)
		}
		cfg = strings.Replace(cfg, from, "http://127.0.0.1:1", 1)
	}
	t.Setenv("KUBERNETES_SERVICE_HOST", "")
	t.Setenv("KUBERNETES_SERVICE_PORT", "")
	file := filepath.Join(t.TempDir(), "config.yml")
	if err := os.WriteFile(file, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	code, _, stderr := runAssess(t, "--config.file="+file, "--fail-on-unknown")
	if code != exitUnknown {
		t.Errorf("exit %d, want %d", code, exitUnknown)
	}
	if len(stderr) >= 2048 {
		t.Errorf("stderr is %d bytes, want under 2 KB:\n%s", len(stderr), stderr)
	}
	for _, src := range []string{"kubernetes", "prometheus", "loki"} {
		if n := strings.Count(stderr, "source "+src+" is down"); n != 1 {
			t.Errorf("source %s said down %d times, want once:\n%s", src, n, stderr)
		}
	}
	if n := strings.Count(stderr, "connection refused"); n != 2 {
		t.Errorf("the fault 'connection refused' said %d times, want once per source:\n%s", n, stderr)
	}
}
