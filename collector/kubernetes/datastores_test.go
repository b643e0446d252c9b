package kubernetes

import (
	"fmt"
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/capability-exporter/capability_exporter/triggers"
)

func TestImageName(t *testing.T) {
	for ref, want := range map[string]string{
		"mongo":                     "mongo",
		"docker.io/library/redis:7": "redis",
		"bitnami/postgresql":        "postgresql",
		"rabbitmq:3-management":     "rabbitmq",
		"ghcr.io/org/postgres@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef": "postgres",
		"registry.local:5000/team/kafka:3.7@sha256:abc":                                                "kafka",
		"localhost:5000/Valkey":                    "valkey",
		"quay.io/strimzi/kafka:0.40.0-kafka-3.7.0": "kafka",
		"": "",
	} {
		if got := imageName(ref); got != want {
			t.Errorf("imageName(%q) = %q, want %q", ref, got, want)
		}
	}
}

// container runs an image, as a datastore's or an app's manifest names it.
func container(name, image string) corev1.Container {
	return corev1.Container{Name: name, Image: image}
}

// selectedDeployment is a Deployment of one container and a Service that
// selects it.
func selectedDeployment(ns, name string, c corev1.Container) []runtime.Object {
	sel := labelsOf("app", name)
	return []runtime.Object{deploymentObj(ns, name, ptr[int32](1), podTemplate(sel, c)), serviceObj(ns, name, sel)}
}

