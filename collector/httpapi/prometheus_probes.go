package httpapi

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"

	"github.com/capability-exporter/capability_exporter/collector/source"
	"github.com/capability-exporter/capability_exporter/scope"
	"github.com/capability-exporter/capability_exporter/triggers"
)

// No data is not zero. A Prometheus that answers an empty result may hold
// nothing because nothing happened, or because it could not have seen it:
// no alerting rule writes ALERTS into it, it serves no rules, or its data
// does not reach back over the window a query reads. The probes below tell
// these apart before an empty or windowed answer is trusted; where they
// cannot, the signal is unknown and the reason names the cause.
//
// Each probe is a cheap request, sent at most once per Collect and only
// when an answer depends on it, and shared by every signal that asks.

// reachSpan is how far before a window's start the reach probe looks for a
// sample: a series scraped at least hourly has one there if its data
// reaches back over the window.
const reachSpan = time.Hour

// gap is why an answer cannot be trusted; the zero gap means it can.
// failed marks a gap that is a failed probe, not a finding: the answer is
// then not kept for the slow cadence, so the next evaluation asks again.
// code, when set, is why in a word; else a failed probe reads source down
// and a finding no data.
type gap struct {
	why    string
	failed bool
	code   triggers.ReasonCode
}

func (g gap) found() bool { return g.why != "" }

func (g gap) reasonCode() triggers.ReasonCode {
	switch {
	case g.code != "":
		return g.code
	case g.failed:
		return triggers.CodeSourceDown
	}
	return triggers.CodeNoData
}

// setUnknown makes key unknown for g, as a failure when g failed; the
// failure itself was counted when its request failed.
func (r *run) setUnknown(key string, g gap) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.res.Values[key] = triggers.UnknownValue(g.reasonCode(), g.why, "")
	if g.failed {
		r.failed[key] = true
	}
}

// promProbes answers the probes of one Collect.
type promProbes struct {
	s   *Prometheus
	ctx context.Context
	r   *run
	now time.Time

	mu     sync.Mutex
	counts map[string]*probeOnce[countAnswer]
	rules  probeOnce[rulesAnswer]
}

type probeOnce[T any] struct {
	once sync.Once
	val  T
}

func (p *probeOnce[T]) get(fn func() T) T {
	p.once.Do(func() { p.val = fn() })
	return p.val
}

type countAnswer struct {
	found   bool   // the query returned a sample above 0
	failure string // why the probe could not be answered
}

type rulesAnswer struct {
	res      v1.RulesResult
	failure  string // why the rules API gave no answer
	notFound bool   // it answered 404: the server does not serve rules
}

func (s *Prometheus) newProbes(ctx context.Context, r *run, now time.Time) *promProbes {
	return &promProbes{s: s, ctx: ctx, r: r, now: now, counts: map[string]*probeOnce[countAnswer]{}}
}

// send runs one probe request, counting its failure as the source's error
// without making any signal unknown by itself; it returns the failure as a
// reason, or "" on success.
func (p *promProbes) send(what string, fn func(ctx context.Context) error) (failure string, status int) {
	var ex *exchange
	var err error
	ok := p.s.server.request(p.ctx, p.r, what, nil, func(ctx context.Context) error {
		ex, _ = ctx.Value(exchangeKey{}).(*exchange)
		err = fn(ctx)
		return err
	})
	if ok {
		return "", 0
	}
	if ex != nil {
		status = ex.status
	}
	if e := p.r.downed.Load(); e != nil && err == nil {
		return "not sent: the server is down (" + e.Error() + ")", status
	}
	if err == nil {
		// Never sent: the evaluation's deadline passed while it waited.
		err = p.ctx.Err()
	}
	if err == nil {
		err = errors.New("no answer")
	}
	return classify(what, ex, err).Error(), status
}

// count runs an instant query that counts something and says whether it
// found any.
func (p *promProbes) count(q string) countAnswer {
	p.mu.Lock()
	o := p.counts[q]
	if o == nil {
		o = &probeOnce[countAnswer]{}
		p.counts[q] = o
	}
	p.mu.Unlock()
	return o.get(func() countAnswer {
		var val model.Value
		what := fmt.Sprintf("probe %q", q)
		failure, _ := p.send(what, func(ctx context.Context) error {
			var err error
			val, _, err = p.s.api.Query(ctx, q, p.now, v1.WithTimeout(p.s.server.timeout))
			return err
		})
		if failure != "" {
			return countAnswer{failure: failure}
		}
		switch v := val.(type) {
		case model.Vector:
			for _, smp := range v {
				if smp.Value > 0 {
					return countAnswer{found: true}
				}
			}
		case *model.Scalar:
			return countAnswer{found: v.Value > 0}
		}
		return countAnswer{}
	})
}

