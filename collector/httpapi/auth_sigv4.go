package httpapi

import (
	"fmt"
	"net/http"
	"os"
	"path"
	"strings"
	"sync"
	"time"

	promconfig "github.com/prometheus/common/config"
	"github.com/prometheus/sigv4"

	"github.com/capability-exporter/capability_exporter/config"
)

// sigv4Auth signs requests with github.com/prometheus/sigv4, the signer of
// Prometheus' remote write. The signer is built on first use, not with the
// source: the default credential chain (IRSA, EKS Pod Identity, an
// instance role) may not answer yet when the exporter starts, and a source
// that cannot sign should say so under reason auth at each evaluation
// rather than fail to start. It is built again when secret_key_file
// changes.
type sigv4Auth struct {
	cfg  *config.SigV4
	next http.RoundTripper

	mu     sync.Mutex
	signer http.RoundTripper
	stamp  fileStamp // secret_key_file as the signer read it
}

type fileStamp struct {
	mod  time.Time
	size int64
}

func statStamp(path string) fileStamp {
	fi, err := os.Stat(path)
	if err != nil {
		return fileStamp{}
	}
	return fileStamp{mod: fi.ModTime(), size: fi.Size()}
}

func newSigV4Auth(cfg *config.SigV4, next http.RoundTripper) *sigv4Auth {
	return &sigv4Auth{cfg: cfg, next: next}
}

func (a *sigv4Auth) RoundTrip(req *http.Request) (*http.Response, error) {
	signer, err := a.current(req)
	if err != nil {
		if req.Body != nil {
			_ = req.Body.Close()
		}
		return nil, err
	}
	// A header without values is never sent (client_golang marks its POST
	// queries idempotent with an Idempotency-Key of nil), yet the signer
	// would sign it as empty, and the store would refuse a signature over a
	// header it did not get.
	return signer.RoundTrip(withoutEmptyHeaders(req))
}

func withoutEmptyHeaders(req *http.Request) *http.Request {
	for _, v := range req.Header {
		if len(v) == 0 {
			req = req.Clone(req.Context())
			for k, v := range req.Header {
				if len(v) == 0 {
					delete(req.Header, k)
				}
			}
			return req
		}
	}
	return req
}

func (a *sigv4Auth) current(req *http.Request) (http.RoundTripper, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	var stamp fileStamp
	if a.cfg.SecretKeyFile != "" {
		if stamp = statStamp(a.cfg.SecretKeyFile); stamp != a.stamp {
			a.signer = nil
		}
	}
	if a.signer != nil {
		return a.signer, nil
	}
	c := a.cfg.Config
	if a.cfg.SecretKeyFile != "" {
		b, err := os.ReadFile(a.cfg.SecretKeyFile)
		if err != nil {
			return nil, fmt.Errorf("secret_key_file: %w", err)
		}
		c.SecretKey = promconfig.Secret(strings.TrimSpace(string(b)))
	}
	signer, err := sigv4.NewSigV4RoundTripper(&c, a.next, sigv4.WithContext(req.Context()))
	if err != nil {
		return nil, err
	}
	a.signer, a.stamp = signer, stamp
	return signer, nil
}

func sigv4Info(cfg *config.SigV4) *authInfo {
	c := cfg.Config
	var who string
	switch {
	case c.RoleARN != "":
		who = "AWS role " + c.RoleARN
	case c.AccessKey != "":
		who = "AWS access key " + c.AccessKey
	case c.Profile != "":
		who = "AWS profile " + c.Profile
	default:
		who = "the default AWS credential chain (environment, IRSA or EKS Pod Identity, instance role)"
	}
	if c.Region != "" {
		who += " in " + c.Region
	}
	service := c.ServiceName
	if service == "" {
		service = "aps"
	}
	return &authInfo{method: "sigv4", identity: who, permission: func(p string) string {
		if service != "aps" {
			return "the IAM permission this endpoint needs"
		}
		return ampPermission(p)
	}}
}

// ampPermissions are the IAM actions of Amazon Managed Service for
// Prometheus' query API, by the last elements of the path.
var ampPermissions = map[string]string{
	"api/v1/query":       "aps:QueryMetrics",
	"api/v1/query_range": "aps:QueryMetrics",
	"api/v1/series":      "aps:GetSeries",
	"api/v1/labels":      "aps:GetLabels",
	"api/v1/label":       "aps:GetLabels",
	"api/v1/metadata":    "aps:GetMetricMetadata",
	"api/v1/rules":       "aps:ListRules",
	"api/v1/alerts":      "aps:ListAlerts",
}

// ampPermission names the action a path of the workspace's query API
// needs; the path ends in the Prometheus API route.
func ampPermission(p string) string {
	p = strings.TrimSuffix(path.Clean("/"+p), "/")
	if i := strings.Index(p, "/api/v1/"); i >= 0 {
		route := p[i+1:]
		if perm, ok := ampPermissions[route]; ok {
			return perm
		}
		// /api/v1/label/<name>/values
		if parts := strings.Split(route, "/"); len(parts) == 5 && parts[2] == "label" && parts[4] == "values" {
			return ampPermissions["api/v1/label"]
		}
	}
	return "the aps permission of " + p
}
