//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"

	"github.com/capability-exporter/capability_exporter/collector/kubernetes"
	"github.com/capability-exporter/capability_exporter/collector/source"
	"github.com/capability-exporter/capability_exporter/config"
	"github.com/capability-exporter/capability_exporter/triggers"
)

// The Kubernetes source against a real kube-apiserver with the synthetic
// webshop: every measure and tool as created, no list calls after the
// initial sync, deploy/rbac sufficient and each of its rules needed,
// decisions that follow the CRDs present, and measures that follow the
// watch. The subtests share one cluster and run in order; the last one
// changes the webshop.
func TestKubernetesSourceAgainstAPIServer(t *testing.T) {
	c := startKubeCluster(t)
	kubeCreateWebshop(t, c)
	rules, err := triggers.Parse("webshop-e2e-rules.yml", []byte(kubeWebshopRules))
	if err != nil {
		t.Fatal(err)
	}
	req := kubeRequest(rules, triggers.KubernetesMeasures())

	// One source as admin lives through the subtests, as the exporter's
	// does through evaluations; every request it makes is counted.
	counter := &kubeRequestCounter{}
	var before runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	admin, err := kubernetes.New(counter.wrap(c.Admin), kubeSection(), kubeTestLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	start := time.Now()
	first := kubeCollect(t, admin, req)
	syncTime := time.Since(start)
	var after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&after)
	t.Logf("initial sync of the webshop and first evaluation: %s, heap %+.1f MiB (%d lists, %d streaming lists, %d watches)",
		syncTime.Round(time.Millisecond), float64(int64(after.HeapAlloc)-int64(before.HeapAlloc))/(1<<20),
		counter.get().lists, counter.get().watchLists, counter.get().watches)

	t.Run("every_measure_and_tool_as_created", func(t *testing.T) {
		checkKubeResult(t, first, kubeWebshopMeasures, kubeWebshopTools)
	})

	t.Run("no_list_after_initial_sync", func(t *testing.T) {
		listsBefore := c.Metric(t, "apiserver_request_total", map[string]string{"verb": "LIST"})
		atSync := counter.get()
		for range 5 {
			kubeCollect(t, admin, req)
		}
		got := counter.get()
		if n := got.lists - atSync.lists; n != 0 {
			t.Errorf("5 evaluations after the initial sync issued %d lists: %v", n, got.paths[len(atSync.paths):])
		}
		if n := got.other - atSync.other; n != 0 {
			t.Errorf("5 evaluations issued %d requests other than /version and watches: %v", n, got.paths[len(atSync.paths):])
		}
		if n := got.version - atSync.version; n != 5 {
			t.Errorf("5 evaluations asked /version %d times, want once each", n)
		}
		// The API server's own count agrees (its internal clients do not
		// relist either while their watches hold).
		if n := c.Metric(t, "apiserver_request_total", map[string]string{"verb": "LIST"}) - listsBefore; n != 0 {
			t.Errorf("apiserver_request_total{verb=\"LIST\"} grew by %v during 5 evaluations", n)
		}
	})

	t.Run("deploy_rbac_is_sufficient_and_minimal", func(t *testing.T) {
		kubeTestDeployRBAC(t, c, req)
	})

	t.Run("decisions_follow_the_crds_present", func(t *testing.T) {
		kubeTestDecisionsFollowCRDs(t, c)
	})

	t.Run("extending_rules_add_a_tool", func(t *testing.T) {
		kubeTestExtendingRulesAddATool(t, c)
	})

	t.Run("default_rules_are_answerable", func(t *testing.T) {
		def, err := triggers.Default()
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, s := range def.Signals {
			for _, alt := range s.Source.Alternatives() {
				if alt.Kubernetes != "" {
					names = append(names, alt.Kubernetes)
				}
			}
		}
		res := kubeCollect(t, admin, kubeRequest(def, names))
		for key, v := range res.Values {
			if !v.Known {
				t.Errorf("%s unknown with the default rules: %s", key, v.Reason)
			}
		}
		if len(res.Values) == 0 {
			t.Error("the default rules read nothing from Kubernetes")
		}
	})

	// What the cluster cannot tell is unknown, never a measured 0: tenants
	// when no app namespace carries a team label, reachable when the API
	// server does not answer.
	t.Run("no_data_is_unknown_not_zero", func(t *testing.T) {
		sec := kubeSection()
		sec.TeamLabels = []string{"cost-center"}
		unlabelled, err := kubernetes.New(c.Admin, sec, kubeTestLogger(t))
		if err != nil {
			t.Fatal(err)
		}
		defer unlabelled.Close()
		res := kubeCollect(t, unlabelled, kubeRequest(rules, []string{"tenants", "app_namespaces"}))
		if v := res.Values["app_namespaces"]; !v.Known || v.Number != kubeWebshopMeasures["app_namespaces"] {
			t.Errorf("app_namespaces = %+v, want %v", v, kubeWebshopMeasures["app_namespaces"])
		}
		const why = "no app namespace carries any of team_labels [cost-center]"
		if v := res.Values["tenants"]; v.Known || v.Reason != why {
			t.Errorf("tenants = %+v, want unknown: %s", v, why)
		}

		gone := rest.CopyConfig(c.Admin)
		gone.Host = "https://127.0.0.1:1" // nothing listens there
		down, err := kubernetes.New(gone, kubeSection(), kubeTestLogger(t))
		if err != nil {
			t.Fatal(err)
		}
		defer down.Close()
		res = kubeCollect(t, down, kubeRequest(rules, []string{"reachable", "workloads"}))
		if res.Up {
			t.Error("Up with the API server gone")
		}
		for _, m := range []string{"reachable", "workloads"} {
			if v := res.Values[m]; v.Known || !strings.Contains(v.Reason, "unreachable") {
				t.Errorf("%s = %+v, want unknown naming the unreachable API server", m, v)
			}
		}
	})

	t.Run("measures_follow_the_watch", func(t *testing.T) {
		atStart := counter.get()
		kubeChangeWebshop(t, c)
		want := maps.Clone(kubeWebshopMeasures)
		maps.Copy(want, map[string]float64{
			"app_namespaces": 7, "tenants": 4, "pod_security_namespace_ratio": 3.0 / 7,
			"microservices": 10, "replicated_workload_ratio": 7.0 / 12, // web down to 1, reviews 2
			"networkpolicy_namespace_ratio": 3.0 / 7, "default_deny_namespace_ratio": 2.0 / 7,
			"nodes": 5, "zones": 4, "regions": 3, "rbac_human_subjects": 7,
			"networkpolicies": 5, // deny-egress deleted
		})
		tools := maps.Clone(kubeWebshopTools)
		tools["istio"] = 1
		deadline := time.Now().Add(20 * time.Second)
		for {
			res := kubeCollect(t, admin, req)
			if off := kubeMismatches(res, want, tools); len(off) == 0 {
				break
			} else if time.Now().After(deadline) {
				t.Fatalf("20s after the changes: %s", strings.Join(off, "; "))
			}
			time.Sleep(100 * time.Millisecond)
		}
		// Only Istio's new CRD is listed once, for whether it holds
		// objects (nothing of Istio runs), its version found by discovery;
		// the watches carry the rest.
		var lists []string
		for _, p := range counter.get().paths[len(atStart.paths):] {
			path, _, _ := strings.Cut(p, "?")
			if strings.HasPrefix(p, "GET /api") && !strings.Contains(p, "watch=") && !strings.Contains(p, "/virtualservices") &&
				path != "GET /api" && path != "GET /apis" {
				lists = append(lists, p)
			}
		}
		if len(lists) != 0 {
			t.Errorf("following the changes took %d lists, want 0: the watch carries them: %v", len(lists), lists)
		}
	})
}

