package kubernetes

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	v1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"

	"github.com/capability-exporter/capability_exporter/config"
)

// TestWatchesAskUncompressed: the source's clients ask the API server not
// to compress a watch (the initial streaming lists are watches), and leave
// lists to the transport's gzip.
func TestWatchesAskUncompressed(t *testing.T) {
	var mu sync.Mutex
	seen := map[string]string{} // "list" or "watch" → Accept-Encoding
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		kind := "list"
		if isWatch(r.URL.Query()) {
			kind = "watch"
		}
		mu.Lock()
		seen[kind] = r.Header.Get("Accept-Encoding")
		mu.Unlock()
		http.Error(w, "no", http.StatusNotFound)
	}))
	defer srv.Close()
	sec := config.DefaultKubernetesSource()
	s, err := New(&rest.Config{Host: srv.URL}, &sec, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := t.Context()
	_, _ = s.client.AppsV1().Deployments("").List(ctx, v1.ListOptions{})
	_, _ = s.client.AppsV1().Deployments("").Watch(ctx, v1.ListOptions{})
	_, _ = s.meta.Resource(resourceKinds[resNamespaces].gvr).Watch(ctx, v1.ListOptions{})
	mu.Lock()
	defer mu.Unlock()
	if got := seen["watch"]; got != "identity" {
		t.Errorf("a watch asked Accept-Encoding %q, want identity", got)
	}
	if got := seen["list"]; got != "gzip" {
		t.Errorf("a list asked Accept-Encoding %q, want the transport's gzip", got)
	}
}
