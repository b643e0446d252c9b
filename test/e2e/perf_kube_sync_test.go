//go:build e2e && perf

package e2e

import (
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"
)

// Where the time to a complete first answer goes: the exporter's own log
// (when main started, when the first evaluation was published) and the
// requests the counting proxy saw, each placed on one clock that starts
// when the exporter's process is started.

var perfLogTimeRE = regexp.MustCompile(`(?m)^time=(\S+) .*msg="?([^"=]+?)"? (?:\S+=|$)`)

// perfLogTimes returns when the exporter logged each message the first time.
func perfLogTimes(logs string) map[string]time.Time {
	out := map[string]time.Time{}
	for _, m := range perfLogTimeRE.FindAllStringSubmatch(logs, -1) {
		at, err := time.Parse(time.RFC3339Nano, m[1])
		if err != nil {
			continue
		}
		msg := strings.TrimSpace(m[2])
		if _, seen := out[msg]; !seen {
			out[msg] = at
		}
	}
	return out
}

// perfResourceSync is what one resource's initial sync cost.
type perfResourceSync struct {
	path                      string
	streaming, pages, watches int
	firstStart, lastListEnd   time.Duration
	listTime                  time.Duration // the pages' times added up: they are sequential
	streamStatus              []string      // each streaming list's answer: status and time
}

// perfSyncBreakdown places the sync's requests on the clock of started.
func perfSyncBreakdown(reqs []*perfRequest, started, until time.Time) (first time.Duration, version time.Duration, res []*perfResourceSync) {
	by := map[string]*perfResourceSync{}
	first = -1
	for _, r := range reqs {
		if r.Start.After(until) {
			continue
		}
		at := r.Start.Sub(started)
		if first < 0 || at < first {
			first = at
		}
		if r.Path == "/version" {
			if version == 0 {
				version = at + r.Duration()
			}
			continue
		}
		q, _ := url.ParseQuery(r.RawQuery)
		rs := by[r.Path]
		if rs == nil {
			rs = &perfResourceSync{path: r.Path, firstStart: at}
			by[r.Path] = rs
		}
		rs.firstStart = min(rs.firstStart, at)
		switch {
		case q.Get("watch") == "true" && q.Get("sendInitialEvents") == "true":
			rs.streaming++
			answer := fmt.Sprintf("%d, ended after %s", r.Status, ms(r.Duration()))
			if r.end.Load() == 0 {
				answer = fmt.Sprintf("%d, still open", r.Status)
			}
			rs.streamStatus = append(rs.streamStatus, answer)
		case q.Get("watch") == "true" || q.Get("watch") == "1":
			rs.watches++
		default:
			rs.pages++
			rs.listTime += r.Duration()
			rs.lastListEnd = max(rs.lastListEnd, at+r.Duration())
		}
	}
	for _, rs := range by {
		res = append(res, rs)
	}
	slices.SortFunc(res, func(a, b *perfResourceSync) int { return int(b.lastListEnd - a.lastListEnd) })
	return first, version, res
}

// perfSyncSection writes the breakdown of the time to a complete first
// answer into the doc.
func perfSyncSection(doc *perfDoc, e *exporter, proxy *perfProxy, started time.Time, ready time.Duration, firstEval time.Duration, cpu float64) time.Duration {
	logs := perfLogTimes(e.Logs())
	published := time.Duration(-1)
	if at, ok := logs["Evaluated"]; ok {
		published = at.Sub(started)
	}
	until := started.Add(ready)
	first, version, res := perfSyncBreakdown(proxy.Requests(), started, until)
	var lastList time.Duration
	for _, rs := range res {
		lastList = max(lastList, rs.lastListEnd)
	}
	off := func(d time.Duration) string {
		if d < 0 {
			return "?"
		}
		return ms(d)
	}
	lastPage := off(lastList)
	if lastList == 0 {
		lastPage = "no page: every list streamed"
	}
	mainAt := time.Duration(-1)
	if at, ok := logs["Starting capability_exporter"]; ok {
		mainAt = at.Sub(started)
	}
	doc.Para("The exporter on the 15,751-object cluster above, from the start of its process until its first evaluation is published with every informer synced. (An earlier version of this page said 4.2 s: its clock ran while the test built the exporter binary, 3.4 s of `go build`; the binary is now built before the clock starts.)")
	doc.Para("Where the time to a complete first answer goes, on one clock that starts when the test starts the exporter's process (the exporter's log times are to the millisecond; the requests are those the counting proxy saw):")
	doc.Table([]string{"step", "at"}, [][]string{
		{"the process starts (exec)", "0"},
		{"`main` logs that it starts (process start, flags, logger)", off(mainAt)},
		{"first request to the API server (config and rules loaded, clients built, informers started)", off(first)},
		{"the reachability check (GET /version) answered", off(version)},
		{"the last page of the initial lists answered (every informer holds its objects)", lastPage},
		{"first evaluation published (its log line)", off(published)},
		{"/-/ready answers 200, as the harness's poll (every 100 ms) saw it", ms(ready)},
		{"CPU the exporter used until then (`process_cpu_seconds_total`)", fmt.Sprintf("%.0f ms", cpu*1000)},
	})
	doc.Para("The first evaluation itself logged %s: it starts the informers, waits for their initial sync (checked every 5 ms) and counts.", ms(firstEval))
	perfSyncLists(doc, res, off)
	var earliest, latest time.Duration = -1, 0
	for _, rs := range res {
		if earliest < 0 || rs.firstStart < earliest {
			earliest = rs.firstStart
		}
		latest = max(latest, rs.firstStart)
	}
	doc.Para("All informers start together: their first requests left within %s of each other, %s after the process started, so the order they start in does not matter. The harness's poll of `/-/ready` saw the first evaluation published %s later.",
		ms(latest-earliest), off(earliest), off(ready-published))
	doc.Para(perfSyncKept)
	doc.Para(perfSyncTried)
	return published
}

