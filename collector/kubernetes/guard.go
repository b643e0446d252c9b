package kubernetes

import (
	"fmt"
	"sync"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/client-go/tools/cache"

	"github.com/capability-exporter/capability_exporter/collector/source"
)

// guardReducer wraps an informer's reducer. Reducers run in client-go's
// goroutines, where collectSafely cannot reach: a panic there would end the
// process. Instead it costs the resource: its informer stops (relisting
// would only panic again), the signals that need it read unknown with
// reason panic until the source is rebuilt (a restart, or a reload that
// changes sources.kubernetes), and the panic is logged once with its stack.
func (s *Source) guardReducer(st *informerState, reduce cache.TransformFunc) cache.TransformFunc {
	var once sync.Once
	return func(obj any) (out any, err error) {
		defer func() {
			if p := recover(); p != nil {
				e := source.Recovered(fmt.Sprintf("reducing %s %s", st.desc, objectKey(obj)), p)
				once.Do(func() {
					s.logger.Error("Recovered from a panic; the signals that need the resource are unknown",
						"resource", st.desc, "err", e.Err, "stack", string(e.Stack))
					st.panicked(e.Err)
				})
				out, err = nil, e.Err
			}
		}()
		if s.reduceHook != nil {
			s.reduceHook(st.id, obj)
		}
		return reduce(obj)
	}
}

// panicked records that reducing an object of this resource panicked and
// stops its informer. Unlike a forbidden resource, a new watch does not
// clear it: the object that panicked is still there.
func (st *informerState) panicked(err error) {
	st.mu.Lock()
	st.reason, st.err = source.ReasonPanic, err
	st.mu.Unlock()
	if st.stop != nil {
		st.stop()
	}
}

// objectKey names an object in messages: namespace/name, or its type when
// it has no metadata.
func objectKey(obj any) string {
	if m, err := meta.Accessor(obj); err == nil {
		if m.GetNamespace() == "" {
			return m.GetName()
		}
		return m.GetNamespace() + "/" + m.GetName()
	}
	return fmt.Sprintf("%T", obj)
}