func defaultRules(t testing.TB) *triggers.Rules {
	t.Helper()
	r, err := triggers.Default()
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// leftOutText renders a LeftOut for comparison: its total and each object
// with its reason.
func leftOutText(l *triggers.LeftOut) []string {
	if l == nil {
		return nil
	}
	out := []string{fmt.Sprint(l.Total)}
	for _, o := range l.Objects {
		out = append(out, o.Name+": "+o.Reason)
	}
	return out
}

// A Service selects a database, a cache or a broker like any service: the
// measure leaves them out by image, whatever the registry, organisation,
// tag or digest, and names each with why.
func TestMicroservicesLeaveOutDatastores(t *testing.T) {
	objs := slices.Concat(
		selectedDeployment("shop", "mongo", container("mongo", "mongo")),
		selectedDeployment("shop", "cache", container("redis", "docker.io/library/redis:7")),
		selectedDeployment("shop", "broker", container("rabbitmq", "rabbitmq:3-management")),
		selectedDeployment("shop", "web", container("web", "ghcr.io/acme/shop-web:1.4")),
		[]runtime.Object{
			statefulSetObj("shop", "orders", ptr[int32](1), podTemplate(labelsOf("app", "orders"), container("postgresql", "bitnami/postgresql")), "data"),
			serviceObj("shop", "orders", labelsOf("app", "orders")),
		},
	)
	fc := newFakeCluster(t, objs, nil, nil)
	req := request([]string{"microservices", "workloads"})
	req.Rules = defaultRules(t)
	res := fc.collect(t, req)
	if v := res.Values["microservices"]; !v.Known || v.Number != 1 {
		t.Fatalf("microservices = %+v, want 1 (web)", v)
	}
	want := []string{"4", "shop/broker: image rabbitmq", "shop/cache: image redis", "shop/mongo: image mongo", "shop/orders: image postgresql"}
	if got := leftOutText(res.Values["microservices"].LeftOut); !slices.Equal(got, want) {
		t.Errorf("left out %q, want %q", got, want)
	}
	// Only the count of services leaves them out: they are workloads.
	if v := res.Values["workloads"]; !v.Known || v.Number != 5 || v.LeftOut != nil {
		t.Errorf("workloads = %+v, want 5 and nothing left out", v)
	}
}

// Besides images, a name ending in -db and the component label database
// (on the pod template or the workload) mark a datastore. An app whose init
// container waits with a database image, and a datastore no Service selects,
// are not named: the one is counted, the other never was.
func TestMicroservicesLeaveOutByNameAndLabel(t *testing.T) {
	waiter := podTemplate(labelsOf("app", "api"), container("api", "acme/api"))
	waiter.Spec.InitContainers = []corev1.Container{container("wait-for-db", "postgres:16")}
	labelled := deploymentObj("shop", "catalog-store", ptr[int32](1), podTemplate(labelsOf("app", "catalog-store"), container("c", "acme/store")))
	labelled.Labels = labelsOf(triggers.ComponentLabel, "database")
	objs := slices.Concat(
		selectedDeployment("shop", "orders-db", container("db", "acme/orders-store:2")),
		selectedDeployment("shop", "search", container("search", "acme/search")),
		[]runtime.Object{
			deploymentObj("shop", "api", ptr[int32](1), waiter), serviceObj("shop", "api", labelsOf("app", "api")),
			labelled, serviceObj("shop", "catalog-store", labelsOf("app", "catalog-store")),
			deploymentObj("shop", "sessions", ptr[int32](1), podTemplate(labelsOf("app", "sessions", triggers.ComponentLabel, "database"), container("s", "acme/sessions"))),
			serviceObj("shop", "sessions", labelsOf("app", "sessions")),
			deploymentObj("shop", "unexposed", ptr[int32](1), podTemplate(labelsOf("app", "unexposed"), container("m", "mysql:8"))),
			deploymentObj("kube-system", "etcd-backup", ptr[int32](1), podTemplate(labelsOf("app", "b"), container("e", "etcd"))),
			serviceObj("kube-system", "etcd-backup", labelsOf("app", "b")),
		},
	)
	fc := newFakeCluster(t, objs, nil, nil)
	req := request([]string{"microservices"})
	req.Rules = defaultRules(t)
	v := fc.collect(t, req).Values["microservices"]
	if !v.Known || v.Number != 2 {
		t.Fatalf("microservices = %+v, want 2 (search, api)", v)
	}
	want := []string{"3", "shop/catalog-store: label app.kubernetes.io/component=database", "shop/orders-db: name ends in -db",
		"shop/sessions: label app.kubernetes.io/component=database"}
	if got := leftOutText(v.LeftOut); !slices.Equal(got, want) {
		t.Errorf("left out %q, want %q", got, want)
	}
}

// An organisation's own rules file that extends the defaults adds image
// names; without rules nothing is left out.
func TestMicroservicesLeaveOutExtendedImages(t *testing.T) {
	objs := slices.Concat(
		selectedDeployment("shop", "ledger", container("ledger", "registry.acme.internal/platform/acme-ledger:5.2")),
		selectedDeployment("shop", "cache", container("redis", "redis")),
		selectedDeployment("shop", "web", container("web", "acme/web")),
	)
	ext, err := triggers.Parse("acme-rules.yml", []byte("extends: default\ndatastores:\n  images: [acme-ledger]\n"))
	if err != nil {
		t.Fatal(err)
	}
	fc := newFakeCluster(t, objs, nil, nil)
	for _, tc := range []struct {
		name  string
		rules *triggers.Rules
		count float64
		left  []string
	}{
		{"extended", ext, 1, []string{"2", "shop/cache: image redis", "shop/ledger: image acme-ledger"}},
		{"default", defaultRules(t), 2, []string{"1", "shop/cache: image redis"}},
		{"no rules", nil, 3, nil},
	} {
		req := request([]string{"microservices"})
		req.Rules = tc.rules
		v := fc.collect(t, req).Values["microservices"]
		if !v.Known || v.Number != tc.count {
			t.Errorf("%s: microservices = %+v, want %v", tc.name, v, tc.count)
		}
		if got := leftOutText(v.LeftOut); !slices.Equal(got, tc.left) {
			t.Errorf("%s: left out %q, want %q", tc.name, got, tc.left)
		}
	}
}

// The value names at most MaxLeftOut of what it left out, in name order, and
// counts them all.
func TestMicroservicesLeftOutIsBounded(t *testing.T) {
	var objs []runtime.Object
	n := triggers.MaxLeftOut + 5
	for i := range n {
		objs = append(objs, selectedDeployment("shop", fmt.Sprintf("cache-%02d", i), container("redis", "redis"))...)
	}
	fc := newFakeCluster(t, objs, nil, nil)
	req := request([]string{"microservices"})
	req.Rules = defaultRules(t)
	v := fc.collect(t, req).Values["microservices"]
	if !v.Known || v.Number != 0 || v.LeftOut == nil {
		t.Fatalf("microservices = %+v, want 0 with the caches left out", v)
	}
	if v.LeftOut.Total != n || len(v.LeftOut.Objects) != triggers.MaxLeftOut || v.LeftOut.Objects[0].Name != "shop/cache-00" {
		t.Errorf("left out %d of %d, first %+v; want %d of %d from shop/cache-00", len(v.LeftOut.Objects), v.LeftOut.Total,
			v.LeftOut.Objects[0], triggers.MaxLeftOut, n)
	}
}

// The reduced workload keeps each image name once, and the component label
// of the template and of the workload.
func TestWorkloadKeepsImagesAndComponents(t *testing.T) {
	tmpl := podTemplate(labelsOf(triggers.ComponentLabel, "primary"), container("a", "bitnami/postgresql:16"),
		container("b", "docker.io/bitnami/postgresql:15"), container("metrics", "bitnami/postgres-exporter"))
	w := newWorkload(&metav1.ObjectMeta{Namespace: "shop", Name: "db", Labels: labelsOf(triggers.ComponentLabel, "database")}, nil, &tmpl, 0)
	if want := []string{"postgresql", "postgres-exporter"}; !slices.Equal(w.images, want) {
		t.Errorf("images %q, want %q", w.images, want)
	}
	if want := []string{"primary", "database"}; !slices.Equal(w.components, want) {
		t.Errorf("components %q, want %q", w.components, want)
	}
}