// perfSyncLists says how each informer's initial list was served in this
// run: streamed (a watch that sends the current objects first) or paged.
func perfSyncLists(doc *perfDoc, res []*perfResourceSync, off func(time.Duration) string) {
	var rows, streams [][]string
	streamed, paged := 0, 0
	for _, rs := range res {
		if rs.pages == 0 && rs.streaming == 0 {
			continue
		}
		if rs.pages > 0 {
			paged++
		} else {
			streamed++
		}
		answers := fmt.Sprintf("%d (%s)", rs.streaming, strings.Join(rs.streamStatus, ", "))
		rows = append(rows, []string{"`" + rs.path + "`", answers, fmt.Sprint(rs.pages), ms(rs.listTime), off(rs.firstStart), off(rs.lastListEnd)})
		streams = append(streams, []string{"`" + rs.path + "`", answers, off(rs.firstStart)})
	}
	etcd := perfEtcdVersion(doc.t)
	if paged == 0 {
		doc.Para("Each informer asks for a streaming list: a watch that sends the objects of the API server's watch cache first, then a bookmark that marks their end, and stays open as the informer's watch. It asks for a consistent read: the API server first has etcd confirm that its cache is fresh. On etcd %s every one of the %d delivered its objects and no page was listed; the proxy sees each as one request still open, so it cannot say when its objects ended (the first evaluation's sync above does):", etcd, streamed)
		doc.Table([]string{"resource", "streaming lists asked (answer)", "asked at"}, streams)
		return
	}
	doc.Para("Each informer asks for a streaming list first: a watch that sends the current objects first, from the API server's watch cache. On etcd %s, %d of %d resources went on to list page by page (500 objects a page, at the latest version): those pages are read from etcd, not from the watch cache, which serves consistent reads only on an etcd with the progress notifications Kubernetes needs (3.4.31, 3.5.13 and later). Per resource, sorted by when its last page was answered:", etcd, paged, paged+streamed)
	doc.Table([]string{"resource", "streaming lists asked (answer)", "list pages (500 objects each)", "pages' time, added up", "first request at", "last page answered at"}, rows)
}

// perfSyncKept is what was kept to answer sooner, with its trial's figures.
const perfSyncKept = "What was kept, and why (figures of its trial, on 2 busy cores, not of this run): the exporter asks for its watches, and so for the initial streaming lists, uncompressed. A CPU profile of the exporter during the initial sync showed it unpacking gzip: the API server compresses a watch event by event and flushes after each, on the same two cores the exporter, the API server and etcd share. Seven starts each, alternating on one cluster: median 1.93 s uncompressed against 2.46 s compressed, uncompressed the faster in all seven. The price is bytes on the wire: the initial sync receives about eight times what it did compressed (see the Kubernetes section), once, at start, on the cluster's network. Per resource, the exporter's debug log says how long each initial sync took: the 5,000 Deployments, the largest objects, are the last to arrive, as they are kube-state-metrics' slowest list."

// perfSyncTried is what was tried to answer sooner and not kept, with the
// figures of the trials (not of this run).
const perfSyncTried = "Ways to read the initial lists faster tried on this cluster and not kept (figures of those trials, on 2 busy cores, not of this run). " +
	"On etcd 3.6, where every list streams: asking the first streaming list of each informer at resourceVersion 0, the watch cache as it stands, as kube-state-metrics asks for its lists, instead of a consistent read: five starts each, alternating on one cluster, answered in 1,639 to 2,892 ms (median 1,988 ms) consistent and 1,734 to 3,111 ms (median 2,129 ms) at 0, with the same CPU and heap, so what the consistent read waits for is lost in the noise and the consistent read stays. " +
	"Forcing a garbage collection once the first sync is complete: the heap after sync was no smaller (26 and 29 MiB against 24 and 26 MiB), as what it holds then is live, the informers' reduced objects and the first evaluation. " +
	"On etcd 3.4, which pages: pages of 1,000 objects instead of 500 took five pages for the Deployments instead of ten and no less time, as the time goes into the objects, not the requests; " +
	"asking for the first page at resourceVersion 0, the API server answers from its watch cache but whole, ignoring the page size, so the sync held every object of every resource at once (138 MiB of Go heap, over the 64 MiB target) and was no faster; " +
	"asking for the pages at exactly the version a one-object list had just returned, the API server still read them from etcd. " +
	"The informers all start together (see above), so their order does not matter, and each object is reduced as it is decoded, before the informer stores it."
