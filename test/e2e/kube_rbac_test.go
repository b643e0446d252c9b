//go:build e2e

package e2e

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/capability-exporter/capability_exporter/collector/kubernetes"
	"github.com/capability-exporter/capability_exporter/collector/source"
	"github.com/capability-exporter/capability_exporter/triggers"
)

// kubeApplyExporterRBAC creates what deploy/rbac declares, file by file as its
// kustomization lists them, and returns the ClusterRole and the
// ServiceAccount. Applying twice is fine.
func kubeApplyExporterRBAC(t *testing.T, c *kubeCluster) (*rbacv1.ClusterRole, *corev1.ServiceAccount) {
	t.Helper()
	dir := filepath.Join(repoRoot(), "deploy", "rbac")
	var kust struct {
		Resources []string `json:"resources"`
	}
	kubeReadYAML(t, filepath.Join(dir, "kustomization.yaml"), &kust)
	ctx := context.Background()
	var (
		role *rbacv1.ClusterRole
		sa   *corev1.ServiceAccount
	)
	for _, f := range kust.Resources {
		path := filepath.Join(dir, f)
		var head struct {
			Kind string `json:"kind"`
		}
		kubeReadYAML(t, path, &head)
		var err error
		switch head.Kind {
		case "ServiceAccount":
			sa = &corev1.ServiceAccount{}
			kubeReadYAML(t, path, sa)
			_, err = c.Client.CoreV1().ServiceAccounts(sa.Namespace).Create(ctx, sa, metav1.CreateOptions{})
		case "ClusterRole":
			role = &rbacv1.ClusterRole{}
			kubeReadYAML(t, path, role)
			_, err = c.Client.RbacV1().ClusterRoles().Create(ctx, role, metav1.CreateOptions{})
		case "ClusterRoleBinding":
			b := &rbacv1.ClusterRoleBinding{}
			kubeReadYAML(t, path, b)
			_, err = c.Client.RbacV1().ClusterRoleBindings().Create(ctx, b, metav1.CreateOptions{})
		default:
			t.Fatalf("%s: kind %q is not one deploy/rbac should hold", path, head.Kind)
		}
		if err != nil && !apierrors.IsAlreadyExists(err) {
			t.Fatalf("apply %s: %v", path, err)
		}
	}
	if role == nil || sa == nil {
		t.Fatalf("deploy/rbac lacks a ClusterRole or a ServiceAccount")
	}
	return role, sa
}

