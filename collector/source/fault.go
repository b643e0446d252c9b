package source

import (
	"net/url"
	"regexp"
	"strings"
)

// One message per fault. A source that is down fails every request the
// same way; its errors quote each request (a PromQL or LogQL query,
// URL-encoded) and the one cause under them. The page, assess and the JSON
// say that cause once, at the top, in words, with the URL decoded and no
// query text, and one line on how to fix it; every signal, tool and
// foundation that depends on the source then says only "<source> is down".

// maxFaultLen bounds a fault's text; a cause no pattern below knows is cut
// there, never spread over a line of its own per request.
const maxFaultLen = 300

// MaxFaultLen is the longest a fault reads, in bytes.
const MaxFaultLen = maxFaultLen

var (
	faultURLRE     = regexp.MustCompile(`(?:Get|Post|Head|Put) "([^"]+)"`)
	faultHostRE    = regexp.MustCompile(`lookup ([^ ]+)(?: on [^:]+:\d+)?: no such host`)
	faultQueryRE   = regexp.MustCompile(`(?:PromQL|LogQL|query) (?:query )?"(?:[^"\\]|\\.)*":? ?`)
	faultStatusRE  = regexp.MustCompile(`\b(401|403) (Unauthorized|Forbidden)\b`)
	faultTimeoutRE = regexp.MustCompile(`context deadline exceeded|Client\.Timeout|i/o timeout|timed out`)
)

// Fault is a down source's one cause and its fix, from its errors (already
// scrubbed of secrets): the page, assess, the JSON and the log say it once.
func Fault(name string, errs []string) (what, fix string) {
	if len(errs) == 0 {
		return "no error recorded", ""
	}
	// The first error whose cause is a known one; else the first.
	for _, e := range errs {
		if what, fix := knownFault(name, e); what != "" {
			return what, fix
		}
	}
	text := faultQueryRE.ReplaceAllString(errs[0], "")
	if u := faultURLRE.FindStringSubmatch(text); u != nil {
		text = strings.Replace(text, u[0], "request to "+decodedURL(u[1]), 1)
	}
	if len(text) > maxFaultLen {
		text = text[:maxFaultLen-1] + "…"
	}
	return text, ""
}

// knownFault is the cause and fix of one error of a kind the exporter
// recognises, or "".
func knownFault(name, first string) (what, fix string) {
	where := faultWhere(first)
	switch {
	case strings.Contains(first, "not running in a cluster") || strings.Contains(first, "KUBERNETES_SERVICE_HOST"):
		return "no kubeconfig is set and the exporter is not running in a cluster",
			"set sources.kubernetes.kubeconfig, or run in a cluster"
	case faultHostRE.MatchString(first):
		host := faultHostRE.FindStringSubmatch(first)[1]
		return "cannot resolve " + host + " (DNS: no such host)",
			"check sources." + name + ".url: the host does not resolve from here"
	case strings.Contains(first, "connection refused"):
		return "connection refused" + where, "check that the server listens at sources." + name + ".url"
	case faultStatusRE.MatchString(first):
		m := faultStatusRE.FindStringSubmatch(first)
		return "the server answered " + m[1] + " " + m[2] + where,
			"check the credentials under sources." + name + " (basic_auth, authorization, bearer_token_file, oauth2)"
	case strings.Contains(first, "x509:") || strings.Contains(first, "tls:"):
		return "TLS handshake failed" + where + ": " + tlsDetail(first), "check sources." + name + ".tls_config"
	case faultTimeoutRE.MatchString(first):
		return "no answer in time" + where, "raise sources." + name + ".timeout or --evaluation.timeout, or check the server's load"
	}
	return "", ""
}

// faultWhere is " at <server>" for the URL an error names: its scheme and
// host, the same for every request of the source, so that one fault reads
// the same whichever request met it first; or "".
func faultWhere(err string) string {
	u := faultURLRE.FindStringSubmatch(err)
	if u == nil {
		return ""
	}
	if p, e := url.Parse(u[1]); e == nil && p.Host != "" {
		return " at " + p.Scheme + "://" + p.Host
	}
	return " at " + decodedURL(u[1])
}

// decodedURL is raw without its query and fragment, unescaped for reading.
func decodedURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	u.RawQuery, u.Fragment = "", ""
	s := u.String()
	if d, err := url.PathUnescape(s); err == nil {
		s = d
	}
	return s
}

func tlsDetail(err string) string {
	for _, marker := range []string{"x509: ", "tls: "} {
		if i := strings.Index(err, marker); i >= 0 {
			d := err[i:]
			if j := strings.IndexAny(d, ";\n"); j >= 0 {
				d = d[:j]
			}
			return d
		}
	}
	return "handshake error"
}
