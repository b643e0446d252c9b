package deploy

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	sigsjson "sigs.k8s.io/json"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	sigsyaml "sigs.k8s.io/yaml"

	"github.com/capability-exporter/capability_exporter/config"
)

// rendered is `kustomize build deploy/`, by kind and name.
type rendered map[string]map[string][]byte

// Render runs kustomize on dir, as `kustomize build` would.
func Render(dir string) (rendered, error) {
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	m, err := k.Run(filesys.MakeFsOnDisk(), dir)
	if err != nil {
		return nil, err
	}
	out := rendered{}
	for _, r := range m.Resources() {
		y, err := r.AsYAML()
		if err != nil {
			return nil, err
		}
		if out[r.GetKind()] == nil {
			out[r.GetKind()] = map[string][]byte{}
		}
		out[r.GetKind()][r.GetName()] = y
	}
	return out, nil
}

// one decodes the only object of a kind into v as the API server does:
// field names match case-sensitively and an unknown one is an error, so a
// misspelt readOnlyRootFileSystem fails here rather than being dropped. A
// CRD's object decodes loosely into the few fields a test reads.
func (r rendered) one(t *testing.T, kind string, v any) string {
	t.Helper()
	if len(r[kind]) != 1 {
		t.Fatalf("want one %s, got %d", kind, len(r[kind]))
	}
	for name, y := range r[kind] {
		j, err := sigsyaml.YAMLToJSON(y)
		if err != nil {
			t.Fatalf("%s %s: %v", kind, name, err)
		}
		if kind == "ServiceMonitor" || kind == "PrometheusRule" {
			err = sigsjson.UnmarshalCaseSensitivePreserveInts(j, v)
		} else {
			var strict []error
			strict, err = sigsjson.UnmarshalStrict(j, v)
			if err == nil && len(strict) > 0 {
				err = errors.Join(strict...)
			}
		}
		if err != nil {
			t.Fatalf("%s %s: %v", kind, name, err)
		}
		return name
	}
	return ""
}

func renderDeploy(t *testing.T) rendered {
	t.Helper()
	// The base lists rbac/, the Kubernetes source's: without it the
	// deployment cannot read the cluster, which is a failure, not a skip.
	if _, err := os.Stat(filepath.Join("rbac", "kustomization.yaml")); err != nil {
		t.Fatalf("deploy/rbac: %v; the base lists rbac/ and the Kubernetes source needs it", err)
	}
	r, err := Render(".")
	if err != nil {
		t.Fatalf("kustomize build deploy/: %v", err)
	}
	return r
}

func TestKustomizeRendersEveryPart(t *testing.T) {
	r := renderDeploy(t)
	for _, kind := range []string{"Deployment", "Service", "ConfigMap", "ServiceAccount", "ClusterRole",
		"ClusterRoleBinding", "ServiceMonitor", "PrometheusRule"} {
		if len(r[kind]) == 0 {
			t.Errorf("kustomize build deploy/ renders no %s", kind)
		}
	}
	var sa corev1.ServiceAccount
	r.one(t, "ServiceAccount", &sa)
	var dep appsv1.Deployment
	r.one(t, "Deployment", &dep)
	var crb rbacv1.ClusterRoleBinding
	r.one(t, "ClusterRoleBinding", &crb)
	if dep.Namespace == "" || sa.Namespace != dep.Namespace {
		t.Errorf("Deployment in namespace %q, its ServiceAccount in %q: want both in one namespace", dep.Namespace, sa.Namespace)
	}
	if dep.Spec.Template.Spec.ServiceAccountName != sa.Name {
		t.Errorf("Deployment runs as ServiceAccount %q, the RBAC grants %q", dep.Spec.Template.Spec.ServiceAccountName, sa.Name)
	}
	bound := false
	for _, s := range crb.Subjects {
		bound = bound || (s.Kind == "ServiceAccount" && s.Name == sa.Name && s.Namespace == sa.Namespace)
	}
	if !bound {
		t.Errorf("ClusterRoleBinding subjects %+v do not name ServiceAccount %s/%s", crb.Subjects, sa.Namespace, sa.Name)
	}
	for kind, objs := range r {
		for name, y := range objs {
			if strings.Contains(string(y), "namespace: ") && !strings.Contains(string(y), "namespace: "+dep.Namespace) {
				t.Errorf("%s %s is not in namespace %s", kind, name, dep.Namespace)
			}
		}
	}
}

