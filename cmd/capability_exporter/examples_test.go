package main

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"
)

// Every config under examples/ passes check, as docs/stores.md promises, and
// the managed-store examples need no warning either.
func TestCheckAcceptsEveryExample(t *testing.T) {
	files, err := filepath.Glob("../../examples/*.yml")
	if err != nil || len(files) < 5 {
		t.Fatalf("examples: %v %v", files, err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			var out, errOut bytes.Buffer
			if code := run([]string{"check", "--config.file=" + f}, &out, &errOut); code != 0 || !strings.Contains(out.String(), "OK") {
				t.Fatalf("check: exit %d: %s%s", code, out.String(), errOut.String())
			}
			if filepath.Base(f) != "webshop.yml" && errOut.Len() > 0 {
				t.Errorf("check warned: %s", errOut.String())
			}
		})
	}
	// A section that signs and carries a password is refused, with its line.
	var out, errOut bytes.Buffer
	dir := writeFiles(t, map[string]string{"both.yml": "sources:\n  prometheus:\n    url: https://aps.example\n    basic_auth: {username: u, password: p}\n    sigv4: {region: eu-west-1}\n"})
	if code := run([]string{"check", "--config.file=" + filepath.Join(dir, "both.yml")}, &out, &errOut); code == 0 ||
		!strings.Contains(errOut.String(), "both.yml:5: sources.prometheus.sigv4: sigv4 and basic_auth both set") {
		t.Errorf("exit %d: %s", code, errOut.String())
	}
}
