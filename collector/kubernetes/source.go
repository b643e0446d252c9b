package kubernetes

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/capability-exporter/capability_exporter/collector/source"
	"github.com/capability-exporter/capability_exporter/config"
	"github.com/capability-exporter/capability_exporter/triggers"
)

// Source answers the kubernetes measures and the tool detections
// from shared informers: each resource is listed once, then watched, and an
// evaluation counts what the informers hold, so it issues no list calls.
// The informers start when a measure first needs them and run until Close;
// the scheduler keeps the source across reloads that leave the kubernetes
// section unchanged.
type Source struct {
	logger *slog.Logger
	client kubernetes.Interface
	meta   metadata.Interface
	dyn    dynamic.Interface // the policies of CNIs, which have no typed client

	timeout            time.Duration
	teamLabels         []string
	platformNamespaces map[string]bool
	platformRegex      *regexp.Regexp

	ctx    context.Context // lives as long as the informers
	cancel context.CancelFunc
	// informersDone counts the running informers' goroutines: Close
	// returns once they have ended.
	informersDone sync.WaitGroup

	mu      sync.Mutex
	running map[resourceID]*informerState
	// The objects of tools' CRDs, by CRD name, and why one cannot be read.
	objects    map[string]*informerState
	objectErrs map[string]*source.Error
	regexps    map[string]*regexp.Regexp // tool workload patterns, compiled once
	// outOfSync is when each Argo CD Application still OutOfSync was first
	// seen so (gitops.go); guarded by mu.
	outOfSync map[string]time.Time

	// measures are the measures this source answers: the package's table,
	// which a test may replace on its own source only.
	measures map[string]measure
	// reduceHook, when a test sets it before the informers start, runs
	// before every reducer with the object it is given: fault injection
	// for guardReducer.
	reduceHook func(id resourceID, obj any)
}

// NewFromConfig builds the source from its config section:
// the kubeconfig it names, or the in-cluster service account.
func NewFromConfig(sec *config.KubernetesSource, logger *slog.Logger) (*Source, error) {
	rc, err := restConfig(sec)
	if err != nil {
		return nil, err
	}
	return New(rc, sec, logger)
}

// restConfig reads sources.kubernetes.kubeconfig (and context), or the
// in-cluster service account when no kubeconfig is set.
func restConfig(sec *config.KubernetesSource) (*rest.Config, error) {
	if sec.Kubeconfig == "" {
		rc, err := rest.InClusterConfig()
		if err != nil {
			return nil, fmt.Errorf("sources.kubernetes: no kubeconfig set and not running in a cluster: %w", err)
		}
		return rc, nil
	}
	rc, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(
		&clientcmd.ClientConfigLoadingRules{ExplicitPath: sec.Kubeconfig},
		&clientcmd.ConfigOverrides{CurrentContext: sec.Context}).ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("sources.kubernetes.kubeconfig %s: %w", sec.Kubeconfig, err)
	}
	return rc, nil
}

// New builds the source on a REST config; the config's
// transport (auth, impersonation, wrappers) is used as given.
func New(rc *rest.Config, sec *config.KubernetesSource, logger *slog.Logger) (*Source, error) {
	rc = rest.CopyConfig(rc)
	if rc.UserAgent == "" {
		rc.UserAgent = "capability_exporter"
	}
	// The initial sync lists about ten resources at once; client-go's
	// default of 5 requests per second would serialise it for seconds.
	if rc.QPS == 0 {
		rc.QPS, rc.Burst = 50, 100
	}
	rc.Wrap(uncompressedWatches)
	mc, err := metadata.NewForConfig(rc)
	if err != nil {
		return nil, fmt.Errorf("sources.kubernetes: %w", err)
	}
	dc, err := dynamic.NewForConfig(rc)
	if err != nil {
		return nil, fmt.Errorf("sources.kubernetes: %w", err)
	}
	// Protobuf is several times cheaper than JSON to decode for the typed
	// resources; the metadata client negotiates its own format.
	typed := rest.CopyConfig(rc)
	typed.ContentType = runtime.ContentTypeProtobuf
	typed.AcceptContentTypes = runtime.ContentTypeProtobuf + "," + runtime.ContentTypeJSON
	kc, err := kubernetes.NewForConfig(typed)
	if err != nil {
		return nil, fmt.Errorf("sources.kubernetes: %w", err)
	}
	return newKubernetesSource(kc, mc, dc, sec, logger)
}

