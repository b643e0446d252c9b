package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestManagedAuthConflictsNameTheirLine(t *testing.T) {
	for name, tc := range map[string]struct{ yaml, want string }{
		"sigv4 beside basic_auth": {`
sources:
  prometheus:
    url: https://aps-workspaces.eu-west-1.amazonaws.com/workspaces/ws-1
    basic_auth: {username: u, password: p}
    sigv4:
      region: eu-west-1
`, "config.yml:6: sources.prometheus.sigv4: sigv4 and basic_auth both set"},
		"sigv4 beside a bearer token": {`
sources:
  prometheus:
    url: https://prom.example
    sigv4: {region: eu-west-1}
    bearer_token: abcdefgh
`, "config.yml:5: sources.prometheus.sigv4: sigv4 and authorization both set"},
		"sigv4 beside google_iam": {`
sources:
  prometheus:
    url: https://prom.example
    google_iam: {}
    sigv4: {region: eu-west-1}
`, "config.yml:6: sources.prometheus.sigv4: sigv4 and google_iam both set"},
		"sigv4 beside oauth2": {`
sources:
  prometheus:
    url: https://prom.example
    oauth2: {client_id: a, client_secret: b, token_url: https://sso.example/token}
    sigv4: {region: eu-west-1}
`, "config.yml:6: sources.prometheus.sigv4: sigv4 and oauth2 both set"},
		"on loki": {`
sources:
  loki:
    url: https://loki.example
    sigv4: {region: eu-west-1}
`, "config.yml:5: sources.loki.sigv4: sigv4 applies to sources.prometheus only"},
		"secret_key and secret_key_file": {`
sources:
  prometheus:
    url: https://prom.example
    sigv4: {region: eu-west-1, access_key: AKID, secret_key: s, secret_key_file: f}
`, "config.yml:5: sources.prometheus.sigv4: at most one of secret_key and secret_key_file"},
		"access key without secret": {`
sources:
  prometheus:
    url: https://prom.example
    sigv4: {region: eu-west-1, access_key: AKID}
`, "config.yml:5: sources.prometheus.sigv4: must provide a AWS SigV4 Access key and Secret Key"},
		"unknown sigv4 field": {`
sources:
  prometheus:
    url: https://prom.example
    sigv4: {region: eu-west-1, secret_access_key: x}
`, "config.yml:5"},
		"azuread without a method": {`
sources:
  prometheus:
    url: https://ws.eastus.prometheus.monitor.azure.com
    azuread: {cloud: AzurePublic}
`, "config.yml:5: sources.prometheus.azuread: must provide an Azure Managed Identity"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Parse("config.yml", []byte(tc.yaml))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v\nwant %s", err, tc.want)
			}
		})
	}
}

func TestManagedAuthFilesFollowTheConfigAndAreScrubbed(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("aws-secret", "awsSecretFromTheFile/EXAMPLE\n")
	write("azure-token", "eyJhbGciOiJSUzI1NiJ9.federatedTokenBody.signature")
	write("gcp.json", `{"type":"service_account","client_email":"e@p.iam.gserviceaccount.com",
"private_key":"-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\nBKcwggSjAgEAAoIBAQC7\n-----END PRIVATE KEY-----\n"}`)
	t.Chdir(t.TempDir())
	parse := func(section string) *Config {
		t.Helper()
		c, err := Parse(filepath.Join(dir, "config.yml"), []byte("sources:\n  prometheus:\n    url: https://store.example\n    "+section+"\n"))
		if err != nil {
			t.Fatal(err)
		}
		return c
	}

	c := parse("sigv4: {region: eu-west-1, access_key: AKIDEXAMPLE, secret_key_file: aws-secret}")
	if got := c.Sources.Prometheus.SigV4.SecretKeyFile; got != filepath.Join(dir, "aws-secret") {
		t.Errorf("secret_key_file = %q", got)
	}
	if got := c.Scrub("sent awsSecretFromTheFile/EXAMPLE"); got != "sent "+Hidden {
		t.Errorf("sigv4: %q", got)
	}
	if out := c.Redacted(); !strings.Contains(out, "access_key: AKIDEXAMPLE") || strings.Contains(out, "awsSecret") {
		t.Errorf("redacted config:\n%s", out)
	}
	inline := parse("sigv4: {region: eu-west-1, access_key: AKIDEXAMPLE, secret_key: inlineAwsSecret}")
	if out := inline.Redacted(); strings.Contains(out, "inlineAwsSecret") || !strings.Contains(out, Hidden) {
		t.Errorf("inline secret shown:\n%s", out)
	}

	c = parse(`azuread: {workload_identity: {client_id: 00000000-0000-0000-0000-000000000001, tenant_id: 00000000-0000-0000-0000-000000000002, token_file_path: azure-token}}`)
	a := c.Sources.Prometheus.AzureAD.Config
	if a.Scope != AzureMonitorScope || a.WorkloadIdentity.TokenFilePath != filepath.Join(dir, "azure-token") {
		t.Errorf("azuread: scope %q, token file %q", a.Scope, a.WorkloadIdentity.TokenFilePath)
	}
	if got := c.Scrub("token eyJhbGciOiJSUzI1NiJ9.federatedTokenBody.signature"); got != "token "+Hidden {
		t.Errorf("azuread: %q", got)
	}

	c = parse("google_iam: {credentials_file: gcp.json}")
	if got := c.Sources.Prometheus.GoogleIAM.CredentialsFile; got != filepath.Join(dir, "gcp.json") {
		t.Errorf("credentials_file = %q", got)
	}
	if got := c.Scrub("key line MIIEvQIBADANBgkqhkiG9w0BAQEFAASC"); got != "key line "+Hidden {
		t.Errorf("google_iam: %q", got)
	}
}

// Azure workload identity takes the token file the webhook advertises.
func TestAzureWorkloadIdentityTokenFileFromTheEnvironment(t *testing.T) {
	t.Setenv("AZURE_FEDERATED_TOKEN_FILE", "/var/run/secrets/azure/tokens/azure-identity-token")
	c, err := Parse("config.yml", []byte(`
sources:
  prometheus:
    url: https://ws.eastus.prometheus.monitor.azure.com
    azuread: {workload_identity: {client_id: 00000000-0000-0000-0000-000000000001, tenant_id: 00000000-0000-0000-0000-000000000002}}
`))
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Sources.Prometheus.AzureAD.Config.WorkloadIdentity.TokenFilePath; got != "/var/run/secrets/azure/tokens/azure-identity-token" {
		t.Errorf("token_file_path = %q", got)
	}
}
