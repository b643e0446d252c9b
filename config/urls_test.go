package config

import (
	"strings"
	"testing"
)

// A source URL that does not parse is an error with its file, line and
// field, like every other config error, and says what a URL looks like.
func TestParseNamesAURLThatDoesNotParse(t *testing.T) {
	for _, tc := range []struct{ config, want string }{
		{"sources:\n  prometheus:\n    url: \"::not a url\"\n",
			"c.yml:3: sources.prometheus.url: not a URL: missing protocol scheme (want e.g. http://prometheus:9090)"},
		{"sources:\n  prometheus:\n    url: http://prometheus:9090\n  loki:\n    url: \"http://[::1\"\n",
			"c.yml:5: sources.loki.url: not a URL: missing ']' in host (want e.g. http://loki:3100)"},
		{"sources:\n  prometheus:\n    url: http://prometheus:9090\n    proxy_url: \"http://proxy:3128/%zz\"\n",
			`c.yml:4: sources.prometheus.proxy_url: not a URL: invalid URL escape "%zz" (want e.g. http://proxy:3128)`},
	} {
		_, err := Parse("c.yml", []byte(tc.config))
		if err == nil || strings.TrimSpace(err.Error()) != tc.want {
			t.Errorf("Parse(%q):\n got %v\nwant %s", tc.config, err, tc.want)
		}
	}
}
