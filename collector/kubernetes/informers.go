package kubernetes

import (
	"context"
	"fmt"
	"sync"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/pager"

	"github.com/capability-exporter/capability_exporter/collector/source"
)

// resourceID names one resource the source reads; each has at most one
// informer, shared by every measure that needs it.
type resourceID int

const (
	resNamespaces resourceID = iota
	resNodes
	resDeployments
	resStatefulSets
	resDaemonSets
	resServices
	resPDBs
	resNetworkPolicies
	resRoleBindings
	resClusterRoleBindings
	resCRDs
	resAPIServices // aggregated APIs: Calico's API server serves projectcalico.org/v3
	// The network policies of CNIs and of the AdminNetworkPolicy API: read
	// only while their API exists (see policies.go).
	resCiliumNetworkPolicies
	resCiliumClusterwideNetworkPolicies
	resCalicoNetworkPolicies
	resCalicoGlobalNetworkPolicies
	resCalicoV3NetworkPolicies
	resCalicoV3GlobalNetworkPolicies
	resAdminNetworkPolicies
	resBaselineAdminNetworkPolicies
	// The applications of GitOps tools: read only while their CRD exists
	// (gitops.go).
	resArgoApplications
	resFluxKustomizations
	resFluxHelmReleases
	numResources
)

// resToolObjects marks the informers of custom resources of tools, which are
// started per CRD (tools.go) and have no entry in resourceKinds.
const resToolObjects = numResources

// resourceKind says how to read a resource. Metadata-only resources go
// through the metadata client (names and labels, no spec on the wire);
// dynamic ones, which have no typed client, through the dynamic client.
type resourceKind struct {
	gvr          schema.GroupVersionResource
	metadataOnly bool
	dynamic      bool
	namespaced   bool
	example      runtime.Object // the type the informer expects from list and watch
}

// resourceKinds is every resource the source may read: deploy/rbac's
// ClusterRole grants list and watch on exactly these (a unit test holds the
// two together).
var resourceKinds = [numResources]resourceKind{
	resNamespaces:          {gvr: corev1.SchemeGroupVersion.WithResource("namespaces"), metadataOnly: true},
	resNodes:               {gvr: corev1.SchemeGroupVersion.WithResource("nodes"), example: &corev1.Node{}}, // Ready is in the status
	resDeployments:         {gvr: appsv1.SchemeGroupVersion.WithResource("deployments"), namespaced: true, example: &appsv1.Deployment{}},
	resStatefulSets:        {gvr: appsv1.SchemeGroupVersion.WithResource("statefulsets"), namespaced: true, example: &appsv1.StatefulSet{}},
	resDaemonSets:          {gvr: appsv1.SchemeGroupVersion.WithResource("daemonsets"), namespaced: true, metadataOnly: true},
	resServices:            {gvr: corev1.SchemeGroupVersion.WithResource("services"), namespaced: true, example: &corev1.Service{}},
	resPDBs:                {gvr: policyv1.SchemeGroupVersion.WithResource("poddisruptionbudgets"), namespaced: true, example: &policyv1.PodDisruptionBudget{}},
	resNetworkPolicies:     {gvr: networkingv1.SchemeGroupVersion.WithResource("networkpolicies"), namespaced: true, example: &networkingv1.NetworkPolicy{}},
	resRoleBindings:        {gvr: rbacv1.SchemeGroupVersion.WithResource("rolebindings"), namespaced: true, example: &rbacv1.RoleBinding{}},
	resClusterRoleBindings: {gvr: rbacv1.SchemeGroupVersion.WithResource("clusterrolebindings"), example: &rbacv1.ClusterRoleBinding{}},
	resCRDs:                {gvr: schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}, metadataOnly: true},

	resAPIServices: {gvr: schema.GroupVersionResource{Group: "apiregistration.k8s.io", Version: "v1", Resource: "apiservices"}, metadataOnly: true},

	resCiliumNetworkPolicies:            dynamicKind("cilium.io", "v2", "ciliumnetworkpolicies", true),
	resCiliumClusterwideNetworkPolicies: dynamicKind("cilium.io", "v2", "ciliumclusterwidenetworkpolicies", false),
	resCalicoNetworkPolicies:            dynamicKind("crd.projectcalico.org", "v1", "networkpolicies", true),
	resCalicoGlobalNetworkPolicies:      dynamicKind("crd.projectcalico.org", "v1", "globalnetworkpolicies", false),
	resCalicoV3NetworkPolicies:          dynamicKind("projectcalico.org", "v3", "networkpolicies", true),
	resCalicoV3GlobalNetworkPolicies:    dynamicKind("projectcalico.org", "v3", "globalnetworkpolicies", false),
	resAdminNetworkPolicies:             dynamicKind("policy.networking.k8s.io", "v1alpha1", "adminnetworkpolicies", false),
	resBaselineAdminNetworkPolicies:     dynamicKind("policy.networking.k8s.io", "v1alpha1", "baselineadminnetworkpolicies", false),

	resArgoApplications:   dynamicKind("argoproj.io", "v1alpha1", "applications", true),
	resFluxKustomizations: dynamicKind("kustomize.toolkit.fluxcd.io", "v1", "kustomizations", true),
	resFluxHelmReleases:   dynamicKind("helm.toolkit.fluxcd.io", "v2", "helmreleases", true),
}

