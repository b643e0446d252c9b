// The tests here read every dashboard as Grafana 10 would import it and
// check what a user relies on: every panel says what it shows and in which
// unit, uses the datasource variable, selects by cluster, job and instance,
// reads only metrics the exporter (or Prometheus) exports, and shows unknown
// as unknown. test/e2e runs every query against a real Prometheus.

package dashboards

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	versioncollector "github.com/prometheus/client_golang/prometheus/collectors/version"

	"github.com/capability-exporter/capability_exporter/collector"
	"github.com/capability-exporter/capability_exporter/triggers"
)

func loadDashboards(t *testing.T) map[string]Dashboard {
	t.Helper()
	ds, err := Load(".")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]Dashboard{}
	var files []string
	for _, d := range ds {
		out[d.File] = d
		files = append(files, d.File)
	}
	if len(files) < 4 {
		t.Fatalf("want the decision board, capability detail, exporter health and fleet dashboards, found %v", files)
	}
	return out
}

func TestDashboardsAreImportable(t *testing.T) {
	uids := map[string]string{}
	for file, d := range loadDashboards(t) {
		if d.UID == "" || d.Title == "" || d.Description == "" {
			t.Errorf("%s: want uid, title and description, got %q, %q, %q", file, d.UID, d.Title, d.Description)
		}
		if other, dup := uids[d.UID]; dup {
			t.Errorf("%s: uid %q already used by %s", file, d.UID, other)
		}
		uids[d.UID] = file
		if d.SchemaVersion < 36 {
			t.Errorf("%s: schemaVersion %d predates Grafana 10 (want >= 36)", file, d.SchemaVersion)
		}
		if !slices.Contains(d.Tags, "capability_exporter") {
			t.Errorf("%s: want the tag capability_exporter, which the dashboards' links use", file)
		}
		vars := map[string]Variable{}
		for _, v := range d.Templating.List {
			vars[v.Name] = v
		}
		if ds, ok := vars["datasource"]; !ok || ds.Type != "datasource" || !strings.Contains(string(ds.Query), "prometheus") {
			t.Errorf("%s: want a datasource variable of type datasource querying prometheus, got %+v", file, ds)
		}
		for _, name := range []string{"cluster", "job", "instance"} {
			v, ok := vars[name]
			if !ok {
				t.Errorf("%s: missing the %s variable", file, name)
				continue
			}
			if v.Type != "query" || !isDatasourceVar(v.Datasource) {
				t.Errorf("%s: variable %s: want a query on ${datasource}", file, name)
			}
		}
		// Clusters without a cluster label must still see their data: the
		// cluster variable's All is .*, which matches an absent label. Its
		// values are the clusters that run an exporter, and several may be
		// chosen at once to compare them.
		if c := vars["cluster"]; !c.IncludeAll || c.AllValue != ".*" || !c.Multi {
			t.Errorf("%s: variable cluster: want multi and includeAll with allValue .* so series without a cluster label match", file)
		}
		if q := vars["cluster"].QueryText(); q != "label_values(capability_exporter_build_info, cluster)" {
			t.Errorf("%s: variable cluster queries %q, want label_values(capability_exporter_build_info, cluster)", file, q)
		}
		for _, v := range d.Templating.List {
			if v.Type != "query" {
				continue
			}
			if !isDatasourceVar(v.Datasource) {
				t.Errorf("%s: variable %s does not query ${datasource}", file, v.Name)
			}
			if err := checkMetricNames(labelValuesMetric(v.QueryText())); err != nil {
				t.Errorf("%s: variable %s: %v", file, v.Name, err)
			}
		}
		for _, p := range AllPanels(d.Panels) {
			if p.Type == "row" {
				continue
			}
			for _, v := range varsIn(p) {
				if _, ok := vars[v]; !ok && !strings.HasPrefix(v, "__") {
					t.Errorf("%s: panel %q uses $%s, which the dashboard does not define", file, p.Title, v)
				}
			}
		}
	}
}

var varRE = regexp.MustCompile(`\$\{?(\w+)`)

