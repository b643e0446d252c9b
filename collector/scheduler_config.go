package collector

import (
	"maps"
	"reflect"
	"time"

	"github.com/capability-exporter/capability_exporter/collector/source"
	"github.com/capability-exporter/capability_exporter/config"
)

// The config in force and the sources it runs: reload, close, and the hold
// an evaluation keeps on its sources so that neither waits for the other.

// runningSource is a built source. An evaluation that uses it holds it, so
// that a reload replacing it closes it only once that evaluation is done.
type runningSource struct {
	section any
	src     source.Source
	err     error // construction error: its signals are unknown with this reason

	users   int  // evaluations using src; guarded by Scheduler.mu
	retired bool // replaced or removed: closed when the last user is done
}

// Reload swaps in a new config. Sources whose section did not change keep
// running (the Kubernetes informers survive); others are rebuilt. The caller
// has already validated cfg, so a reload cannot leave a half-applied config.
// It does not wait for a running evaluation: that one finishes on the old
// config and sources, which are closed when it is done.
func (s *Scheduler) Reload(cfg *config.Config) {
	s.mu.Lock()
	done := s.setConfig(cfg)
	s.mu.Unlock()
	s.declared.Store(true)
	closeSources(done)
	s.ReloadResult(nil)
}

// ReloadResult records a reload's outcome for the reload metrics.
func (s *Scheduler) ReloadResult(err error) {
	s.reloadOK.Store(err == nil)
	if err == nil {
		s.reloadStamp.Store(time.Now().Unix())
	}
	s.reloads.Add(1)
}

// Reloads counts the reloads tried, failed ones too: what serves a cached
// rendering of the metrics renders anew when it changes, so that
// capability_exporter_config_last_reload_successful is never stale.
func (s *Scheduler) Reloads() uint64 { return s.reloads.Load() }

// ReloadStatus reports whether the last reload succeeded and when the last
// successful one happened.
func (s *Scheduler) ReloadStatus() (ok bool, lastSuccess time.Time) {
	return s.reloadOK.Load(), time.Unix(s.reloadStamp.Load(), 0)
}

// setConfig swaps cfg in under s.mu and returns the replaced sources that no
// evaluation uses, for the caller to close once it has released the lock.
func (s *Scheduler) setConfig(cfg *config.Config) (done []*runningSource) {
	s.cfg = cfg
	for kind, f := range s.factories {
		section, ok := f.section(cfg)
		old := s.running[kind]
		// A source that failed to start is tried again: the reload is how a
		// user says the missing kubeconfig or token file is now in place.
		if old != nil && ok && old.err == nil && reflect.DeepEqual(old.section, section) {
			continue
		}
		if old != nil {
			done = append(done, s.retire(old)...)
			delete(s.running, kind)
		}
		if !ok {
			continue
		}
		src, err := f.build(section, s.logger.With("source", kind), s.sourceOpts)
		if err != nil {
			// The evaluation that follows logs the source down, once,
			// with its fault in words and how to fix it.
			s.logger.Debug("Cannot start source", "source", kind, "err", cfg.Scrub(err.Error()))
		}
		s.running[kind] = &runningSource{section: section, src: src, err: err}
	}
	return done
}

// retire marks rs replaced; it returns rs when no evaluation uses it, so the
// caller closes it now. Otherwise the last user closes it.
func (s *Scheduler) retire(rs *runningSource) []*runningSource {
	rs.retired = true
	if rs.users == 0 {
		return []*runningSource{rs}
	}
	return nil
}

func closeSources(rss []*runningSource) {
	for _, rs := range rss {
		if c, ok := rs.src.(source.Closer); ok {
			c.Close()
		}
	}
}

// Close stops every source; one an evaluation is still using stops when
// that evaluation ends. Evaluations after Close publish nothing.
func (s *Scheduler) Close() {
	s.mu.Lock()
	var done []*runningSource
	s.closed = true
	for kind, rs := range s.running {
		done = append(done, s.retire(rs)...)
		delete(s.running, kind)
	}
	s.mu.Unlock()
	closeSources(done)
}

func (s *Scheduler) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

// acquire returns the config in force and its sources, held for one
// evaluation until release.
func (s *Scheduler) acquire() (cfg *config.Config, running map[string]*runningSource) {
	s.mu.Lock()
	defer s.mu.Unlock()
	running = maps.Clone(s.running)
	for _, rs := range running {
		rs.users++
	}
	return s.cfg, running
}

// release lets go of an evaluation's sources and closes those a reload
// replaced meanwhile.
func (s *Scheduler) release(running map[string]*runningSource) {
	var done []*runningSource
	s.mu.Lock()
	for _, rs := range running {
		rs.users--
		if rs.retired && rs.users == 0 {
			done = append(done, rs)
		}
	}
	s.mu.Unlock()
	closeSources(done)
}
