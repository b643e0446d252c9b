//go:build e2e

package e2e

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	k8syaml "k8s.io/apimachinery/pkg/util/yaml"
	sigsyaml "sigs.k8s.io/yaml"
)

// helmBinary finds helm: $HELM, else the binary hack/build-helm.sh caches
// (it builds it first if needed, a few minutes on 2 cores; .ci/run does
// that before the tests).
func helmBinary(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("HELM"); p != "" {
		return p
	}
	out, err := exec.Command("bash", filepath.Join(repoRoot(), "hack", "build-helm.sh")).Output()
	if err != nil {
		t.Fatalf("helm: set HELM, or run hack/build-helm.sh: %v", err)
	}
	return strings.TrimSpace(string(out))
}

// helmTemplate renders deploy/helm/capability-exporter as `helm template`
// does, with the given extra arguments (-f values, --set ...).
func helmTemplate(t testing.TB, release, namespace string, args ...string) []*unstructured.Unstructured {
	t.Helper()
	chart := filepath.Join(repoRoot(), "deploy", "helm", "capability-exporter")
	cmd := exec.Command(helmBinary(t), append([]string{"template", release, chart, "--namespace", namespace}, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("helm template: %v\n%s", err, stderr.String())
	}
	if stderr.Len() > 0 {
		t.Errorf("helm template %v warns:\n%s", args, stderr.String())
	}
	r := k8syaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(out)))
	var objs []*unstructured.Unstructured
	for {
		doc, err := r.Read()
		if err != nil {
			break
		}
		j, err := sigsyaml.YAMLToJSON(doc)
		if err != nil {
			t.Fatalf("helm template output: %v\n%s", err, doc)
		}
		if s := strings.TrimSpace(string(j)); s == "null" || s == "{}" {
			continue
		}
		u := &unstructured.Unstructured{}
		if err := u.UnmarshalJSON(j); err != nil {
			t.Fatalf("helm template output: %v\n%s", err, doc)
		}
		objs = append(objs, u)
	}
	if len(objs) == 0 {
		t.Fatalf("helm template rendered nothing:\n%s", out)
	}
	return objs
}

func oneOf(t testing.TB, objs []*unstructured.Unstructured, kind string) *unstructured.Unstructured {
	t.Helper()
	var found []*unstructured.Unstructured
	for _, u := range objs {
		if u.GetKind() == kind {
			found = append(found, u)
		}
	}
	if len(found) != 1 {
		t.Fatalf("want one %s, got %d", kind, len(found))
	}
	return found[0]
}

// configOf reads the exporter's config file out of the ConfigMap, with
// empty sections dropped: an absent section and an empty one mean the same.
func configOf(t testing.TB, objs []*unstructured.Unstructured) map[string]any {
	t.Helper()
	text, _, _ := unstructured.NestedString(oneOf(t, objs, "ConfigMap").Object, "data", "config.yml")
	var cfg map[string]any
	if err := yaml.Unmarshal([]byte(text), &cfg); err != nil {
		t.Fatalf("config.yml: %v\n%s", err, text)
	}
	for k, v := range cfg {
		if m, ok := v.(map[string]any); v == nil || ok && len(m) == 0 {
			delete(cfg, k)
		}
	}
	return cfg
}

