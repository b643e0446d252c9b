package httpapi

import (
	"fmt"
	"net/http"

	"github.com/prometheus/prometheus/storage/remote/azuread"

	"github.com/capability-exporter/capability_exporter/config"
)

// azureAuth adds Entra ID tokens with Prometheus' own azuread client
// (azidentity underneath), for the scope the config names: by default that
// of Azure Monitor workspaces' query API.
type azureAuth struct{ rt http.RoundTripper }

func newAzureAuth(cfg *config.AzureAD, next http.RoundTripper) (http.RoundTripper, error) {
	c := cfg.Config
	rt, err := azuread.NewAzureADRoundTripper(&c, next)
	if err != nil {
		return nil, err
	}
	return azureAuth{rt: rt}, nil
}

// RoundTrip hands azuread a copy: it sets the header on the request it is
// given.
func (a azureAuth) RoundTrip(req *http.Request) (*http.Response, error) {
	return a.rt.RoundTrip(req.Clone(req.Context()))
}

// azureMonitorRole is what reading an Azure Monitor workspace's query API
// takes, the same for every endpoint.
const azureMonitorRole = "the Monitoring Data Reader role on the Azure Monitor workspace (Microsoft.Monitor/accounts/data/metrics/read)"

func azureInfo(cfg *config.AzureAD) *authInfo {
	c := cfg.Config
	var who string
	switch {
	case c.WorkloadIdentity != nil:
		w := c.WorkloadIdentity
		who = fmt.Sprintf("Entra ID workload identity %s of tenant %s (federated token %s)", w.ClientID, w.TenantID, w.TokenFilePath)
	case c.ManagedIdentity != nil:
		who = "Azure managed identity"
		if c.ManagedIdentity.ClientID != "" {
			who += " " + c.ManagedIdentity.ClientID
		}
	case c.OAuth != nil:
		who = fmt.Sprintf("Entra ID application %s of tenant %s", c.OAuth.ClientID, c.OAuth.TenantID)
	case c.Certificate != nil:
		who = fmt.Sprintf("Entra ID application %s of tenant %s (certificate %s)", c.Certificate.ClientID, c.Certificate.TenantID, c.Certificate.CertificatePath)
	default:
		who = "the Azure SDK's default credential chain"
	}
	who += " for scope " + c.Scope
	return &authInfo{method: "azuread", identity: who, permission: func(string) string { return azureMonitorRole }}
}
