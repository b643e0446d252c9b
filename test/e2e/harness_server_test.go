//go:build e2e

package e2e

// The one launcher every e2e server starts through (test/e2e/README.md):
// Prometheus, promtool-fed TSDBs, Alertmanager, etcd, kube-apiserver, the
// exporter itself and whatever backend a test adds. A server runs in its own
// process group, dies with the test binary (Pdeathsig on Linux, so a
// `go test -timeout` panic leaves nothing behind), has its whole group
// killed in t.Cleanup, and is started again on fresh ports when another
// process took one of its ports between the pick and the bind.

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// serverMarkerEnv is set in every server's environment to the pid of the
// test binary that started it, so that a leftover can be told from any
// other process (TestNoServerOutlivesATimedOutRun scans /proc for it).
const serverMarkerEnv = "CAPABILITY_EXPORTER_E2E_PARENT"

// serverSpec says how to run one server.
type serverSpec struct {
	Name string // in failures and logs
	Bin  string
	// Ports is how many free loopback ports to pick; Args turns them into
	// the command line. On a port taken before the server bound it, both run
	// again with new ports.
	Ports int
	Args  func(ports []int) []string
	// Ready is polled every 100ms until it returns true; nil means ready once
	// started and still running 200ms later.
	Ready        func(ports []int) bool
	ReadyTimeout time.Duration // default 60s
	Env          []string      // added to the test's environment
	Dir          string
}

// server is a running (or stopped, restartable) server process.
type server struct {
	spec  serverSpec
	Ports []int
	logs  *syncBuffer

	mu    sync.Mutex
	cmd   *exec.Cmd
	done  chan struct{} // closed when cmd exited
	swept bool          // cmd's process group was killed after it exited
}

// raceReport starts each report of the race detector.
const raceReport = "WARNING: DATA RACE"

// raceReportsOf returns log from its first race report on, at most 32 KiB.
func raceReportsOf(log string) string {
	out := log[strings.Index(log, raceReport):]
	if len(out) > 32<<10 {
		out = out[:32<<10] + "…"
	}
	return out
}

// errPortTaken marks a start that failed because a port was bound by
// another process between freePorts and the server's bind.
var errPortTaken = errors.New("port taken between pick and bind")

// startServer starts spec's server, waits until it is ready and stops it
// when the test ends; on failure it shows the server's log.
func startServer(t testing.TB, spec serverSpec) *server {
	t.Helper()
	if spec.Args == nil {
		spec.Args = func([]int) []string { return nil }
	}
	if spec.ReadyTimeout == 0 {
		spec.ReadyTimeout = 60 * time.Second
	}
	s := &server{spec: spec, logs: &syncBuffer{}}
	t.Cleanup(func() {
		s.Stop()
		// A binary built with -race reports each data race on stderr and
		// carries on; the test fails on the first report.
		if strings.Contains(s.Logs(), raceReport) {
			t.Errorf("%s: the race detector found a data race", spec.Name)
			t.Logf("%s log:\n%s", spec.Name, raceReportsOf(s.Logs()))
			return
		}
		if t.Failed() {
			t.Logf("%s log (tail):\n%s", spec.Name, s.LogTail(8000))
		}
	})
	const attempts = 4
	for attempt := 1; ; attempt++ {
		s.Ports = freePorts(t, spec.Ports)
		err := s.start()
		if err == nil {
			return s
		}
		if errors.Is(err, errPortTaken) && attempt < attempts {
			t.Logf("%s: %v (ports %v); starting again on new ports", spec.Name, err, s.Ports)
			continue
		}
		t.Fatalf("%s: %v\n%s", spec.Name, err, s.LogTail(8000))
	}
}

// Start runs the server again on the same ports and waits until it is
// ready; a test that stopped or killed it brings it back with this.
func (s *server) Start(t testing.TB) {
	t.Helper()
	if err := s.start(); err != nil {
		t.Fatalf("%s: restart: %v\n%s", s.spec.Name, err, s.LogTail(8000))
	}
}