// kubeChangeWebshop adds a team with a service, scales one workload down,
// deletes another and a NetworkPolicy, adds a node in a new region, a
// person, and Istio's CRD.
func kubeChangeWebshop(t *testing.T, c *kubeCluster) {
	t.Helper()
	ctx := context.Background()
	k := c.Client
	must := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	_, err := k.CoreV1().Namespaces().Create(ctx, kubeNamespace("shop-reviews", map[string]string{
		"team": "reviews", "pod-security.kubernetes.io/enforce": "restricted"}), metav1.CreateOptions{})
	must("create namespace shop-reviews", err)
	_, err = k.AppsV1().Deployments("shop-reviews").Create(ctx, kubeDeployment("shop-reviews", "reviews", 2, kubeShopContainer("reviews")), metav1.CreateOptions{})
	must("create deployment reviews", err)
	kubeCreateService(t, k, "shop-reviews", "reviews", map[string]string{"app": "reviews"})
	_, err = k.RbacV1().RoleBindings("shop-reviews").Create(ctx, kubeRoleBinding("shop-reviews", "devs", "erin"), metav1.CreateOptions{})
	must("create rolebinding", err)
	_, err = k.CoreV1().Nodes().Create(ctx, kubeNode("node-d1", "ap-south-1a", "ap-south-1"), metav1.CreateOptions{})
	must("create node", err)

	scale, err := k.AppsV1().Deployments("shop-frontend").GetScale(ctx, "web", metav1.GetOptions{})
	must("get scale of web", err)
	scale.Spec.Replicas = 1
	_, err = k.AppsV1().Deployments("shop-frontend").UpdateScale(ctx, "web", scale, metav1.UpdateOptions{})
	must("scale web", err)
	must("delete statefulset reports", k.AppsV1().StatefulSets("shop-batch").Delete(ctx, "reports", metav1.DeleteOptions{}))
	must("delete networkpolicy", k.NetworkingV1().NetworkPolicies("shop-search").Delete(ctx, "deny-egress", metav1.DeleteOptions{}))
	kubeCreateCRD(t, c, "virtualservices.networking.istio.io")
	kubeCreateCustom(t, dynamic.NewForConfigOrDie(c.Admin), "networking.istio.io/v1", "Virtualservice", "virtualservices", "shop-frontend", "web", map[string]any{})
}