func varsIn(p Panel) []string {
	var out []string
	if p.Repeat != "" {
		out = append(out, p.Repeat)
	}
	texts := []string{p.Title}
	for _, tg := range p.Targets {
		texts = append(texts, tg.Expr)
	}
	for _, s := range texts {
		for _, m := range varRE.FindAllStringSubmatch(s, -1) {
			out = append(out, m[1])
		}
	}
	return out
}

func isDatasourceVar(ds *Datasource) bool {
	return ds != nil && ds.Type == "prometheus" && (ds.UID == "${datasource}" || ds.UID == "$datasource")
}

func TestEveryPanelSaysWhatAndInWhichUnit(t *testing.T) {
	for file, d := range loadDashboards(t) {
		for _, p := range AllPanels(d.Panels) {
			if p.Type == "row" {
				continue
			}
			where := fmt.Sprintf("%s: panel %d %q", file, p.ID, p.Title)
			if strings.TrimSpace(p.Title) == "" {
				t.Errorf("%s: no title", where)
			}
			if len(strings.TrimSpace(p.Description)) < 20 {
				t.Errorf("%s: want a description that says what the panel shows", where)
			}
			if p.FieldConfig.Defaults.Unit == "" {
				t.Errorf("%s: no unit", where)
			}
			if !isDatasourceVar(p.Datasource) {
				t.Errorf("%s: datasource is %+v, want ${datasource}", where, p.Datasource)
			}
			if len(p.Targets) == 0 {
				t.Errorf("%s: no query", where)
			}
			refs := map[string]bool{}
			for _, tg := range p.Targets {
				if refs[tg.RefID] {
					t.Errorf("%s: refId %s twice", where, tg.RefID)
				}
				refs[tg.RefID] = true
				if !isDatasourceVar(tg.Datasource) {
					t.Errorf("%s: query %s: datasource is %+v, want ${datasource}", where, tg.RefID, tg.Datasource)
				}
				if tg.Instant == tg.Range {
					t.Errorf("%s: query %s: want exactly one of instant and range", where, tg.RefID)
				}
			}
		}
	}
}

var (
	rangeFuncRE = regexp.MustCompile(`\b(rate|irate|increase|delta|idelta|deriv|changes|resets)\s*\(`)
	rangeRE     = regexp.MustCompile(`\[([^\]]*)\]`)
	selectorRE  = regexp.MustCompile(`([a-zA-Z_:][\w:]*)\s*\{([^}]*)\}`)
)

func TestQueriesSelectByVariablesAndRateByRateInterval(t *testing.T) {
	for file, d := range loadDashboards(t) {
		for _, p := range AllPanels(d.Panels) {
			for _, tg := range p.Targets {
				where := fmt.Sprintf("%s: panel %q query %s", file, p.Title, tg.RefID)
				expr := tg.Expr
				if err := checkMetricNames(expr); err != nil {
					t.Errorf("%s: %v", where, err)
				}
				// Every selector filters by all three variables, so that
				// several clusters and exporters share one Prometheus.
				sels := selectorRE.FindAllStringSubmatch(expr, -1)
				if len(sels) == 0 {
					t.Errorf("%s: no metric selector with label matchers", where)
				}
				for _, s := range sels {
					for _, v := range []string{"cluster", "job", "instance"} {
						if !strings.Contains(s[2], v+`=~"$`+v+`"`) {
							t.Errorf("%s: selector %s{%s} does not match %s=~\"$%s\"", where, s[1], s[2], v, v)
						}
					}
				}
				if rangeFuncRE.MatchString(expr) {
					for _, r := range rangeRE.FindAllStringSubmatch(expr, -1) {
						if r[1] != "$__rate_interval" && (r[1] != "$__range" || !tg.Instant) {
							t.Errorf("%s: range [%s]: rate over $__rate_interval (or over $__range in an instant query)", where, r[1])
						}
					}
				}
			}
		}
	}
}