func dynamicKind(group, version, resource string, namespaced bool) resourceKind {
	return resourceKind{gvr: schema.GroupVersionResource{Group: group, Version: version, Resource: resource},
		dynamic: true, namespaced: namespaced, example: &unstructured.Unstructured{}}
}

// String names the resource as the API server does in its messages, e.g.
// deployments.apps.
func (id resourceID) String() string {
	gvr := resourceKinds[id].gvr
	if gvr.Group == "" {
		return gvr.Resource
	}
	return gvr.Resource + "." + gvr.Group
}

// informerState is one running informer and what its reflector last
// reported.
type informerState struct {
	id       resourceID
	informer cache.SharedIndexInformer
	started  time.Time
	stop     context.CancelFunc // stops this informer alone, when its API goes away
	desc     string             // the resource as messages name it: deployments.apps

	mu     sync.Mutex
	reason source.Reason // forbidden, not_found or unauthorized: the resource cannot be read until a watch opens
	err    error         // the last list or watch error; cleared when a watch opens
	synced bool          // the initial sync was seen complete (and logged)
}

// errorReason classifies a list or watch error: the ones that will not heal
// by retrying make the resource's signals unknown at once.
func errorReason(err error) source.Reason {
	switch {
	case apierrors.IsForbidden(err):
		return source.ReasonForbidden
	case apierrors.IsNotFound(err):
		return source.ReasonNotFound
	case apierrors.IsUnauthorized(err):
		return source.ReasonUnauthorized
	}
	return ""
}

// watchError is the reflector's error handler. A forbidden or absent
// resource is recorded so that its signals turn unknown with the reason
// instead of the informer retrying silently; the log says so once per change.
func (s *Source) watchError(st *informerState) cache.WatchErrorHandlerWithContext {
	return func(_ context.Context, _ *cache.Reflector, err error) {
		reason := errorReason(err)
		st.mu.Lock()
		changed := reason != "" && reason != st.reason
		if reason != "" || st.reason == "" {
			st.reason, st.err = reason, err
		}
		st.mu.Unlock()
		if changed {
			s.logger.Warn("Cannot read a resource; the signals that need it are unknown", "resource", st.desc, "reason", reason, "err", err)
		} else {
			s.logger.Debug("List or watch failed; retrying", "resource", st.desc, "err", err)
		}
	}
}

