//go:build e2e && perf

package e2e

import (
	"os/exec"
	"strings"
	"testing"
)

// perfEtcdVersion is the version of the etcd the perf tier's clusters run
// on (startKubeCluster's: $ETCD, else etcd on PATH). make bench sets ETCD to
// etcd 3.6, built from its Go module by hack/build-etcd.sh: a real
// cluster's etcd, whose progress notifications let the API server serve
// consistent lists from its watch cache. The e2e tier keeps the system's
// etcd (Debian's 3.4), the oldest path still seen.
func perfEtcdVersion(t testing.TB) string {
	t.Helper()
	bin := requireBinary(t, "etcd", "ETCD", "etcd-server")
	out, err := exec.Command(bin, "--version").Output()
	if err != nil {
		t.Fatalf("%s --version: %v", bin, err)
	}
	for line := range strings.Lines(string(out)) {
		if v, ok := strings.CutPrefix(line, "etcd Version: "); ok {
			return strings.TrimSpace(v)
		}
	}
	t.Fatalf("%s --version: no version in %q", bin, out)
	return ""
}
