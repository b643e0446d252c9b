package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/capability-exporter/capability_exporter/collector"
	"github.com/capability-exporter/capability_exporter/collector/source"
	"github.com/capability-exporter/capability_exporter/config"
	"github.com/capability-exporter/capability_exporter/report"
)

// liveOutput serves the quick start's config through the server's own
// endpoints after one evaluation, and returns its JSON document and the
// metric families of /metrics.
func liveOutput(t *testing.T) (map[string]any, map[string]*dtoFamily) {
	t.Helper()
	cfg, err := config.Load(filepath.Join("..", "..", "examples", "webshop.yml"))
	if err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.DiscardHandler)
	sched := collector.NewScheduler(cfg, time.Minute, logger)
	t.Cleanup(sched.Close)
	// As the server runs it: Run evaluates once at start, then on the
	// interval.
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	go sched.Run(ctx, time.Hour)
	for deadline := time.Now().Add(30 * time.Second); sched.Current() == nil; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("no evaluation within 30s")
		}
	}
	srv := httptest.NewServer(newMux(sched, "/metrics", true, http.NotFoundHandler(), logger))
	t.Cleanup(srv.Close)

	get := func(path string) []byte {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %d %v", path, resp.StatusCode, err)
		}
		return body
	}
	var doc map[string]any
	if err := json.Unmarshal(get(report.APIPath), &doc); err != nil {
		t.Fatal(err)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(strings.NewReader(string(get("/metrics"))))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]*dtoFamily{}
	for name, f := range fams {
		labels := map[string]bool{}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = true
			}
		}
		out[name] = &dtoFamily{labels: labels}
	}
	return doc, out
}

type dtoFamily struct{ labels map[string]bool }

// keyPaths lists every key of a JSON value as a path: capabilities[].id.
func keyPaths(v any, prefix string, into map[string]bool) {
	switch v := v.(type) {
	case map[string]any:
		for k, sub := range v {
			into[prefix+k] = true
			keyPaths(sub, prefix+k+".", into)
		}
	case []any:
		for _, sub := range v {
			keyPaths(sub, strings.TrimSuffix(prefix, ".")+"[].", into)
		}
	}
}

var codeSpanRE = regexp.MustCompile("`([^`]+)`")

// docs/api.md against the live JSON: every field its tables name exists
// where the table says, every field the document has is in a table, and the
// excerpt's names are the live document's.
func TestAPIDocMatchesLiveJSON(t *testing.T) {
	doc, _ := liveOutput(t)
	live := map[string]bool{}
	keyPaths(doc, "", live)
	data, err := os.ReadFile(filepath.Join("..", "..", "docs", "api.md"))
	if err != nil {
		t.Fatal(err)
	}
	text := string(data)

	// Field tables, by heading.
	prefixes := map[string]string{
		"Document": "", "Source": "sources[].", "Capability": "capabilities[].",
		"Condition": "capabilities[].conditions[].", "Change": "capabilities[].what_would_change[].",
	}
	objects := map[string]string{"Tool": "tools[].", "Foundation": "foundations[].", "Signal": "signals[]."}
	documented := map[string]bool{}
	section := ""
	for _, line := range strings.Split(text, "\n") {
		if h, ok := strings.CutPrefix(line, "### "); ok {
			section = h
			continue
		}
		if h, ok := strings.CutPrefix(line, "## "); ok {
			section = h
			continue
		}
		cells := strings.Split(line, "|")
		if len(cells) < 4 || strings.HasPrefix(strings.TrimSpace(cells[1]), "---") {
			continue
		}
		if prefix, ok := prefixes[section]; ok {
			for _, m := range codeSpanRE.FindAllStringSubmatch(cells[1], -1) {
				path := prefix + m[1]
				documented[path] = true
				if !live[path] {
					t.Errorf("docs/api.md, %s: field %s is not in the live document", section, path)
				}
			}
		}
		if section == "Tool, Foundation, Signal" {
			if prefix, ok := objects[strings.TrimSpace(cells[1])]; ok {
				// Field names and values share the cell; every live field
				// must be named there.
				for _, m := range codeSpanRE.FindAllStringSubmatch(cells[2], -1) {
					documented[prefix+m[1]] = true
				}
			}
		}
	}
	var undocumented []string
	for path := range live {
		parent := path[:strings.LastIndex(path, ".")+1]
		_, table := prefixes[tableOf(prefixes, parent)]
		inObjects := slices.Contains([]string{"tools[].", "foundations[].", "signals[]."}, parent)
		if (table || inObjects) && !documented[path] {
			undocumented = append(undocumented, path)
		}
	}
	sort.Strings(undocumented)
	for _, p := range undocumented {
		t.Errorf("the live document has %s, which docs/api.md does not describe", p)
	}

	// The excerpt: its names are the live document's, and its signals the
	// rules'.
	blocks := 0
	for _, part := range strings.Split(text, "```json\n")[1:] {
		block, _, _ := strings.Cut(part, "```")
		blocks++
		var ex any
		if err := json.Unmarshal([]byte(block), &ex); err != nil {
			t.Fatalf("docs/api.md JSON example: %v", err)
		}
		paths := map[string]bool{}
		keyPaths(ex, "", paths)
		for p := range paths {
			if !live[p] {
				t.Errorf("docs/api.md example has %s, which the live document lacks", p)
			}
		}
	}
	if blocks == 0 {
		t.Error("docs/api.md has no JSON example")
	}

	// Signal names in code spans (`incident_mttr_seconds > 1h`, and the jq
	// examples' fields) exist.
	cfg, err := config.Load(filepath.Join("..", "..", "examples", "webshop.yml"))
	if err != nil {
		t.Fatal(err)
	}
	condRE := regexp.MustCompile(`^([a-z][a-z0-9_]*) (>|>=|<|<=|==|!=|would need) `)
	for _, m := range codeSpanRE.FindAllStringSubmatch(text, -1) {
		if c := condRE.FindStringSubmatch(m[1]); c != nil && cfg.Rules.Signal(c[1]) == nil {
			t.Errorf("docs/api.md names signal %s (%q), which the default rules lack", c[1], m[1])
		}
	}
	fieldRE := regexp.MustCompile(`\.([a-z_]+)`)
	liveNames := map[string]bool{}
	for p := range live {
		liveNames[p[strings.LastIndex(p, ".")+1:]] = true
	}
	for _, line := range strings.Split(text, "\n") {
		if !strings.HasPrefix(line, "curl ") {
			continue
		}
		_, jq, _ := strings.Cut(line, "jq")
		for _, m := range fieldRE.FindAllStringSubmatch(jq, -1) {
			if !liveNames[m[1]] {
				t.Errorf("docs/api.md example %q reads .%s, which the live document lacks", line, m[1])
			}
		}
	}
}

