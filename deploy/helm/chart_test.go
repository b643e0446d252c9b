package helm

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	sigsyaml "sigs.k8s.io/yaml"
)

const chart = "capability-exporter"

// Helm reads only files inside the chart, and warns about every symlink
// in it, so files/ holds copies of deploy/'s alert rules and ClusterRole;
// this keeps them equal, so there is still one of each, tested where it
// lives.
var copies = map[string]string{
	"files/capability-exporter.rules.yml": "../rules/capability-exporter.rules.yml",
	"files/clusterrole.yaml":              "../rbac/clusterrole.yaml",
}

func TestChartFilesAreDeploys(t *testing.T) {
	for name, original := range copies {
		path := filepath.Join(chart, name)
		if fi, err := os.Lstat(path); err != nil || !fi.Mode().IsRegular() {
			t.Errorf("%s: want a regular file, not a link (Helm warns about links): %v", path, err)
			continue
		}
		got, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		want, err := os.ReadFile(original)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs from %s: cp %s %s", path, original, filepath.Join("deploy", original[3:]), filepath.Join("deploy/helm", path))
		}
	}
}

// files/dashboards holds copies of the repository's dashboards/*.json, which
// grafanaDashboards installs (Helm cannot read ../../dashboards): the same
// files, byte for byte, and no others.
func TestChartDashboardsAreTheDashboards(t *testing.T) {
	originals, err := filepath.Glob("../../dashboards/*.json")
	if err != nil {
		t.Fatal(err)
	}
	copies, err := filepath.Glob(filepath.Join(chart, "files", "dashboards", "*"))
	if err != nil {
		t.Fatal(err)
	}
	if len(originals) == 0 {
		t.Fatal("no dashboards/*.json")
	}
	want := map[string][]byte{}
	for _, path := range originals {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		want[filepath.Base(path)] = data
	}
	fix := "rm " + filepath.Join("deploy/helm", chart, "files/dashboards/*") + " && cp dashboards/*.json " + filepath.Join("deploy/helm", chart, "files/dashboards/")
	for _, path := range copies {
		name := filepath.Base(path)
		if fi, err := os.Lstat(path); err != nil || !fi.Mode().IsRegular() {
			t.Errorf("%s: want a regular file, not a link (Helm warns about links): %v", path, err)
			continue
		}
		original, ok := want[name]
		if !ok {
			t.Errorf("%s: dashboards/ has no %s: %s", path, name, fix)
			continue
		}
		delete(want, name)
		got, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, original) {
			t.Errorf("%s differs from dashboards/%s: %s", path, name, fix)
		}
	}
	for name := range want {
		t.Errorf("%s has no copy of dashboards/%s: %s", filepath.Join(chart, "files", "dashboards"), name, fix)
	}
}

// values is the part of values.yaml these tests read.
type values struct {
	Sources            map[string]any              `json:"sources"`
	Facts              map[string]any              `json:"facts"`
	Overrides          map[string]any              `json:"overrides"`
	Thresholds         map[string]any              `json:"thresholds"`
	Rules              any                         `json:"rules"`
	Replicas           int32                       `json:"replicas"`
	PodSecurityContext corev1.PodSecurityContext   `json:"podSecurityContext"`
	SecurityContext    corev1.SecurityContext      `json:"securityContext"`
	Resources          corev1.ResourceRequirements `json:"resources"`
	LivenessProbe      corev1.Probe                `json:"livenessProbe"`
	ReadinessProbe     corev1.Probe                `json:"readinessProbe"`
}

func readValues(t *testing.T) values {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(chart, "values.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var v values
	if err := sigsyaml.Unmarshal(data, &v); err != nil {
		t.Fatalf("values.yaml: %v", err)
	}
	return v
}

// The chart's defaults declare nothing on the organisation's behalf: a fact
// nobody declared is unknown, and the status page says so.
func TestDefaultValuesDeclareNoFacts(t *testing.T) {
	v := readValues(t)
	if len(v.Facts) != 0 || len(v.Overrides) != 0 || len(v.Thresholds) != 0 {
		t.Errorf("default facts %v, overrides %v, thresholds %v: want none", v.Facts, v.Overrides, v.Thresholds)
	}
	if v.Rules != nil && !reflect.DeepEqual(v.Rules, map[string]any{}) && v.Rules != "" {
		t.Errorf("default rules %v: want the rules embedded in the binary", v.Rules)
	}
}

// By default the chart configures the sources deploy/config.yml does.
func TestDefaultSourcesAreTheKustomizeBase(t *testing.T) {
	data, err := os.ReadFile("../config.yml")
	if err != nil {
		t.Fatal(err)
	}
	var base struct {
		Sources map[string]any `json:"sources"`
	}
	if err := sigsyaml.Unmarshal(data, &base); err != nil {
		t.Fatal(err)
	}
	if v := readValues(t); !reflect.DeepEqual(v.Sources, base.Sources) {
		got, _ := json.Marshal(v.Sources)
		want, _ := json.Marshal(base.Sources)
		t.Errorf("values sources = %s, want deploy/config.yml's %s", got, want)
	}
}

// The chart's pod is the kustomize base's: the same security contexts,
// resources and probes by default.
func TestDefaultPodIsTheKustomizeBase(t *testing.T) {
	data, err := os.ReadFile("../deployment.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var d appsv1.Deployment
	if err := sigsyaml.UnmarshalStrict(data, &d); err != nil {
		t.Fatal(err)
	}
	c := d.Spec.Template.Spec.Containers[0]
	v := readValues(t)
	for _, f := range []struct {
		name      string
		got, want any
	}{
		{"replicas", v.Replicas, *d.Spec.Replicas},
		{"podSecurityContext", v.PodSecurityContext, *d.Spec.Template.Spec.SecurityContext},
		{"securityContext", v.SecurityContext, *c.SecurityContext},
		{"resources", v.Resources, c.Resources},
		{"livenessProbe", v.LivenessProbe, *c.LivenessProbe},
		{"readinessProbe", v.ReadinessProbe, *c.ReadinessProbe},
	} {
		if !reflect.DeepEqual(f.got, f.want) {
			got, _ := json.Marshal(f.got)
			want, _ := json.Marshal(f.want)
			t.Errorf("values %s = %s, want the kustomize base's %s", f.name, got, want)
		}
	}
}