// uncompressedWatches asks the API server not to compress watches, the
// streaming lists of the initial sync among them. It compresses a watch
// event by event, flushing after each, so that thousands of small events
// cost both ends more CPU than a whole list does, for a poor ratio: on a
// 15,751-object cluster on two cores, the initial sync reached its first
// answer in a median of 1.93 s uncompressed against 2.46 s compressed
// (seven starts each, alternating; docs/performance.md). Lists, one body
// each, keep the transport's compression.
func uncompressedWatches(rt http.RoundTripper) http.RoundTripper {
	return roundTripperFunc(func(req *http.Request) (*http.Response, error) {
		if req.Header.Get("Accept-Encoding") == "" && isWatch(req.URL.Query()) {
			req = req.Clone(req.Context())
			// Set, the transport neither asks for gzip nor unpacks it.
			req.Header.Set("Accept-Encoding", "identity")
		}
		return rt.RoundTrip(req)
	})
}

// isWatch reports whether a request's query asks for a watch, as client-go
// writes it (watch=true) or as the API server also accepts (watch=1).
func isWatch(q url.Values) bool {
	w := q.Get("watch")
	return w == "true" || w == "1"
}

type roundTripperFunc func(*http.Request) (*http.Response, error)

func (f roundTripperFunc) RoundTrip(req *http.Request) (*http.Response, error) { return f(req) }

