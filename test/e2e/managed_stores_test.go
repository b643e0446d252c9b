//go:build e2e

package e2e

import (
	"crypto/rsa"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/capability-exporter/capability_exporter/collector"
	"github.com/capability-exporter/capability_exporter/config"
	"github.com/capability-exporter/capability_exporter/test/authproxy"
	"github.com/capability-exporter/capability_exporter/triggers"
)

// The three managed stores' auth, each proven against a local verifier in
// front of the real Prometheus that holds the webshop: a proxy that
// recomputes every request's SigV4 signature with aws-sdk-go-v2's signer
// (Amazon Managed Service for Prometheus), and a token endpoint with a proxy
// that accepts only its current tokens (Entra ID client credentials for
// Azure Monitor, a Google service account key whose token_uri points at
// it). Through each, the full evaluation (instant and range queries, POST
// and GET, the rules API, probes) gives every signal the direct run gives;
// a wrong secret makes every Prometheus signal unknown with reason auth;
// and no secret shows in the log, the page, the JSON or assess.
func TestManagedStoresThroughVerifyingProxies(t *testing.T) {
	exporterBinary(t) // built first: the history ends when the store starts
	_, prom := webshopPrometheus(t)
	target, err := url.Parse(prom.URL)
	if err != nil {
		t.Fatal(err)
	}
	upstream := httputil.NewSingleHostReverseProxy(target)
	dir := t.TempDir()
	writeFile(t, dir, "rules.yml", webshopRules)
	evaluate := func(t *testing.T, storeURL, auth string) *collector.State {
		t.Helper()
		cfg := writeFile(t, dir, "config.yml", fmt.Sprintf(
			"rules_file: rules.yml\nsources:\n  prometheus:\n    url: %s\n    timeout: 20s\n%sfacts: {microservices: 6}\n", storeURL, auth))
		st, _ := evaluateConfig(t, cfg)
		return st
	}
	// The direct run is repeated beside each proxied one: the history ends
	// when the store starts, and the windows move on.
	directNow := func(t *testing.T) *collector.State { return evaluate(t, prom.URL, "") }

	t.Run("sigv4", func(t *testing.T) {
		const access, secret, region = "AKIDE2ETESTACCESSKEY", "e2eSecretKey/For+SigV4+Tests0000000000", "eu-west-1"
		var mu sync.Mutex
		seen := map[string]int{}
		var refused []error
		verify := authproxy.SigV4{AccessKey: access, SecretKey: secret, Region: region, Service: "aps"}
		counting := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			seen[r.Method+" "+strings.TrimPrefix(r.URL.Path, "/workspaces/ws-e2e")]++
			mu.Unlock()
			http.StripPrefix("/workspaces/ws-e2e", upstream).ServeHTTP(w, r)
		})
		proxy := httptest.NewServer(authproxy.SigV4Handler(verify, counting, func(err error) {
			mu.Lock()
			refused = append(refused, err)
			mu.Unlock()
		}))
		defer proxy.Close()
		storeURL := proxy.URL + "/workspaces/ws-e2e"

		direct := directNow(t)
		st := evaluate(t, storeURL, fmt.Sprintf("    sigv4: {region: %s, access_key: %s, secret_key: %q}\n", region, access, secret))
		expectSameSignals(t, direct, st)
		mu.Lock()
		if len(refused) > 0 {
			t.Errorf("the verifier refused %d requests: %v", len(refused), refused[0])
		}
		for _, want := range []string{"POST /api/v1/query", "POST /api/v1/query_range", "GET /api/v1/rules", "GET /api/v1/status/buildinfo"} {
			if seen[want] == 0 {
				t.Errorf("no %s went through the verifier; saw %v", want, seen)
			}
		}
		t.Logf("through the SigV4 verifier: %v", seen)
		mu.Unlock()

		wrong := evaluate(t, storeURL, fmt.Sprintf("    sigv4: {region: %s, access_key: %s, secret_key: wrong-secret-key-0000}\n", region, access))
		expectAuthEverywhere(t, direct, wrong, "aps", access)

		checkNoSecretShown(t, dir, storeURL, fmt.Sprintf("    sigv4: {region: %s, access_key: %s, secret_key: %q}\n", region, access, secret+"x"),
			[]string{secret + "x"})
	})

	// tokenStore is a token endpoint with short-lived tokens and a proxy
	// that passes only requests carrying a current one.
	tokenStore := func(t *testing.T, scope string) (*authproxy.Tokens, string) {
		tokens := &authproxy.Tokens{TTL: 12 * time.Second, Scope: scope}
		ts := httptest.NewServer(tokens)
		t.Cleanup(ts.Close)
		tokens.URL = ts.URL + "/token"
		proxy := httptest.NewServer(tokens.Handler(upstream))
		t.Cleanup(proxy.Close)
		return tokens, proxy.URL
	}
	// expiry evaluates twice across a token's lifetime: the second
	// evaluation finds the first token expired (the proxy would refuse it)
	// and must fetch another.
	expiry := func(t *testing.T, tokens *authproxy.Tokens, storeURL, auth string) *collector.State {
		direct := directNow(t)
		cfg := writeFile(t, dir, "expiry.yml", fmt.Sprintf(
			"rules_file: rules.yml\nsources:\n  prometheus:\n    url: %s\n    timeout: 20s\n%sfacts: {microservices: 6}\n", storeURL, auth))
		st, sched := evaluateConfig(t, cfg)
		expectSameSignals(t, direct, st)
		first := tokens.IssuedTokens()
		if len(first) == 0 {
			t.Fatal("no token was issued")
		}
		time.Sleep(tokens.TTL + time.Second)
		for _, tok := range first {
			if tokens.Valid(tok) {
				t.Fatal("a token outlived its TTL")
			}
		}
		direct = directNow(t)
		st = sched.Evaluate(t.Context())
		expectSameSignals(t, direct, st)
		issued, refused, rejected := tokens.Counts()
		if issued < 2 || refused != 0 || rejected != 0 {
			t.Errorf("tokens issued %d, refused %d; requests rejected %d: want a refresh and no refusal", issued, refused, rejected)
		}
		t.Logf("%d tokens issued over two evaluations %s apart", issued, tokens.TTL+time.Second)
		return direct
	}

	t.Run("azure oauth2 client credentials", func(t *testing.T) {
		const clientID, secret = "00000000-0000-0000-0000-0000000000e2", "azureE2EClientSecret~0000"
		tokens, storeURL := tokenStore(t, config.AzureMonitorScope)
		tokens.Clients = map[string]string{clientID: secret}
		auth := func(secret string) string {
			return fmt.Sprintf("    oauth2:\n      client_id: %s\n      client_secret: %q\n      token_url: %s\n      scopes: [%s]\n",
				clientID, secret, tokens.URL, config.AzureMonitorScope)
		}
		direct := expiry(t, tokens, storeURL, auth(secret))
		wrong := evaluate(t, storeURL, auth("wrong-client-secret"))
		// Every signal, the ones not sent after the first refusal too,
		// names the token endpoint's error and the client refused.
		expectAuthEverywhere(t, direct, wrong, "invalid_client", clientID)
		checkNoSecretShown(t, dir, storeURL, auth(secret+"x"), append([]string{secret + "x"}, tokens.IssuedTokens()...))
	})

	t.Run("google service account", func(t *testing.T) {
		const email = "exporter@e2e-project.iam.gserviceaccount.com"
		tokens, storeURL := tokenStore(t, config.GoogleMonitoringReadScope)
		key, pub, err := authproxy.ServiceAccountKey(email, tokens.URL)
		if err != nil {
			t.Fatal(err)
		}
		tokens.Accounts = map[string]*rsa.PublicKey{email: pub}
		writeFile(t, dir, "gcp-key.json", string(key))
		auth := "    google_iam: {credentials_file: gcp-key.json}\n"
		direct := expiry(t, tokens, storeURL, auth)

		other, _, err := authproxy.ServiceAccountKey(email, tokens.URL) // a key the endpoint does not know
		if err != nil {
			t.Fatal(err)
		}
		writeFile(t, dir, "gcp-other-key.json", string(other))
		wrong := evaluate(t, storeURL, "    google_iam: {credentials_file: gcp-other-key.json}\n")
		expectAuthEverywhere(t, direct, wrong, "invalid_grant", email)
		checkNoSecretShown(t, dir, storeURL, "    google_iam: {credentials_file: gcp-other-key.json}\n",
			append(privateKeyLines(string(other)), tokens.IssuedTokens()...))
	})
}

