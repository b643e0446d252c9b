package httpapi

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"sync"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/google"

	"github.com/capability-exporter/capability_exporter/config"
)

// googleAuth adds Google OAuth tokens for the monitoring.read scope, from
// golang.org/x/oauth2/google: a credentials file, or application default
// credentials (GKE workload identity among them). The token source is
// found on first use and kept; x/oauth2 refreshes its tokens before they
// expire.
type googleAuth struct {
	cfg  *config.GoogleIAM
	next http.RoundTripper

	mu sync.Mutex
	ts oauth2.TokenSource
}

func newGoogleAuth(cfg *config.GoogleIAM, next http.RoundTripper) *googleAuth {
	return &googleAuth{cfg: cfg, next: next}
}

// googleCredentialTypes are the credentials files accepted: a key or
// configuration the operator put there, never one that asks for a browser.
var googleCredentialTypes = map[string]google.CredentialsType{
	string(google.ServiceAccount):             google.ServiceAccount,
	string(google.ExternalAccount):            google.ExternalAccount,
	string(google.ImpersonatedServiceAccount): google.ImpersonatedServiceAccount,
	string(google.AuthorizedUser):             google.AuthorizedUser,
}

func (a *googleAuth) tokenSource() (oauth2.TokenSource, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.ts != nil {
		return a.ts, nil
	}
	// The token source outlives any one request: it refreshes with a
	// context of its own.
	ctx := context.Background()
	params := google.CredentialsParams{Scopes: []string{config.GoogleMonitoringReadScope}}
	var creds *google.Credentials
	if f := a.cfg.CredentialsFile; f != "" {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("credentials_file: %w", err)
		}
		var head struct {
			Type string `json:"type"`
		}
		if err := json.Unmarshal(data, &head); err != nil {
			return nil, fmt.Errorf("credentials_file %s: %w", f, err)
		}
		typ, ok := googleCredentialTypes[head.Type]
		if !ok {
			return nil, fmt.Errorf("credentials_file %s: type %q is not one of service_account, external_account, impersonated_service_account, authorized_user", f, head.Type)
		}
		creds, err = google.CredentialsFromJSONWithTypeAndParams(ctx, data, typ, params)
		if err != nil {
			return nil, fmt.Errorf("credentials_file %s: %w", f, err)
		}
	} else {
		var err error
		if creds, err = google.FindDefaultCredentialsWithParams(ctx, params); err != nil {
			return nil, err
		}
	}
	a.ts = creds.TokenSource
	return a.ts, nil
}

func (a *googleAuth) RoundTrip(req *http.Request) (*http.Response, error) {
	ts, err := a.tokenSource()
	if err != nil {
		if req.Body != nil {
			_ = req.Body.Close()
		}
		return nil, err
	}
	return (&oauth2.Transport{Source: ts, Base: a.next}).RoundTrip(req)
}

// googleMonitoringRole is what reading Managed Service for Prometheus
// takes, the same for every endpoint.
const googleMonitoringRole = "the roles/monitoring.viewer role (monitoring.timeSeries.list) on the project, and a token with the monitoring.read scope"

func googleInfo(cfg *config.GoogleIAM) *authInfo {
	who := "Google application default credentials"
	if f := cfg.CredentialsFile; f != "" {
		who = "Google credentials " + f
		if data, err := os.ReadFile(f); err == nil {
			var key struct {
				ClientEmail string `json:"client_email"`
			}
			if json.Unmarshal(data, &key) == nil && key.ClientEmail != "" {
				who = fmt.Sprintf("Google service account %s (%s)", key.ClientEmail, f)
			}
		}
	}
	return &authInfo{method: "google_iam", identity: who, permission: func(string) string { return googleMonitoringRole }}
}
