//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"k8s.io/client-go/dynamic"

	"github.com/capability-exporter/capability_exporter/collector"
	"github.com/capability-exporter/capability_exporter/config"
	"github.com/capability-exporter/capability_exporter/triggers"
)

// kubeTestDecisionsFollowCRDs runs the scheduler, and then the exporter binary,
// as deploy/rbac's ServiceAccount through a kubeconfig, with the e2e rules:
// service_mesh is now while no mesh is installed, adopted once Linkerd's
// CRD exists, and now again when it is removed; the tools and foundations
// behind the other decisions read as the webshop has them.
func kubeTestDecisionsFollowCRDs(t *testing.T, c *kubeCluster) {
	_, sa := kubeApplyExporterRBAC(t, c)
	kubeconfig := c.WriteKubeconfig(t, c.ServiceAccountConfig(t, sa.Namespace, sa.Name), "exporter")
	dir := t.TempDir()
	writeFile(t, dir, "rules.yml", kubeWebshopRules)
	cfgPath := writeFile(t, dir, "config.yml", fmt.Sprintf(
		"sources:\n  kubernetes:\n    kubeconfig: %s\n    context: exporter\nrules_file: rules.yml\n", kubeconfig))
	cfg, err := config.Load(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	sched := collector.NewScheduler(cfg, time.Minute, kubeTestLogger(t))
	defer sched.Close()

	st := sched.Evaluate(context.Background())
	for capability, want := range map[string]triggers.State{
		"service_mesh":        triggers.StateNow,
		"policy_enforcement":  triggers.StateAdopted, // kyverno
		"distributed_tracing": triggers.StateAdopted, // jaeger
	} {
		if d := st.Evaluation.Decision(capability); d == nil || d.State != want {
			t.Errorf("%s: %+v, want %s", capability, d, want)
		}
	}
	for _, f := range st.Evaluation.Foundations {
		if f.Present != triggers.True {
			t.Errorf("foundation %s present = %v, want true: %+v", f.ID, f.Present, f.Conditions)
		}
	}
	for _, s := range st.Sources {
		if s.Name == "kubernetes" && (!s.Up || len(s.Errors) > 0) {
			t.Errorf("kubernetes source: up %v, errors %v", s.Up, s.Errors)
		}
	}

	// A reload that leaves the kubernetes section as it was keeps the
	// informers: the next evaluation lists nothing.
	again, err := config.Load(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	lists := c.Metric(t, "apiserver_request_total", map[string]string{"verb": "LIST"})
	sched.Reload(again)
	sched.Evaluate(context.Background())
	if n := c.Metric(t, "apiserver_request_total", map[string]string{"verb": "LIST"}) - lists; n != 0 {
		t.Errorf("reload with the same kubernetes section: %v lists, want 0 (informers kept)", n)
	}

	e := startExporter(t, cfgPath, "--evaluation.interval=1s")
	kubeWaitForMetrics(t, e, map[string]float64{
		`capability_exporter_source_up{source="kubernetes"}`:                   1,
		`capability_tool_detected{capability="service_mesh",tool="linkerd"}`:   0,
		`capability_tool_detected{capability="foundation",tool="cilium"}`:      1,
		`capability_decision{capability="service_mesh",state="now"}`:           1,
		`capability_foundation_present{component="network_policies"}`:          1,
		`capability_decision{capability="policy_enforcement",state="adopted"}`: 1,
	})

	followMesh := func(want triggers.State, detected float64) {
		t.Helper()
		deadline := time.Now().Add(15 * time.Second)
		for {
			d := sched.Evaluate(context.Background()).Evaluation.Decision("service_mesh")
			if d.State == want {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("service_mesh %s after 15s, want %s: %+v", d.State, want, d.Tools)
			}
			time.Sleep(100 * time.Millisecond)
		}
		kubeWaitForMetrics(t, e, map[string]float64{
			`capability_tool_detected{capability="service_mesh",tool="linkerd"}`:           detected,
			fmt.Sprintf(`capability_decision{capability="service_mesh",state="%s"}`, want): 1,
		})
	}
	// Linkerd's CRD alone is what an uninstalled release leaves: no mesh.
	// A ServiceProfile in it is a mesh in use; deleting the CRD removes it.
	kubeCreateCRD(t, c, "serviceprofiles.linkerd.io")
	deadline := time.Now().Add(15 * time.Second)
	for {
		var tool triggers.ToolResult
		for _, tr := range sched.Evaluate(context.Background()).Evaluation.Tools {
			if tr.ID == "linkerd" {
				tool = tr
			}
		}
		if tool.Detected == triggers.False && tool.Reason == "CRDs only (not running)" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("linkerd with its CRD only: %+v, want not detected, CRDs only (not running)", tool)
		}
		time.Sleep(100 * time.Millisecond)
	}
	followMesh(triggers.StateNow, 0)
	kubeCreateCustom(t, dynamic.NewForConfigOrDie(c.Admin), "linkerd.io/v1", "Serviceprofile", "serviceprofiles", "shop-frontend", "web", map[string]any{})
	followMesh(triggers.StateAdopted, 1)
	kubeDeleteCRD(t, c, "serviceprofiles.linkerd.io")
	followMesh(triggers.StateNow, 0)
}

// kubeWaitForMetrics polls the exporter's /metrics until each series has its
// value, for at most 20 seconds.
func kubeWaitForMetrics(t *testing.T, e *exporter, want map[string]float64) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		body := e.Get(t, "/metrics")
		var off []string
		for series, v := range want {
			if got, ok := kubeSeriesValue(body, series); !ok || got != v {
				off = append(off, fmt.Sprintf("%s = %v (present %v), want %v", series, got, ok, v))
			}
		}
		if len(off) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 20s: %s", strings.Join(off, "; "))
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// kubeSeriesValue finds a series written exactly as the exposition writes it
// (labels in the exporter's order) and returns its value.
func kubeSeriesValue(body, series string) (float64, bool) {
	for _, l := range strings.Split(body, "\n") {
		if rest, ok := strings.CutPrefix(l, series+" "); ok {
			v, err := strconv.ParseFloat(strings.TrimSpace(rest), 64)
			return v, err == nil
		}
	}
	return 0, false
}
