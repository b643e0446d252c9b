package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Every relative file of an HTTP source resolves against the config file's
// folder, not the working directory, and the scrubber reads those files.
func TestHTTPSourcePathsFollowTheConfigFile(t *testing.T) {
	dir := t.TempDir()
	for name, body := range map[string]string{
		"config.yml": `
sources:
  prometheus:
    url: https://prom.example
    basic_auth: {username: u, password_file: secrets/pw.txt}
    tls_config: {ca_file: tls/ca.pem, cert_file: tls/cert.pem, key_file: tls/key.pem}
    http_headers:
      X-Api-Key: {files: [secrets/api-key]}
  loki:
    url: https://loki.example
    authorization: {credentials_file: secrets/loki-token}
  kubernetes:
    kubeconfig: kube/config
`,
		"secrets/pw.txt":      "passwordFromRelativeFile\n",
		"secrets/api-key":     "apiKeyFromRelativeFile",
		"secrets/loki-token":  "lokiTokenFromRelativeFile",
		"unrelated/.keep":     "",
		"unrelated/pw.txt":    "notTheOneToRead",
		"unrelated/otherfile": "",
	} {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	t.Chdir(filepath.Join(dir, "unrelated"))

	c, err := Load(filepath.Join(dir, "config.yml"))
	if err != nil {
		t.Fatal(err)
	}
	p := c.Sources.Prometheus.HTTPClientConfig
	for field, got := range map[string]string{
		"password_file":    p.BasicAuth.PasswordFile,
		"ca_file":          p.TLSConfig.CAFile,
		"cert_file":        p.TLSConfig.CertFile,
		"key_file":         p.TLSConfig.KeyFile,
		"header files":     p.HTTPHeaders.Headers["X-Api-Key"].Files[0],
		"credentials_file": c.Sources.Loki.HTTPClientConfig.Authorization.CredentialsFile,
		"kubeconfig":       c.Sources.Kubernetes.Kubeconfig,
	} {
		if !filepath.IsAbs(got) || !strings.HasPrefix(got, dir+string(filepath.Separator)) {
			t.Errorf("%s = %q, want a path under %s", field, got, dir)
		}
	}
	text := c.Scrub("passwordFromRelativeFile apiKeyFromRelativeFile lokiTokenFromRelativeFile notTheOneToRead")
	if want := Hidden + " " + Hidden + " " + Hidden + " notTheOneToRead"; text != want {
		t.Errorf("scrubbed %q, want %q", text, want)
	}
}

// Absolute paths stay as written, and a source without files is untouched.
func TestHTTPSourceAbsolutePathsStay(t *testing.T) {
	abs := filepath.Join(t.TempDir(), "token")
	c, err := Parse(filepath.Join(t.TempDir(), "config.yml"), []byte(`
sources:
  prometheus: {url: http://prom.example, bearer_token_file: `+abs+`}
  loki: {url: http://loki.example}
`))
	if err != nil {
		t.Fatal(err)
	}
	// Validation moves bearer_token_file into authorization.credentials_file.
	if got := c.Sources.Prometheus.HTTPClientConfig.Authorization.CredentialsFile; got != abs {
		t.Errorf("bearer_token_file = %q, want %q", got, abs)
	}
}
