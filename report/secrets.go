package report

import (
	"maps"
	"net/url"
	"slices"
	"strings"

	promconfig "github.com/prometheus/common/config"

	"github.com/capability-exporter/capability_exporter/config"
)

// scrubber hides the config's secrets in text that came from outside the
// exporter: source errors and unknown reasons may quote a server's answer,
// and a server may echo what it was sent. The secrets are the config's own
// (config.Config.Scrub); the scheduler has scrubbed a State already, and a
// report scrubs again since it may show a State from elsewhere.
type scrubber struct{ cfg *config.Config }

func newScrubber(cfg *config.Config) scrubber { return scrubber{cfg: cfg} }

func (s scrubber) clean(text string) string { return s.cfg.Scrub(text) }

func (s scrubber) cleanAll(texts []string) []string {
	out := make([]string, len(texts))
	for i, t := range texts {
		out[i] = s.clean(t)
	}
	return out
}

// describeSource says where a source reads from without credentials: the URL
// with its password and query values masked, the kind of auth, and the names
// of the extra headers only.
func describeSource(cfg *config.Config, name string) (endpoint, auth string, headers []string) {
	headers = []string{}
	if cfg == nil {
		return "", "", headers
	}
	var src *config.HTTPSource
	switch name {
	case "fact":
		return "facts in " + cfg.File, "none", headers
	case "kubernetes":
		k := cfg.Sources.Kubernetes
		switch {
		case k == nil:
			return "", "", headers
		case k.Kubeconfig == "":
			return "in-cluster service account", "service account", headers
		case k.Context != "":
			return "kubeconfig " + k.Kubeconfig + " (context " + k.Context + ")", "kubeconfig", headers
		}
		return "kubeconfig " + k.Kubeconfig, "kubeconfig", headers
	case "prometheus":
		src = cfg.Sources.Prometheus
	case "loki":
		src = cfg.Sources.Loki
	}
	if src == nil {
		return "", "", headers
	}
	endpoint = redactURL(src.URL)
	auth = authKind(src.HTTPClientConfig)
	if src.TenantID != "" {
		headers = append(headers, "X-Scope-OrgID")
	}
	if h := src.HTTPClientConfig.HTTPHeaders; h != nil {
		for name := range h.Headers {
			headers = append(headers, name)
		}
	}
	slices.Sort(headers)
	return endpoint, auth, slices.Compact(headers)
}

// redactURL hides the password (config.RedactURL) and every query value,
// since some servers take tokens as query parameters.
func redactURL(u promconfig.URL) string {
	if u.URL == nil {
		return ""
	}
	if u.RawQuery == "" {
		return config.RedactURL(&u)
	}
	c := *u.URL
	keys := slices.Sorted(maps.Keys(c.Query()))
	c.RawQuery = ""
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = url.QueryEscape(k) + "=" + config.Hidden
	}
	return config.RedactURL(&promconfig.URL{URL: &c}) + "?" + strings.Join(parts, "&")
}

func authKind(c promconfig.HTTPClientConfig) string {
	var kinds []string
	if c.BasicAuth != nil {
		kinds = append(kinds, "basic auth")
	}
	if c.Authorization != nil {
		t := c.Authorization.Type
		if t == "" {
			t = "Bearer"
		}
		kinds = append(kinds, "authorization ("+t+")")
	}
	if c.BearerToken != "" || c.BearerTokenFile != "" {
		kinds = append(kinds, "bearer token")
	}
	if c.OAuth2 != nil {
		kinds = append(kinds, "oauth2")
	}
	if c.TLSConfig.CertFile != "" || c.TLSConfig.Cert != "" {
		kinds = append(kinds, "TLS client certificate")
	}
	if len(kinds) == 0 {
		return "none"
	}
	return strings.Join(kinds, ", ")
}
