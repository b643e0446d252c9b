package collector

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/capability-exporter/capability_exporter/config"
)

// configWithRules parses configYAML with rules as its rules_file.
func configWithRules(t *testing.T, rules, configYAML string) *config.Config {
	t.Helper()
	rulesFile := filepath.Join(t.TempDir(), "rules.yml")
	if err := os.WriteFile(rulesFile, []byte(rules), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Parse("config.yml", []byte("rules_file: "+rulesFile+"\n"+configYAML))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// testRules without policy_enforcement.
func rulesWithoutPolicyEnforcement(t *testing.T) string {
	i := strings.Index(testRules, "  policy_enforcement:")
	if i < 0 {
		t.Fatal("testRules has no policy_enforcement")
	}
	return testRules[:i]
}

// The last-change bookkeeping follows the rules: a capability a reload
// removed is dropped, not kept for the life of the process.
func TestReloadDropsRemovedCapabilities(t *testing.T) {
	env := newTestEnv(t, "facts: {compliance_required: true}\n", nil)
	if _, ok := env.sched.Evaluate(context.Background()).LastChange["policy_enforcement"]; !ok {
		t.Fatal("policy_enforcement has no last change before the reload")
	}
	env.sched.Reload(configWithRules(t, rulesWithoutPolicyEnforcement(t), "facts: {compliance_required: true}\n"))
	st := env.sched.Evaluate(context.Background())
	if _, ok := st.LastChange["policy_enforcement"]; ok {
		t.Error("the State still carries policy_enforcement's last change after a reload removed it")
	}
	env.sched.evalMu.Lock()
	_, kept := env.sched.history.Status("policy_enforcement")
	env.sched.evalMu.Unlock()
	if kept {
		t.Error("the scheduler still remembers policy_enforcement's state after a reload removed it")
	}
	if _, ok := st.LastChange["service_mesh"]; !ok {
		t.Error("service_mesh lost its last change")
	}
}