// rulesAPI fetches /api/v1/rules once per Collect.
func (p *promProbes) rulesAPI() rulesAnswer {
	return p.rules.get(func() rulesAnswer {
		var res v1.RulesResult
		failure, status := p.send("rules API", func(ctx context.Context) error {
			var err error
			res, err = p.s.api.Rules(ctx, nil)
			return err
		})
		return rulesAnswer{res: res, failure: failure, notFound: status == 404}
	})
}

// notServed says why the rules API cannot tell "no such rule" from "rules
// kept elsewhere", or "" when it can: it answered with at least one group.
// An empty list is what a server answers that evaluates no rules itself:
// a Prometheus with no rule files, VictoriaMetrics without vmalert behind
// -vmalert.proxyURL, a backend whose alerting is managed in Grafana.
func (a rulesAnswer) notServed() string {
	switch {
	case a.notFound:
		return "the server does not serve the rules API (404): " + a.failure
	case a.failure != "":
		return a.failure
	case len(a.res.Groups) == 0:
		return "the rules API lists no rule group: this server evaluates no rules, or they are kept where it cannot show them " +
			"(Grafana-managed alerting, VictoriaMetrics without vmalert)"
	}
	return ""
}

// seconds writes a duration for a query: whole seconds read the same on
// every PromQL dialect.
func seconds(d time.Duration) string { return strconv.FormatInt(int64(d/time.Second), 10) + "s" }

// days writes a window for a reason.
func days(d time.Duration) string {
	if d%(24*time.Hour) == 0 {
		return strconv.Itoa(int(d/(24*time.Hour))) + "d"
	}
	return model.Duration(d).String()
}

// sparseMetrics have samples only while something is active, so their own
// absence before a window says nothing about the retention: ALERTS exists
// only while an alert is pending or firing.
var sparseMetrics = map[string]bool{"ALERTS": true, "ALERTS_FOR_STATE": true}

// selectorGap says why the data of one selector does not reach back over
// its lookback, or "" when it does: a sample of it exists in the hour
// before the oldest moment the query reads.
func (p *promProbes) selectorGap(sel scope.WindowedSelector) gap {
	if sel.Lookback <= 0 {
		return gap{}
	}
	if sparseMetrics[sel.Metric] {
		return p.retentionGap(sel.Lookback)
	}
	a := p.count(fmt.Sprintf("count(count_over_time(%s[%s] offset %s))", sel.Selector, seconds(reachSpan), seconds(sel.Lookback)))
	switch {
	case a.failure != "":
		return gap{why: "could not check that the data reaches back " + days(sel.Lookback) + ": " + a.failure, failed: true}
	case !a.found:
		return gap{why: fmt.Sprintf("%s has no sample from before %s ago: the data does not reach back over the window the query reads "+
			"(retention shorter than %s, or the series is younger)", sel.Selector, days(sel.Lookback), days(sel.Lookback)), code: triggers.CodeTooYoung}
	}
	return gap{}
}

// retentionGap says why the server's data does not reach back lookback, or
// "" when it does. up, which every scrape writes, shows the retention;
// where no up is kept (data written by remote write or backfill), an ALERTS
// sample older than the window shows it too.
func (p *promProbes) retentionGap(lookback time.Duration) gap {
	up := p.count(fmt.Sprintf("count(count_over_time(up[%s] offset %s))", seconds(reachSpan), seconds(lookback)))
	if up.found {
		return gap{}
	}
	alerts := p.count(fmt.Sprintf("count(count_over_time(ALERTS[%s] offset %s))", seconds(lookback), seconds(lookback)))
	switch {
	case alerts.found:
		return gap{}
	case up.failure != "":
		return gap{why: "could not check that the data reaches back " + days(lookback) + ": " + up.failure, failed: true}
	case alerts.failure != "":
		return gap{why: "could not check that the data reaches back " + days(lookback) + ": " + alerts.failure, failed: true}
	}
	return gap{why: fmt.Sprintf("neither up nor ALERTS has a sample from before %s ago: the data does not reach back over the %s window "+
		"(retention shorter than %s?)", days(lookback), days(lookback), days(lookback)), code: triggers.CodeTooYoung}
}

// queryGap says why a windowed query's answer cannot be trusted, or "".
// window, when set, is how far back the rule says the query reads; else
// each selector's own range and offset say it. A query the Prometheus
// parser cannot read (MetricsQL) shows neither its selectors nor how far
// back it reads: with a window declared, the server's retention is checked
// against it; without, the answer is unknown rather than trusted on a guess.
func (p *promProbes) queryGap(q string, window time.Duration) gap {
	sels, err := scope.PromQLSelectors(q, p.now)
	if err != nil {
		if window > 0 {
			return p.retentionGap(window)
		}
		return gap{why: fmt.Sprintf("cannot tell how far back the query reads: the Prometheus parser does not read it (%v); "+
			"declare the rule's window: (how far back its data must reach) to have it checked", err), code: triggers.CodeQueryFailed}
	}
	// Each selector's probe leaves at once: none waits for another's
	// answer, which it does not depend on. The first gap in the query's
	// order is the one named.
	gaps := make([]gap, len(sels))
	var wg sync.WaitGroup
	for i, sel := range sels {
		if window > 0 {
			sel.Lookback = window
		}
		wg.Go(func() { gaps[i] = p.gapSafely(func() gap { return p.selectorGap(sel) }) })
	}
	wg.Wait()
	for _, g := range gaps {
		if g.found() {
			return g
		}
	}
	return gap{}
}

