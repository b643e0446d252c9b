//go:build e2e && linux

package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// leakMarkerEnv, when set, makes TestServersThenBlock start servers and
// block; its value marks every process of that run.
const leakMarkerEnv = "CAPABILITY_EXPORTER_E2E_LEAK_MARKER"

// A run that `go test -timeout` kills halfway runs no cleanup: the test
// binary panics and exits. Every server it started must die with it. This
// runs TestServersThenBlock under -timeout=30s in a child `go test`, then
// looks for any process that carries the run's marker in its environment.
func TestNoServerOutlivesATimedOutRun(t *testing.T) {
	if os.Getenv(leakMarkerEnv) != "" {
		t.Skip("inside the run that is killed")
	}
	// Resolve every binary here, so the child run spends its 30 s on
	// starting servers, not on building them: the child is not built with
	// -race, and would otherwise build an exporter of its own.
	env := []string{
		exporterBinaryEnv + "=" + exporterBinary(t),
		"PROMETHEUS=" + requireBinary(t, "prometheus", "PROMETHEUS", "prometheus"),
		"ALERTMANAGER=" + requireBinary(t, "prometheus-alertmanager", "ALERTMANAGER", "prometheus-alertmanager"),
		"ETCD=" + requireBinary(t, "etcd", "ETCD", "etcd-server"),
		"KUBE_APISERVER=" + kubeAPIServerBinary(t),
	}
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	marker := hex.EncodeToString(b)
	pidFile := filepath.Join(t.TempDir(), "started")

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "test", "-tags=e2e", "-count=1", "-timeout=30s",
		"-run=^TestServersThenBlock$", ".")
	cmd.Dir = filepath.Join(repoRoot(), "test", "e2e")
	cmd.Env = append(append(os.Environ(), env...), leakMarkerEnv+"="+marker, "LEAK_PID_FILE="+pidFile)
	// Which servers ran is read from /proc while the child runs, so that
	// one still starting when the timeout struck counts too.
	seen := map[string]bool{}
	watching := make(chan struct{})
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		for {
			for _, p := range processesWithEnv(leakMarkerEnv + "=" + marker) {
				seen[filepath.Base(strings.Fields(p)[1])] = true
			}
			select {
			case <-watching:
				return
			case <-time.After(200 * time.Millisecond):
			}
		}
	}()
	t0 := time.Now()
	out, err := cmd.CombinedOutput()
	close(watching)
	<-watched
	if err == nil || !bytes.Contains(out, []byte("test timed out after 30s")) {
		t.Fatalf("the child run was to be killed by -timeout=30s; it ended with %v after %s:\n%s", err, time.Since(t0).Round(time.Second), tail(string(out), 4000))
	}
	started, _ := os.ReadFile(pidFile)
	for _, want := range []string{"capability_exporter", "prometheus", "prometheus-alertmanager", "etcd", filepath.Base(kubeAPIServerBinary(t))} {
		if !seen[want] {
			t.Errorf("%s never ran in the child run (seen: %v); the test proves nothing for it:\n%s", want, seen, tail(string(out), 4000))
		}
	}
	t.Logf("the child run started, then was killed after %s:\n%s", time.Since(t0).Round(time.Second), started)

	// The kernel delivers the parent-death signal as the test binary exits;
	// give the servers a moment to be gone.
	var left []string
	for deadline := time.Now().Add(10 * time.Second); ; {
		left = processesWithEnv(leakMarkerEnv + "=" + marker)
		if len(left) == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if len(left) > 0 {
		t.Errorf("still running after the run was killed:\n%s", strings.Join(left, "\n"))
		for _, l := range left {
			if pid, err := strconv.Atoi(strings.Fields(l)[0]); err == nil {
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
		}
	}
}

// TestServersThenBlock is the run TestNoServerOutlivesATimedOutRun kills:
// it starts one of each server and waits for the -timeout panic.
func TestServersThenBlock(t *testing.T) {
	if os.Getenv(leakMarkerEnv) == "" {
		t.Skip("run by TestNoServerOutlivesATimedOutRun")
	}
	record := func(name string, s *server) {
		f, err := os.OpenFile(os.Getenv("LEAK_PID_FILE"), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(f, "%s pid %d\n", name, s.Pid())
		f.Close()
	}
	cfg := writeFile(t, t.TempDir(), "config.yml", "sources: {}\n")
	record("capability_exporter", startExporter(t, cfg).server)
	record("prometheus", startPrometheus(t, t.TempDir()).server)
	am := startServer(t, serverSpec{
		Name:  "alertmanager",
		Bin:   requireBinary(t, "prometheus-alertmanager", "ALERTMANAGER", "prometheus-alertmanager"),
		Ports: 1,
		Args: func(ports []int) []string {
			return []string{"--config.file=" + writeFile(t, t.TempDir(), "am.yml", "route: {receiver: x}\nreceivers: [{name: x}]\n"),
				"--storage.path=" + t.TempDir(), fmt.Sprintf("--web.listen-address=127.0.0.1:%d", ports[0]), "--cluster.listen-address="}
		},
		Ready: httpReady("/-/ready"),
	})
	record("alertmanager", am)
	c := startKubeCluster(t)
	record("etcd", c.Etcd)
	record("kube-apiserver", c.APIServer)
	select {}
}

// processesWithEnv lists the live processes (not zombies) whose
// environment holds the entry kv, as "pid command line".
func processesWithEnv(kv string) []string {
	entries, _ := os.ReadDir("/proc")
	var out []string
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		environ, err := os.ReadFile(filepath.Join("/proc", e.Name(), "environ"))
		if err != nil || !bytes.Contains(append(append([]byte{0}, environ...), 0), []byte("\x00"+kv+"\x00")) {
			continue
		}
		if stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat")); err == nil {
			if i := bytes.LastIndexByte(stat, ')'); i > 0 && i+2 < len(stat) && stat[i+2] == 'Z' {
				continue
			}
		}
		cmdline, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		out = append(out, fmt.Sprintf("%d %s", pid, strings.ReplaceAll(string(cmdline), "\x00", " ")))
	}
	return out
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}

// A port taken between the pick and the bind costs a retry on new ports, not
// the test: the first start is pointed at a port this test holds.
func TestStartServerRetriesATakenPort(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	cfg := writeFile(t, t.TempDir(), "config.yml", "sources: {}\n")
	starts := 0
	s := startServer(t, serverSpec{
		Name:  "capability_exporter",
		Bin:   exporterBinary(t),
		Ports: 1,
		Args: func(ports []int) []string {
			starts++
			port := ports[0]
			if starts == 1 {
				port = taken.Addr().(*net.TCPAddr).Port
			}
			return []string{"--config.file=" + cfg, fmt.Sprintf("--web.listen-address=127.0.0.1:%d", port)}
		},
		Ready: httpReady("/-/ready"),
	})
	if starts != 2 || s.Ports[0] == taken.Addr().(*net.TCPAddr).Port || !httpOK(s.PortURL(0)+"/-/ready") {
		t.Fatalf("started %d times, on %v (taken: %s); want a second start on a new port", starts, s.Ports, taken.Addr())
	}
}
