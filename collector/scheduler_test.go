package collector

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/capability-exporter/capability_exporter/collector/source"
	"github.com/capability-exporter/capability_exporter/config"
	"github.com/capability-exporter/capability_exporter/triggers"
)

// testRules reads one signal from each kind of source, one first_known signal
// and one tool, so the scheduler's routing is visible in the snapshot.
const testRules = `
signals:
  compliance_required:
    help: Compliance regime applies.
    type: bool
    fact: compliance_required
  incident_mttr_seconds:
    help: Mean time to resolve.
    type: duration
    prometheus: {alert_history: {selector: 'ALERTS{severity="critical"}', window: 30d, measure: mean_resolution}}
  audit_users:
    help: Humans in the audit log.
    loki: {query: 'count(x)'}
  microservices:
    help: Workloads a Service selects.
    kubernetes: microservices
  developers:
    help: Developers.
    first_known:
      - fact: developers
      - loki: {query: 'count(y)'}
      - kubernetes: rbac_human_subjects
tools:
  linkerd:
    title: Linkerd
    capability: service_mesh
    crd_groups: [linkerd.io]
capabilities:
  service_mesh:
    title: Service Mesh
    complexity: medium_high
    trigger: microservices > 5
    now: incident_mttr_seconds > 1h
  policy_enforcement:
    title: Policy Enforcement
    complexity: medium
    trigger:
      any: [compliance_required == true, developers > 10]
    now: compliance_required == true
`

// scripted is a source whose answers a test sets.
type scripted struct {
	collect func(ctx context.Context, req source.Request) source.Result
	closed  atomic.Bool
}

func (s *scripted) Collect(ctx context.Context, req source.Request) source.Result {
	return s.collect(ctx, req)
}
func (s *scripted) Close() { s.closed.Store(true) }

// answer returns a Result with value v for every requested key and tool.
func answer(v float64) func(context.Context, source.Request) source.Result {
	return func(_ context.Context, req source.Request) source.Result {
		res := source.Result{Up: true, Values: map[string]triggers.Value{}}
		for _, sr := range req.Signals {
			res.Values[sr.Key] = triggers.KnownValue(v, "")
		}
		for _, t := range req.Tools {
			res.Values[t.SignalName()] = triggers.KnownValue(0, "")
		}
		return res
	}
}

type testEnv struct {
	sched  *Scheduler
	builds map[string]int
	srcs   map[string]*scripted
	// startErr makes the next build of a kind fail with the error, once.
	startErr map[string]error
	log      lockedBuffer // what the scheduler logged
}

// lockedBuffer is a log destination that goroutines may share.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// newTestEnv builds a scheduler whose prometheus, loki and kubernetes sources
// are scripted; the facts source is the real one.
func newTestEnv(t *testing.T, configYAML string, scripts map[string]func(context.Context, source.Request) source.Result) *testEnv {
	t.Helper()
	return newTestEnvFailing(t, configYAML, scripts, nil)
}

// newTestEnvFailing is newTestEnv whose first builds of the kinds in
// startErr fail with those errors.
func newTestEnvFailing(t *testing.T, configYAML string, scripts map[string]func(context.Context, source.Request) source.Result, startErr map[string]error) *testEnv {
	t.Helper()
	return newTestEnvConfig(t, loadConfig(t, configYAML), scripts, startErr)
}

// newTestEnvConfig is newTestEnvFailing with the config loaded already.
func newTestEnvConfig(t *testing.T, cfg *config.Config, scripts map[string]func(context.Context, source.Request) source.Result, startErr map[string]error) *testEnv {
	t.Helper()
	env := &testEnv{builds: map[string]int{}, srcs: map[string]*scripted{}, startErr: map[string]error{}}
	maps.Copy(env.startErr, startErr)
	fs := map[string]factory{"fact": factories["fact"]}
	sections := map[string]func(*config.Config) (any, bool){
		"prometheus": func(c *config.Config) (any, bool) { return c.Sources.Prometheus, c.Sources.Prometheus != nil },
		"loki":       func(c *config.Config) (any, bool) { return c.Sources.Loki, c.Sources.Loki != nil },
		"kubernetes": func(c *config.Config) (any, bool) { return c.Sources.Kubernetes, c.Sources.Kubernetes != nil },
	}
	for kind, section := range sections {
		fs[kind] = factory{section: section, build: func(any, *slog.Logger, sourceOptions) (source.Source, error) {
			env.builds[kind]++
			if err := env.startErr[kind]; err != nil {
				delete(env.startErr, kind)
				return nil, err
			}
			src := &scripted{collect: scripts[kind]}
			if src.collect == nil {
				src.collect = answer(0)
			}
			env.srcs[kind] = src
			return src, nil
		}, reasons: factories[kind].reasons, detectsTools: factories[kind].detectsTools}
	}
	env.sched = newScheduler(cfg, 2*time.Second, slog.New(slog.NewTextHandler(&env.log, nil)), fs)
	return env
}