// gapSafely runs a probe in a goroutine of its own: a panic there (a client
// library meeting an answer it did not expect) is counted and makes the
// answer it checks unknown, as in the query's own goroutine (spawn).
func (p *promProbes) gapSafely(fn func() gap) (g gap) {
	defer func() {
		if r := recover(); r != nil {
			e := source.Recovered("probe", r)
			p.r.fail(e)
			g = gap{why: e.Error(), failed: true, code: triggers.CodePanic}
		}
	}()
	return fn()
}

// alertingBlind says why an alert history that holds no firing alert
// cannot be read as "nothing fired", or "" when it can: an alerting rule is
// loaded that could fire the selector's alerts, or ALERTS series within the
// window show that alerts are written to this server.
func (p *promProbes) alertingBlind(selector string, window time.Duration) gap {
	rules := p.rulesAPI()
	rulesNote := ""
	if why := rules.notServed(); why != "" {
		rulesNote = why
	} else if n := matchingAlertingRules(rules.res, selector); n > 0 {
		return gap{}
	} else {
		rulesNote = fmt.Sprintf("none of the %d loaded alerting rules can fire %s", countAlertingRules(rules.res), selector)
	}
	alerts := p.count(fmt.Sprintf("count(count_over_time(ALERTS[%s]))", seconds(window)))
	switch {
	case alerts.found:
		return gap{}
	case alerts.failure != "":
		return gap{why: "no alerting rule seen (" + rulesNote + ") and could not look for ALERTS series: " + alerts.failure, failed: true}
	}
	return gap{why: fmt.Sprintf("no alerting rule loaded that can fire %s and no ALERTS series in the last %s: cannot tell no incident from no alerting (%s)",
		selector, days(window), rulesNote), failed: rules.failure != "" && !rules.notFound}
}

// checkWindow turns the known answers of a windowed query unknown when the
// data does not reach back over the window the query reads.
func (p *promProbes) checkWindow(q string, srs []source.SignalRequest) {
	for _, sr := range srs {
		p.r.mu.Lock()
		v := p.r.res.Values[sr.Key]
		p.r.mu.Unlock()
		if !v.Known {
			continue
		}
		if g := p.queryGap(q, time.Duration(sr.Spec.Prometheus.Window)); g.found() {
			p.r.setUnknown(sr.Key, g)
		}
	}
}

// setHistory answers the measures of one alert history. With no firing
// alert, the history counts as "nothing fired" only where the server could
// have seen an alert (alertingBlind). Where the data does not reach back
// over the window, the counts are lower bounds (they can prove "more
// than", never "fewer than"), the times to resolve are unknown (the
// incidents of the missing days could move them either way), and the
// alerts open now are still exact.
//
// regroup summarizes the history again for a rule that groups incidents by
// other labels than the default.
func (p *promProbes) setHistory(selector string, window time.Duration, srs []source.SignalRequest, h alertHistory,
	regroup func(by []model.LabelName) alertHistory) {
	unknown := func(key string, g gap) {
		g.why = "alert history of " + selector + ": " + g.why
		p.r.setUnknown(key, g)
	}
	var blind, partial gap
	if h.Series == 0 {
		blind = p.alertingBlind(selector, window)
	}
	if !blind.found() {
		partial = p.retentionGap(window)
	}
	for _, sr := range srs {
		measure := sr.Spec.Prometheus.AlertHistory.Measure
		hs := h
		if by := sr.Spec.Prometheus.AlertHistory.GroupBy; len(by) > 0 {
			names := make([]model.LabelName, len(by))
			for i, l := range by {
				names[i] = model.LabelName(l)
			}
			hs = regroup(names)
		}
		v, err := hs.measure(measure)
		switch {
		case blind.found():
			unknown(sr.Key, blind)
		case partial.found() && measure != "incidents" && measure != "alerts_per_day" && measure != "open_incidents":
			unknown(sr.Key, partial)
		case err != nil:
			unknown(sr.Key, gap{why: err.Error()})
		case !partial.found() || measure == "open_incidents":
			p.r.set(sr.Key, triggers.KnownValue(v, ""))
		default:
			lb := triggers.KnownValue(v, "")
			lb.LowerBound = true
			p.r.set(sr.Key, lb)
			if partial.failed {
				p.r.setFailedKeep(sr.Key)
			}
		}
	}
}

// setFailedKeep marks key's value as coming from a failed probe without
// changing it, so that it is not kept for the slow cadence.
func (r *run) setFailedKeep(key string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.failed[key] = true
}