func TestDeploymentIsLockedDown(t *testing.T) {
	r := renderDeploy(t)
	var dep appsv1.Deployment
	r.one(t, "Deployment", &dep)
	pod := dep.Spec.Template.Spec
	if len(pod.Containers) != 1 {
		t.Fatalf("want one container, got %d", len(pod.Containers))
	}
	c := pod.Containers[0]
	psc, sc := pod.SecurityContext, c.SecurityContext
	if sc == nil {
		t.Fatal("container has no securityContext")
	}
	nonRoot := (sc.RunAsNonRoot != nil && *sc.RunAsNonRoot) || (psc != nil && psc.RunAsNonRoot != nil && *psc.RunAsNonRoot)
	if !nonRoot {
		t.Error("runAsNonRoot is not set")
	}
	if psc == nil || psc.RunAsUser == nil || *psc.RunAsUser != 65532 {
		t.Error("want runAsUser 65532, the image's nonroot user")
	}
	if sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
		t.Error("readOnlyRootFilesystem is not true")
	}
	if sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
		t.Error("allowPrivilegeEscalation is not false")
	}
	if sc.Privileged != nil && *sc.Privileged {
		t.Error("container is privileged")
	}
	if sc.Capabilities == nil || !slices.Contains(sc.Capabilities.Drop, "ALL") || len(sc.Capabilities.Add) > 0 {
		t.Errorf("capabilities %+v: want drop ALL and nothing added", sc.Capabilities)
	}
	if psc == nil || psc.SeccompProfile == nil || psc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Error("want the RuntimeDefault seccomp profile (restricted Pod Security)")
	}
	for _, res := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
		if q, ok := c.Resources.Requests[res]; !ok || q.IsZero() {
			t.Errorf("no %s request", res)
		}
		if q, ok := c.Resources.Limits[res]; !ok || q.IsZero() {
			t.Errorf("no %s limit", res)
		}
	}

	var port *corev1.ContainerPort
	for i := range c.Ports {
		if c.Ports[i].Name == "http-metrics" {
			port = &c.Ports[i]
		}
	}
	if port == nil || port.ContainerPort != 9877 {
		t.Fatalf("want a port named http-metrics on 9877, got %+v", c.Ports)
	}
	probe := func(what string, p *corev1.Probe, path string) {
		if p == nil || p.HTTPGet == nil {
			t.Errorf("%s probe: want an HTTP GET of %s", what, path)
			return
		}
		if p.HTTPGet.Path != path || (p.HTTPGet.Port.String() != "http-metrics" && p.HTTPGet.Port.IntValue() != 9877) {
			t.Errorf("%s probe: GET %s on %s, want %s on http-metrics", what, p.HTTPGet.Path, p.HTTPGet.Port.String(), path)
		}
	}
	probe("liveness", c.LivenessProbe, "/-/healthy")
	probe("readiness", c.ReadinessProbe, "/-/ready")
}