// For the values that say what deploy/config.yml says, the chart renders
// the same config file, and the same pod, Service, RBAC, ServiceMonitor and
// PrometheusRule as the kustomize base; a changed config changes the pod's
// checksum annotation, so that the Deployment rolls.
func TestHelmChartRendersTheKustomizeBase(t *testing.T) {
	base := kustomizeObjects(t)
	baseConfig := configOf(t, base)
	if _, ok := baseConfig["rules_file"]; ok {
		t.Fatal("deploy/config.yml names a rules_file; give the chart the same rules as values")
	}
	values, err := yaml.Marshal(baseConfig)
	if err != nil {
		t.Fatal(err)
	}
	valuesFile := writeFile(t, t.TempDir(), "values.yaml", string(values)+"serviceMonitor: {enabled: true}\nprometheusRule: {enabled: true}\n")
	chart := helmTemplate(t, "capability-exporter", "monitoring", "-f", valuesFile)

	if got := configOf(t, chart); !reflect.DeepEqual(got, baseConfig) {
		gotY, _ := yaml.Marshal(got)
		t.Errorf("the chart renders config.yml\n%s\nthe kustomize base\n%s", gotY, values)
	}

	same := func(kind string, paths ...[]string) {
		t.Helper()
		for _, path := range paths {
			want, _, _ := unstructured.NestedFieldNoCopy(oneOf(t, base, kind).Object, path...)
			got, _, _ := unstructured.NestedFieldNoCopy(oneOf(t, chart, kind).Object, path...)
			if want == nil || !reflect.DeepEqual(got, want) {
				gotY, _ := yaml.Marshal(got)
				wantY, _ := yaml.Marshal(want)
				t.Errorf("%s %s: the chart renders\n%s\nthe kustomize base\n%s", kind, strings.Join(path, "."), gotY, wantY)
			}
		}
	}
	pod := []string{"spec", "template", "spec"}
	same("Deployment", []string{"spec", "replicas"}, []string{"spec", "revisionHistoryLimit"}, append(pod, "securityContext"))
	baseContainer := oneOf(t, base, "Deployment")
	chartContainer := oneOf(t, chart, "Deployment")
	containers := func(u *unstructured.Unstructured) map[string]any {
		cs, _, _ := unstructured.NestedSlice(u.Object, append(pod, "containers")...)
		if len(cs) != 1 {
			t.Fatalf("%s: want one container, got %d", u.GetName(), len(cs))
		}
		return cs[0].(map[string]any)
	}
	bc, cc := containers(baseContainer), containers(chartContainer)
	for _, field := range []string{"image", "args", "ports", "livenessProbe", "readinessProbe", "resources", "securityContext", "volumeMounts"} {
		if !reflect.DeepEqual(cc[field], bc[field]) {
			gotY, _ := yaml.Marshal(cc[field])
			wantY, _ := yaml.Marshal(bc[field])
			t.Errorf("container %s: the chart renders\n%s\nthe kustomize base\n%s", field, gotY, wantY)
		}
	}
	same("Service", []string{"spec", "ports"})
	same("ClusterRole", []string{"rules"})
	same("ServiceMonitor", []string{"spec", "endpoints"})
	same("PrometheusRule", []string{"spec"})

	checksum := func(objs []*unstructured.Unstructured) string {
		s, _, _ := unstructured.NestedString(oneOf(t, objs, "Deployment").Object, "spec", "template", "metadata", "annotations", "checksum/config")
		return s
	}
	again := helmTemplate(t, "capability-exporter", "monitoring", "-f", valuesFile)
	changed := helmTemplate(t, "capability-exporter", "monitoring", "-f", valuesFile, "--set", "facts.security_team=true")
	if checksum(chart) == "" || checksum(again) != checksum(chart) {
		t.Errorf("checksum/config %q, then %q for the same values: want one stable checksum", checksum(chart), checksum(again))
	}
	if checksum(changed) == checksum(chart) {
		t.Error("a changed fact left checksum/config unchanged: the pod would not roll")
	}
}

// helm lint --strict: the chart follows Helm's conventions, and renders
// with its defaults and with every option on.
func TestHelmChartLints(t *testing.T) {
	chart := filepath.Join(repoRoot(), "deploy", "helm", "capability-exporter")
	for _, args := range [][]string{nil, {"--set", "clusterName=prod-eu,scopeSourcesToCluster=true,sources.prometheus.url=http://p:9090,serviceMonitor.enabled=true,prometheusRule.enabled=true,grafanaDashboards.enabled=true,grafanaDashboards.folder=Capabilities"}} {
		out, err := exec.Command(helmBinary(t), append([]string{"lint", "--strict", chart}, args...)...).CombinedOutput()
		if err != nil {
			t.Errorf("helm lint --strict %v: %v\n%s", args, err, out)
		}
		if strings.Contains(string(out), "symbolic link") || strings.Contains(string(out), "[WARNING]") {
			t.Errorf("helm lint --strict %v warns:\n%s", args, out)
		}
	}
	// Scoping the sources to a cluster without naming it is refused.
	out, err := exec.Command(helmBinary(t), "template", "x", chart, "--set", "scopeSourcesToCluster=true").CombinedOutput()
	if err == nil || !strings.Contains(string(out), "scopeSourcesToCluster needs clusterName") {
		t.Errorf("scopeSourcesToCluster without clusterName: %v\n%s", err, out)
	}
}