// Unknown is NaN in every truth metric; a panel showing one must say
// "unknown" rather than draw NaN or nothing.
func TestTruthPanelsShowUnknown(t *testing.T) {
	truthMetrics := regexp.MustCompile(`\b(capability_trigger|capability_condition|capability_tool_detected|capability_foundation_present)\{`)
	for file, d := range loadDashboards(t) {
		for _, p := range AllPanels(d.Panels) {
			for _, tg := range p.Targets {
				if !truthMetrics.MatchString(tg.Expr) || p.Type == "timeseries" {
					continue
				}
				found := false
				for _, m := range mappingsFor(p, tg.RefID) {
					if m.Type == "special" && m.Options["match"] == "nan" {
						result, _ := m.Options["result"].(map[string]any)
						found = result["text"] == "unknown"
					}
				}
				if !found {
					t.Errorf("%s: panel %q query %s shows a truth metric without mapping NaN to unknown", file, p.Title, tg.RefID)
				}
				// A store that keeps no NaN sample (VictoriaMetrics) has no
				// series while the truth is unknown: the panel's no-value
				// text must not claim an answer.
				if nv := p.FieldConfig.Defaults.NoValue; nv != "" && !strings.Contains(nv, "unknown") {
					t.Errorf("%s: panel %q reads a truth metric and says %q on no data; a store without NaN shows that for unknown", file, p.Title, nv)
				}
			}
		}
	}
}

// mappingsFor returns the value mappings that apply to a target's values:
// an override for its "Value #<refId>" field, else the panel's defaults.
func mappingsFor(p Panel, refID string) []Mapping {
	for _, o := range p.FieldConfig.Overrides {
		if o.Matcher.ID != "byName" || o.Matcher.Options != "Value #"+refID {
			continue
		}
		for _, prop := range o.Properties {
			if prop.ID == "mappings" {
				var ms []Mapping
				_ = json.Unmarshal(prop.Value, &ms)
				return ms
			}
		}
	}
	return p.FieldConfig.Defaults.Mappings
}

var stateCodeRE = regexp.MustCompile(`capability_decision\{state="(\w+)"[^}]*\}\s*\*\s*(\d+)`)

// The decision StateSet is drawn as one number per state; the numbers in
// the query and in the value mappings must agree, and cover every state.
func TestDecisionCodesCoverEveryState(t *testing.T) {
	timelines := 0
	for file, d := range loadDashboards(t) {
		for _, p := range AllPanels(d.Panels) {
			for _, tg := range p.Targets {
				codes := stateCodeRE.FindAllStringSubmatch(tg.Expr, -1)
				if len(codes) == 0 {
					continue
				}
				where := fmt.Sprintf("%s: panel %q query %s", file, p.Title, tg.RefID)
				if p.Type == "state-timeline" {
					timelines++
				}
				stateOf := map[string]string{}
				var states []string
				for _, c := range codes {
					stateOf[c[2]] = c[1]
					states = append(states, c[1])
				}
				var want []string
				for _, s := range triggers.States() {
					want = append(want, string(s))
				}
				if !slices.Equal(states, want) || len(stateOf) != len(want) {
					t.Errorf("%s: states %v with codes %v, want each of %v once with its own code", where, states, stateOf, want)
				}
				ms := mappingsFor(p, tg.RefID)
				var keys []string
				for _, m := range ms {
					if m.Type != "value" {
						continue
					}
					for k, v := range m.Options {
						keys = append(keys, k)
						text, _ := v.(map[string]any)["text"].(string)
						// The decision's own mapping names the state; a
						// next-step mapping describes it in words.
						if isStateName(text) && strings.ReplaceAll(stateOf[k], "_", " ") != text {
							t.Errorf("%s: code %s maps to %q but the query gives it to %q", where, k, text, stateOf[k])
						}
					}
				}
				slices.Sort(keys)
				var codesSorted []string
				for k := range stateOf {
					codesSorted = append(codesSorted, k)
				}
				slices.Sort(codesSorted)
				if !slices.Equal(keys, codesSorted) {
					t.Errorf("%s: value mappings for codes %v, want %v", where, keys, codesSorted)
				}
			}
		}
	}
	if timelines == 0 {
		t.Error("no state timeline of decisions")
	}
}

func isStateName(text string) bool {
	for _, s := range triggers.States() {
		if strings.ReplaceAll(string(s), "_", " ") == text {
			return true
		}
	}
	return false
}