// expectSameSignals: every signal of got is the one of want, known alike
// and equal to a thousandth.
func expectSameSignals(t *testing.T, want, got *collector.State) {
	t.Helper()
	n := 0
	for _, w := range want.Evaluation.Signals {
		g := signalOf(t, got, w.Name)
		switch {
		case g.Known != w.Value.Known:
			t.Errorf("%s: known=%v (%s), direct: known=%v (%s)", w.Name, g.Known, g.Reason, w.Value.Known, w.Value.Reason)
		case g.Known && math.Abs(g.Number-w.Value.Number) > 1e-3*math.Max(1, math.Abs(w.Value.Number)):
			t.Errorf("%s = %.6g, direct: %.6g", w.Name, g.Number, w.Value.Number)
		case w.Value.Source == "prometheus":
			n++
		}
	}
	if n == 0 {
		t.Error("no Prometheus signal compared")
	}
}

// expectAuthEverywhere: every signal the direct run read from Prometheus
// is unknown with reason auth, the source's errors name what to fix (said
// once for the source, not per signal), and the errors count under auth.
func expectAuthEverywhere(t *testing.T, direct, st *collector.State, mention ...string) {
	t.Helper()
	n := 0
	for _, w := range direct.Evaluation.Signals {
		if w.Value.Source != "prometheus" && !strings.Contains(w.Value.Reason, "prometheus") {
			continue
		}
		n++
		g := signalOf(t, st, w.Name)
		if g.Known || g.Code != triggers.CodeAuth {
			t.Errorf("%s: %+v, want unknown with reason auth", w.Name, g)
		}
	}
	var errs string
	for _, s := range st.Sources {
		if s.Name == "prometheus" {
			errs = strings.Join(s.Errors, "\n")
		}
	}
	for _, m := range mention {
		if !strings.Contains(errs, m) {
			t.Errorf("the prometheus source's errors do not name %s:\n%s", m, errs)
		}
	}
	if n == 0 {
		t.Error("no Prometheus signal in the direct run")
	}
	if st.ErrorTotals[collector.ErrorKey{Source: "prometheus", Reason: "auth"}] == 0 {
		t.Errorf("no error counted under auth: %v", st.ErrorTotals)
	}
}