// The config and rules the chart renders with every option on are what the
// exporter accepts: `capability_exporter check` passes on them.
func TestHelmChartConfigPassesCheck(t *testing.T) {
	values := writeFile(t, t.TempDir(), "values.yaml", `
clusterName: prod-eu
scopeSourcesToCluster: true
sources:
  prometheus: {url: http://prometheus-operated.monitoring.svc:9090, timeout: 20s}
  loki: {url: http://loki-gateway.logging.svc, tenant_id: webshop}
  kubernetes: {}
facts: {compliance_required: true, developers: 14, debugging_per_incident: 2h}
overrides: {microservices: 12}
`)
	objs := helmTemplate(t, "fleet", "monitoring", "-f", values,
		"--set-file", "rules="+filepath.Join(repoRoot(), "triggers", "default_rules.yml"))
	cm := oneOf(t, objs, "ConfigMap")
	dir := t.TempDir()
	for _, name := range []string{"config.yml", "rules.yml"} {
		text, ok, _ := unstructured.NestedString(cm.Object, "data", name)
		if !ok {
			t.Fatalf("the ConfigMap has no %s", name)
		}
		writeFile(t, dir, name, text)
	}
	cfg := configOf(t, objs)
	for _, kind := range []string{"prometheus", "loki"} {
		m, _ := cfg["sources"].(map[string]any)[kind].(map[string]any)["matchers"].([]any)
		if len(m) != 1 || m[0] != `cluster="prod-eu"` {
			t.Errorf("sources.%s.matchers = %v, want [cluster=\"prod-eu\"]", kind, m)
		}
	}
	out, err := exec.Command(exporterBinary(t), "check", "--config.file="+filepath.Join(dir, "config.yml")).CombinedOutput()
	if err != nil {
		t.Fatalf("capability_exporter check on the chart's config: %v\n%s", err, out)
	}
	t.Logf("check: %s", strings.TrimSpace(string(out)))
}

// docs/deploy.md's Helm line: with only a cluster name, a cluster that serves the
// Prometheus Operator's API gets the ServiceMonitor, which labels every
// series with the cluster, and the alert rules; `helm template`, which knows
// no cluster, is told so with --api-versions. Without it both stay off. A
// value of the wrong type fails at render time and names the value.
func TestHelmChartMonitoringAuto(t *testing.T) {
	objs := helmTemplate(t, "capability-exporter", "monitoring", "--set", "clusterName=prod-eu", "--api-versions", "monitoring.coreos.com/v1")
	sm := oneOf(t, objs, "ServiceMonitor")
	endpoints, _, _ := unstructured.NestedSlice(sm.Object, "spec", "endpoints")
	if len(endpoints) != 1 {
		t.Fatalf("ServiceMonitor endpoints: %v", endpoints)
	}
	relabelings, _ := endpoints[0].(map[string]any)["relabelings"].([]any)
	found := false
	for _, r := range relabelings {
		r := r.(map[string]any)
		if r["targetLabel"] == "cluster" && r["replacement"] == "prod-eu" && r["action"] == "replace" {
			found = true
		}
	}
	if !found {
		t.Errorf("ServiceMonitor relabelings %v: want cluster=\"prod-eu\"", relabelings)
	}
	oneOf(t, objs, "PrometheusRule")
	if got := configOf(t, objs)["cluster"]; got != "prod-eu" {
		t.Errorf("config cluster = %v, want prod-eu", got)
	}

	for _, o := range helmTemplate(t, "capability-exporter", "monitoring", "--set", "clusterName=prod-eu") {
		if k := o.GetKind(); k == "ServiceMonitor" || k == "PrometheusRule" {
			t.Errorf("without monitoring.coreos.com/v1 the chart renders a %s", k)
		}
	}

	chart := filepath.Join(repoRoot(), "deploy", "helm", "capability-exporter")
	for set, want := range map[string]string{
		"facts.compliance_required=yes":     "/facts/compliance_required",
		"facts.debugging_per_incident=soon": "/facts/debugging_per_incident",
		"serviceMonitor.enabled=maybe":      "/serviceMonitor/enabled",
		"fact.developers=3":                 "fact",
	} {
		out, err := exec.Command(helmBinary(t), "template", "x", chart, "--set", set).CombinedOutput()
		if err == nil || !strings.Contains(string(out), want) {
			t.Errorf("--set %s: %v, want an error naming %s:\n%s", set, err, want, out)
		}
	}
}

// extendingRules adds a fact (in a first_known alternative) and a threshold
// to the default rules; the exporter accepts it (TestHelmChartNamesFollowTheRules).
const extendingRules = `extends: default
thresholds:
  many_platform_teams:
    value: 3
    help: More platform teams than this share the cluster.
signals:
  platform_teams:
    help: Platform teams that run the cluster, declared or else counted as tenants.
    first_known:
      - fact: platform_teams
      - {kubernetes: tenants, lower_bound: true}
add_conditions:
  policy_enforcement:
    trigger: {if: 'platform_teams > {many_platform_teams}', says: 'More than {many_platform_teams} platform teams share the cluster'}
`

