package kubernetes

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"sigs.k8s.io/yaml"

	"github.com/capability-exporter/capability_exporter/triggers"
)

// deploy/rbac is what users apply; the informers are what the source
// needs. Sufficient and minimal means: list and watch on exactly the
// resources of resourceKinds, and nothing else. (test/e2e proves the same
// against a real API server.)
func TestKubernetesClusterRoleMatchesTheSource(t *testing.T) {
	dir := filepath.Join("..", "..", "deploy", "rbac")
	var kust struct {
		Resources []string `json:"resources"`
	}
	readYAML(t, filepath.Join(dir, "kustomization.yaml"), &kust)
	var (
		role    rbacv1.ClusterRole
		binding rbacv1.ClusterRoleBinding
		sa      corev1.ServiceAccount
	)
	for _, f := range kust.Resources {
		var kind struct {
			Kind string `json:"kind"`
		}
		path := filepath.Join(dir, f)
		readYAML(t, path, &kind)
		switch kind.Kind {
		case "ClusterRole":
			readYAML(t, path, &role)
		case "ClusterRoleBinding":
			readYAML(t, path, &binding)
		case "ServiceAccount":
			readYAML(t, path, &sa)
		default:
			t.Errorf("%s: unexpected kind %q in deploy/rbac", path, kind.Kind)
		}
	}

	granted := map[string][]string{} // resource.group -> verbs
	var toolGroups []string          // groups granted all resources: the tools' CRD groups
	for i, r := range role.Rules {
		if len(r.NonResourceURLs) > 0 || len(r.ResourceNames) > 0 {
			t.Errorf("rule %d: want plain resource rules, got %+v", i, r)
		}
		if slices.Contains(r.Resources, "*") {
			if len(r.Resources) != 1 || !slices.Equal(slices.Sorted(slices.Values(r.Verbs)), []string{"list", "watch"}) {
				t.Errorf("rule %d: a wildcard rule must grant exactly list and watch on * alone, got %+v", i, r)
			}
			toolGroups = append(toolGroups, r.APIGroups...)
			continue
		}
		verbs := slices.Sorted(slices.Values(r.Verbs))
		for _, g := range r.APIGroups {
			for _, res := range r.Resources {
				key := res
				if g != "" {
					key += "." + g
				}
				if _, dup := granted[key]; dup {
					t.Errorf("%s granted twice", key)
				}
				granted[key] = verbs
			}
		}
	}
	want := map[string]bool{}
	for id := range numResources {
		want[id.String()] = true
		if v, ok := granted[id.String()]; !ok {
			t.Errorf("ClusterRole does not grant %s, which the source reads", id)
		} else if !slices.Equal(v, []string{"list", "watch"}) {
			t.Errorf("%s: verbs %v, want exactly list and watch (informers never get single objects)", id, v)
		}
	}
	for key := range granted {
		if !want[key] {
			t.Errorf("ClusterRole grants %s, which the source never reads", key)
		}
	}

	// The objects of tools' CRDs are read (tool_objects.go) for
	// the groups of the default rules' tools, and no other group.
	rules, err := triggers.Default()
	if err != nil {
		t.Fatal(err)
	}
	var wantGroups []string
	for _, tool := range rules.Tools {
		wantGroups = append(wantGroups, tool.CRDGroups...)
	}
	slices.Sort(wantGroups)
	slices.Sort(toolGroups)
	if wantGroups = slices.Compact(wantGroups); !slices.Equal(toolGroups, wantGroups) {
		t.Errorf("ClusterRole grants list and watch on all resources of %v, want exactly the default tools' CRD groups %v", toolGroups, wantGroups)
	}

	if binding.RoleRef.Kind != "ClusterRole" || binding.RoleRef.Name != role.Name {
		t.Errorf("binding refers to %s %s, want ClusterRole %s", binding.RoleRef.Kind, binding.RoleRef.Name, role.Name)
	}
	if len(binding.Subjects) != 1 || binding.Subjects[0].Kind != "ServiceAccount" ||
		binding.Subjects[0].Name != sa.Name || binding.Subjects[0].Namespace != sa.Namespace {
		t.Errorf("binding subjects %+v, want the ServiceAccount %s/%s", binding.Subjects, sa.Namespace, sa.Name)
	}
}

func readYAML(t *testing.T, path string, into any) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(data), "\n---") {
		t.Fatalf("%s: one object per file, please", path)
	}
	if err := yaml.Unmarshal(data, into); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}
