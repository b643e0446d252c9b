package authproxy

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// SigV4 recomputes a request's signature with aws-sdk-go-v2's v4 signer
// from static credentials, as the store would.
type SigV4 struct {
	AccessKey, SecretKey, Region, Service string
	// MaxSkew bounds the signing time's distance from now (AWS allows 5m).
	MaxSkew time.Duration
}

// Verify checks r, whose body has been read into body, and says what is
// wrong with its signature.
func (s SigV4) Verify(r *http.Request, body []byte) error {
	auth := r.Header.Get("Authorization")
	rest, ok := strings.CutPrefix(auth, "AWS4-HMAC-SHA256 ")
	if !ok {
		return errors.New("missing SigV4 Authorization header")
	}
	fields := map[string]string{}
	for _, part := range strings.Split(rest, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		fields[k] = v
	}
	scope := strings.Split(fields["Credential"], "/")
	if len(scope) != 5 || scope[4] != "aws4_request" {
		return fmt.Errorf("bad credential scope %q", fields["Credential"])
	}
	if scope[0] != s.AccessKey {
		return fmt.Errorf("unknown access key %q", scope[0])
	}
	if scope[2] != s.Region || scope[3] != s.Service {
		return fmt.Errorf("signed for %s/%s, want %s/%s", scope[2], scope[3], s.Region, s.Service)
	}
	when, err := time.Parse("20060102T150405Z", r.Header.Get("X-Amz-Date"))
	if err != nil {
		return fmt.Errorf("X-Amz-Date: %w", err)
	}
	skew := s.MaxSkew
	if skew == 0 {
		skew = 5 * time.Minute
	}
	if d := time.Since(when); d > skew || d < -skew {
		return fmt.Errorf("signed %s ago", d)
	}
	sum := sha256.Sum256(body)
	if got := r.Header.Get("X-Amz-Content-Sha256"); got != "" && got != hex.EncodeToString(sum[:]) {
		return errors.New("X-Amz-Content-Sha256 does not match the body")
	}

	// The same request with only the headers that were signed, signed again.
	again, err := http.NewRequest(r.Method, "http://"+r.Host+r.URL.RequestURI(), nil)
	if err != nil {
		return err
	}
	again.Host = r.Host
	again.ContentLength = int64(len(body))
	for _, h := range strings.Split(fields["SignedHeaders"], ";") {
		if h == "host" || h == "content-length" {
			continue
		}
		for _, v := range r.Header.Values(h) {
			again.Header.Add(h, v)
		}
	}
	creds := aws.Credentials{AccessKeyID: s.AccessKey, SecretAccessKey: s.SecretKey, SessionToken: r.Header.Get("X-Amz-Security-Token")}
	if err := v4.NewSigner().SignHTTP(r.Context(), creds, again, hex.EncodeToString(sum[:]), s.Service, s.Region, when); err != nil {
		return err
	}
	if want := again.Header.Get("Authorization"); want != auth {
		return errors.New("the request signature does not match the one computed from the request and the secret key")
	}
	return nil
}

// SigV4Handler passes each request whose signature verifies to next, and
// answers 403 with AWS's kind of message to any other. Rejected counts the
// refusals.
func SigV4Handler(v SigV4, next http.Handler, rejected func(error)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		if err := v.Verify(r, body); err != nil {
			if rejected != nil {
				rejected(err)
			}
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusForbidden)
			_, _ = fmt.Fprintf(w, `{"message":%q}`, err.Error())
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		next.ServeHTTP(w, r)
	})
}