var jwtShape = regexp.MustCompile(`eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.`)

// checkNoSecretShown runs the exporter binary and assess on a config with
// auth (whose credentials the store refuses, so that errors are logged and
// shown), and fails if any of secrets, or any JWT, appears in the log, on
// /, in /api/v1/evaluation or in assess' markdown and JSON.
func checkNoSecretShown(t *testing.T, dir, storeURL, auth string, secrets []string) {
	t.Helper()
	cfg := writeFile(t, dir, "shown.yml", fmt.Sprintf("sources:\n  prometheus:\n    url: %s\n    timeout: 10s\n%s", storeURL, auth))
	shown := map[string]string{}
	e := startExporter(t, cfg, "--log.level=debug")
	shown["/"] = e.Get(t, "/")
	shown["/api/v1/evaluation"] = e.Get(t, "/api/v1/evaluation")
	for _, format := range []string{"markdown", "json"} {
		out, _ := exec.Command(exporterBinary(t), "assess", "--config.file="+cfg, "--format="+format).CombinedOutput()
		shown["assess "+format] = string(out)
	}
	shown["log"] = e.Logs()
	if !strings.Contains(shown["/api/v1/evaluation"], "auth") {
		t.Errorf("the refused credentials did not show as reason auth:\n%s", shown["/api/v1/evaluation"])
	}
	for where, text := range shown {
		for _, s := range secrets {
			if s != "" && strings.Contains(text, s) {
				t.Errorf("%s shows the secret %.6s…", where, s)
			}
		}
		if m := jwtShape.FindString(text); m != "" {
			t.Errorf("%s shows a JWT %.12s…", where, m)
		}
	}
}

// privateKeyLines are the base64 lines of a service account key's PEM.
func privateKeyLines(keyJSON string) []string {
	var out []string
	for _, line := range strings.Split(keyJSON, `\n`) {
		if len(line) > 40 && !strings.Contains(line, "-----") && !strings.Contains(line, `"`) {
			out = append(out, line)
		}
	}
	return out
}