func (s *server) start() error {
	s.Stop()
	logStart := s.logs.Len()
	cmd := exec.Command(s.spec.Bin, s.spec.Args(s.Ports)...)
	cmd.Stdout, cmd.Stderr = s.logs, s.logs
	cmd.Dir = s.spec.Dir
	cmd.Env = append(append(os.Environ(), s.spec.Env...), fmt.Sprintf("%s=%d", serverMarkerEnv, os.Getpid()))
	cmd.SysProcAttr = serverSysProcAttr()
	if err := cmd.Start(); err != nil {
		return err
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	s.mu.Lock()
	s.cmd, s.done, s.swept = cmd, done, false
	s.mu.Unlock()

	exited := func() error {
		select {
		case <-done:
			if strings.Contains(s.logs.String()[logStart:], "address already in use") {
				return errPortTaken
			}
			return fmt.Errorf("exited before it was ready: %v", cmd.ProcessState)
		default:
			return nil
		}
	}
	deadline := time.Now().Add(s.spec.ReadyTimeout)
	if s.spec.Ready == nil {
		time.Sleep(200 * time.Millisecond)
		return exited()
	}
	for {
		if err := exited(); err != nil {
			return err
		}
		if s.spec.Ready(s.Ports) {
			return nil
		}
		if time.Now().After(deadline) {
			s.Stop()
			return fmt.Errorf("not ready after %s", s.spec.ReadyTimeout)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Stop ends the server's process group: SIGTERM (and SIGCONT, in case a
// test paused it), SIGKILL after 15 s, and SIGKILL to whatever of the group
// outlived its leader. Safe to call twice and on a stopped server.
func (s *server) Stop() {
	s.mu.Lock()
	cmd, done, swept := s.cmd, s.done, s.swept
	s.swept = true
	s.mu.Unlock()
	// Once swept, the group's id may belong to another process by now.
	if cmd == nil || swept {
		return
	}
	pgid := cmd.Process.Pid
	select {
	case <-done:
	default:
		_ = syscall.Kill(-pgid, syscall.SIGTERM)
		_ = syscall.Kill(-pgid, syscall.SIGCONT)
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			_ = syscall.Kill(-pgid, syscall.SIGKILL)
			<-done
		}
	}
	_ = syscall.Kill(-pgid, syscall.SIGKILL)
}

// Kill ends the server's process group at once, as a crash would.
func (s *server) Kill() {
	cmd, done := s.current()
	if cmd == nil {
		return
	}
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	<-done
}

// Signal sends sig to the server's process group (SIGSTOP pauses it,
// SIGCONT resumes it, SIGHUP reloads what reloads on it).
func (s *server) Signal(t testing.TB, sig syscall.Signal) {
	t.Helper()
	cmd, _ := s.current()
	if cmd == nil {
		t.Fatalf("%s: signal %v: not running", s.spec.Name, sig)
	}
	if err := syscall.Kill(-cmd.Process.Pid, sig); err != nil {
		t.Fatalf("%s: signal %v: %v", s.spec.Name, sig, err)
	}
}

// Pid is the server's process id (and its process group's), 0 before start.
func (s *server) Pid() int {
	cmd, _ := s.current()
	if cmd == nil {
		return 0
	}
	return cmd.Process.Pid
}

// Running reports whether the server's process has not exited.
func (s *server) Running() bool {
	_, done := s.current()
	if done == nil {
		return false
	}
	select {
	case <-done:
		return false
	default:
		return true
	}
}

// Logs returns everything the server wrote, across restarts.
func (s *server) Logs() string { return s.logs.String() }

// LogTail returns the last n bytes of the log.
func (s *server) LogTail(n int) string {
	out := s.logs.String()
	if len(out) > n {
		out = "…" + out[len(out)-n:]
	}
	return out
}

// PortURL is http://127.0.0.1:<the i-th port>.
func (s *server) PortURL(i int) string { return "http://127.0.0.1:" + strconv.Itoa(s.Ports[i]) }

func (s *server) current() (*exec.Cmd, chan struct{}) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cmd, s.done
}

var (
	portsMu   sync.Mutex
	portsUsed = map[int]bool{}
)

// freePorts returns n loopback ports that nobody listens on right now and
// that this test binary has not handed out before. Another process can
// still take one before the server binds it; startServer retries then.
func freePorts(t testing.TB, n int) []int {
	t.Helper()
	portsMu.Lock()
	defer portsMu.Unlock()
	var out []int
	for len(out) < n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		l.Close()
		if !portsUsed[port] {
			portsUsed[port] = true
			out = append(out, port)
		}
	}
	return out
}

// freePort is freePorts for one port, for a test's own listener or a port
// that must stay closed.
func freePort(t testing.TB) int {
	t.Helper()
	return freePorts(t, 1)[0]
}

// serverBinary finds a server's binary: the env var envVar when set, else
// name on PATH, else the test fails saying what to install (see
// test/e2e/README.md for every variable).
func serverBinary(t testing.TB, envVar, name, install string) string {
	t.Helper()
	if p := os.Getenv(envVar); p != "" {
		return p
	}
	if name != "" {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Fatalf("%s: not found on PATH; %s, or set %s", envVar, install, envVar)
	return ""
}

// httpReady is a Ready func: a GET of path on the server's first port
// answers 200.
func httpReady(path string) func(ports []int) bool {
	return func(ports []int) bool { return httpOK(fmt.Sprintf("http://127.0.0.1:%d%s", ports[0], path)) }
}