// watchOpened clears a recorded error: the API server has just authorised
// a watch, so the resource is readable again (a list alone does not clear
// it, or a role that allows list but not watch would flap).
func (st *informerState) watchOpened() {
	st.mu.Lock()
	if st.reason != source.ReasonPanic {
		st.reason, st.err = "", nil
	}
	st.mu.Unlock()
}

// readiness says whether the informer's store can be measured, and if not,
// why: the source error to count and the reason the signals give.
func (st *informerState) readiness() *source.Error {
	st.mu.Lock()
	reason, err := st.reason, st.err
	st.mu.Unlock()
	if reason != "" {
		return &source.Error{Reason: reason, Err: fmt.Errorf("cannot read %s: %w", st.desc, err)}
	}
	if st.informer.HasSynced() {
		return nil
	}
	msg := fmt.Sprintf("initial sync of %s not finished after %s", st.desc, time.Since(st.started).Round(time.Millisecond))
	if err != nil {
		return &source.Error{Reason: source.ReasonTimeout, Err: fmt.Errorf("%s: last error: %w", msg, err)}
	}
	return &source.Error{Reason: source.ReasonTimeout, Err: fmt.Errorf("%s", msg)}
}

// settled reports whether waiting longer for this informer is pointless:
// synced, failed for good, or past the initial sync's time budget.
func (st *informerState) settled(budget time.Duration) bool {
	st.mu.Lock()
	failed := st.reason != ""
	st.mu.Unlock()
	return failed || st.informer.HasSynced() || time.Since(st.started) > budget
}

// newInformer builds the informer of one resource: list once, then watch,
// never resync; objects reduced on arrival; errors recorded.
func (s *Source) newInformer(id resourceID) *informerState {
	return s.newInformerOf(id, resourceKinds[id], id.String())
}

// newInformerOf builds an informer of a resource of the given kind, named
// desc in messages.
func (s *Source) newInformerOf(id resourceID, kind resourceKind, desc string) *informerState {
	st := &informerState{id: id, desc: desc, started: time.Now()}
	reduce := s.guardReducer(st, s.reducer(id))
	lw := &cache.ListWatch{}
	var client any
	example := kind.example
	switch {
	case kind.metadataOnly:
		// Paged and reduced as the typed lists are: metadata can be large
		// too (managed fields, last-applied annotations of whole CRDs).
		r := s.meta.Resource(kind.gvr)
		lw.ListWithContextFunc, lw.WatchFuncWithContext = listWith(r.List, reduce), r.Watch
		client, example = s.meta, &metav1.PartialObjectMetadata{}
	case kind.dynamic:
		r := s.dyn.Resource(kind.gvr).Namespace(metav1.NamespaceAll)
		lw.ListWithContextFunc, lw.WatchFuncWithContext = listWith(r.List, reduce), r.Watch
		client = s.dyn
	default:
		lw.ListWithContextFunc, lw.WatchFuncWithContext = s.typedListWatch(id, reduce)
		client = s.client
	}
	watchFn := lw.WatchFuncWithContext
	lw.WatchFuncWithContext = func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
		w, err := watchFn(ctx, o)
		if err == nil {
			st.watchOpened()
		}
		return w, err
	}
	// The client decides whether the reflector may use streaming lists;
	// client-go's fakes, used in unit tests, say they cannot.
	st.informer = cache.NewSharedIndexInformerWithOptions(cache.ToListWatcherWithWatchListSemantics(lw, client), example,
		cache.SharedIndexInformerOptions{
			ResyncPeriod:      0,
			Indexers:          cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc},
			ObjectDescription: desc,
		})
	// Both calls fail only on a started informer; this one is not.
	_ = st.informer.SetTransform(func(obj any) (any, error) {
		if l, ok := obj.(*listedObject); ok {
			return l.reduced, nil
		}
		return reduce(obj)
	})
	_ = st.informer.SetWatchErrorHandlerWithContext(s.watchError(st))
	return st
}

