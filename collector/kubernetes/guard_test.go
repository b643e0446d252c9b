package kubernetes

import (
	"context"
	"maps"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/capability-exporter/capability_exporter/collector/source"
)

// panicOn makes every reducer panic on the Service of that name, as a
// reducer meeting an object it did not expect would.
func panicOn(fc *fakeCluster, name string) {
	fc.src.reduceHook = func(_ resourceID, obj any) {
		if s, ok := obj.(*corev1.Service); ok && s.Name == name {
			panic("reducer met an unexpected Service " + name)
		}
	}
}

func wantPanicked(t *testing.T, res source.Result, name string) {
	t.Helper()
	if v := res.Values[name]; v.Known || !strings.Contains(v.Reason, "panic") {
		t.Errorf("%s = %+v, want unknown for the panic", name, v)
	}
	for _, e := range res.Errors {
		if e.Reason == source.ReasonPanic {
			return
		}
	}
	t.Errorf("no error with reason panic in %v", res.Errors)
}

// A reducer runs in client-go's goroutines; one that panics on one object,
// in the initial list or in a watch event, must cost the signals that read
// that resource and nothing else: the process lives, other measures stay
// known, and the panic stays visible on every evaluation after.
func TestReducerPanicCostsTheResourceNotTheProcess(t *testing.T) {
	req := request([]string{"microservices", "nodes", "rbac_human_subjects"})
	t.Run("in the initial list", func(t *testing.T) {
		fc := newFakeCluster(t, shopObjects(), nil, nil)
		panicOn(fc, "external")
		for range 2 {
			res := fc.collect(t, req)
			wantPanicked(t, res, "microservices")
			for _, name := range []string{"nodes", "rbac_human_subjects"} {
				if v := res.Values[name]; !v.Known {
					t.Errorf("%s = %+v, want known: its resources reduced fine", name, v)
				}
			}
		}
	})
	t.Run("in a watch event", func(t *testing.T) {
		fc := newFakeCluster(t, shopObjects(), nil, nil)
		panicOn(fc, "boom")
		if v := fc.collect(t, req).Values["microservices"]; !v.Known {
			t.Fatalf("microservices = %+v before the fault, want known", v)
		}
		waitForWatches(t, fc, "services")
		mustDo(t, func() error {
			_, err := fc.client.CoreV1().Services("shop-frontend").Create(context.Background(),
				serviceObj("shop-frontend", "boom", labelsOf("app", "web")), metav1.CreateOptions{})
			return err
		})
		eventuallyPanicked(t, fc, req, "microservices")
		if v := fc.collect(t, req).Values["nodes"]; !v.Known {
			t.Errorf("nodes = %+v, want known", v)
		}
	})
}

func eventuallyPanicked(t *testing.T, fc *fakeCluster, req source.Request, name string) {
	t.Helper()
	for range 250 {
		res := fc.collect(t, req)
		if v := res.Values[name]; !v.Known && strings.Contains(v.Reason, "panic") {
			wantPanicked(t, res, name)
			return
		}
		sleepBriefly()
	}
	t.Fatalf("%s never turned unknown for the panic", name)
}

// A measure that panics costs its own signal; the others of the same
// evaluation are answered.
func TestMeasurePanicCostsOneSignal(t *testing.T) {
	fc := newFakeCluster(t, shopObjects(), nil, nil)
	fc.src.measures = maps.Clone(measures)
	fc.src.measures["zones"] = measure{measures["zones"].needs, func(*clusterView) (float64, string) {
		var v *clusterView
		return float64(v.topology().zones), "" // nil dereference
	}}
	res := fc.collect(t, request([]string{"nodes", "zones", "regions"}))
	wantPanicked(t, res, "zones")
	for _, name := range []string{"nodes", "regions"} {
		if v := res.Values[name]; !v.Known {
			t.Errorf("%s = %+v, want known", name, v)
		}
	}
}

func sleepBriefly() { time.Sleep(20 * time.Millisecond) }
