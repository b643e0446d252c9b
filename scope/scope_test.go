package scope

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
)

func mustMatchers(t testing.TB, ss ...string) []*labels.Matcher {
	t.Helper()
	ms, err := ParseMatchers(ss)
	if err != nil {
		t.Fatal(err)
	}
	return ms
}

func TestExpand(t *testing.T) {
	sel := map[string]string{"critical_alerts": `ALERTS{severity="critical"}`, "machine_users": "system:.*"}
	for _, tc := range []struct{ in, want, err string }{
		{in: `count(${critical_alerts})`, want: `count(ALERTS{severity="critical"})`},
		{in: `${critical_alerts} or ${critical_alerts}`, want: `ALERTS{severity="critical"} or ALERTS{severity="critical"}`},
		{in: `| user !~ "${machine_users}"`, want: `| user !~ "system:.*"`},
		{in: `up{job=~"a$"}`, want: `up{job=~"a$"}`},
		{in: `$critical_alerts ${ x }`, want: `$critical_alerts ${ x }`},
		{in: `${nope} ${critical_alerts} ${nope}`, want: `${nope} ALERTS{severity="critical"} ${nope}`,
			err: "unknown selector ${nope} (defined: critical_alerts, machine_users)"},
	} {
		got, err := Expand(tc.in, sel)
		if got != tc.want {
			t.Errorf("Expand(%q) = %q, want %q", tc.in, got, tc.want)
		}
		if (err == nil) != (tc.err == "") || err != nil && err.Error() != tc.err {
			t.Errorf("Expand(%q) error %v, want %q", tc.in, err, tc.err)
		}
		var ue *UnknownSelectorError
		if tc.err != "" && !errors.As(err, &ue) {
			t.Errorf("Expand(%q) error is a %T", tc.in, err)
		}
	}
	if got := References(`${a} ${b} ${a}`); strings.Join(got, ",") != "a,b" {
		t.Errorf("References = %v", got)
	}
}

func TestParseMatchers(t *testing.T) {
	for _, tc := range []struct{ in, err string }{
		{in: `cluster="prod-eu"`},
		{in: `cluster=~"prod-.*"`},
		{in: `cluster!=""`},
		{in: ` cluster = "a" `},
		{in: `cluster=prod`, err: `bad matcher "cluster=prod"`},
		{in: `cluster="a",region="b"`, err: "want exactly one matcher, found 2"},
		{in: `__name__="up"`, err: "cannot select the metric name"},
		{in: `cluster=~"("`, err: `bad matcher`},
		{in: ``, err: `bad matcher`},
	} {
		_, err := ParseMatcher(tc.in)
		if tc.err == "" && err != nil || tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)) {
			t.Errorf("ParseMatcher(%q) error %v, want %q", tc.in, err, tc.err)
		}
	}
	_, err := ParseMatchers([]string{`a="1"`, `b=`})
	var me *MatcherError
	if !errors.As(err, &me) || me.Index != 1 {
		t.Errorf("ParseMatchers error %v, want a MatcherError at index 1", err)
	}
}

