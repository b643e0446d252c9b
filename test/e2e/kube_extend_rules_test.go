//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// kubeTestExtendingRulesAddATool runs the exporter binary on a rules file
// that extends the defaults with one tool: the tool is detected only once its
// workload exists, and then marks its capability adopted, while everything
// the defaults say keeps working beside it.
func kubeTestExtendingRulesAddATool(t *testing.T, c *kubeCluster) {
	_, sa := kubeApplyExporterRBAC(t, c)
	kubeconfig := c.WriteKubeconfig(t, c.ServiceAccountConfig(t, sa.Namespace, sa.Name), "exporter")
	dir := t.TempDir()
	writeFile(t, dir, "rules.yml", `extends: default
tools:
  traefik_mesh:
    title: Traefik Mesh
    capability: service_mesh
    workloads: ['traefik-mesh-controller']
`)
	cfgPath := writeFile(t, dir, "config.yml", fmt.Sprintf(
		"sources:\n  kubernetes:\n    kubeconfig: %s\n    context: exporter\nrules_file: rules.yml\n", kubeconfig))
	e := startExporter(t, cfgPath, "--evaluation.interval=1s")
	kubeWaitForMetrics(t, e, map[string]float64{
		`capability_exporter_source_up{source="kubernetes"}`:                      1,
		`capability_tool_detected{capability="service_mesh",tool="traefik_mesh"}`: 0,
		`capability_decision{capability="service_mesh",state="adopted"}`:          0,
		// A default tool beside it, as the webshop has it.
		`capability_tool_detected{capability="policy_enforcement",tool="kyverno"}`: 1,
	})

	// In a platform namespace, so that the app measures of the subtests
	// after this one stay the webshop's.
	ctx := context.Background()
	d := kubeDeployment("kube-system", "traefik-mesh-controller", 1, kubeShopContainer("controller"))
	if _, err := c.Client.AppsV1().Deployments("kube-system").Create(ctx, d, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := c.Client.AppsV1().Deployments("kube-system").Delete(ctx, d.Name, metav1.DeleteOptions{}); err != nil {
			t.Error(err)
		}
	}()
	kubeWaitForMetrics(t, e, map[string]float64{
		`capability_tool_detected{capability="service_mesh",tool="traefik_mesh"}`: 1,
		`capability_decision{capability="service_mesh",state="adopted"}`:          1,
	})
}
