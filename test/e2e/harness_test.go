//go:build e2e

// This file holds what every tier shares: waiting, and building and running
// the exporter binary itself.

package e2e

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// waitFor polls cond every 100ms until it returns true or timeout passes.
func waitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// requireBinary finds a server binary from a Debian package: $envVar when
// set, else name on PATH.
func requireBinary(t testing.TB, name, envVar, debianPackage string) string {
	t.Helper()
	return serverBinary(t, envVar, name, "install the Debian package "+debianPackage)
}

var (
	buildOnce sync.Once
	buildPath string
	buildErr  error
)

// exporterBinaryEnv names a capability_exporter binary already built, which
// exporterBinary then uses as it is: a child test run gets its parent's, so
// that it spends its time on what it tests rather than on a build.
const exporterBinaryEnv = "CAPABILITY_EXPORTER_E2E_BINARY"

// exporterBinary builds cmd/capability_exporter once per test run, the way
// the Makefile does (with -race when the tests run with -race), and returns
// its path.
func exporterBinary(t testing.TB) string {
	t.Helper()
	if bin := os.Getenv(exporterBinaryEnv); bin != "" {
		return bin
	}
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "capability-exporter-e2e-")
		if err != nil {
			buildErr = err
			return
		}
		buildPath = filepath.Join(dir, "capability_exporter")
		_, self, _, _ := runtime.Caller(0)
		root := filepath.Join(filepath.Dir(self), "..", "..")
		args, cgo := []string{"build", "-o", buildPath}, "CGO_ENABLED=0"
		if raceEnabled {
			// The race detector needs cgo.
			args, cgo = append(args, "-race"), "CGO_ENABLED=1"
		}
		cmd := exec.Command("go", append(args, "./cmd/capability_exporter")...)
		cmd.Dir = root
		cmd.Env = append(os.Environ(), cgo)
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build: %w\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return buildPath
}

// exporter is a running capability_exporter process.
type exporter struct {
	URL string // http://127.0.0.1:port
	*server
}

// startExporter runs the exporter binary with configFile and extra flags and
// waits until /-/ready answers 200, i.e. the first evaluation is published.
func startExporter(t testing.TB, configFile string, args ...string) *exporter {
	t.Helper()
	s := startServer(t, serverSpec{
		Name:  "capability_exporter",
		Bin:   exporterBinary(t),
		Ports: 1,
		Args: func(ports []int) []string {
			return append([]string{"--config.file=" + configFile, fmt.Sprintf("--web.listen-address=127.0.0.1:%d", ports[0])}, args...)
		},
		Ready:        httpReady("/-/ready"),
		ReadyTimeout: 30 * time.Second,
	})
	return &exporter{URL: s.PortURL(0), server: s}
}

// probeClient gives up on a server that accepts and never answers (a paused
// one, or another process on its port).
var probeClient = &http.Client{Timeout: 2 * time.Second}

// requestTimeout bounds every other request a test sends, so that a server
// that hangs fails its test in minutes instead of spending the tier's
// whole budget.
const requestTimeout = 2 * time.Minute

// testClient sends the tests' requests; no test uses http.Get or
// http.DefaultClient, which never give up.
var testClient = &http.Client{Timeout: requestTimeout}

// clientWith is testClient on its own transport, for the scrapes that
// measure compression or connection reuse.
func clientWith(tr *http.Transport) *http.Client {
	return &http.Client{Timeout: requestTimeout, Transport: tr}
}

// httpOK reports whether a GET of url answers 200.
func httpOK(url string) bool {
	resp, err := probeClient.Get(url)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// Get returns the body of a GET on path, failing the test on any error.
func (e *exporter) Get(t testing.TB, path string) string {
	t.Helper()
	resp, err := testClient.Get(e.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s: %s", path, resp.Status, body)
	}
	return string(body)
}

// syncBuffer is a bytes.Buffer safe for a process writing and a test reading.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Len()
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// metricLines returns the exposition lines of /metrics that start with name{
// or name followed by a space.
func metricLines(body, name string) []string {
	var out []string
	for _, l := range strings.Split(body, "\n") {
		if strings.HasPrefix(l, name+"{") || strings.HasPrefix(l, name+" ") {
			out = append(out, l)
		}
	}
	return out
}

// writeFile writes body to name in dir and returns the path.
func writeFile(t testing.TB, dir, name, body string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}