func TestPromQL(t *testing.T) {
	cluster := mustMatchers(t, `cluster="a"`)
	for _, tc := range []struct {
		name, in, want string
		matchers       []*labels.Matcher
	}{
		{"plain selector", `up`, `up{cluster="a"}`, cluster},
		{"selector with matchers", `ALERTS{alertstate="firing",severity=~"critical|page"}`,
			`ALERTS{alertstate="firing",cluster="a",severity=~"critical|page"}`, cluster},
		{"range and offset", `sum(rate(http_requests_total[1d] offset 4w))`, `sum(rate(http_requests_total{cluster="a"}[1d] offset 4w))`, cluster},
		{"both sides of a binary op", `sum(a) / sum(b{x="1"}) - 1`, `sum(a{cluster="a"}) / sum(b{cluster="a",x="1"}) - 1`, cluster},
		{"subquery", `max_over_time((sum(up))[30d:1m])`, `max_over_time((sum(up{cluster="a"}))[30d:1m])`, cluster},
		{"no selector", `vector(0)`, `vector(0)`, cluster},
		{"or vector(0)", `count(x) or vector(0)`, `count(x{cluster="a"}) or vector(0)`, cluster},
		{"already scoped", `up{cluster="a"}`, `up{cluster="a"}`, cluster},
		{"other value of the label: both hold", `up{cluster="b"}`, `up{cluster="a",cluster="b"}`, cluster},
		{"regex scope", `up`, `up{cluster=~"prod-.*"}`, mustMatchers(t, `cluster=~"prod-.*"`)},
		{"two matchers", `up`, `up{cluster="a",env="prod"}`, mustMatchers(t, `cluster="a"`, `env="prod"`)},
		{"name only selector", `{__name__="up"}`, `{__name__="up",cluster="a"}`, cluster},
		{"no matchers: as written", `up  +  bogus(((`, `up  +  bogus(((`, nil},
		{"quoted braces in a string", `label_replace(up, "x", "{}", "job", "(.*)")`, `label_replace(up{cluster="a"}, "x", "{}", "job", "(.*)")`, cluster},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := PromQL(tc.in, tc.matchers)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("PromQL(%q)\n got %s\nwant %s", tc.in, got, tc.want)
			}
		})
	}
	if _, err := PromQL(`sum(`, cluster); err == nil || !strings.Contains(err.Error(), "cannot add the scope's matchers") {
		t.Errorf("bad query: error %v", err)
	}
}

func TestPromQLDoesNotShareMatchers(t *testing.T) {
	ms := mustMatchers(t, `cluster="a"`)
	for range 2 {
		got, err := PromQL(`a + b`, ms)
		if err != nil || got != `a{cluster="a"} + b{cluster="a"}` {
			t.Fatalf("got %q, %v", got, err)
		}
	}
	if len(ms) != 1 {
		t.Fatalf("matchers changed: %v", ms)
	}
}

func TestPromQLWindow(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Duration
	}{
		{`up`, 0},
		{`up offset 30d`, 0},
		{`rate(x[5m])`, 5 * time.Minute},
		{`sum(sum_over_time(x[7d])) / sum(sum_over_time(x[7d] offset 30d))`, 7 * 24 * time.Hour},
		{`max_over_time((sum(up))[30d:1m])`, 30 * 24 * time.Hour},
		{`max_over_time(ALERTS[5m])`, 5 * time.Minute},
	} {
		got, err := PromQLWindow(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("PromQLWindow(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
}

func TestLogQL(t *testing.T) {
	cluster := mustMatchers(t, `cluster="a"`)
	for _, tc := range []struct{ name, in, want string }{
		{"stream selector", `{job="kubernetes-audit"}`, `{job="kubernetes-audit", cluster="a"}`},
		{"metric query", `count(sum by (user) (count_over_time({job="x"} | json user="user.username" [30d])))`,
			`count(sum by (user) (count_over_time({job="x", cluster="a"} | json user="user.username" [30d])))`},
		{"braces in a double-quoted string", `{job="x"} | line_format "{{.user}} {" |= "}"`,
			`{job="x", cluster="a"} | line_format "{{.user}} {" |= "}"`},
		{"braces in a raw string", "{job=\"x\"} |~ `\"verb\":\"(create|update)\" {}`", "{job=\"x\", cluster=\"a\"} |~ `\"verb\":\"(create|update)\" {}`"},
		{"escaped quote in a string", `{job="x\"}"} |= "a\"{"`, `{job="x\"}", cluster="a"} |= "a\"{"`},
		{"brace in a selector value", `{job="{weird}"}`, `{job="{weird}", cluster="a"}`},
		{"two selectors", `sum(rate({a="1"}[5m])) / sum(rate({b="2"} [5m]))`, `sum(rate({a="1", cluster="a"}[5m])) / sum(rate({b="2", cluster="a"} [5m]))`},
		{"already scoped", `{job="x",cluster="a"}`, `{job="x",cluster="a"}`},
		{"trailing comma", `{job="x", }`, `{job="x", cluster="a"}`},
		{"comment", "{job=\"x\"} # a } comment {\n|= \"y\"", "{job=\"x\", cluster=\"a\"} # a } comment {\n|= \"y\""},
		{"no selector", `vector(1)`, `vector(1)`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := LogQL(tc.in, cluster)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("LogQL(%q)\n got %s\nwant %s", tc.in, got, tc.want)
			}
		})
	}
	for _, bad := range []string{`{job="x"`, `{job="x"}}`, `{job="x} |= "y"`, "{job=\"x\"} |= `y", `{job=x}`, `{a="1" {b="2"}}`, `rate({a="1"}[5m)`} {
		if _, err := LogQL(bad, cluster); err == nil {
			t.Errorf("LogQL(%q): no error", bad)
		}
		if err := CheckLogQL(bad); err == nil {
			t.Errorf("CheckLogQL(%q): no error", bad)
		}
	}
	if got, err := LogQL(`{job="x"`, nil); err != nil || got != `{job="x"` {
		t.Errorf("no matchers: %q, %v", got, err)
	}
}

