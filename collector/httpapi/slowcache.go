package httpapi

import (
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/capability-exporter/capability_exporter/collector/source"
	"github.com/capability-exporter/capability_exporter/triggers"
)

// Slow cadence. A query that reads a day or more (a 30-day MTTR, a
// month-over-month cost) barely moves between two evaluations minutes apart,
// yet it is the most expensive thing the exporter asks of a store that N
// exporters share. Such a query is sent at most once per slow interval; in
// between, its last answer is reused, marked with when it was measured
// (triggers.Value.MeasuredAt), and shown with its age.
//
// The cache is keyed by what is sent and how the answer is read: the query
// as sent (selectors expanded, matchers added), then, for each signal that
// reads it, the settings that turn the answer into a value (empty policy,
// window, alert history measure and grouping). Two signals that send the
// same query share one request. The cache lives in the source, which a
// reload that changes the source's section rebuilds; a reload that leaves
// the queries and their reading alone, however the rules file was
// reloaded, keeps it, and one that changes them misses it, since the key
// changed.

// SlowWindow is the shortest range that puts a query on the slow cadence.
const SlowWindow = 24 * time.Hour

// slowCache holds the last answers of a source's slow queries.
type slowCache struct {
	every time.Duration
	clock func() time.Time

	mu      sync.Mutex
	entries map[string]slowEntry
}

type slowEntry struct {
	at     time.Time
	values map[string]triggers.Value // by reading
}

// newSlowCache makes the cache of a source whose slow queries are sent once
// per every; 0 sends them every evaluation.
func newSlowCache(every time.Duration) *slowCache {
	return &slowCache{every: every, clock: time.Now, entries: map[string]slowEntry{}}
}

// lookup returns the value of every signal of srs from the answer to key,
// with when it was measured, if that is less than the slow interval ago and
// each signal's reading of it was kept.
func (c *slowCache) lookup(key string, srs []source.SignalRequest) (map[string]triggers.Value, time.Time, bool) {
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
	out := make(map[string]triggers.Value, len(srs))
	for _, sr := range srs {
		v, ok := e.values[reading(sr)]
		if !ok {
			return nil, time.Time{}, false
		}
		out[sr.Key] = v
	}
	return out, e.at, true
}

// store keeps the values of srs, by their reading, as the answer to key
// measured at at.
func (c *slowCache) store(key string, at time.Time, srs []source.SignalRequest, values map[string]triggers.Value) {
	byReading := make(map[string]triggers.Value, len(srs))
	for _, sr := range srs {
		byReading[reading(sr)] = values[sr.Key]
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.entries[key] = slowEntry{at: at, values: byReading}
}

// reading names how a signal turns the answer to its request into a value:
// every setting of its leaf but the query, which the entry's key already
// holds as sent. Signals with the same reading of the same request have
// the same value, whatever they are called.
func reading(sr source.SignalRequest) string {
	var b strings.Builder
	if p := sr.Spec.Prometheus; p != nil {
		fmt.Fprintf(&b, "prometheus empty=%q window=%d", p.Empty, p.Window)
		if h := p.AlertHistory; h != nil {
			fmt.Fprintf(&b, " measure=%q group_by=%q", h.Measure, h.GroupBy)
		}
	}
	if l := sr.Spec.Loki; l != nil {
		fmt.Fprintf(&b, "loki empty=%q", l.Empty)
	}
	return b.String()
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
	if values, at, ok := cache.lookup(key, srs); ok {
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
			cache.store(key, at, srs, values)
		}
	})
}
