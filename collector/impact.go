package collector

import (
	"context"
	"sync"
	"time"

	"github.com/capability-exporter/capability_exporter/config"
	"github.com/capability-exporter/capability_exporter/impact"
	"github.com/capability-exporter/capability_exporter/triggers"
)

// Impact since adoption is measured on the slow cadence: each adopted
// capability's before and after read windows of up to 30 days, which
// barely move between evaluations minutes apart. A result is reused until
// the slow interval has passed, unless what dates the adoption changed (a
// declared date, the cluster's earliest workload of the tool) or the config
// was reloaded. At most one range query (the alert history over both
// windows) and a few instant queries per adopted capability are sent per
// slow interval.

// impactStorer is a source that can read the past for impact (the
// Prometheus source).
type impactStorer interface {
	ImpactStore() impact.Store
}

// impactEntry is one capability's last impact and what it was measured for.
type impactEntry struct {
	cfg      *config.Config
	declared time.Time
	cluster  time.Time
	res      impact.Result
}

// measureImpacts returns the impact of each adopted capability of ev, in the
// rules' order, reusing results younger than the slow interval. Called with
// evalMu held.
func (s *Scheduler) measureImpacts(ctx context.Context, cfg *config.Config, running map[string]*runningSource, ev *triggers.Evaluation, now time.Time) []impact.Result {
	rules := cfg.Rules
	var store impact.Store
	why, whyCode := "sources.prometheus is not configured: the impact signals' history is read from the store", triggers.CodeNotConfigured
	if rs := running["prometheus"]; rs != nil {
		if rs.err != nil {
			why, whyCode = "prometheus source failed to start: "+cfg.Scrub(rs.err.Error()), triggers.CodeSourceDown
		} else if st, ok := rs.src.(impactStorer); ok {
			store = st.ImpactStore()
		}
	}
	every := s.sourceOpts.http.SlowInterval
	// Each capability's entry has its own slot, written by at most one
	// goroutine; the results and the cache for the next evaluation are
	// assembled only after every goroutine has finished, so nothing shared
	// is written while a judge runs.
	var slots []*impactEntry
	var wg sync.WaitGroup
	for _, d := range ev.Decisions {
		if d.State != triggers.StateAdopted {
			continue
		}
		c := rules.Capability(d.Capability)
		var tools []*triggers.Tool
		var cluster time.Time
		for _, tr := range ev.Tools {
			if tr.Capability != c.ID || tr.Detected != triggers.True {
				continue
			}
			tools = append(tools, rules.Tool(tr.ID))
			if !tr.Since.IsZero() && (cluster.IsZero() || tr.Since.Before(cluster)) {
				cluster = tr.Since
			}
		}
		declared := cfg.Adopted[c.ID]
		if e, ok := s.impacts[c.ID]; ok && e.cfg == cfg && e.declared.Equal(declared) && e.cluster.Equal(cluster) &&
			every > 0 && now.Sub(e.res.MeasuredAt) < every && now.Sub(e.res.MeasuredAt) >= 0 {
			slots = append(slots, &e)
			continue
		}
		slot := &impactEntry{cfg: cfg, declared: declared, cluster: cluster}
		slots = append(slots, slot)
		wg.Add(1)
		go func() {
			defer wg.Done()
			slot.res = s.judge(ctx, store, whyCode, why, rules, cfg.ImpactOptions(), c, tools, declared, cluster, now)
		}()
	}
	wg.Wait()
	next := make(map[string]impactEntry, len(slots))
	out := make([]impact.Result, len(slots))
	for i, e := range slots {
		next[e.res.Capability] = *e
		out[i] = e.res
	}
	s.impacts = next
	return out
}

// judge dates one capability's adoption and measures its impact.
func (s *Scheduler) judge(ctx context.Context, store impact.Store, noStoreCode triggers.ReasonCode, noStore string, rules *triggers.Rules, o impact.Options,
	c *triggers.Capability, tools []*triggers.Tool, declared, cluster, now time.Time) impact.Result {
	var fromStore time.Time
	var storeErr error
	if store != nil && declared.IsZero() {
		// kube_*_created is read back over the judging period and the
		// window before adoption: an older adoption is judged already.
		fromStore, storeErr = store.Created(ctx, tools, o.Judging+impact.MaxWindow)
	}
	a, ok := impact.Adopted(declared, cluster, fromStore)
	switch {
	case !ok && storeErr != nil:
		return impact.Unmeasured(rules, c, a, now, triggers.CodeSourceDown, "when it was adopted is not known: the cluster shows no creation time and kube_*_created could not be read: "+storeErr.Error())
	case !ok:
		return impact.Unmeasured(rules, c, a, now, triggers.CodeNotConfigured, "when it was adopted is not known: declare it under facts.adopted."+c.ID)
	case store == nil:
		return impact.Unmeasured(rules, c, a, now, noStoreCode, noStore)
	}
	return impact.Judge(ctx, store, rules, c, tools, a, now, o)
}
