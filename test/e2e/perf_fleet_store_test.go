//go:build e2e && perf

package e2e

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// The fleet's store: each cluster's webshop history with its own
// differences, labelled with its cluster and backfilled into one
// Prometheus; the truth each cluster's exporter must read; and what the
// store serves, counted in samples.

// fleetShop is cluster i's webshop: the e2e tier's history, with i%5 of the
// paging incidents of the last 29 days left out, i%3 incidents of its own
// added, and the frontend scaled to 2+i%4 replicas ten days ago instead of 4.
func fleetShop(i int, end time.Time) *webshop {
	w := newWebshop(end)
	drop := i % 5
	var kept []alertRun
	for _, r := range w.Alerts {
		if drop > 0 && isPaging(r.labels) && !r.resolved.IsZero() && r.start.After(w.End.Add(-29*shopDay)) {
			drop--
			continue
		}
		kept = append(kept, r)
	}
	for k := range i % 3 {
		start := w.End.Add(-time.Duration(3+2*k)*shopDay + 7*time.Hour).Add(alertEvalOffset)
		kept = append(kept, alertRun{start: start, resolved: start.Add(time.Duration(20+5*i) * time.Minute),
			labels: map[string]string{"alertname": "NodePressure", "severity": "critical", "namespace": "kube-system"}})
	}
	w.Alerts = kept
	w.Deployments[0].replicas[1].replicas = 2 + i%4
	return w
}

// clusterLabeller adds cluster="name" to every sample line of an
// OpenMetrics stream (every webshop series has labels).
type clusterLabeller struct {
	out  *bufio.Writer
	pre  []byte
	line []byte
}

func (c *clusterLabeller) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			c.line = append(c.line, p...)
			break
		}
		c.line = append(c.line, p[:i+1]...)
		p = p[i+1:]
		if c.line[0] != '#' {
			if j := bytes.IndexByte(c.line, '{'); j >= 0 {
				c.out.Write(c.line[:j+1])
				c.out.Write(c.pre)
				c.out.Write(c.line[j+1:])
				c.line = c.line[:0]
				continue
			}
		}
		c.out.Write(c.line)
		c.line = c.line[:0]
	}
	return n, nil
}

// fleetBackfill writes each cluster's history and backfills it into
// dataDir, two clusters at a time: one block per cluster, overlapping in
// time, which Prometheus reads together (and compacts in the background).
func fleetBackfill(promtool, tmp string, shops []*webshop, dataDir string) (bytesWritten int64, err error) {
	var total atomic.Int64
	clusters := make([]int, len(shops))
	for i := range clusters {
		clusters[i] = i
	}
	errs := perfPool(2, clusters, func(i int) error {
		w := shops[i]
		path := filepath.Join(tmp, fleetName(i)+".om")
		f, err := os.Create(path)
		if err != nil {
			return err
		}
		bw := bufio.NewWriterSize(f, 1<<20)
		if err := w.WriteOpenMetrics(&clusterLabeller{out: bw, pre: []byte(fmt.Sprintf("cluster=%q,", fleetName(i)))}); err != nil {
			return err
		}
		if err := bw.Flush(); err != nil {
			return err
		}
		if err := f.Close(); err != nil {
			return err
		}
		st, _ := os.Stat(path)
		total.Add(st.Size())
		defer os.Remove(path)
		if out, err := exec.Command(promtool, "tsdb", "create-blocks-from", "openmetrics", "--max-block-duration=960h", "--quiet", path, dataDir).CombinedOutput(); err != nil {
			return fmt.Errorf("%s: promtool: %w\n%s", fleetName(i), err, out)
		}
		return nil
	})
	if len(errs) > 0 {
		return total.Load(), errs[0]
	}
	return total.Load(), nil
}

// samplesProxy sits in front of Prometheus and asks it for query stats on
// every query (stats=all), so that it counts the samples each answer read
// (totalQueryableSamples); the exporter's client ignores the extra field.
type samplesProxy struct {
	URL     string
	samples atomic.Int64
	queries atomic.Int64
}

func newSamplesProxy(t *testing.T, target string) *samplesProxy {
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	p := &samplesProxy{}
	rp := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(u)
			// Answers uncompressed, to read their stats.
			r.Out.Header.Del("Accept-Encoding")
			if strings.HasPrefix(r.In.URL.Path, "/api/v1/query") {
				q := r.Out.URL.Query()
				q.Set("stats", "all")
				r.Out.URL.RawQuery = q.Encode()
			}
		},
		ModifyResponse: func(resp *http.Response) error {
			if !strings.HasPrefix(resp.Request.URL.Path, "/api/v1/query") {
				return nil
			}
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil {
				return err
			}
			var ans struct {
				Data struct {
					Stats struct {
						Samples struct {
							TotalQueryableSamples int64 `json:"totalQueryableSamples"`
						} `json:"samples"`
					} `json:"stats"`
				} `json:"data"`
			}
			if json.Unmarshal(body, &ans) == nil {
				p.samples.Add(ans.Data.Stats.Samples.TotalQueryableSamples)
				p.queries.Add(1)
			}
			resp.Body = io.NopCloser(bytes.NewReader(body))
			resp.ContentLength = int64(len(body))
			resp.Header.Del("Content-Length")
			return nil
		},
	}
	srv := httptest.NewServer(rp)
	t.Cleanup(srv.Close)
	p.URL = srv.URL
	return p
}

// fleetTruth is what cluster i's exporter must read from the store.
func fleetTruth(w *webshop, at time.Time, microservices int) map[string][2]float64 {
	windowEnd := at.Truncate(historyStep)
	crit := w.incidents(isPaging, windowEnd, 30*shopDay)
	crit7 := w.incidents(isPaging, windowEnd, 7*shopDay)
	cpuNow, memNow := w.requestsOver(w.End, shopDay)
	cpuThen, memThen := w.requestsOver(w.End.Add(-30*shopDay), shopDay)
	traffic := w.requestIncrease(w.End, shopDay)/w.requestIncrease(w.End.Add(-28*shopDay), shopDay) - 1
	return map[string][2]float64{ // value, tolerance
		"critical_incidents":      {float64(crit.Incidents), 0},
		"incident_mttr_seconds":   {crit.median().Seconds(), historyTolSecs},
		"critical_alerts_per_day": {float64(crit7.Started) / 7, 1e-9},
		"paging_alert_share":      {w.pagingShare(at, 30*shopDay), 1e-9},
		"cost_growth_ratio":       {(cpuNow/cpuThen+memNow/memThen)/2 - 1, 1e-9},
		"traffic_growth_ratio":    {traffic, 1e-4},
		"microservices":           {float64(microservices), 0},
	}
}

// procMemory returns a process's resident and peak resident bytes (VmRSS,
// VmHWM), NaN where /proc does not say.
func procMemory(pid int) (rss, hwm float64) {
	rss, hwm = math.NaN(), math.NaN()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return
	}
	for _, l := range strings.Split(string(b), "\n") {
		var kb float64
		if _, err := fmt.Sscanf(l, "VmRSS: %g kB", &kb); err == nil {
			rss = kb * 1024
		}
		if _, err := fmt.Sscanf(l, "VmHWM: %g kB", &kb); err == nil {
			hwm = kb * 1024
		}
	}
	return
}