func kubeSection() *config.KubernetesSource {
	sec := config.DefaultKubernetesSource()
	return &sec
}

func kubeTestLogger(t *testing.T) *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(kubeLogWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	return slog.New(slog.DiscardHandler)
}

type kubeLogWriter struct{ t *testing.T }

func (w kubeLogWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// kubeRequest asks for each named measure under its own name, and for the
// rules' tools.
func kubeRequest(rules *triggers.Rules, measures []string) source.Request {
	req := source.Request{Rules: rules, Tools: rules.Tools}
	for _, m := range measures {
		req.Signals = append(req.Signals, source.SignalRequest{Key: m, Spec: triggers.SignalSource{Kubernetes: m}})
	}
	return req
}

func kubeCollect(t testing.TB, src source.Source, req source.Request) source.Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	return src.Collect(ctx, req)
}

func checkKubeResult(t *testing.T, res source.Result, measures, tools map[string]float64) {
	t.Helper()
	if !res.Up || len(res.Errors) > 0 {
		t.Errorf("Up = %v, errors %v; want up without errors", res.Up, res.Errors)
	}
	for _, off := range kubeMismatches(res, measures, tools) {
		t.Error(off)
	}
}

func kubeMismatches(res source.Result, measures, tools map[string]float64) []string {
	var off []string
	check := func(key string, want float64) {
		if v := res.Values[key]; !v.Known || v.Number != want {
			off = append(off, fmt.Sprintf("%s = %v (known %v, %s), want %v", key, v.Number, v.Known, v.Reason, want))
		}
	}
	for _, m := range slices.Sorted(maps.Keys(measures)) {
		check(m, measures[m])
	}
	for _, id := range slices.Sorted(maps.Keys(tools)) {
		check(triggers.ToolSignalPrefix+id, tools[id])
	}
	return off
}

// kubeRequestCounter sorts the requests a REST config sends: lists,
// watches, streaming lists (watches that send the initial state), /version.
type kubeRequestCounter struct {
	mu sync.Mutex
	kubeRequestCounts
}

type kubeRequestCounts struct {
	lists, watches, watchLists, version, other int
	paths                                      []string
}

func (c *kubeRequestCounter) get() kubeRequestCounts {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := c.kubeRequestCounts
	out.paths = slices.Clone(c.paths)
	return out
}

func (c *kubeRequestCounter) wrap(rc *rest.Config) *rest.Config {
	rc = rest.CopyConfig(rc)
	rc.Wrap(func(rt http.RoundTripper) http.RoundTripper {
		return kubeRoundTripper(func(r *http.Request) (*http.Response, error) {
			c.record(r)
			return rt.RoundTrip(r)
		})
	})
	return rc
}

func (c *kubeRequestCounter) record(r *http.Request) {
	q := r.URL.Query()
	c.mu.Lock()
	defer c.mu.Unlock()
	c.paths = append(c.paths, r.Method+" "+r.URL.RequestURI())
	switch {
	case r.URL.Path == "/version":
		c.version++
	case r.Method == http.MethodGet && (q.Get("watch") == "true" || q.Get("watch") == "1"):
		if q.Get("sendInitialEvents") == "true" {
			c.watchLists++
		} else {
			c.watches++
		}
	case r.Method == http.MethodGet && (strings.HasPrefix(r.URL.Path, "/api/") || strings.HasPrefix(r.URL.Path, "/apis/")):
		c.lists++
	default:
		c.other++
	}
}

type kubeRoundTripper func(*http.Request) (*http.Response, error)

func (f kubeRoundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
