package httpapi

import (
	"context"
	"crypto/rsa"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	promconfig "github.com/prometheus/common/config"
	"github.com/prometheus/sigv4"

	"github.com/capability-exporter/capability_exporter/collector/source"
	"github.com/capability-exporter/capability_exporter/config"
	"github.com/capability-exporter/capability_exporter/test/authproxy"
)

const (
	testAccessKey = "AKIDEXAMPLETESTKEY01"
	testSecretKey = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
)

// signedStore is a Prometheus API stub behind a SigV4-verifying proxy.
func signedStore(t *testing.T, prefix string) (*apiStub, *httptest.Server, *[]error) {
	stub := newAPIStub(t, map[string][]stubAnswer{
		"/api/v1/query": {{status: 200, body: vectorOne}},
		"/api/v1/rules": {{status: 200, body: rulesBody}},
	})
	var rejected []error
	v := authproxy.SigV4{AccessKey: testAccessKey, SecretKey: testSecretKey, Region: "eu-west-1", Service: "aps"}
	next := stub.Config.Handler
	if prefix != "" {
		next = http.StripPrefix(prefix, next)
	}
	proxy := httptest.NewServer(authproxy.SigV4Handler(v, next, func(err error) { rejected = append(rejected, err) }))
	t.Cleanup(proxy.Close)
	return stub, proxy, &rejected
}

func sigv4Source(secret string) func(*config.HTTPSource) {
	return func(c *config.HTTPSource) {
		c.SigV4 = &config.SigV4{Config: sigv4.SigV4Config{Region: "eu-west-1", AccessKey: testAccessKey, SecretKey: promconfig.Secret(secret)}}
	}
}

func collectOne(t *testing.T, s *Prometheus, q string) source.Result {
	t.Helper()
	return s.Collect(context.Background(), source.Request{Signals: []source.SignalRequest{promQuery("s", q, "")}})
}

func TestSigV4SignsEveryRequest(t *testing.T) {
	stub, proxy, rejected := signedStore(t, "/workspaces/ws-1")
	s := testPrometheus(t, proxy.URL+"/workspaces/ws-1", sigv4Source(testSecretKey))
	res := collectOne(t, s, "sum(up)")
	if v := res.Values["s"]; !v.Known || v.Number != 3 {
		t.Fatalf("got %+v, errors %v, proxy refused %v", v, res.Errors, *rejected)
	}
	if len(*rejected) != 0 || stub.count("/api/v1/query") != 1 {
		t.Errorf("proxy refused %v; store saw %d queries", *rejected, stub.count("/api/v1/query"))
	}
}

func TestSigV4WrongSecretIsAnAuthError(t *testing.T) {
	_, proxy, rejected := signedStore(t, "")
	s := testPrometheus(t, proxy.URL, sigv4Source("not-the-secret-key-at-all"))
	res := collectOne(t, s, "sum(up)")
	v := res.Values["s"]
	if v.Known || !strings.Contains(v.Reason, "auth:") || !strings.Contains(v.Reason, "aps:QueryMetrics") ||
		!strings.Contains(v.Reason, testAccessKey) {
		t.Fatalf("reason %q; want auth naming aps:QueryMetrics and the access key", v.Reason)
	}
	if strings.Contains(v.Reason, "not-the-secret") {
		t.Errorf("the secret leaked: %q", v.Reason)
	}
	for _, e := range res.Errors {
		if e.Reason != source.ReasonAuth {
			t.Errorf("error counted under %q, want auth: %v", e.Reason, e)
		}
	}
	if len(*rejected) == 0 {
		t.Error("the proxy saw no request")
	}
}

