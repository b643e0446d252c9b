package collector

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/capability-exporter/capability_exporter/collector/source"
	"github.com/capability-exporter/capability_exporter/config"
	"github.com/capability-exporter/capability_exporter/triggers"
)

// A source that failed to start (a kubeconfig not yet mounted, a token file
// not yet written) must get another try at the next reload, even when its
// section did not change: the reload is how the user says "try again".
func TestReloadRetriesASourceThatFailedToStart(t *testing.T) {
	cfg := "sources:\n  kubernetes: {}\n"
	env := newTestEnvFailing(t, cfg, map[string]func(context.Context, source.Request) source.Result{"kubernetes": answer(8)},
		map[string]error{"kubernetes": errors.New("kubeconfig not found")})
	st := env.sched.Evaluate(context.Background())
	// The value says the source is down; the start error is said once,
	// under the source.
	if v := signal(t, st, "microservices"); v.Known || v.Reason != "kubernetes is down (start)" || v.Code != triggers.CodeSourceDown {
		t.Fatalf("microservices = %+v, want unknown, kubernetes down", v)
	}
	if errs := sourceErrors(st, "kubernetes"); !strings.Contains(errs, "kubeconfig not found") {
		t.Fatalf("kubernetes errors %q, want the start error", errs)
	}
	env.sched.Reload(loadConfig(t, cfg))
	if env.builds["kubernetes"] != 2 {
		t.Errorf("kubernetes builds = %d; a source that failed to start must be rebuilt on reload", env.builds["kubernetes"])
	}
	if v := signal(t, env.sched.Evaluate(context.Background()), "microservices"); !v.Known || v.Number != 8 {
		t.Errorf("microservices after reload = %+v, want 8 from the rebuilt source", v)
	}
}

// A reload (POST /-/reload, SIGHUP) and Close at shutdown must not wait for
// an evaluation stuck on a slow source, which may take up to
// --evaluation.timeout; the source it replaces is closed only once that
// evaluation is done with it.
func TestReloadDoesNotWaitForARunningEvaluation(t *testing.T) {
	entered, release := make(chan struct{}), make(chan struct{})
	var closedWhileCollecting atomic.Bool
	var env *testEnv
	env = newTestEnv(t, "sources:\n  prometheus: {url: http://127.0.0.1:1}\n", map[string]func(context.Context, source.Request) source.Result{
		"prometheus": func(ctx context.Context, req source.Request) source.Result {
			src := env.srcs["prometheus"]
			close(entered)
			<-release
			closedWhileCollecting.Store(src.closed.Load())
			return answer(60)(ctx, req)
		},
	})
	first := env.srcs["prometheus"]
	done := make(chan *State)
	go func() { done <- env.sched.Evaluate(context.Background()) }()
	<-entered

	reloaded := make(chan struct{})
	go func() {
		env.sched.Reload(loadConfig(t, "sources:\n  prometheus: {url: http://127.0.0.1:2}\n"))
		close(reloaded)
	}()
	select {
	case <-reloaded:
	case <-time.After(time.Second):
		close(release)
		t.Fatal("Reload waited for the running evaluation")
	}
	if first.closed.Load() {
		t.Error("the replaced source was closed while an evaluation still used it")
	}
	if got := env.sched.Config().Sources.Prometheus.URL.Port(); got != "2" {
		t.Errorf("config in force has port %s, want the reloaded 2", got)
	}
	close(release)
	st := <-done
	if closedWhileCollecting.Load() {
		t.Error("the replaced source was closed during its Collect")
	}
	if !first.closed.Load() {
		t.Error("the replaced source was not closed after the evaluation ended")
	}
	if v := signal(t, st, "incident_mttr_seconds"); !v.Known || v.Number != 60 {
		t.Errorf("the running evaluation's answer = %+v, want 60 from the old source", v)
	}
}