// tableOf maps a parent path to the table heading whose prefix it is.
func tableOf(prefixes map[string]string, parent string) string {
	for h, p := range prefixes {
		if p == parent {
			return h
		}
	}
	return ""
}

// docs/metrics.md's metric table against the live /metrics: every metric
// it lists is served with the labels it names, and every capability metric
// served is listed.
func TestMetricsDocMatchesLiveMetrics(t *testing.T) {
	_, fams := liveOutput(t)
	data, err := os.ReadFile(filepath.Join("..", "..", "docs", "metrics.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, table, ok := strings.Cut(string(data), "## Metrics reference")
	if !ok {
		t.Fatal("docs/metrics.md has no Metrics reference")
	}
	table, _, _ = strings.Cut(table, "\n## ")
	listed := map[string]bool{}
	for _, line := range strings.Split(table, "\n") {
		cells := strings.Split(line, "|")
		if len(cells) < 4 {
			continue
		}
		m := codeSpanRE.FindStringSubmatch(cells[1])
		if m == nil {
			continue
		}
		name := m[1]
		listed[name] = true
		f := fams[name]
		if f == nil {
			t.Errorf("docs/metrics.md lists %s, which /metrics does not serve", name)
			continue
		}
		open := strings.Contains(cells[2], "…")
		want := map[string]bool{}
		for _, l := range strings.Split(strings.ReplaceAll(cells[2], "…", ""), ",") {
			if l = strings.TrimSpace(l); l != "" {
				want[l] = true
			}
		}
		for l := range want {
			if !f.labels[l] {
				t.Errorf("docs/metrics.md: %s has label %s, which the live series lack", name, l)
			}
		}
		if !open {
			for l := range f.labels {
				if !want[l] {
					t.Errorf("docs/metrics.md: %s lacks label %s, which the live series carry", name, l)
				}
			}
		}
	}
	for name := range fams {
		if strings.HasPrefix(name, "capability_") && !listed[name] {
			t.Errorf("/metrics serves %s, which docs/metrics.md's table does not list", name)
		}
	}
}

// docs/assess.md's example is what the command prints: tools/gendocs
// evaluates its config as assess does, and this runs the command itself on
// that config and finds the same stderr lines and exit code, and each line
// of the example record in the command's record, in order (the lines that
// hold a time or a duration aside, which gendocs normalises).
func TestAssessDocExampleIsWhatTheCommandPrints(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "..", "docs", "assess.md"))
	if err != nil {
		t.Fatal(err)
	}
	doc := string(data)
	_, stderrBlock, ok := strings.Cut(doc, "<!-- generated: example stderr")
	if !ok {
		t.Fatal("docs/assess.md has no generated example stderr")
	}
	intro, rest, _ := strings.Cut(stderrBlock, "```text\n")
	wantStderr, _, _ := strings.Cut(rest, "```")
	_, recordBlock, ok := strings.Cut(doc, "````markdown\n")
	if !ok {
		t.Fatal("docs/assess.md has no example record")
	}
	wantRecord, _, _ := strings.Cut(recordBlock, "````")

	// As the doc runs it, from the repository root.
	t.Chdir(filepath.Join("..", ".."))
	code, record, stderr := runAssess(t, "--config.file=tools/gendocs/testdata/assess.yml", "--fail-on-unknown")
	if !strings.Contains(intro, fmt.Sprintf("exits %d", code)) {
		t.Errorf("assess exits %d; docs/assess.md says %q", code, strings.TrimSpace(intro))
	}
	resolver := regexp.MustCompile(`(lookup \S+) on [^\s:]+:\d+`)
	if got := resolver.ReplaceAllString(stderr, "$1"); got != wantStderr {
		t.Errorf("assess writes to stderr:\n%s\ndocs/assess.md shows:\n%s\nrun `go run ./tools/gendocs`", got, wantStderr)
	}
	varying := regexp.MustCompile(`\d{4}-\d\d-\d\d|\d+(\.\d+)?(ms|µs|s)\b|under 1ms`)
	lines := strings.Split(record, "\n")
	i := 0
	for _, want := range strings.Split(wantRecord, "\n") {
		if want == "" || strings.HasPrefix(want, "[… ") || varying.MatchString(want) {
			continue
		}
		for i < len(lines) && lines[i] != want {
			i++
		}
		if i == len(lines) {
			t.Errorf("docs/assess.md's example record has %q, which the command's record lacks (or has out of order); run `go run ./tools/gendocs`", want)
			return
		}
	}
}