func TestSigV4SecretKeyFileIsReadAgainWhenItChanges(t *testing.T) {
	_, proxy, _ := signedStore(t, "")
	file := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(file, []byte("wrong-secret-first\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s := testPrometheus(t, proxy.URL, func(c *config.HTTPSource) {
		c.SigV4 = &config.SigV4{Config: sigv4.SigV4Config{Region: "eu-west-1", AccessKey: testAccessKey}, SecretKeyFile: file}
	})
	if v := collectOne(t, s, "sum(up)").Values["s"]; v.Known {
		t.Fatal("a wrong secret was accepted")
	}
	later := time.Now().Add(time.Second)
	if err := os.WriteFile(file, []byte(testSecretKey+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_ = os.Chtimes(file, later, later)
	if v := collectOne(t, s, "sum(up)").Values["s"]; !v.Known {
		t.Fatalf("after the file changed: %+v", v)
	}
}

func TestSigV4MissingSecretFileNamesItAndTheIdentity(t *testing.T) {
	_, proxy, rejected := signedStore(t, "")
	s := testPrometheus(t, proxy.URL, func(c *config.HTTPSource) {
		c.SigV4 = &config.SigV4{Config: sigv4.SigV4Config{Region: "eu-west-1", AccessKey: testAccessKey},
			SecretKeyFile: filepath.Join(t.TempDir(), "absent")}
	})
	res := s.Collect(context.Background(), source.Request{Signals: []source.SignalRequest{
		promQuery("a", "sum(up)", ""), promQuery("b", "count(up)", "")}})
	for _, key := range []string{"a", "b"} {
		v := res.Values[key]
		if v.Known || !strings.Contains(v.Reason, "auth:") || !strings.Contains(v.Reason, "absent") || !strings.Contains(v.Reason, testAccessKey) {
			t.Errorf("%s: reason %q", key, v.Reason)
		}
	}
	if res.Up {
		t.Error("a source that cannot sign is not up")
	}
	if len(*rejected) != 0 {
		t.Errorf("unsigned requests were sent: %v", *rejected)
	}
}

func TestAMPPermissionByEndpoint(t *testing.T) {
	for p, want := range map[string]string{
		"/workspaces/ws-1/api/v1/query":              "aps:QueryMetrics",
		"/workspaces/ws-1/api/v1/query_range":        "aps:QueryMetrics",
		"/workspaces/ws-1/api/v1/rules":              "aps:ListRules",
		"/workspaces/ws-1/api/v1/alerts":             "aps:ListAlerts",
		"/workspaces/ws-1/api/v1/series":             "aps:GetSeries",
		"/workspaces/ws-1/api/v1/labels":             "aps:GetLabels",
		"/workspaces/ws-1/api/v1/label/job/values":   "aps:GetLabels",
		"/workspaces/ws-1/api/v1/metadata":           "aps:GetMetricMetadata",
		"/workspaces/ws-1/api/v1/status/buildinfo":   "the aps permission of /workspaces/ws-1/api/v1/status/buildinfo",
		"/workspaces/ws-1/api/v1/label/job/whatever": "the aps permission of /workspaces/ws-1/api/v1/label/job/whatever",
	} {
		if got := ampPermission(p); got != want {
			t.Errorf("%s: %q, want %q", p, got, want)
		}
	}
}

// googleStore is a Prometheus API stub behind a proxy that accepts only
// tokens of a local token endpoint, and a service account key whose
// token_uri points there.
func googleStore(t *testing.T, ttl time.Duration) (*authproxy.Tokens, *httptest.Server, string) {
	stub := newAPIStub(t, map[string][]stubAnswer{"/api/v1/query": {{status: 200, body: vectorOne}}})
	tokens := &authproxy.Tokens{TTL: ttl, Scope: config.GoogleMonitoringReadScope, Accounts: nil}
	ts := httptest.NewServer(tokens)
	t.Cleanup(ts.Close)
	tokens.URL = ts.URL + "/token"
	key, pub, err := authproxy.ServiceAccountKey("exporter@test-project.iam.gserviceaccount.com", tokens.URL)
	if err != nil {
		t.Fatal(err)
	}
	tokens.Accounts = map[string]*rsa.PublicKey{"exporter@test-project.iam.gserviceaccount.com": pub}
	file := filepath.Join(t.TempDir(), "key.json")
	if err := os.WriteFile(file, key, 0o600); err != nil {
		t.Fatal(err)
	}
	proxy := httptest.NewServer(tokens.Handler(stub.Config.Handler))
	t.Cleanup(proxy.Close)
	return tokens, proxy, file
}

func TestGoogleServiceAccountKeyTokens(t *testing.T) {
	tokens, proxy, file := googleStore(t, time.Hour)
	s := testPrometheus(t, proxy.URL, func(c *config.HTTPSource) { c.GoogleIAM = &config.GoogleIAM{CredentialsFile: file} })
	for range 3 {
		if v := collectOne(t, s, "sum(up)").Values["s"]; !v.Known {
			t.Fatalf("got %+v", v)
		}
	}
	if issued, refused, rejected := tokens.Counts(); issued != 1 || refused != 0 || rejected != 0 {
		t.Errorf("tokens issued %d, refused %d, rejected %d; want one token reused", issued, refused, rejected)
	}
}

func TestGoogleRefusedAssertionNamesTheServiceAccount(t *testing.T) {
	tokens, proxy, file := googleStore(t, time.Hour)
	tokens.Accounts = nil // the endpoint no longer knows the account
	s := testPrometheus(t, proxy.URL, func(c *config.HTTPSource) { c.GoogleIAM = &config.GoogleIAM{CredentialsFile: file} })
	res := collectOne(t, s, "sum(up)")
	v := res.Values["s"]
	if v.Known || !strings.Contains(v.Reason, "auth:") || !strings.Contains(v.Reason, "exporter@test-project.iam.gserviceaccount.com") ||
		!strings.Contains(v.Reason, "invalid_grant") {
		t.Fatalf("reason %q", v.Reason)
	}
	if strings.Contains(v.Reason, "eyJ") {
		t.Errorf("a JWT leaked: %q", v.Reason)
	}
}