func kubeReadYAML(t *testing.T, path string, into any) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(data, into); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// kubeTestDeployRBAC runs the source as deploy/rbac's ServiceAccount, with a
// token from the TokenRequest API: every measure and tool is readable. Then,
// for each of several narrowings of the ClusterRole, only the signals that
// need the withdrawn access turn unknown, with a forbidden reason.
func kubeTestDeployRBAC(t *testing.T, c *kubeCluster, req source.Request) {
	role, sa := kubeApplyExporterRBAC(t, c)
	asExporter := func(t *testing.T) source.Result {
		t.Helper()
		src, err := kubernetes.New(c.ServiceAccountConfig(t, sa.Namespace, sa.Name), kubeSection(), kubeTestLogger(t))
		if err != nil {
			t.Fatal(err)
		}
		defer src.Close()
		return kubeCollect(t, src, req)
	}
	t.Run("as_deployed", func(t *testing.T) {
		checkKubeResult(t, asExporter(t), kubeWebshopMeasures, kubeWebshopTools)
	})

	setRules := func(t *testing.T, rules []rbacv1.PolicyRule) {
		t.Helper()
		cur, err := c.Client.RbacV1().ClusterRoles().Get(context.Background(), role.Name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		cur.Rules = rules
		if _, err := c.Client.RbacV1().ClusterRoles().Update(context.Background(), cur, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() { setRules(t, role.Rules) })

	withoutResource := func(resource string) []rbacv1.PolicyRule {
		var out []rbacv1.PolicyRule
		for _, r := range role.Rules {
			r := *r.DeepCopy()
			r.Resources = slices.DeleteFunc(r.Resources, func(s string) bool { return s == resource })
			if len(r.Resources) > 0 {
				out = append(out, r)
			}
		}
		return out
	}
	withoutVerb := func(resource, verb string) []rbacv1.PolicyRule {
		var out []rbacv1.PolicyRule
		for _, r := range role.Rules {
			r := *r.DeepCopy()
			if slices.Contains(r.Resources, resource) {
				r.Verbs = slices.DeleteFunc(r.Verbs, func(s string) bool { return s == verb })
			}
			out = append(out, r)
		}
		return out
	}
	for _, tc := range []kubeRBACNarrowing{
		{name: "without_networkpolicies", rules: withoutResource("networkpolicies"), resource: "networkpolicies.networking.k8s.io",
			unknown: []string{"networkpolicy_namespace_ratio", "default_deny_namespace_ratio", "networkpolicies"}},
		{name: "without_nodes", rules: withoutResource("nodes"), resource: "nodes",
			unknown: []string{"nodes", "zones", "regions", "nodes_not_ready"}},
		{name: "without_argo_cd_applications", rules: withoutResource("applications"), resource: "applications.argoproj.io",
			unknown: []string{"gitops_apps", "gitops_apps_failing"}},
		{name: "without_watch_on_bindings", rules: withoutVerb("rolebindings", "watch"), resource: "rolebindings.rbac.authorization.k8s.io",
			unknown: []string{"rbac_human_subjects"}},
		{name: "without_customresourcedefinitions", rules: withoutResource("customresourcedefinitions"),
			resource: "customresourcedefinitions.apiextensions.k8s.io",
			// Without CRDs no CNI's policies can be found: coverage short
			// of every namespace cannot be told.
			// Nor can the GitOps tools' applications.
			unknown: []string{"networkpolicy_namespace_ratio", "default_deny_namespace_ratio", "gitops_apps", "gitops_apps_failing"},
			// kyverno and argocd are still detected by a Deployment in
			// their namespace, prometheus and cilium by workload name;
			// jaeger runs nothing, and its CRD's objects are unreadable.
			unknownTools: []string{"linkerd", "istio", "gatekeeper", "jaeger", "velero"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			setRules(t, tc.rules)
			defer setRules(t, role.Rules)
			// The API server's authorizer reads roles from its own cache:
			// retry with a new source until the narrowing shows.
			var res source.Result
			deadline := time.Now().Add(15 * time.Second)
			for {
				res = asExporter(t)
				v := res.Values[tc.resourceSignal()]
				if !v.Known || time.Now().After(deadline) {
					break
				}
				time.Sleep(200 * time.Millisecond)
			}
			if !res.Up {
				t.Errorf("source down; a forbidden resource must not take it down")
			}
			forbidden := false
			for _, e := range res.Errors {
				if e.Reason != "forbidden" {
					t.Errorf("error %v, want only forbidden ones", e)
				}
				forbidden = forbidden || strings.Contains(e.Error(), tc.resource)
			}
			if !forbidden {
				t.Errorf("errors %v name no forbidden %s", res.Errors, tc.resource)
			}
			wantMeasures, wantTools := map[string]float64{}, map[string]float64{}
			for m, v := range kubeWebshopMeasures {
				if !slices.Contains(tc.unknown, m) {
					wantMeasures[m] = v
				}
			}
			for id, v := range kubeWebshopTools {
				if !slices.Contains(tc.unknownTools, id) {
					wantTools[id] = v
				}
			}
			for _, off := range kubeMismatches(res, wantMeasures, wantTools) {
				t.Error(off)
			}
			for _, key := range append(slices.Clone(tc.unknown), kubeToolKeys(tc.unknownTools)...) {
				if v := res.Values[key]; v.Known || !strings.Contains(v.Reason, "forbidden") || !strings.Contains(v.Reason, tc.resource) {
					t.Errorf("%s = %+v, want unknown with a forbidden reason naming %s", key, v, tc.resource)
				}
			}
		})
	}
}

// kubeRBACNarrowing is the ClusterRole less some access, and what it costs.
type kubeRBACNarrowing struct {
	name         string
	rules        []rbacv1.PolicyRule
	resource     string   // named in the forbidden reason
	unknown      []string // measures that turn unknown
	unknownTools []string // tools that turn unknown; the others keep their detection
}

// resourceSignal is a signal that turns unknown once the narrowing holds.
func (tc *kubeRBACNarrowing) resourceSignal() string {
	if len(tc.unknown) > 0 {
		return tc.unknown[0]
	}
	return triggers.ToolSignalPrefix + tc.unknownTools[0]
}

func kubeToolKeys(tools []string) []string {
	out := make([]string, len(tools))
	for i, id := range tools {
		out[i] = triggers.ToolSignalPrefix + id
	}
	return out
}
