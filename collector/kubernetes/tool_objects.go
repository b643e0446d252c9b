package kubernetes

import (
	"cmp"
	"context"
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"

	"github.com/capability-exporter/capability_exporter/collector/source"
)

// Whether a tool's CRDs hold objects is read from metadata informers, one
// per CRD, started only for tools of which nothing runs (the rare case of
// CRDs left behind or a controller outside the cluster): one list, then a
// watch, so an evaluation still sends no list, and the store keeps only
// names. The version to read is the group's preferred one, from discovery,
// asked once when such informers start.

// toolObjectInformers starts the informers of the given CRDs' objects, stops
// those whose CRD is gone, and returns the ones asked for.
func (s *Source) toolObjectInformers(ctx context.Context, crds []string) []*informerState {
	s.mu.Lock()
	for name, st := range s.objects {
		if _, ok, _ := s.runningCRDStoreLocked(name); !ok {
			st.stop()
			delete(s.objects, name)
		}
	}
	var missing []string
	for _, name := range crds {
		if s.objects[name] == nil {
			missing = append(missing, name)
		}
	}
	s.mu.Unlock()

	if len(missing) > 0 {
		versions, err := s.preferredVersions(ctx)
		s.mu.Lock()
		for _, name := range missing {
			if s.objects[name] != nil {
				continue
			}
			plural, group, _ := strings.Cut(name, crdNameSeparator)
			version, ok := versions[group]
			if err != nil || !ok {
				e := &source.Error{Reason: source.ReasonNotFound, Err: fmt.Errorf("the API server serves no version of %s", group)}
				if err != nil {
					e = &source.Error{Reason: cmp.Or(errorReason(err), source.ReasonUnreachable), Err: err}
				}
				e.Err = fmt.Errorf("cannot tell whether %s holds objects: %w", name, e.Err)
				s.objectErrs[name] = e
				continue
			}
			delete(s.objectErrs, name)
			kind := resourceKind{gvr: schema.GroupVersionResource{Group: group, Version: version, Resource: plural}, metadataOnly: true}
			st := s.newInformerOf(resToolObjects, kind, name)
			s.objects[name] = st
			s.start(st)
		}
		s.mu.Unlock()
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*informerState
	for _, name := range crds {
		if st := s.objects[name]; st != nil {
			out = append(out, st)
		}
	}
	return out
}

// runningCRDStoreLocked looks a CRD up in the CRD informer's store; s.mu is
// held.
func (s *Source) runningCRDStoreLocked(name string) (any, bool, error) {
	st := s.running[resCRDs]
	if st == nil {
		return nil, false, nil
	}
	return st.informer.GetStore().GetByKey(name)
}

// preferredVersions asks discovery for each API group's preferred version.
func (s *Source) preferredVersions(ctx context.Context) (map[string]string, error) {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	groups, err := discovery.ToDiscoveryInterfaceWithContext(s.client.Discovery()).ServerGroupsWithContext(ctx)
	if err != nil {
		return nil, fmt.Errorf("discovery: %w", err)
	}
	out := map[string]string{}
	for _, g := range groups.Groups {
		out[g.Name] = g.PreferredVersion.Version
	}
	return out, nil
}

// toolObjectErrors returns, to count, why the objects of these CRDs could
// not be watched (discovery failed, the group is not served).
func (s *Source) toolObjectErrors(crds []string) []source.Error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []source.Error
	for _, name := range crds {
		if e := s.objectErrs[name]; e != nil {
			out = append(out, *e)
		}
	}
	return out
}

// crdEarliestObject reports whether a CRD's informer holds any object, and
// the creation time (Unix seconds) of its earliest; an error says why it
// cannot tell.
func (s *Source) crdEarliestObject(name string) (created int64, holds bool, err error) {
	s.mu.Lock()
	st, e := s.objects[name], s.objectErrs[name]
	s.mu.Unlock()
	if e != nil {
		return 0, false, e.Err
	}
	if st == nil {
		return 0, false, fmt.Errorf("objects of %s not read yet", name)
	}
	if e := st.readiness(); e != nil {
		return 0, false, e
	}
	for _, o := range st.informer.GetStore().List() {
		holds = true
		created = earlier(created, createdOf(o))
	}
	return created, holds, nil
}