func TestLogQLWindow(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Duration
	}{
		{`{a="1"}`, 0},
		{`count_over_time({a="1"} |= "[30d]" [30d])`, 30 * 24 * time.Hour},
		{`rate({a="1"}[5m]) / rate({a="1"}[1h30m])`, 90 * time.Minute},
	} {
		got, err := LogQLWindow(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("LogQLWindow(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
	if _, err := LogQLWindow(`rate({a="1"}[soon])`); err == nil {
		t.Error("bad range: no error")
	}
}

// FuzzLogQL: whatever the input, a rewrite that succeeds keeps the text
// outside the selectors, and every stream selector it leaves carries the
// scope.
func FuzzLogQL(f *testing.F) {
	for _, s := range []string{`{job="x"}`, `count_over_time({a="1"} | json u="user.name" [30d])`, "{a=\"}\"} |~ `{`", `{a="1"} # }`} {
		f.Add(s)
	}
	ms := mustMatchers(f, `cluster="a"`)
	f.Fuzz(func(t *testing.T, q string) {
		out, err := LogQL(q, ms)
		if err != nil {
			return
		}
		n := 0
		if err := scanLogQL(out, func(open, end int) error {
			n++
			have, err := promql.ParseMetricSelector(out[open : end+1])
			if err != nil {
				t.Fatalf("rewrite of %q gives a selector that does not parse: %s: %v", q, out[open:end+1], err)
			}
			if len(missingFrom(have, ms)) != 0 {
				t.Fatalf("rewrite of %q leaves an unscoped selector %s", q, out[open:end+1])
			}
			return nil
		}, nil); err != nil {
			t.Fatalf("rewrite of %q does not scan: %q: %v", q, out, err)
		}
	})
}

// FuzzPromQL: a rewritten query parses, and every selector carries the scope.
func FuzzPromQL(f *testing.F) {
	for _, s := range []string{`up`, `sum(rate(x{a="b"}[5m] offset 1d)) / count(y)`, `max_over_time((sum(up))[30d:1m])`} {
		f.Add(s)
	}
	ms := mustMatchers(f, `cluster="a"`)
	f.Fuzz(func(t *testing.T, q string) {
		out, err := PromQL(q, ms)
		if err != nil {
			return
		}
		if err := CheckPromQL(out); err != nil {
			t.Fatalf("rewrite of %q does not parse: %q: %v", q, out, err)
		}
		again, err := PromQL(out, ms)
		if err != nil || again != out {
			t.Fatalf("rewrite of %q is not stable: %q then %q (%v)", q, out, again, err)
		}
	})
}
