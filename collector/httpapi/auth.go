package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"

	"golang.org/x/oauth2"

	"github.com/capability-exporter/capability_exporter/collector/source"
	"github.com/capability-exporter/capability_exporter/config"
)

// The auth of managed stores (SigV4, Entra ID, Google IAM) and the errors
// it meets. Its layers sit between the tenant header and the standard
// client of prometheus/common:
//
//	authRoundTripper   marks the exchange with the identity; a failure
//	                   before the request left is an authError
//	sigv4 / azuread / google_iam round tripper
//	sentRecorder       the request leaves: records the credentials it carries
//	prometheus/common  TLS, proxy, headers
//
// A refused or expired credential, and a 401 or 403 from such a store, are
// counted under reason auth, with a message that names the identity and,
// for a 403, the permission the endpoint needs.

// authInfo describes a source's credentials for its error messages. It
// holds no secret.
type authInfo struct {
	method   string // sigv4, azuread, google_iam, oauth2
	identity string // who the requests are sent as
	// permission names what an endpoint needs, from a static map by path.
	permission func(path string) string
}

// authError is a credential that could not be obtained or used: the
// request was never sent.
type authError struct {
	identity string
	err      error
}

func (e *authError) Error() string {
	return "could not obtain credentials for " + e.identity + ": " + credentialError(e.err)
}

func (e *authError) Unwrap() error { return e.err }

// authTrace follows one request through the auth layers.
type authTrace struct {
	sent    bool     // the request reached the standard client
	secrets []string // credentials it carried, hidden from error bodies
}

type authTraceKey struct{}

// authRoundTripper marks each exchange with the source's identity, and
// turns a failure that stopped the request before it left into an
// authError.
type authRoundTripper struct {
	info *authInfo
	next http.RoundTripper
	// traced: a sentRecorder sits below, so a request that did not reach
	// it failed in the auth layers (not so for oauth2, which lives inside
	// the standard client).
	traced bool
}

func (t authRoundTripper) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	ex, _ := ctx.Value(exchangeKey{}).(*exchange)
	if ex != nil {
		ex.auth = t.info
		ex.path = req.URL.Path
	}
	trace := &authTrace{}
	resp, err := t.next.RoundTrip(req.WithContext(context.WithValue(ctx, authTraceKey{}, trace)))
	if ex != nil {
		ex.secrets = trace.secrets
	}
	if err != nil && t.traced && !trace.sent && ctx.Err() == nil {
		return nil, &authError{identity: t.info.identity, err: err}
	}
	return resp, err
}

// sentRecorder is the last auth layer: what reaches it leaves with the
// headers the auth layers set.
type sentRecorder struct{ next http.RoundTripper }

var credentialHeaders = []string{"Authorization", "X-Amz-Security-Token"}

func (t sentRecorder) RoundTrip(req *http.Request) (*http.Response, error) {
	if trace, ok := req.Context().Value(authTraceKey{}).(*authTrace); ok {
		trace.sent = true
		for _, h := range credentialHeaders {
			v := req.Header.Get(h)
			if _, cred, ok := strings.Cut(v, " "); ok && h == "Authorization" {
				v = cred // the token or signature, not the scheme
			}
			if len(v) >= 8 {
				trace.secrets = append(trace.secrets, v)
			}
		}
	}
	return t.next.RoundTrip(req)
}

// withAuth wraps the standard client rt in the source's managed-store auth,
// if any, and marks every exchange with the identity its requests use.
func withAuth(kind string, cfg *config.HTTPSource, rt http.RoundTripper) (http.RoundTripper, error) {
	var (
		info *authInfo
		err  error
	)
	inner := sentRecorder{next: rt}
	switch {
	case cfg.SigV4 != nil:
		info = sigv4Info(cfg.SigV4)
		rt = newSigV4Auth(cfg.SigV4, inner)
	case cfg.AzureAD != nil:
		info = azureInfo(cfg.AzureAD)
		rt, err = newAzureAuth(cfg.AzureAD, inner)
	case cfg.GoogleIAM != nil:
		info = googleInfo(cfg.GoogleIAM)
		rt = newGoogleAuth(cfg.GoogleIAM, inner)
	case cfg.HTTPClientConfig.OAuth2 != nil:
		o := cfg.HTTPClientConfig.OAuth2
		info = &authInfo{method: "oauth2", identity: fmt.Sprintf("oauth2 client %q at %s", o.ClientID, o.TokenURL)}
		return authRoundTripper{info: info, next: rt}, nil
	default:
		return rt, nil
	}
	if err != nil {
		return nil, fmt.Errorf("sources.%s.%s: %w", kind, info.method, err)
	}
	return authRoundTripper{info: info, next: rt, traced: true}, nil
}

// authFailure classifies what the auth layers met, or reports false: a
// credential that could not be obtained, a token endpoint that refused the
// identity, and a 401 or 403 from a store with managed auth.
func authFailure(ex *exchange, err error) (string, bool) {
	var ae *authError
	var re *oauth2.RetrieveError
	switch {
	case errors.As(err, &ae):
		return ae.Error(), true
	case errors.As(err, &re) && ex.auth != nil:
		return "the token endpoint refused " + ex.auth.identity + ": " + credentialError(re), true
	case ex.auth == nil || ex.auth.method == "oauth2":
		return "", false
	case ex.status == http.StatusUnauthorized:
		return fmt.Sprintf("%d: the store refused the credentials of %s (expired, revoked, or issued for another audience): %s",
			ex.status, ex.auth.identity, errorMessage(ex)), true
	case ex.status == http.StatusForbidden:
		need := "a permission this endpoint needs"
		if ex.auth.permission != nil {
			need = ex.auth.permission(ex.path)
		}
		return fmt.Sprintf("%d: %s lacks %s, or its signature was refused: %s", ex.status, ex.auth.identity, need, errorMessage(ex)), true
	}
	return "", false
}

// authDowns says whether an auth failure stops the other requests of the
// run: a credential that cannot be had fails them all alike. A 403 does
// not: another endpoint may need another permission.
func authDowns(err error) bool {
	var ae *authError
	var re *oauth2.RetrieveError
	return errors.As(err, &ae) || errors.As(err, &re)
}

// jwtPattern matches a JSON Web Token: an assertion or an access token that
// a token endpoint may quote back.
var jwtPattern = regexp.MustCompile(`eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*`)

// credentialError words an error of a credential provider or token
// endpoint for the log and the page: the token endpoint's error code and
// description rather than its whole answer, its first line only, with any
// JWT hidden.
func credentialError(err error) string {
	var re *oauth2.RetrieveError
	msg := err.Error()
	if errors.As(err, &re) {
		status := 0
		if re.Response != nil {
			status = re.Response.StatusCode
		}
		code, desc := re.ErrorCode, re.ErrorDescription
		if code == "" {
			// Not every flow of x/oauth2 reads the RFC 6749 error body.
			var body struct {
				Error       string `json:"error"`
				Description string `json:"error_description"`
			}
			if json.Unmarshal(re.Body, &body) == nil {
				code, desc = body.Error, body.Description
			}
		}
		msg = fmt.Sprintf("token endpoint answered %d", status)
		if code != "" {
			msg += " " + code
		}
		if desc != "" {
			msg += ": " + desc
		}
	}
	msg, _, _ = strings.Cut(msg, "\n")
	return source.CutBytes(jwtPattern.ReplaceAllString(msg, config.Hidden), 300)
}