// A misspelt fact or threshold fails helm lint --strict and helm template,
// naming it: with rules empty the schema knows every name the default rules
// read or define; with rules extending them, the templates add the names the
// extension defines, as a map or as a string (--set-file), and fail the
// render (helm lint only reports a template's fail, as [INFO]).
func TestHelmChartNamesFollowTheRules(t *testing.T) {
	chart := filepath.Join(repoRoot(), "deploy", "helm", "capability-exporter")
	dir := t.TempDir()
	rulesFile := writeFile(t, dir, "rules.yml", extendingRules)
	var asMap map[string]any
	if err := yaml.Unmarshal([]byte(extendingRules), &asMap); err != nil {
		t.Fatal(err)
	}
	mapValues, err := yaml.Marshal(map[string]any{"rules": asMap})
	if err != nil {
		t.Fatal(err)
	}
	extending := map[string][]string{
		"rules as a map":    {"-f", writeFile(t, dir, "values.yaml", string(mapValues))},
		"rules as a string": {"--set-file", "rules=" + rulesFile},
	}
	misspelt := map[string]string{
		"thresholds.cost_grwth_per_month=15%": "thresholds.cost_grwth_per_month",
		"thresholds.many_platform_team=2":     "thresholds.many_platform_team",
		"facts.complance_required=true":       "facts.complance_required",
		"facts.platform_team=4":               "facts.platform_team",
	}
	run := func(args ...string) (string, error) {
		out, err := exec.Command(helmBinary(t), args...).CombinedOutput()
		return string(out), err
	}
	for set, want := range misspelt {
		for _, cmd := range [][]string{{"lint", "--strict", chart}, {"template", "x", chart}} {
			// The default rules: the schema refuses the name.
			out, err := run(append(cmd, "--set", set)...)
			name := want[strings.Index(want, ".")+1:]
			if err == nil || !strings.Contains(out, name) {
				t.Errorf("helm %s --set %s: %v, want an error naming %s:\n%s", cmd[0], set, err, name, out)
			}
			for how, args := range extending {
				out, err := run(append(append(cmd, args...), "--set", set)...)
				// helm lint renders the templates' `fail` as an [INFO]
				// line and exits 0 whatever --strict says, so lint only
				// names it; helm template, helm install and helm upgrade
				// fail.
				failed := err != nil || cmd[0] == "lint"
				if !failed || !strings.Contains(out, want+": unknown") {
					t.Errorf("%s, helm %s --set %s: %v, want an error naming %s:\n%s", how, cmd[0], set, err, want, out)
				}
			}
		}
	}
	if testing.Verbose() {
		out, _ := run("template", "x", chart, "--set", "thresholds.cost_grwth_per_month=15%")
		t.Logf("with the default rules:\n%s", out)
		out, _ = run("template", "x", chart, "--set-file", "rules="+rulesFile, "--set", "thresholds.cost_grwth_per_month=15%")
		t.Logf("with rules extending them:\n%s", out)
	}

	// The names the default rules and the extension define render, and the
	// exporter accepts the config and rules the chart renders.
	good := []string{"--set", "thresholds.cost_growth_per_month=15%,thresholds.many_platform_teams=2,facts.platform_teams=4,facts.compliance_required=true,facts.adopted.service_mesh=2026-01-05"}
	for how, args := range extending {
		objs := helmTemplate(t, "x", "monitoring", append(args, good...)...)
		cm := oneOf(t, objs, "ConfigMap")
		dir := t.TempDir()
		for _, name := range []string{"config.yml", "rules.yml"} {
			text, ok, _ := unstructured.NestedString(cm.Object, "data", name)
			if !ok {
				t.Fatalf("%s: the ConfigMap has no %s", how, name)
			}
			writeFile(t, dir, name, text)
		}
		out, err := exec.Command(exporterBinary(t), "check", "--config.file="+filepath.Join(dir, "config.yml")).CombinedOutput()
		if err != nil {
			t.Errorf("%s: capability_exporter check on the chart's config: %v\n%s", how, err, out)
		}
	}
	if out, err := run("lint", "--strict", chart, "--set", "thresholds.cost_growth_per_month=15%,facts.compliance_required=true"); err != nil {
		t.Errorf("helm lint --strict with default names: %v\n%s", err, out)
	}
}

