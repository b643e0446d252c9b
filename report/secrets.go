package report

import (
	"encoding/base64"
	"net/url"
	"slices"
	"strings"

	promconfig "github.com/prometheus/common/config"

	"github.com/capability-exporter/capability_exporter/config"
)

// minSecretLen keeps the scrubber from mangling ordinary text: a secret
// shorter than this (a tenant id "1") is never printed by the exporter
// itself, and replacing every "1" in an error would hide more than it
// protects.
const minSecretLen = 4

const hidden = "<secret>"

// scrubber removes the config's secret values from text that came from
// outside the exporter: source errors and unknown reasons may quote a
// server's answer, and a server may echo what it was sent.
type scrubber struct{ secrets []string }

func newScrubber(cfg *config.Config) scrubber {
	var s []string
	add := func(v string) {
		if len(v) < minSecretLen {
			return
		}
		s = append(s, v, url.QueryEscape(v), url.PathEscape(v))
	}
	if cfg != nil {
		for _, src := range []*config.HTTPSource{cfg.Sources.Prometheus, cfg.Sources.Loki} {
			if src == nil {
				continue
			}
			add(src.TenantID)
			if u := src.URL.URL; u != nil {
				if p, ok := u.User.Password(); ok {
					add(p)
				}
				for _, vs := range u.Query() {
					for _, v := range vs {
						add(v)
					}
				}
			}
			c := src.HTTPClientConfig
			if ba := c.BasicAuth; ba != nil && ba.Password != "" {
				add(string(ba.Password))
				add(base64.StdEncoding.EncodeToString([]byte(ba.Username + ":" + string(ba.Password))))
			}
			if a := c.Authorization; a != nil {
				add(string(a.Credentials))
			}
			add(string(c.BearerToken))
			if o := c.OAuth2; o != nil {
				add(string(o.ClientSecret))
				add(string(o.ClientCertificateKey))
			}
			add(string(c.TLSConfig.Key))
			if h := c.HTTPHeaders; h != nil {
				for _, hv := range h.Headers {
					for _, v := range hv.Values {
						add(v)
					}
					for _, v := range hv.Secrets {
						add(string(v))
					}
				}
			}
			if u := c.ProxyURL.URL; u != nil {
				if p, ok := u.User.Password(); ok {
					add(p)
				}
			}
			for _, vs := range c.ProxyConnectHeader {
				for _, v := range vs {
					add(string(v))
				}
			}
		}
	}
	// Longest first, so a secret that contains another is replaced whole.
	slices.SortFunc(s, func(a, b string) int { return len(b) - len(a) })
	return scrubber{secrets: slices.Compact(s)}
}

func (s scrubber) clean(text string) string {
	for _, v := range s.secrets {
		text = strings.ReplaceAll(text, v, hidden)
	}
	return text
}

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
	q := c.Query()
	for k := range q {
		q[k] = []string{"xxxxx"}
	}
	c.RawQuery = q.Encode()
	return config.RedactURL(&promconfig.URL{URL: &c})
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