func (s *Source) reducer(id resourceID) cache.TransformFunc {
	switch id {
	case resNamespaces:
		return reduceNamespace(s.teamLabels)
	case resNodes:
		return reduceNode
	case resDeployments:
		return reduceDeployment
	case resStatefulSets:
		return reduceStatefulSet
	case resServices:
		return reduceService
	case resPDBs:
		return reducePDB
	case resNetworkPolicies:
		return reduceNetworkPolicy
	case resRoleBindings:
		return reduceRoleBinding
	case resClusterRoleBindings:
		return reduceClusterRoleBinding
	case resCRDs:
		return reduceCRD
	case resArgoApplications:
		return reduceArgoApplication
	case resFluxKustomizations, resFluxHelmReleases:
		return reduceFluxObject
	}
	if id < numResources && resourceKinds[id].dynamic {
		return policyReducer(id)
	}
	return reduceNamed
}

type (
	listFunc  = cache.ListWithContextFunc
	watchFunc = cache.WatchFuncWithContext
)

// listPageSize is how many objects the initial list asks for at a time.
const listPageSize = 500

// listWith lists the typed objects page by page through client-go's pager
// and reduces each object as it arrives, so that the initial sync never
// holds more than a page or two of whole objects: the reflector's own list
// asks the API server's cache for everything at once (resourceVersion 0
// ignores the page size), and 5,000 Deployments decoded at once, with the
// other resources listed beside them, took the heap past 130 MiB. The pages
// are read at the most recent version, a consistent snapshot across pages.
// Relists at a given version, after a watch expired, go through unchanged.
//
// When the continue token expires between two pages (410 Gone: a list
// slower than the API server keeps its snapshots), the pager's own fallback
// would list everything at once; instead the paged list starts over, at
// most listRestarts times, and then the reflector's backoff takes over.
func listWith[L runtime.Object](f func(context.Context, metav1.ListOptions) (L, error), reduce cache.TransformFunc) listFunc {
	return func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
		if o.ResourceVersion != "0" || o.Continue != "" {
			return f(ctx, o)
		}
		o.ResourceVersion = ""
		for try := 0; ; try++ {
			out, err := listPaged(ctx, f, reduce, o)
			if err == nil || !apierrors.IsResourceExpired(err) || try == listRestarts {
				return out, err
			}
		}
	}
}

// listRestarts bounds how often an initial list starts over after its
// continue token expired.
const listRestarts = 3

// listPaged is one paged list: a page buffer of 0, so the next page is
// fetched while the last is reduced and no further ahead.
func listPaged[L runtime.Object](ctx context.Context, f func(context.Context, metav1.ListOptions) (L, error), reduce cache.TransformFunc, o metav1.ListOptions) (*metav1.List, error) {
	var mu sync.Mutex
	var version string
	p := pager.New(func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
		page, err := f(ctx, o)
		if err != nil {
			return nil, err
		}
		lm, err := meta.ListAccessor(page)
		if err != nil {
			return nil, err
		}
		mu.Lock()
		version = lm.GetResourceVersion()
		mu.Unlock()
		return page, nil
	})
	p.PageSize, p.PageBufferSize, p.FullListIfExpired = listPageSize, 0, false
	out := &metav1.List{}
	err := p.EachListItem(ctx, o, func(obj runtime.Object) error {
		r, err := reduce(obj)
		if err != nil {
			return err
		}
		out.Items = append(out.Items, runtime.RawExtension{Object: &listedObject{reduced: r}})
		return nil
	})
	if err != nil {
		return nil, err
	}
	mu.Lock()
	out.ResourceVersion = version
	mu.Unlock()
	return out, nil
}

// listedObject carries an object reduced while listing through the list
// the reflector expects; the informer's transform unwraps it. Reduced
// objects are never changed, so a copy may share it.
type listedObject struct{ reduced any }

