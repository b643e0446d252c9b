package config

import (
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	promconfig "github.com/prometheus/common/config"
)

func TestScrubHidesEverySecret(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	passFile := write("loki-password", "lokiPassFromFile\n")
	tokenFile := write("token", "  tokenFromFile.eyJhbGciOi  \n")
	credFile := write("credentials", "credsFromFile")
	oauthFile := write("client-secret", "oauthSecretFromFile")
	headerFile := write("api-key", "headerKeyFromFile")
	rules := write("rules.yml", "signals:\n  n: {help: N., fact: n}\ncapabilities:\n  c: {title: C, complexity: low, trigger: n > 1}\n")
	cfg, err := Parse(filepath.Join(dir, "config.yml"), []byte(`
rules_file: `+rules+`
sources:
  prometheus:
    url: https://prom.example:9090/?api_token=urlTok%2Fen&x=1
    basic_auth: {username: scraper, password: inlinePass!}
    http_headers:
      X-Api-Key: {files: [`+headerFile+`]}
  loki:
    url: https://loki.example
    tenant_id: tenant-7
    basic_auth: {username: lokiuser, password_file: `+passFile+`}
    proxy_url: http://proxyuser:proxyPass@proxy.example:3128
`))
	if err != nil {
		t.Fatal(err)
	}
	// Validation forbids basic auth beside a bearer token file in one
	// section; the scrubber must hide both wherever they come from.
	cfg.Sources.Prometheus.HTTPClientConfig.BearerTokenFile = tokenFile
	cfg.scrubber = newScrubber(cfg)

	basic := base64.StdEncoding.EncodeToString([]byte("scraper:inlinePass!"))
	basicFromFile := base64.StdEncoding.EncodeToString([]byte("lokiuser:lokiPassFromFile"))
	text := strings.Join([]string{
		`Post "https://prom.example:9090/api/v1/query?api_token=urlTok%2Fen&x=1": dial tcp: connection refused`,
		"server echoed Authorization: Basic " + basic,
		"loki said: bad password lokiPassFromFile for " + basicFromFile,
		"token tokenFromFile.eyJhbGciOi rejected",
		"inlinePass! and " + "inlinePass%21",
		"api key headerKeyFromFile",
		"proxy proxyPass",
		"tenant tenant-7 of user scraper",
	}, "\n")
	got := cfg.Scrub(text)
	for _, secret := range []string{"urlTok", "inlinePass", basic, "lokiPassFromFile", basicFromFile,
		"tokenFromFile", "headerKeyFromFile", "proxyPass", "tenant-7"} {
		if strings.Contains(got, secret) {
			t.Errorf("%q survived scrubbing:\n%s", secret, got)
		}
	}
	// Ordinary text stays readable: short values, the user name, the host.
	for _, keep := range []string{"x=1", "scraper", "prom.example:9090", "connection refused", Hidden} {
		if !strings.Contains(got, keep) {
			t.Errorf("%q was lost:\n%s", keep, got)
		}
	}

	// credentials_file and client_secret_file, in a config of their own.
	// A Config not made by Parse is scrubbed all the same.
	cfg3 := &Config{Sources: Sources{Prometheus: &HTTPSource{}, Loki: &HTTPSource{}}}
	cfg3.Sources.Prometheus.HTTPClientConfig.Authorization = &promconfig.Authorization{Type: "Bearer", CredentialsFile: credFile}
	cfg3.Sources.Loki.HTTPClientConfig.OAuth2 = &promconfig.OAuth2{ClientID: "exporter", ClientSecretFile: oauthFile, TokenURL: "https://sso.example/token"}
	if got := cfg3.Scrub("credsFromFile / oauthSecretFromFile"); got != Hidden+" / "+Hidden {
		t.Errorf("file credentials: got %q", got)
	}
	// Where Go hid a URL's password itself, the one marker shows.
	for _, redacted := range []string{"user:***@", "user:xxxxx@"} {
		in := `Get "http://` + redacted + `prom.example/api/v1/query": connection refused`
		if got, want := cfg3.Scrub(in), `Get "http://user:`+Hidden+`@prom.example/api/v1/query": connection refused`; got != want {
			t.Errorf("Scrub(%q) = %q, want %q", in, got, want)
		}
	}
	var nilCfg *Config
	if nilCfg.Scrub("plain") != "plain" {
		t.Error("a nil config must scrub nothing")
	}
}

// A token file that rotates (a Kubernetes service account token does so
// hourly) is hidden in its new content too.
func TestScrubFollowsARotatedTokenFile(t *testing.T) {
	dir := t.TempDir()
	tokenFile := filepath.Join(dir, "token")
	if err := os.WriteFile(tokenFile, []byte("firstTokenValue"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := &Config{Sources: Sources{Prometheus: &HTTPSource{}}}
	cfg.Sources.Prometheus.HTTPClientConfig.BearerTokenFile = tokenFile
	cfg.scrubber = newScrubber(cfg)
	if got := cfg.Scrub("firstTokenValue"); got != Hidden {
		t.Fatalf("got %q", got)
	}
	if err := os.WriteFile(tokenFile, []byte("secondTokenValue!"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg.scrubber.next = time.Time{} // as if fileRecheck had passed
	if got := cfg.Scrub("secondTokenValue!"); got != Hidden {
		t.Errorf("rotated token: got %q", got)
	}
}