// docs/commands.md names every flag of every command.
func TestCommandsDocListsEveryFlag(t *testing.T) {
	// kingpin writes the long help to os.Stdout itself.
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout := os.Stdout
	os.Stdout = w
	var out, errOut bytes.Buffer
	run([]string{"--help-long"}, &out, &errOut)
	os.Stdout = stdout
	w.Close()
	help, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	text := string(help) + out.String() + errOut.String()
	flags := regexp.MustCompile(`--(?:\[no-\])?([a-z][a-z.-]*)`).FindAllStringSubmatch(text, -1)
	if len(flags) < 10 {
		t.Fatalf("--help-long lists %d flags:\n%s", len(flags), text)
	}
	data, err := os.ReadFile(filepath.Join("..", "..", "docs", "commands.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range flags {
		name := f[1]
		if strings.HasPrefix(name, "help") {
			continue
		}
		if !regexp.MustCompile("`(?:[^`]*[ \\[])?--" + regexp.QuoteMeta(name) + "(?:[=\\]` ]|$)").Match(data) {
			t.Errorf("docs/commands.md does not name --%s", name)
		}
	}
}

// docs/sources.md names exactly the reasons the sources count their errors
// by.
func TestSourcesDocListsTheErrorReasons(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "..", "docs", "sources.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, list, ok := strings.Cut(string(data), "counts it by\nreason:")
	if !ok {
		t.Fatal(`docs/sources.md has no "counts it by reason:" list`)
	}
	list, _, _ = strings.Cut(list, "Each configured source's")
	// Only the reasons' own code spans, not those of their explanations.
	list = regexp.MustCompile(`\([^)]*\)`).ReplaceAllString(list, "")
	listed := map[string]bool{}
	for _, m := range codeSpanRE.FindAllStringSubmatch(list, -1) {
		listed[m[1]] = true
	}
	counted := map[string]bool{}
	for _, kind := range []string{"fact", "prometheus", "loki", "kubernetes"} {
		for _, r := range source.KindReasons(kind) {
			counted[string(r)] = true
		}
	}
	for r := range counted {
		if !listed[r] {
			t.Errorf("docs/sources.md does not list reason %s", r)
		}
	}
	for r := range listed {
		if !counted[r] {
			t.Errorf("docs/sources.md lists reason %s, which no source counts", r)
		}
	}
}