// loadConfig parses configYAML with the test rules as its rules_file, the way
// a user's config names its own rules.
func loadConfig(t *testing.T, configYAML string) *config.Config {
	t.Helper()
	rulesFile := filepath.Join(t.TempDir(), "rules.yml")
	if err := os.WriteFile(rulesFile, []byte(testRules), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Parse("config.yml", []byte("rules_file: "+rulesFile+"\n"+configYAML))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func signal(t *testing.T, st *State, name string) triggers.Value {
	t.Helper()
	for _, s := range st.Evaluation.Signals {
		if s.Name == name {
			return s.Value
		}
	}
	t.Fatalf("signal %s not in evaluation", name)
	return triggers.Value{}
}

func statusOf(st *State, name string) SourceStatus {
	for _, s := range st.Sources {
		if s.Name == name {
			return s
		}
	}
	return SourceStatus{}
}

func TestUnconfiguredSourcesAreUnknownNeverZero(t *testing.T) {
	env := newTestEnv(t, "facts: {}", nil)
	st := env.sched.Evaluate(context.Background())
	for _, name := range []string{"incident_mttr_seconds", "audit_users", "microservices", "compliance_required"} {
		if v := signal(t, st, name); v.Known {
			t.Errorf("%s is known (%v) without a source", name, v.Number)
		}
	}
	if v := signal(t, st, "microservices"); v.Reason != "sources.kubernetes is not configured" || v.Code != triggers.CodeNotConfigured {
		t.Errorf("reason = %q (%s), want not configured", v.Reason, v.Code)
	}
	if v := signal(t, st, "compliance_required"); !strings.Contains(v.Reason, "not declared") || v.Code != triggers.CodeNotConfigured {
		t.Errorf("undeclared fact reason = %q", v.Reason)
	}
	if s := statusOf(st, "prometheus"); s.Up || s.Configured {
		t.Errorf("unconfigured prometheus reported %+v", s)
	}
	if d := st.Evaluation.Decision("service_mesh"); d.State != triggers.StateUnknown {
		t.Errorf("service_mesh = %s, want unknown", d.State)
	}
}

func TestFirstKnownTakesTheFirstAnswer(t *testing.T) {
	cfg := `
sources:
  loki: {url: http://127.0.0.1:1}
  kubernetes: {}
`
	env := newTestEnv(t, cfg, map[string]func(context.Context, source.Request) source.Result{
		"loki": func(context.Context, source.Request) source.Result {
			return source.Result{Up: false, Errors: []source.Error{{Reason: "unreachable", Err: errors.New("connection refused")}}}
		},
		"kubernetes": answer(12),
	})
	st := env.sched.Evaluate(context.Background())
	v := signal(t, st, "developers")
	if !v.Known || v.Number != 12 || v.Source != "kubernetes" {
		t.Errorf("developers = %+v, want 12 from kubernetes", v)
	}
	if v := signal(t, st, "audit_users"); v.Known || v.Reason != "loki is down (unreachable)" || v.Code != triggers.CodeSourceDown {
		t.Errorf("audit_users = %+v, want unknown, loki down", v)
	}
	if errs := sourceErrors(st, "loki"); !strings.Contains(errs, "connection refused") {
		t.Errorf("loki errors %q, want the connection refused", errs)
	}
	if n := st.ErrorTotals[ErrorKey{"loki", "unreachable"}]; n != 1 {
		t.Errorf("loki unreachable errors = %v", n)
	}
	// The trigger holds on developers alone; whether it is urgent hangs on
	// the undeclared compliance fact, so the answer is probable: consider,
	// unless compliance is required.
	if d := st.Evaluation.Decision("policy_enforcement"); d.State != triggers.StateConsider || !d.Probable ||
		d.Step(triggers.KindTrigger) != triggers.True || !slices.Contains(d.SettleWith, "compliance_required") {
		t.Errorf("policy_enforcement = %s (%s, settle with %q), want a probable consider", d.State, d.DecidedBy, d.SettleWith)
	}

	// A declared fact outranks every measure.
	env.sched.Reload(loadConfig(t, cfg+"facts: {developers: 3}\n"))
	st = env.sched.Evaluate(context.Background())
	if v := signal(t, st, "developers"); v.Number != 3 || v.Source != "fact" {
		t.Errorf("developers = %+v, want the declared 3", v)
	}
	if st.ErrorTotals[ErrorKey{"loki", "unreachable"}] != 2 {
		t.Error("error counter must accumulate across evaluations")
	}
}

func TestNoAlternativeKnownNamesEveryReason(t *testing.T) {
	env := newTestEnv(t, "sources: {kubernetes: {}}", map[string]func(context.Context, source.Request) source.Result{
		"kubernetes": func(context.Context, source.Request) source.Result {
			return source.Result{Up: true, Errors: []source.Error{{Reason: "forbidden", Err: errors.New("rolebindings is forbidden")}}}
		},
	})
	v := signal(t, env.sched.Evaluate(context.Background()), "developers")
	for _, want := range []string{"not declared", "sources.loki is not configured", "rolebindings is forbidden"} {
		if !strings.Contains(v.Reason, want) {
			t.Errorf("reason %q lacks %q", v.Reason, want)
		}
	}
}

func TestSlowAndPanickingSourcesDoNotBlockOthers(t *testing.T) {
	cfg := `
sources:
  prometheus: {url: http://127.0.0.1:1}
  loki: {url: http://127.0.0.1:1}
  kubernetes: {}
`
	env := newTestEnv(t, cfg, map[string]func(context.Context, source.Request) source.Result{
		"prometheus": func(ctx context.Context, _ source.Request) source.Result {
			<-ctx.Done() // a server that never answers
			return source.Result{Errors: []source.Error{{Reason: "timeout", Err: ctx.Err()}}}
		},
		"loki":       func(context.Context, source.Request) source.Result { panic("bad response shape") },
		"kubernetes": answer(8),
	})
	env.sched.timeout = 200 * time.Millisecond
	st := env.sched.Evaluate(context.Background())
	if v := signal(t, st, "microservices"); !v.Known || v.Number != 8 {
		t.Errorf("microservices = %+v: a slow source blanked another", v)
	}
	if v := signal(t, st, "incident_mttr_seconds"); v.Known || !strings.Contains(v.Reason, "timeout") {
		t.Errorf("incident_mttr_seconds = %+v, want unknown by timeout", v)
	}
	if v := signal(t, st, "audit_users"); v.Known || !strings.Contains(v.Reason, "panic") {
		t.Errorf("audit_users = %+v, want unknown by panic", v)
	}
	if st.ErrorTotals[ErrorKey{"loki", "panic"}] != 1 || st.ErrorTotals[ErrorKey{"prometheus", "timeout"}] != 1 {
		t.Errorf("errors = %v", st.ErrorTotals)
	}
	if statusOf(st, "kubernetes").Up != true || statusOf(st, "loki").Up {
		t.Errorf("sources = %+v", st.Sources)
	}
}

func TestReloadKeepsUnchangedSources(t *testing.T) {
	cfg := "sources:\n  kubernetes: {}\n  prometheus: {url: http://127.0.0.1:1}\n"
	env := newTestEnv(t, cfg, nil)
	first := env.srcs["kubernetes"]
	env.sched.Reload(loadConfig(t, "sources:\n  kubernetes: {}\n  prometheus: {url: http://127.0.0.1:2}\n"))
	if env.builds["kubernetes"] != 1 || first.closed.Load() {
		t.Error("an unchanged kubernetes section must keep its running source")
	}
	if env.builds["prometheus"] != 2 {
		t.Errorf("a changed prometheus section must rebuild its source (builds=%d)", env.builds["prometheus"])
	}
	env.sched.Reload(loadConfig(t, "facts: {}"))
	if !first.closed.Load() {
		t.Error("a removed section must close its source")
	}
	env.sched.Close()
}

// The decisions' last change times are read from the synctest bubble's
// clock, which moves only by what the test waits: an unchanged decision
// must keep its time to the nanosecond, a changed one move by exactly the
// wait.
func TestDecisionLastChange(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		env := newTestEnv(t, "facts: {compliance_required: false}", nil)
		first := env.sched.Evaluate(context.Background())
		t0 := first.LastChange["policy_enforcement"]
		time.Sleep(time.Minute) // no time at all in the bubble
		same := env.sched.Evaluate(context.Background())
		if got := same.LastChange["policy_enforcement"]; !got.Equal(t0) {
			t.Errorf("an unchanged decision's last change moved from %s to %s", t0, got)
		}
		time.Sleep(time.Minute)
		env.sched.Reload(loadConfig(t, "facts: {compliance_required: true}"))
		changed := env.sched.Evaluate(context.Background())
		if d := changed.Evaluation.Decision("policy_enforcement"); d.State != triggers.StateNow {
			t.Fatalf("policy_enforcement = %s, want now", d.State)
		}
		if got := changed.LastChange["policy_enforcement"]; !got.Equal(t0.Add(2 * time.Minute)) {
			t.Errorf("a changed decision's last change = %s, want the evaluation's time %s", got, t0.Add(2*time.Minute))
		}
		if first.LastChange["policy_enforcement"] != t0 {
			t.Error("a published state must never change")
		}
	})
}

func TestOverridesReplaceMeasuredValues(t *testing.T) {
	env := newTestEnv(t, "sources: {kubernetes: {}}\noverrides:\n  microservices: 12\n  tool.linkerd: true\n",
		map[string]func(context.Context, source.Request) source.Result{"kubernetes": answer(4)})
	st := env.sched.Evaluate(context.Background())
	if v := signal(t, st, "microservices"); v.Number != 12 || v.Source != "override" {
		t.Errorf("microservices = %+v, want the override 12", v)
	}
	if v := signal(t, st, "developers"); v.Number != 4 {
		t.Errorf("developers = %+v: an override must touch only what it names", v)
	}
	if d := st.Evaluation.Decision("service_mesh"); d.State != triggers.StateAdopted {
		t.Errorf("service_mesh = %s, want adopted by the declared tool", d.State)
	}
}
