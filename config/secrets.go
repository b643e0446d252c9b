package config

import (
	"encoding/base64"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"
)

// minSecretLen keeps the scrubber from mangling ordinary text: a secret
// shorter than this (a tenant id "1") is never printed by the exporter
// itself, and replacing every "1" in an error would hide more than it
// protects.
const minSecretLen = 4

// Hidden is what Scrub puts in place of a secret.
const Hidden = "<secret>"

// fileRecheck bounds how often the scrubber looks whether a secret file
// changed (a Kubernetes service account token rotates hourly): often enough
// that a rotated token is hidden from its first use, rarely enough that
// scrubbing every reason of an evaluation costs no file system calls.
const fileRecheck = 10 * time.Second

// scrubber holds a config's secret values, the inline ones and those read
// from the files the config names, longest first so that a secret that
// contains another is replaced whole.
type scrubber struct {
	cfg   *Config
	mu    sync.Mutex
	files map[string]fileStamp // the secret files, as last read
	next  time.Time            // when to look at the files again
	list  []string
}

type fileStamp struct {
	mod  time.Time
	size int64
}

// Scrub returns s with every secret of the config replaced by <secret>:
// passwords, tokens and credentials inline or in the files the config names
// (password_file, bearer_token_file, credentials_file, client_secret_file,
// header files), the managed stores' keys, tokens and credentials files
// (auth_secrets.go), the values of the source URLs' query strings, basic auth as
// its encoded header, and each in its URL-escaped forms. Source errors and
// unknown reasons come from outside the exporter and may quote what a
// server was sent; they pass through Scrub before they are logged, stored or
// shown. A nil Config scrubs nothing.
func (c *Config) Scrub(s string) string {
	if c == nil {
		return s
	}
	sc := c.scrubber
	if sc == nil {
		sc = newScrubber(c) // a Config not made by Parse, as in tests
	}
	for _, v := range sc.secrets() {
		s = strings.ReplaceAll(s, v, Hidden)
	}
	// Go hides a URL's password itself, as "***" in net/http's errors and
	// "xxxxx" in URL.Redacted: one marker, <secret>, reads everywhere.
	return goRedactedRE.ReplaceAllString(s, "${1}:"+Hidden+"@")
}

// goRedactedRE matches a URL's user with the password Go hid.
var goRedactedRE = regexp.MustCompile(`(//[^/@\s:]*):(?:\*\*\*|xxxxx)@`)

func newScrubber(c *Config) *scrubber {
	sc := &scrubber{cfg: c}
	sc.list, sc.files = collectSecrets(c)
	sc.next = time.Now().Add(fileRecheck)
	return sc
}

// secrets returns the current list, read again when a secret file changed.
func (sc *scrubber) secrets() []string {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	if len(sc.files) == 0 || time.Now().Before(sc.next) {
		return sc.list
	}
	sc.next = time.Now().Add(fileRecheck)
	for path, was := range sc.files {
		if statFile(path) != was {
			sc.list, sc.files = collectSecrets(sc.cfg)
			break
		}
	}
	return sc.list
}

func statFile(path string) fileStamp {
	fi, err := os.Stat(path)
	if err != nil {
		return fileStamp{}
	}
	return fileStamp{mod: fi.ModTime(), size: fi.Size()}
}

// collectSecrets lists the config's secrets and the files it read them from.
func collectSecrets(c *Config) ([]string, map[string]fileStamp) {
	var list []string
	files := map[string]fileStamp{}
	add := func(v string) {
		if len(v) < minSecretLen {
			return
		}
		list = append(list, v, url.QueryEscape(v), url.PathEscape(v))
	}
	// read returns a secret file's content as the HTTP client uses it
	// (trimmed); a file that cannot be read yet is watched all the same.
	read := func(path string) string {
		if path == "" {
			return ""
		}
		files[path] = statFile(path)
		b, err := os.ReadFile(path)
		if err != nil {
			return ""
		}
		return strings.TrimSpace(string(b))
	}
	for _, src := range []*HTTPSource{c.Sources.Prometheus, c.Sources.Loki} {
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
		h := src.HTTPClientConfig
		if ba := h.BasicAuth; ba != nil {
			user := ba.Username
			if ba.UsernameFile != "" {
				user = read(ba.UsernameFile)
			}
			pass := string(ba.Password)
			if ba.PasswordFile != "" {
				pass = read(ba.PasswordFile)
			}
			if pass != "" {
				add(pass)
				add(base64.StdEncoding.EncodeToString([]byte(user + ":" + pass)))
			}
		}
		if a := h.Authorization; a != nil {
			add(string(a.Credentials))
			add(read(a.CredentialsFile))
		}
		add(string(h.BearerToken))
		add(read(h.BearerTokenFile))
		if o := h.OAuth2; o != nil {
			add(string(o.ClientSecret))
			add(read(o.ClientSecretFile))
			add(string(o.ClientCertificateKey))
			add(read(o.ClientCertificateKeyFile))
		}
		add(string(h.TLSConfig.Key))
		add(read(h.TLSConfig.KeyFile))
		if hh := h.HTTPHeaders; hh != nil {
			for _, hv := range hh.Headers {
				for _, v := range hv.Values {
					add(v)
				}
				for _, v := range hv.Secrets {
					add(string(v))
				}
				for _, f := range hv.Files {
					add(read(f))
				}
			}
		}
		authSecrets(src, add, read)
		if u := h.ProxyURL.URL; u != nil {
			if p, ok := u.User.Password(); ok {
				add(p)
			}
		}
		for _, vs := range h.ProxyConnectHeader {
			for _, v := range vs {
				add(string(v))
			}
		}
	}
	slices.SortFunc(list, func(a, b string) int {
		if len(a) != len(b) {
			return len(b) - len(a)
		}
		return strings.Compare(a, b)
	})
	return slices.Compact(list), files
}
