package config

import (
	"errors"
	"fmt"

	promconfig "github.com/prometheus/common/config"
	"github.com/prometheus/prometheus/storage/remote/azuread"
	"github.com/prometheus/sigv4"
)

// The auth of managed Prometheus stores, beside the standard HTTP client
// config: AWS SigV4 (Amazon Managed Service for Prometheus), Entra ID
// (Azure Monitor workspaces) and Google IAM (Google Cloud Managed Service
// for Prometheus). A source takes at most one of them, and none beside
// basic_auth, authorization, bearer_token or oauth2.

// SigV4 signs every request with AWS Signature Version 4, as Prometheus'
// remote write does (github.com/prometheus/sigv4): region, access_key,
// secret_key, profile, role_arn, external_id, session_name, service_name
// (default aps). With no keys the default AWS credential chain applies:
// the environment, IRSA and EKS Pod Identity, the instance role.
type SigV4 struct {
	Config sigv4.SigV4Config `yaml:",inline"`
	// SecretKeyFile holds the secret key instead of secret_key; it is read
	// again when it changes.
	SecretKeyFile string `yaml:"secret_key_file,omitempty"`
}

// UnmarshalYAML decodes without validating: Parse validates the section so
// that errors name its line.
func (s *SigV4) UnmarshalYAML(unmarshal func(any) error) error {
	type plain SigV4
	return unmarshal((*plain)(s))
}

// Validate checks the section as sigv4 does, with secret_key_file taking
// the place of secret_key.
func (s *SigV4) Validate() error {
	if s.Config.SecretKey != "" && s.SecretKeyFile != "" {
		return errors.New("at most one of secret_key and secret_key_file")
	}
	c := s.Config
	if s.SecretKeyFile != "" {
		if c.AccessKey == "" {
			return errors.New("secret_key_file needs access_key")
		}
		c.SecretKey = "set"
	}
	return c.Validate()
}

// AzureMonitorScope is the token scope of the query API of Azure Monitor
// workspaces.
const AzureMonitorScope = "https://prometheus.monitor.azure.com/.default"

// AzureAD obtains Entra ID tokens with Prometheus' own azuread client:
// workload_identity (the federated token file that the
// azure.workload.identity/use pod label mounts), managed_identity, oauth
// (client secret), certificate, or sdk (the environment's default chain).
// The scope defaults to AzureMonitorScope.
type AzureAD struct {
	Config azuread.AzureADConfig `yaml:",inline"`
}

// UnmarshalYAML decodes without validating (see SigV4.UnmarshalYAML).
func (a *AzureAD) UnmarshalYAML(unmarshal func(any) error) error {
	type plain AzureAD
	return unmarshal((*plain)(a))
}

// Validate applies the default scope and checks the section as Prometheus
// does; an empty workload identity token path becomes the one the Azure
// Workload Identity webhook advertises.
func (a *AzureAD) Validate() error {
	if a.Config.Scope == "" {
		a.Config.Scope = AzureMonitorScope
	}
	return a.Config.Validate()
}

// GoogleMonitoringReadScope is the OAuth scope that reads Cloud Monitoring,
// Managed Service for Prometheus included.
const GoogleMonitoringReadScope = "https://www.googleapis.com/auth/monitoring.read"

// GoogleIAM obtains Google OAuth tokens for GoogleMonitoringReadScope with
// golang.org/x/oauth2/google: from CredentialsFile (a service account key or
// another credentials file), or else from application default credentials,
// GKE workload identity included.
type GoogleIAM struct {
	CredentialsFile string `yaml:"credentials_file,omitempty"`
}

// authMethods names the auth a section sets, standard and managed, in the
// order they are checked.
func (s *HTTPSource) authMethods() []string {
	var out []string
	h := s.HTTPClientConfig
	if h.BasicAuth != nil {
		out = append(out, "basic_auth")
	}
	if h.Authorization != nil {
		out = append(out, "authorization")
	}
	if h.BearerToken != "" || h.BearerTokenFile != "" {
		out = append(out, "bearer_token")
	}
	if h.OAuth2 != nil {
		out = append(out, "oauth2")
	}
	if s.SigV4 != nil {
		out = append(out, "sigv4")
	}
	if s.AzureAD != nil {
		out = append(out, "azuread")
	}
	if s.GoogleIAM != nil {
		out = append(out, "google_iam")
	}
	return out
}

// ManagedAuth names the managed-store auth a section sets, or "".
func (s *HTTPSource) ManagedAuth() string {
	switch {
	case s.SigV4 != nil:
		return "sigv4"
	case s.AzureAD != nil:
		return "azuread"
	case s.GoogleIAM != nil:
		return "google_iam"
	}
	return ""
}

// checkAuth validates the managed-store sections of one source. report
// takes the error and the path of the key it is about.
func (s *HTTPSource) checkAuth(kind string, report func(err error, path ...string)) {
	managed := s.ManagedAuth()
	if managed == "" {
		return
	}
	if kind != "prometheus" {
		report(fmt.Errorf("%s applies to sources.prometheus only", managed), managed)
		return
	}
	var others []string
	for _, m := range s.authMethods() {
		if m != managed {
			others = append(others, m)
		}
	}
	if len(others) > 0 {
		report(fmt.Errorf("%s and %s both set: a request is signed or carries a token by one method only", managed, others[0]), managed)
		return
	}
	switch {
	case s.SigV4 != nil:
		report(s.SigV4.Validate(), "sigv4")
	case s.AzureAD != nil:
		report(s.AzureAD.Validate(), "azuread")
	}
}

// setAuthDirectory resolves the managed sections' files against dir.
func (s *HTTPSource) setAuthDirectory(dir string) {
	if v := s.SigV4; v != nil {
		v.SecretKeyFile = promconfig.JoinDir(dir, v.SecretKeyFile)
	}
	if g := s.GoogleIAM; g != nil {
		g.CredentialsFile = promconfig.JoinDir(dir, g.CredentialsFile)
	}
	if a := s.AzureAD; a != nil {
		if w := a.Config.WorkloadIdentity; w != nil {
			w.TokenFilePath = promconfig.JoinDir(dir, w.TokenFilePath)
		}
		if c := a.Config.Certificate; c != nil {
			c.CertificatePath = promconfig.JoinDir(dir, c.CertificatePath)
			c.CertificateKeyPath = promconfig.JoinDir(dir, c.CertificateKeyPath)
		}
	}
}