// knownMetrics are the names the running exporter serves, from the same
// collectors main registers, plus what Prometheus adds to every target.
func knownMetrics() map[string]bool {
	names := map[string]bool{"up": true, "scrape_duration_seconds": true, "scrape_samples_scraped": true}
	ch := make(chan *prometheus.Desc, 512)
	for _, c := range []prometheus.Collector{
		collector.NewExporter(nil), versioncollector.NewCollector("capability_exporter"),
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	} {
		c.Describe(ch)
	}
	close(ch)
	fq := regexp.MustCompile(`fqName: "([^"]+)"`)
	for d := range ch {
		if m := fq.FindStringSubmatch(d.String()); m != nil {
			names[m[1]] = true
		}
	}
	return names
}

var promqlWords = map[string]bool{}

func init() {
	for _, w := range strings.Fields(`by without on ignoring group_left group_right bool and or unless offset atan2
		sum min max avg group stddev stdvar count count_values bottomk topk quantile
		abs absent absent_over_time ceil changes clamp clamp_max clamp_min day_of_month day_of_week day_of_year
		days_in_month delta deriv exp floor histogram_quantile holt_winters hour idelta increase irate label_join
		label_replace ln log2 log10 minute month predict_linear rate resets round scalar sgn sort sort_desc sqrt
		time timestamp vector year avg_over_time min_over_time max_over_time sum_over_time count_over_time
		quantile_over_time stddev_over_time stdvar_over_time last_over_time present_over_time
		Inf NaN inf nan`) {
		promqlWords[w] = true
	}
}

var identRE = regexp.MustCompile(`(?:^|[^\w.:$])([a-zA-Z_:][\w:]*)`)

// checkMetricNames finds the metric names in a PromQL expression and checks
// each is one the exporter or Prometheus serves. It strips what cannot be a
// metric (strings, matchers, ranges, label lists) and reads what is left.
func checkMetricNames(expr string) error {
	if strings.TrimSpace(expr) == "" {
		return fmt.Errorf("empty query")
	}
	known := knownMetrics()
	s := stripStrings(expr)
	s = regexp.MustCompile(`\{[^}]*\}`).ReplaceAllString(s, " ")
	s = regexp.MustCompile(`\[[^\]]*\]`).ReplaceAllString(s, " ")
	s = regexp.MustCompile(`\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)`).ReplaceAllString(s, " ")
	found := 0
	for _, m := range identRE.FindAllStringSubmatch(s, -1) {
		w := m[1]
		switch {
		case promqlWords[w]:
		case known[w]:
			found++
		default:
			return fmt.Errorf("%q is neither a PromQL word nor a metric the exporter serves", w)
		}
	}
	if found == 0 {
		return fmt.Errorf("query %q reads no metric of the exporter", expr)
	}
	return nil
}

var stringRE = regexp.MustCompile(`"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'`)

// stripStrings blanks string literals, where a metric name cannot be.
func stripStrings(expr string) string { return stringRE.ReplaceAllString(expr, `""`) }

var labelValuesRE = regexp.MustCompile(`^label_values\((.+),\s*(\w+)\)$`)

// labelValuesMetric returns the series selector of a label_values() query.
func labelValuesMetric(q string) string {
	m := labelValuesRE.FindStringSubmatch(strings.TrimSpace(q))
	if m == nil {
		return q
	}
	return m[1]
}

// Guard the name extraction itself: a misspelt metric must be caught.
func TestCheckMetricNamesCatchesUnknownNames(t *testing.T) {
	for expr, ok := range map[string]bool{
		`capability_trigger{job=~"$job"} == 1`:                                    true,
		`sum by (source) (rate(capability_exporter_source_errors_total[5m]))`:     true,
		`capability_triger{job=~"$job"}`:                                          false,
		`max by (capability) (capability_decision{state="now"} * 4 or vector(0))`: true,
		`time() - capability_exporter_last_evaluation_timestamp`:                  false,
		`vector(1)`: false,
	} {
		if err := checkMetricNames(expr); (err == nil) != ok {
			t.Errorf("checkMetricNames(%q) = %v, want ok=%v", expr, err, ok)
		}
	}
}