func TestCloseDoesNotWaitForARunningEvaluation(t *testing.T) {
	entered, release := make(chan struct{}), make(chan struct{})
	env := newTestEnv(t, "sources:\n  kubernetes: {}\n", map[string]func(context.Context, source.Request) source.Result{
		"kubernetes": func(ctx context.Context, req source.Request) source.Result {
			close(entered)
			<-release
			return answer(3)(ctx, req)
		},
	})
	src := env.srcs["kubernetes"]
	done := make(chan struct{})
	go func() { env.sched.Evaluate(context.Background()); close(done) }()
	<-entered
	closed := make(chan struct{})
	go func() { env.sched.Close(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(time.Second):
		close(release)
		t.Fatal("Close waited for the running evaluation")
	}
	if src.closed.Load() {
		t.Error("Close stopped a source an evaluation still used")
	}
	close(release)
	<-done
	if !src.closed.Load() {
		t.Error("the source was not stopped once the evaluation ended")
	}
	if env.sched.Current() != nil {
		t.Error("an evaluation that ended after Close was published")
	}
}

// At shutdown the parent context is cancelled: what the sources report then
// is not their failure, and a degraded State must not replace the last good
// one.
func TestShutdownIsNotASourceFailure(t *testing.T) {
	var cancelMidway atomic.Bool
	var cancel context.CancelFunc
	env := newTestEnv(t, "sources:\n  prometheus: {url: http://127.0.0.1:1}\n", map[string]func(context.Context, source.Request) source.Result{
		"prometheus": func(ctx context.Context, req source.Request) source.Result {
			if !cancelMidway.Load() {
				return answer(60)(ctx, req)
			}
			cancel()
			<-ctx.Done()
			// what an HTTP source reports when the shutdown cancels its query
			return source.Result{Errors: []source.Error{{Reason: source.ReasonCanceled, Err: fmt.Errorf("query: %w", ctx.Err())}}}
		},
	})
	good := env.sched.Evaluate(context.Background())
	cancelMidway.Store(true)
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	cancel = stop
	st := env.sched.Evaluate(ctx)
	if env.sched.Current() != good {
		t.Error("an evaluation cut short by shutdown replaced the published State")
	}
	cancelMidway.Store(false)
	for k, n := range env.sched.Evaluate(context.Background()).ErrorTotals {
		if n != 0 && k.Source == "prometheus" {
			t.Errorf("errors %v = %v; a shutdown must not count as a source error", k, n)
		}
	}
	if v := signal(t, st, "incident_mttr_seconds"); v.Known || !strings.Contains(v.Reason, string(source.ReasonCanceled)) {
		t.Errorf("the unpublished State has incident_mttr_seconds = %+v, want unknown by %s", v, source.ReasonCanceled)
	}
}

// A configured source that no rule reads still reports whether it is up, and
// the facts source always takes part: alerts on source_up and
// source_configured must see every configured source.
func TestEveryConfiguredSourceReportsItsHealth(t *testing.T) {
	rules := `
signals:
  microservices: {help: Workloads., kubernetes: microservices}
capabilities:
  service_mesh: {title: Service Mesh, complexity: medium_high, trigger: microservices > 5}
`
	rulesFile := filepath.Join(t.TempDir(), "rules.yml")
	if err := os.WriteFile(rulesFile, []byte(rules), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Parse("config.yml", []byte("rules_file: "+rulesFile+"\nsources:\n  kubernetes: {}\n  loki: {url: http://127.0.0.1:1}\n"))
	if err != nil {
		t.Fatal(err)
	}
	var probed atomic.Bool
	env := newTestEnv(t, "", map[string]func(context.Context, source.Request) source.Result{
		"loki": func(_ context.Context, req source.Request) source.Result {
			probed.Store(len(req.Signals) == 0)
			return source.Result{Up: true}
		},
	})
	env.sched.Reload(cfg)
	st := env.sched.Evaluate(context.Background())
	if s := statusOf(st, "loki"); !s.Configured || !s.Up || !probed.Load() {
		t.Errorf("loki = %+v (probed %v); want configured and up from a probe with no signals", s, probed.Load())
	}
	if s := statusOf(st, "fact"); s.Name != "fact" || !s.Configured || !s.Up {
		t.Errorf("fact = %+v; want configured and up though no rule reads a fact", s)
	}
	if s := statusOf(st, "prometheus"); s.Name != "" {
		t.Errorf("prometheus = %+v; neither configured nor read, it has no status", s)
	}
}

// The error counters of every configured source exist from the first
// evaluation, so increase() and rate() see the first error.
func TestErrorCountersStartAtZero(t *testing.T) {
	env := newTestEnv(t, "sources:\n  prometheus: {url: http://127.0.0.1:1}\n  kubernetes: {}\n", nil)
	st := env.sched.Evaluate(context.Background())
	for _, kind := range []string{"prometheus", "kubernetes", "fact"} {
		for _, reason := range ErrorReasons(kind) {
			if n, ok := st.ErrorTotals[ErrorKey{kind, reason}]; !ok || n != 0 {
				t.Errorf("errors{source=%s,reason=%s} = %v (present %v), want 0", kind, reason, n, ok)
			}
		}
	}
	if _, ok := st.ErrorTotals[ErrorKey{"loki", source.ReasonTimeout}]; ok {
		t.Error("an unconfigured source has error counters")
	}
	if !slices.Contains(ErrorReasons("prometheus"), source.ReasonTimeout) || slices.Contains(ErrorReasons("prometheus"), source.ReasonCanceled) {
		t.Errorf("prometheus reasons = %v: want timeout, and never canceled (never counted)", ErrorReasons("prometheus"))
	}
}

// Source errors and reasons come from outside and may quote what a server was
// sent. No secret of the config, inline or from a file, may reach the log,
// the source status or a signal's reason.
func TestSecretsNeverReachLogOrState(t *testing.T) {
	dir := t.TempDir()
	passFile := filepath.Join(dir, "loki-password")
	tokenFile := filepath.Join(dir, "token")
	for p, body := range map[string]string{passFile: "lokiFilePass\n", tokenFile: "bearerFromFile\n"} {
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	cfgA := `
sources:
  prometheus:
    url: http://127.0.0.1:1/?token=urlSecretTok
    basic_auth: {username: u, password: inlineBasicPass}
  loki:
    url: http://127.0.0.1:1
    basic_auth: {username: u, password_file: ` + passFile + `}
  kubernetes: {}
`
	cfgB := "sources:\n  prometheus:\n    url: http://127.0.0.1:1\n    bearer_token_file: " + tokenFile + "\n"
	// Each phase's sources echo the secrets of the config in force.
	phases := [][]string{{"urlSecretTok", "inlineBasicPass", "lokiFilePass"}, {"bearerFromFile"}}
	var echo string
	echoing := func(kind string) func(context.Context, source.Request) source.Result {
		return func(_ context.Context, req source.Request) source.Result {
			res := source.Result{Values: map[string]triggers.Value{},
				Errors: []source.Error{{Reason: source.ReasonUnauthorized, Err: fmt.Errorf(`Get "http://127.0.0.1:1/api?token=urlSecretTok": server said %s`, echo)}}}
			for _, sr := range req.Signals {
				res.Values[sr.Key] = triggers.UnknownValue(triggers.CodeQueryFailed, kind+" refused "+echo, "")
			}
			return res
		}
	}
	check := func(where, text string, secrets []string) {
		t.Helper()
		for _, secret := range secrets {
			if strings.Contains(text, secret) {
				t.Errorf("%s holds the secret %q: %s", where, secret, text)
			}
		}
	}
	checkState := func(phase int, st *State) {
		t.Helper()
		for _, s := range st.Sources {
			check(fmt.Sprintf("phase %d source %s errors", phase, s.Name), strings.Join(s.Errors, "; "), phases[phase])
		}
		for _, s := range st.Evaluation.Signals {
			check(fmt.Sprintf("phase %d signal %s", phase, s.Name), s.Value.Reason, phases[phase])
		}
	}

	echo = strings.Join(phases[0], " ")
	env := newTestEnvFailing(t, cfgA, map[string]func(context.Context, source.Request) source.Result{
		"prometheus": echoing("prometheus"), "loki": echoing("loki"),
	}, map[string]error{"kubernetes": errors.New("cannot start with " + echo)})
	checkState(0, env.sched.Evaluate(context.Background()))
	check("phase 0 log", env.log.String(), phases[0])
	logged := len(env.log.String())

	echo = strings.Join(phases[1], " ")
	env.sched.Reload(loadConfig(t, cfgB))
	last := env.sched.Evaluate(context.Background())
	checkState(1, last)
	check("phase 1 log", env.log.String()[logged:], phases[1])
	if !strings.Contains(env.log.String(), config.Hidden) {
		t.Errorf("the log shows no scrubbed error; was anything logged?\n%s", env.log.String())
	}
	if errs := sourceErrors(last, "prometheus"); !strings.Contains(errs, "server said "+config.Hidden) {
		t.Errorf("prometheus errors = %q, want the scrubbed text", errs)
	}
}

// sourceErrors is a source's errors in st, joined.
func sourceErrors(st *State, kind string) string {
	for _, s := range st.Sources {
		if s.Name == kind {
			return strings.Join(s.Errors, "; ")
		}
	}
	return ""
}