// grafanaDashboards renders one ConfigMap per dashboards/*.json, its JSON
// byte for byte, labelled for Grafana's dashboard sidecar
// (kube-prometheus-stack's selects grafana_dashboard: "1"), with the folder
// annotation and namespace asked for; off by default.
func TestHelmChartGrafanaDashboards(t *testing.T) {
	want := map[string][]byte{}
	paths, err := filepath.Glob(filepath.Join(repoRoot(), "dashboards", "*.json"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("dashboards/*.json: %v", err)
	}
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		want[filepath.Base(p)] = data
	}
	dashboards := func(objs []*unstructured.Unstructured, label string) []*unstructured.Unstructured {
		var out []*unstructured.Unstructured
		for _, u := range objs {
			if _, ok := u.GetLabels()[label]; ok && u.GetKind() == "ConfigMap" {
				out = append(out, u)
			}
		}
		return out
	}
	if got := dashboards(helmTemplate(t, "capability-exporter", "monitoring"), "grafana_dashboard"); len(got) != 0 {
		t.Errorf("by default the chart renders %d dashboard ConfigMaps, want none", len(got))
	}

	for _, c := range []struct {
		name, release         string
		set                   string
		namespace, label, val string
		annotation, folder    string
	}{
		{name: "defaults", release: "capability-exporter", set: "grafanaDashboards.enabled=true",
			namespace: "monitoring", label: "grafana_dashboard", val: "1"},
		{name: "configured", release: "capability-exporter", set: "grafanaDashboards.enabled=true,grafanaDashboards.namespace=grafana,grafanaDashboards.label=dashboards,grafanaDashboards.labelValue=true,grafanaDashboards.folder=Platform capabilities,grafanaDashboards.folderAnnotation=k8s-sidecar-target-directory",
			namespace: "grafana", label: "dashboards", val: "true", annotation: "k8s-sidecar-target-directory", folder: "Platform capabilities"},
		{name: "folder", release: "a-release-name-long-enough-to-cut-dashboard-names", set: "grafanaDashboards.enabled=true,grafanaDashboards.folder=Capabilities",
			namespace: "monitoring", label: "grafana_dashboard", val: "1", annotation: "grafana_folder", folder: "Capabilities"},
	} {
		t.Run(c.name, func(t *testing.T) {
			objs := helmTemplate(t, c.release, "monitoring", "--set", c.set)
			got := dashboards(objs, c.label)
			if len(got) != len(want) {
				t.Fatalf("%d dashboard ConfigMaps labelled %s, want one per dashboards/*.json (%d)", len(got), c.label, len(want))
			}
			names := map[string]bool{}
			for _, cm := range got {
				names[cm.GetName()] = true
				if len(cm.GetName()) > 63 {
					t.Errorf("ConfigMap name %s: longer than 63 characters", cm.GetName())
				}
				if cm.GetNamespace() != c.namespace {
					t.Errorf("%s: namespace %q, want %q", cm.GetName(), cm.GetNamespace(), c.namespace)
				}
				if v := cm.GetLabels()[c.label]; v != c.val {
					t.Errorf("%s: label %s=%q, want %q", cm.GetName(), c.label, v, c.val)
				}
				annotations := cm.GetAnnotations()
				if c.annotation == "" && len(annotations) != 0 {
					t.Errorf("%s: annotations %v, want none", cm.GetName(), annotations)
				}
				if c.annotation != "" && annotations[c.annotation] != c.folder {
					t.Errorf("%s: annotation %s=%q, want %q", cm.GetName(), c.annotation, annotations[c.annotation], c.folder)
				}
				data, _, _ := unstructured.NestedStringMap(cm.Object, "data")
				if len(data) != 1 {
					t.Errorf("%s: data keys %d, want one dashboard", cm.GetName(), len(data))
				}
				for key, text := range data {
					original, ok := want[key]
					if !ok {
						t.Errorf("%s: data key %s is no dashboards/*.json", cm.GetName(), key)
						continue
					}
					if text != string(original) {
						t.Errorf("%s: %s differs from dashboards/%s", cm.GetName(), key, key)
					}
					if !strings.HasSuffix(cm.GetName(), strings.TrimSuffix(key, ".json")) {
						t.Errorf("ConfigMap %s holds %s: want the dashboard's name in the ConfigMap's", cm.GetName(), key)
					}
				}
			}
			if len(names) != len(got) {
				t.Errorf("dashboard ConfigMap names %v: want one each", names)
			}
		})
	}
}
