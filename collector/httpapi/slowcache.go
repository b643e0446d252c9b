package httpapi

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/capability-exporter/capability_exporter/collector/source"
	"github.com/capability-exporter/capability_exporter/triggers"
)

// Slow cadence. A query that reads a day or more (a 30-day MTTR, a
// month-over-month cost) barely moves between two evaluations minutes apart,
// yet it is the most expensive thing the exporter asks of a store that N
// exporters share. Such a query is sent at most once per slow interval; in
// between, its last answer is reused, marked with when it was measured
// (triggers.Value.MeasuredAt), and shown with its age. The cache is
// keyed by the query as sent (selectors expanded, matchers added), so two
// signals that send the same query share one entry; it lives in the source,
// so a reload that changes the source's section starts afresh, and a reload
// that changes the rules empties it.

// SlowWindow is the shortest range that puts a query on the slow cadence.
const SlowWindow = 24 * time.Hour

var slowInterval atomic.Int64

// SetSlowInterval sets how often queries that read SlowWindow or more are
// sent (--evaluation.slow-interval) for sources built from now on; 0 sends
// them every evaluation, as the package does until told otherwise.
func SetSlowInterval(d time.Duration) { slowInterval.Store(int64(d)) }

// slowCache holds the last answers of a source's slow queries.
type slowCache struct {
	every time.Duration
	clock func() time.Time

	mu      sync.Mutex
	rules   *triggers.Rules
	entries map[string]slowEntry
}

type slowEntry struct {
	at     time.Time
	values map[string]triggers.Value // by SignalRequest.Key
}

func newSlowCache() *slowCache {
	return &slowCache{every: time.Duration(slowInterval.Load()), clock: time.Now, entries: map[string]slowEntry{}}
}

// forRules empties the cache when the rules changed since the last Collect:
// the same key may now mean another signal, or another empty policy.
func (c *slowCache) forRules(rules *triggers.Rules) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.rules != rules {
		c.rules = rules
		clear(c.entries)
	}
}

// lookup returns the values of key for every one of keys, with when they
// were measured, if that is less than the slow interval ago.
func (c *slowCache) lookup(key string, keys []string) (map[string]triggers.Value, time.Time, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[key]
	if !ok {
		return nil, time.Time{}, false
	}
	age := c.clock().Sub(e.at)
	if age >= c.every || age < 0 {
		delete(c.entries, key)
		return nil, time.Time{}, false
	}
	for _, k := range keys {
		if _, ok := e.values[k]; !ok {
			return nil, time.Time{}, false
		}
	}
	return e.values, e.at, true
}

func (c *slowCache) store(key string, at time.Time, values map[string]triggers.Value) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.entries[key] = slowEntry{at: at, values: values}
}

// slow says whether a query that reads window goes on the slow cadence.
func (c *slowCache) slow(window time.Duration) bool {
	return c != nil && c.every > 0 && window >= SlowWindow
}

// reused marks a value from an earlier evaluation with when it was
// measured; the page, the JSON and assess show its age from that. Its
// source and reason stay as the source gave them.
func reused(v triggers.Value, kind string, at time.Time) triggers.Value {
	if v.Source == "" {
		v.Source = kind
	}
	v.MeasuredAt = at
	return v
}

// spawnSlow sends a request for srs like spawn, unless the query reads
// window or more and its answer from less than a slow interval ago is
// there: then that answer is reused. An answer is kept only when no signal
// of it failed, so a timeout is retried at the next evaluation.
func (c *httpCollect) spawnSlow(key string, window time.Duration, what string, srs []source.SignalRequest, send func()) {
	cache := c.server.cache
	if !cache.slow(window) {
		c.spawn(what, srs, send)
		return
	}
	keys := keysOf(srs)
	if values, at, ok := cache.lookup(key, keys); ok {
		if c.reused == nil {
			c.reused = map[string]time.Time{}
		}
		for _, k := range keys {
			c.r.set(k, reused(values[k], c.server.kind, at))
			c.reused[k] = at
		}
		// Not marked up: source_up says whether the server answers now,
		// from the requests sent (or the probe, when every answer was
		// reused).
		return
	}
	at := cache.clock()
	c.spawn(what, srs, func() {
		send()
		if values, ok := c.r.valuesUnlessFailed(keys); ok {
			cache.store(key, at, values)
		}
	})
}