func TestConfigMapHoldsTheConfigTheImageReads(t *testing.T) {
	r := renderDeploy(t)
	var dep appsv1.Deployment
	r.one(t, "Deployment", &dep)
	var cm corev1.ConfigMap
	cmName := r.one(t, "ConfigMap", &cm)

	// The image's entrypoint reads this path; see the Dockerfile.
	const configPath = "/etc/capability_exporter/config.yml"
	dir, file := filepath.Split(configPath)
	c := dep.Spec.Template.Spec.Containers[0]
	var volume string
	for _, m := range c.VolumeMounts {
		if filepath.Clean(m.MountPath) == filepath.Clean(dir) {
			volume = m.Name
			if !m.ReadOnly {
				t.Errorf("volume %s is mounted writable", m.Name)
			}
		}
	}
	mounted := ""
	for _, v := range dep.Spec.Template.Spec.Volumes {
		if v.Name == volume && v.ConfigMap != nil {
			mounted = v.ConfigMap.Name
		}
	}
	if mounted != cmName {
		t.Fatalf("%s is not mounted from ConfigMap %s (mounted: volume %q from %q)", dir, cmName, volume, mounted)
	}
	data, ok := cm.Data[file]
	if !ok {
		t.Fatalf("ConfigMap %s has no %s", cmName, file)
	}
	cfg, err := config.Parse("ConfigMap "+cmName+"/"+file, []byte(data))
	if err != nil {
		t.Fatalf("the deployed config does not load: %v", err)
	}
	// What kustomize renders carries no one's facts: the cluster's own
	// measures decide, and undeclared facts read unknown.
	if len(cfg.FactValues) > 0 || len(cfg.OverrideValues) > 0 || strings.Contains(data, "developers: 14") {
		t.Errorf("the rendered config declares %d facts and %d overrides, want none", len(cfg.FactValues), len(cfg.OverrideValues))
	}
	for _, a := range c.Args {
		if strings.HasPrefix(a, "--config.file") {
			t.Errorf("args set %s; the image's entrypoint already reads %s", a, configPath)
		}
	}
}

func TestServiceAndServiceMonitorReachThePod(t *testing.T) {
	r := renderDeploy(t)
	var dep appsv1.Deployment
	r.one(t, "Deployment", &dep)
	var svc corev1.Service
	r.one(t, "Service", &svc)
	podLabels := labels.Set(dep.Spec.Template.Labels)
	if len(svc.Spec.Selector) == 0 || !labels.SelectorFromSet(svc.Spec.Selector).Matches(podLabels) {
		t.Errorf("Service selector %v does not select the pod labels %v", svc.Spec.Selector, podLabels)
	}
	sel, err := metav1.LabelSelectorAsSelector(dep.Spec.Selector)
	if err != nil || !sel.Matches(podLabels) {
		t.Errorf("Deployment selector does not match its own pods: %v", err)
	}
	if len(svc.Spec.Ports) != 1 || svc.Spec.Ports[0].Name != "http-metrics" || svc.Spec.Ports[0].TargetPort.String() != "http-metrics" {
		t.Errorf("Service ports %+v: want http-metrics targeting the container port http-metrics", svc.Spec.Ports)
	}

	// The ServiceMonitor is a CRD; read the fields the operator uses.
	var sm struct {
		Metadata struct {
			Namespace string `json:"namespace"`
		} `json:"metadata"`
		Spec struct {
			Selector struct {
				MatchLabels map[string]string `json:"matchLabels"`
			} `json:"selector"`
			Endpoints []struct {
				Port     string `json:"port"`
				Path     string `json:"path"`
				Interval string `json:"interval"`
			} `json:"endpoints"`
		} `json:"spec"`
	}
	r.one(t, "ServiceMonitor", &sm)
	if len(sm.Spec.Selector.MatchLabels) == 0 || !labels.SelectorFromSet(sm.Spec.Selector.MatchLabels).Matches(labels.Set(svc.Labels)) {
		t.Errorf("ServiceMonitor selector %v does not select the Service's labels %v", sm.Spec.Selector.MatchLabels, svc.Labels)
	}
	if sm.Metadata.Namespace != svc.Namespace {
		t.Errorf("ServiceMonitor in %q, Service in %q: without namespaceSelector it only sees its own namespace", sm.Metadata.Namespace, svc.Namespace)
	}
	if len(sm.Spec.Endpoints) != 1 || sm.Spec.Endpoints[0].Port != "http-metrics" || sm.Spec.Endpoints[0].Path != "/metrics" {
		t.Errorf("ServiceMonitor endpoints %+v: want port http-metrics, path /metrics", sm.Spec.Endpoints)
	}
	// The operator names the job after the Service; the absent/down alerts
	// match job=~".*capability.*".
	if !strings.Contains(svc.Name, "capability") {
		t.Errorf("Service %q: the scrape job is named after it and the alerts match job=~\".*capability.*\"", svc.Name)
	}
}
