package authproxy

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
)

// Tokens is a token endpoint: it issues bearer tokens that expire after
// TTL to a client that proves itself by client credentials (client_id and
// client_secret, in the form or as basic auth) or by a JWT assertion signed
// with a known service account's key, for a scope it requires. Valid tells
// a proxy whether a token is one it issued and still current.
type Tokens struct {
	TTL time.Duration
	// Scope is the scope every token request must ask for.
	Scope string
	// Clients are the client credentials, by client_id.
	Clients map[string]string
	// Accounts are the service accounts' public keys, by client_email; an
	// assertion's audience must be URL, the endpoint's own address.
	Accounts map[string]*rsa.PublicKey
	URL      string

	mu       sync.Mutex
	issued   map[string]time.Time // token -> expiry
	Issued   int                  // tokens issued
	Refused  int                  // token requests refused
	Rejected int                  // requests with a token refused by Handler
}

func (t *Tokens) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		t.refuse(w, "invalid_request", err.Error())
		return
	}
	if !slices.Contains(strings.Fields(r.PostForm.Get("scope")), t.Scope) && !t.assertionScope(r.PostForm.Get("assertion")) {
		t.refuse(w, "invalid_scope", "want scope "+t.Scope)
		return
	}
	switch r.PostForm.Get("grant_type") {
	case "client_credentials":
		id, secret, ok := r.BasicAuth()
		if !ok {
			id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
		}
		if want, known := t.Clients[id]; !known || want != secret {
			t.refuse(w, "invalid_client", "unknown client or wrong secret")
			return
		}
	case "urn:ietf:params:oauth:grant-type:jwt-bearer":
		if err := t.verifyAssertion(r.PostForm.Get("assertion")); err != nil {
			t.refuse(w, "invalid_grant", err.Error())
			return
		}
	default:
		t.refuse(w, "unsupported_grant_type", r.PostForm.Get("grant_type"))
		return
	}
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	token := "tok-" + hex.EncodeToString(b)
	t.mu.Lock()
	if t.issued == nil {
		t.issued = map[string]time.Time{}
	}
	t.issued[token] = time.Now().Add(t.TTL)
	t.Issued++
	t.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"access_token": token, "token_type": "Bearer", "expires_in": int(t.TTL / time.Second)})
}

func (t *Tokens) refuse(w http.ResponseWriter, code, desc string) {
	t.mu.Lock()
	t.Refused++
	t.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusUnauthorized)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": code, "error_description": desc})
}

// Counts returns Issued, Refused and Rejected under the lock.
func (t *Tokens) Counts() (issued, refused, rejected int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.Issued, t.Refused, t.Rejected
}

// IssuedTokens lists the tokens issued so far.
func (t *Tokens) IssuedTokens() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]string, 0, len(t.issued))
	for tok := range t.issued {
		out = append(out, tok)
	}
	return out
}

// Valid says whether token was issued here and has not expired.
func (t *Tokens) Valid(token string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	exp, ok := t.issued[token]
	return ok && time.Now().Before(exp)
}

type claims struct {
	Iss   string `json:"iss"`
	Aud   string `json:"aud"`
	Scope string `json:"scope"`
	Exp   int64  `json:"exp"`
}

func decodeAssertion(assertion string) (head, payload, sig []byte, c claims, err error) {
	parts := strings.Split(assertion, ".")
	if len(parts) != 3 {
		return nil, nil, nil, c, errors.New("assertion is not a JWT")
	}
	dec := base64.RawURLEncoding
	if payload, err = dec.DecodeString(parts[1]); err != nil {
		return nil, nil, nil, c, err
	}
	if sig, err = dec.DecodeString(parts[2]); err != nil {
		return nil, nil, nil, c, err
	}
	err = json.Unmarshal(payload, &c)
	return []byte(parts[0] + "." + parts[1]), payload, sig, c, err
}

// assertionScope: a Google assertion carries its scope in its claims.
func (t *Tokens) assertionScope(assertion string) bool {
	if assertion == "" {
		return false
	}
	_, _, _, c, err := decodeAssertion(assertion)
	return err == nil && slices.Contains(strings.Fields(c.Scope), t.Scope)
}

func (t *Tokens) verifyAssertion(assertion string) error {
	signed, _, sig, c, err := decodeAssertion(assertion)
	if err != nil {
		return err
	}
	key, ok := t.Accounts[c.Iss]
	if !ok {
		return fmt.Errorf("unknown service account %q", c.Iss)
	}
	sum := sha256.Sum256(signed)
	if err := rsa.VerifyPKCS1v15(key, crypto.SHA256, sum[:], sig); err != nil {
		return errors.New("assertion signature does not verify")
	}
	if c.Aud != t.URL {
		return fmt.Errorf("assertion audience %q, want %q", c.Aud, t.URL)
	}
	if time.Unix(c.Exp, 0).Before(time.Now()) {
		return errors.New("assertion expired")
	}
	return nil
}

// Handler passes each request that carries a current token of t to next,
// and answers 401 to any other.
func (t *Tokens) Handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || !t.Valid(token) {
			t.mu.Lock()
			t.Rejected++
			t.mu.Unlock()
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = fmt.Fprint(w, `{"status":"error","errorType":"unauthorized","error":"missing, unknown or expired token"}`)
			return
		}
		next.ServeHTTP(w, r)
	})
}