func (l *listedObject) GetObjectKind() schema.ObjectKind { return schema.EmptyObjectKind }
func (l *listedObject) DeepCopyObject() runtime.Object   { return l }

// GetObjectMeta lets the informer key the object before its transform runs.
func (l *listedObject) GetObjectMeta() metav1.Object {
	return l.reduced.(metav1.ObjectMetaAccessor).GetObjectMeta()
}

func (s *Source) typedListWatch(id resourceID, reduce cache.TransformFunc) (listFunc, watchFunc) {
	c := s.client
	switch id {
	case resNodes:
		r := c.CoreV1().Nodes()
		return listWith(r.List, reduce), r.Watch
	case resDeployments:
		r := c.AppsV1().Deployments(metav1.NamespaceAll)
		return listWith(r.List, reduce), r.Watch
	case resStatefulSets:
		r := c.AppsV1().StatefulSets(metav1.NamespaceAll)
		return listWith(r.List, reduce), r.Watch
	case resServices:
		r := c.CoreV1().Services(metav1.NamespaceAll)
		return listWith(r.List, reduce), r.Watch
	case resPDBs:
		r := c.PolicyV1().PodDisruptionBudgets(metav1.NamespaceAll)
		return listWith(r.List, reduce), r.Watch
	case resNetworkPolicies:
		r := c.NetworkingV1().NetworkPolicies(metav1.NamespaceAll)
		return listWith(r.List, reduce), r.Watch
	case resRoleBindings:
		r := c.RbacV1().RoleBindings(metav1.NamespaceAll)
		return listWith(r.List, reduce), r.Watch
	case resClusterRoleBindings:
		r := c.RbacV1().ClusterRoleBindings()
		return listWith(r.List, reduce), r.Watch
	}
	panic(fmt.Sprintf("resource %s has no typed client", id))
}

// informers returns the informers of the given resources, starting the ones
// not running yet. They start on demand so that a rules file that reads
// fewer measures needs fewer permissions, and run until Close.
func (s *Source) informers(ids []resourceID) []*informerState {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*informerState, 0, len(ids))
	for _, id := range ids {
		st := s.running[id]
		if st == nil {
			st = s.newInformer(id)
			s.running[id] = st
			s.start(st)
		}
		out = append(out, st)
	}
	return out
}

// start runs an informer until Close, or until its own stop.
func (s *Source) start(st *informerState) {
	var ctx context.Context
	ctx, st.stop = context.WithCancel(s.ctx)
	s.informersDone.Go(func() { st.informer.RunWithContext(ctx) })
}

// noteSynced logs, once, how long an informer's initial sync took: where
// the time to the first answer goes, resource by resource.
func (s *Source) noteSynced(st *informerState) {
	if !st.informer.HasSynced() {
		return
	}
	st.mu.Lock()
	first := !st.synced
	st.synced = true
	st.mu.Unlock()
	if first {
		s.logger.Debug("Initial sync done", "resource", st.desc, "objects", len(st.informer.GetStore().ListKeys()), "took", time.Since(st.started).Round(time.Millisecond))
	}
}

// waitForSync waits for the informers' initial sync, for at most the
// source's timeout since each started and never past ctx's deadline (less
// a margin to answer in), so that the first evaluation after start sees the
// cluster rather than "not synced".
func (s *Source) waitForSync(ctx context.Context, sts []*informerState) {
	deadline := time.Now().Add(s.timeout)
	if d, ok := ctx.Deadline(); ok {
		margin := min(time.Until(d)/10, time.Second)
		if d.Add(-margin).Before(deadline) {
			deadline = d.Add(-margin)
		}
	}
	// Checking a dozen informers is cheap; a coarse tick would only add
	// its half to the time to the first answer.
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		pending := false
		for _, st := range sts {
			s.noteSynced(st)
			if !st.settled(s.timeout) {
				pending = true
			}
		}
		if !pending || !time.Now().Before(deadline) {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}