func newKubernetesSource(kc kubernetes.Interface, mc metadata.Interface, dc dynamic.Interface, sec *config.KubernetesSource, logger *slog.Logger) (*Source, error) {
	re, err := regexp.Compile("^(?:" + sec.PlatformNamespacesRegex + ")$")
	if err != nil {
		return nil, fmt.Errorf("sources.kubernetes.platform_namespaces_regex: %w", err)
	}
	timeout := time.Duration(sec.Timeout)
	if timeout <= 0 {
		timeout = time.Duration(config.DefaultKubernetesSource().Timeout)
	}
	s := &Source{logger: logger, client: kc, meta: mc, dyn: dc, timeout: timeout,
		teamLabels: slices.Clone(sec.TeamLabels), platformNamespaces: map[string]bool{}, platformRegex: re,
		running: map[resourceID]*informerState{}, regexps: map[string]*regexp.Regexp{},
		objects: map[string]*informerState{}, objectErrs: map[string]*source.Error{}, measures: measures}
	for _, ns := range sec.PlatformNamespaces {
		s.platformNamespaces[ns] = true
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	return s, nil
}

// Close stops the informers and waits until their goroutines have ended.
func (s *Source) Close() {
	s.cancel()
	s.informersDone.Wait()
}

// Collect answers each requested measure and tool from the informers. It
// starts the informers the request needs, waits for their initial sync at
// most until shortly before ctx's deadline, and answers a measure whose
// resources are not readable (forbidden, absent, not synced) as unknown
// with the reason, counting the cause once per resource in Result.Errors.
func (s *Source) Collect(ctx context.Context, req source.Request) source.Result {
	res := source.Result{Values: make(map[string]triggers.Value, len(req.Signals)+len(req.Tools))}
	if s.ctx.Err() != nil {
		// Only a scheduler that is shutting down asks a closed source; such
		// an evaluation is not counted.
		res.Errors = []source.Error{{Reason: source.ReasonCanceled, Err: errors.New("kubernetes source was closed")}}
		answerAll(&res, req, triggers.CodeNotCollected, "kubernetes source was closed")
		return res
	}

	// Start the informers before the round trip below, so they sync while
	// it is in flight.
	var ids []resourceID
	policies, gitops := false, false
	for _, sr := range req.Signals {
		if m, ok := s.measures[sr.Spec.Kubernetes]; ok {
			ids = append(ids, m.needs...)
		}
		if soft, ok := policySoftNeeds[sr.Spec.Kubernetes]; ok {
			ids, policies = append(ids, soft...), true
		}
		gitops = gitops || gitopsMeasures[sr.Spec.Kubernetes]
	}
	for _, t := range req.Tools {
		ids = append(ids, toolNeeds(t)...)
	}
	slices.Sort(ids)
	ids = slices.Compact(ids)
	sts := s.informers(ids)

	if err := s.ping(ctx); err != nil {
		res.Errors = []source.Error{{Reason: source.ReasonUnreachable, Err: err}}
		// reachable too is unknown, never 0, as for Prometheus and Loki: a
		// failed ping cannot tell a missing cluster from a network fault.
		answerAll(&res, req, triggers.CodeSourceDown, "Kubernetes API server unreachable: "+err.Error())
		return res
	}
	res.Up = true
	s.waitForSync(ctx, sts)
	if policies {
		// Which policy APIs exist is known once the CRDs have synced.
		extra := s.policyInformers()
		s.waitForSync(ctx, extra)
		sts = append(sts, extra...)
	}
	if gitops {
		// Which GitOps tools' APIs exist is known once the CRDs have synced.
		extra := s.gitopsInformers()
		s.waitForSync(ctx, extra)
		sts = append(sts, extra...)
	}

	s.keepPatternsOf(req.Tools)
	v := s.newClusterView(req.Tools, req.Rules)
	for _, st := range sts {
		if e := st.readiness(); e != nil {
			v.unready[st.id] = e
			res.Errors = append(res.Errors, *e)
		}
	}
	if crds := v.idleToolCRDs(req.Tools); len(crds) > 0 {
		objs := s.toolObjectInformers(ctx, crds)
		s.waitForSync(ctx, objs)
		for _, st := range objs {
			if e := st.readiness(); e != nil {
				res.Errors = append(res.Errors, *e)
			}
		}
		res.Errors = append(res.Errors, s.toolObjectErrors(crds)...)
	}
	// A panic in one measure or detection costs that signal, not the source.
	for _, sr := range req.Signals {
		res.Values[sr.Key] = source.GuardValue(&res, "measure "+sr.Spec.Kubernetes, func() triggers.Value { return v.measure(sr.Spec.Kubernetes) })
	}
	for _, t := range req.Tools {
		res.Values[t.SignalName()] = source.GuardValue(&res, "detection of tool "+t.ID, func() triggers.Value { return v.tool(t) })
	}
	return res
}

// ping asks the API server for its version: any answer, even an error
// status, means it is reachable.
func (s *Source) ping(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	_, err := s.client.Discovery().ServerVersionWithContext(ctx)
	var status apierrors.APIStatus
	if err == nil || errors.As(err, &status) {
		return nil
	}
	return err
}

func answerAll(res *source.Result, req source.Request, code triggers.ReasonCode, reason string) {
	for _, sr := range req.Signals {
		res.Values[sr.Key] = triggers.UnknownValue(code, reason, "kubernetes")
	}
	for _, t := range req.Tools {
		res.Values[t.SignalName()] = triggers.UnknownValue(code, reason, "kubernetes")
	}
}

// isPlatformNamespace reports whether a namespace is excluded from the app
// measures: a configured name or pattern, or a namespace a tool is detected
// by (a tool's own namespace is not an app).
func (s *Source) isPlatformNamespace(ns string, toolNamespaces map[string]bool) bool {
	return s.platformNamespaces[ns] || toolNamespaces[ns] || s.platformRegex.MatchString(ns)
}
