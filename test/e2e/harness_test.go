//go:build e2e

// Package e2e runs the exporter against real servers: Prometheus and
// promtool, Alertmanager, etcd with kube-apiserver, and Chromium. The servers
// come from PATH (Debian packages) or the env vars the harnesses name; each
// binds to 127.0.0.1 on a free port and is stopped by the test that started
// it. Run with `go test -tags e2e ./test/e2e/...`.
//
// This file holds what every tier shares: free ports, waiting, and building
// and running the exporter binary itself.
package e2e

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// freePort returns a loopback port nobody listens on right now.
func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

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

// requireBinary finds a server binary on PATH, or in the env var that
// overrides it, and fails with what to install when it is missing.
func requireBinary(t testing.TB, name, envVar, debianPackage string) string {
	t.Helper()
	if envVar != "" {
		if p := os.Getenv(envVar); p != "" {
			return p
		}
	}
	p, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("%s not found on PATH (install the Debian package %s, or set %s)", name, debianPackage, envVar)
	}
	return p
}

var (
	buildOnce sync.Once
	buildPath string
	buildErr  error
)

// exporterBinary builds cmd/capability_exporter once per test run, the way
// the Makefile does, and returns its path.
func exporterBinary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "capability-exporter-e2e-")
		if err != nil {
			buildErr = err
			return
		}
		buildPath = filepath.Join(dir, "capability_exporter")
		_, self, _, _ := runtime.Caller(0)
		root := filepath.Join(filepath.Dir(self), "..", "..")
		cmd := exec.Command("go", "build", "-o", buildPath, "./cmd/capability_exporter")
		cmd.Dir = root
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return buildPath
}

// exporter is a running capability_exporter process.
type exporter struct {
	URL  string // http://127.0.0.1:port
	cmd  *exec.Cmd
	logs *syncBuffer
}

// startExporter runs the exporter binary with configFile and extra flags and
// waits until /-/ready answers 200, i.e. the first evaluation is published.
func startExporter(t testing.TB, configFile string, args ...string) *exporter {
	t.Helper()
	port := freePort(t)
	e := &exporter{URL: fmt.Sprintf("http://127.0.0.1:%d", port), logs: &syncBuffer{}}
	all := append([]string{"--config.file=" + configFile, fmt.Sprintf("--web.listen-address=127.0.0.1:%d", port)}, args...)
	e.cmd = exec.Command(exporterBinary(t), all...)
	e.cmd.Stdout, e.cmd.Stderr = e.logs, e.logs
	if err := e.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		e.Stop()
		if t.Failed() {
			t.Logf("exporter log:\n%s", e.logs.String())
		}
	})
	waitFor(t, 30*time.Second, "the exporter's first evaluation", func() bool {
		resp, err := http.Get(e.URL + "/-/ready")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	return e
}

// Get returns the body of a GET on path, failing the test on any error.
func (e *exporter) Get(t testing.TB, path string) string {
	t.Helper()
	resp, err := http.Get(e.URL + path)
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

// Signal sends sig to the process.
func (e *exporter) Signal(t testing.TB, sig syscall.Signal) {
	t.Helper()
	if err := e.cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
}

// Stop ends the process; it is safe to call twice.
func (e *exporter) Stop() {
	if e.cmd.ProcessState != nil || e.cmd.Process == nil {
		return
	}
	_ = e.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = e.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = e.cmd.Process.Kill()
		<-done
	}
}

// Logs returns what the process wrote so far.
func (e *exporter) Logs() string { return e.logs.String() }

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
