//go:build e2e && perf

package e2e

// The performance tier (`make bench`, hack/bench.sh): the exporter binary
// against a kube-apiserver holding a large synthetic cluster, against
// Prometheus holding the webshop's 35-day history, and under 50 concurrent
// scrapers. It shares the e2e tier's servers and harness, so it lives in this
// package, behind the extra build tag perf: `go test -tags e2e` does not run
// it. Each test writes its figures as a section of docs/performance.md into
// $CAPABILITY_EXPORTER_PERF_DIR, and each target as a row of the summary;
// hack/bench.sh puts them together with the machine they ran on.

import (
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// perfDoc is one section of docs/performance.md.
type perfDoc struct {
	t       *testing.T
	file    string
	body    strings.Builder
	targets []string // rows of the summary table
}

// newPerfDoc starts section file (e.g. "20-kubernetes") with its heading;
// the section is written when the test ends, failed or not, so that a missed
// target still shows its figures.
func newPerfDoc(t *testing.T, file, title string) *perfDoc {
	d := &perfDoc{t: t, file: file}
	fmt.Fprintf(&d.body, "## %s\n\n", title)
	t.Cleanup(d.write)
	return d
}

// Para adds a paragraph.
func (d *perfDoc) Para(format string, args ...any) {
	fmt.Fprintf(&d.body, format+"\n\n", args...)
}

// Table adds a markdown table.
func (d *perfDoc) Table(header []string, rows [][]string) {
	d.body.WriteString("| " + strings.Join(header, " | ") + " |\n|")
	for range header {
		d.body.WriteString(" --- |")
	}
	d.body.WriteString("\n")
	for _, r := range rows {
		d.body.WriteString("| " + strings.Join(r, " | ") + " |\n")
	}
	d.body.WriteString("\n")
}

// Target records a target of the issue and whether this run met it. next
// says what to do about a miss; it is printed only then. A miss is a
// finding to publish, not a broken harness, so it does not fail the test;
// the harness fails on what makes a figure meaningless (a server that does
// not start, a cluster the exporter does not see whole).
func (d *perfDoc) Target(what, limit, got string, met bool, next string) {
	verdict := "met"
	if !met {
		verdict = "**missed**: " + next
		d.t.Logf("target missed: %s: %s (target %s)", what, got, limit)
	}
	row := fmt.Sprintf("| %s | %s | %s | %s |", what, limit, got, verdict)
	d.targets = append(d.targets, row)
	fmt.Fprintf(&d.body, "- Target — %s: %s; measured %s: %s.\n\n", what, limit, got, verdict)
}

func (d *perfDoc) write() {
	d.t.Logf("%s\n%s", d.file, d.body.String())
	dir := os.Getenv("CAPABILITY_EXPORTER_PERF_DIR")
	if dir == "" {
		return
	}
	if err := os.WriteFile(filepath.Join(dir, d.file+".md"), []byte(d.body.String()), 0o644); err != nil {
		d.t.Error(err)
	}
	if len(d.targets) > 0 {
		if err := os.WriteFile(filepath.Join(dir, d.file+".targets"), []byte(strings.Join(d.targets, "\n")+"\n"), 0o644); err != nil {
			d.t.Error(err)
		}
	}
}

// perfMetrics is one scrape of a process's /metrics, read by exact series.
type perfMetrics string

// perfScrape fetches url (a /metrics endpoint).
func perfScrape(t testing.TB, url string) perfMetrics {
	t.Helper()
	resp, err := testClient.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %v %s", url, err, resp.Status)
	}
	return perfMetrics(body)
}

// Value returns the series written exactly as given (labels in exposition
// order), NaN when absent.
func (m perfMetrics) Value(series string) float64 {
	if v, ok := kubeSeriesValue(string(m), series); ok {
		return v
	}
	return math.NaN()
}

// perfMemory is what a Go process reports of its memory.
type perfMemory struct{ heapInuse, rss float64 }

func (m perfMetrics) Memory() perfMemory {
	return perfMemory{heapInuse: m.Value("go_memstats_heap_inuse_bytes"), rss: m.Value("process_resident_memory_bytes")}
}

// mib formats bytes in MiB.
func mib(b float64) string { return fmt.Sprintf("%.1f MiB", b/(1<<20)) }

// kib formats bytes in KiB.
func kib(b float64) string { return fmt.Sprintf("%.1f KiB", b/(1<<10)) }

// ms formats a duration in milliseconds with two decimals.
func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond)) }

// percentile returns the p-th percentile (0..100) of ds by nearest rank.
func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := int(math.Ceil(p/100*float64(len(s)))) - 1
	return s[max(0, min(i, len(s)-1))]
}

// perfPool runs jobs on n workers and returns the first error of each
// failing job (up to 10), so a population of thousands of objects fails
// with a readable message rather than thousands.
func perfPool[J any](n int, jobs []J, run func(J) error) []error {
	var (
		mu   sync.Mutex
		errs []error
		wg   sync.WaitGroup
	)
	ch := make(chan J)
	for range n {
		wg.Go(func() {
			for j := range ch {
				if err := run(j); err != nil {
					mu.Lock()
					if len(errs) < 10 {
						errs = append(errs, err)
					}
					mu.Unlock()
				}
			}
		})
	}
	for _, j := range jobs {
		ch <- j
	}
	close(ch)
	wg.Wait()
	return errs
}
