package triggers

import (
	"math"
	"strings"
	"testing"
	"time"
)

func TestParseLeaf(t *testing.T) {
	tests := []struct {
		in      string
		want    leaf
		wantErr string
	}{
		{in: "microservices > 5", want: leaf{"microservices", OpGT, "5"}},
		{in: "microservices >= 5", want: leaf{"microservices", OpGE, "5"}},
		{in: "microservices < 5", want: leaf{"microservices", OpLT, "5"}},
		{in: "microservices <= 5", want: leaf{"microservices", OpLE, "5"}},
		{in: "microservices == 5", want: leaf{"microservices", OpEQ, "5"}},
		{in: "microservices != 5", want: leaf{"microservices", OpNE, "5"}},
		{in: "microservices>5", want: leaf{"microservices", OpGT, "5"}},
		{in: "  microservices   <=\t5  ", want: leaf{"microservices", OpLE, "5"}},
		{in: "tool.istio == true", want: leaf{"tool.istio", OpEQ, "true"}},
		{in: "incident_mttr > 1h", want: leaf{"incident_mttr", OpGT, "1h"}},
		{in: "replicated_ratio < 20%", want: leaf{"replicated_ratio", OpLT, "20%"}},
		{in: "cost_growth > -0.5", want: leaf{"cost_growth", OpGT, "-0.5"}},
		// The literal is read against the signal's type later, not here.
		{in: "microservices > many", want: leaf{"microservices", OpGT, "many"}},

		{in: "microservices 5", wantErr: `condition "microservices 5": missing operator after "microservices" (want one of > >= < <= == !=)`},
		{in: "microservices", wantErr: `condition "microservices": missing operator after "microservices" (want one of > >= < <= == !=)`},
		{in: "microservices = 5", wantErr: `condition "microservices = 5": bad operator "=" (did you mean ==?)`},
		{in: "microservices =5", wantErr: `condition "microservices =5": bad operator "=" (did you mean ==?)`},
		{in: "microservices >", wantErr: `condition "microservices >": missing value after ">"`},
		{in: "microservices !=  ", wantErr: `condition "microservices !=  ": missing value after "!="`},
		{in: "microservices => 5", wantErr: `condition "microservices => 5": bad operator "=" (did you mean ==?)`},
		{in: "microservices >> 5", wantErr: `condition "microservices >> 5": bad operator or value "> 5" (want one of > >= < <= == != then one value)`},
		{in: "microservices > 5 and nodes > 3", wantErr: `condition "microservices > 5 and nodes > 3": bad operator or value "5 and nodes > 3" (want one of > >= < <= == != then one value)`},
		{in: "microservices ! 5", wantErr: `condition "microservices ! 5": missing operator after "microservices" (want one of > >= < <= == !=)`},
		{in: "", wantErr: "condition \"\": want `<signal> <op> <literal>`, e.g. `microservices > 5`"},
		{in: "   ", wantErr: "condition \"   \": want `<signal> <op> <literal>`, e.g. `microservices > 5`"},
		{in: "> 5", wantErr: "condition \"> 5\": want `<signal> <op> <literal>`, e.g. `microservices > 5`"},
		{in: "Microservices > 5", wantErr: "condition \"Microservices > 5\": want `<signal> <op> <literal>`, e.g. `microservices > 5`"},
		{in: "5 < microservices", wantErr: "condition \"5 < microservices\": want `<signal> <op> <literal>`, e.g. `microservices > 5`"},
		{in: "more than 5 microservices", wantErr: `condition "more than 5 microservices": missing operator after "more" (want one of > >= < <= == !=)`},
		{in: "a.b.c > 1", wantErr: `condition "a.b.c > 1": missing operator after "a.b" (want one of > >= < <= == !=)`},
		{in: "microservices > 5\nnodes > 3", wantErr: "condition \"microservices > 5\\nnodes > 3\": want `<signal> <op> <literal>`, e.g. `microservices > 5`"},
	}
	for _, tt := range tests {
		got, err := parseLeaf(tt.in)
		if tt.wantErr != "" {
			if err == nil || err.Error() != tt.wantErr {
				t.Errorf("parseLeaf(%q) = %+v, %v; want error %s", tt.in, got, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("parseLeaf(%q) = %+v, %v; want %+v", tt.in, got, err, tt.want)
		}
	}
}

func TestParseLiteral(t *testing.T) {
	tests := []struct {
		typ     ValueType
		lit     string
		want    float64
		wantErr string
	}{
		{typ: TypeNumber, lit: "5", want: 5},
		{typ: TypeNumber, lit: "0", want: 0},
		{typ: TypeNumber, lit: "-0.25", want: -0.25},
		{typ: TypeNumber, lit: "+3", want: 3},
		{typ: TypeNumber, lit: "1e3", want: 1000},
		{typ: TypeNumber, lit: "NaN", wantErr: `value "NaN": want a number`},
		{typ: TypeNumber, lit: "nan", wantErr: `value "nan": want a number`},
		{typ: TypeNumber, lit: "Inf", wantErr: `value "Inf": want a number`},
		{typ: TypeNumber, lit: "+Inf", wantErr: `value "+Inf": want a number`},
		{typ: TypeNumber, lit: "-inf", wantErr: `value "-inf": want a number`},
		{typ: TypeNumber, lit: "infinity", wantErr: `value "infinity": want a number`},
		{typ: TypeNumber, lit: "1e400", wantErr: `value "1e400": want a number`},
		{typ: TypeNumber, lit: "five", wantErr: `value "five": want a number`},
		{typ: TypeNumber, lit: "20%", wantErr: `value "20%": want a number`},
		{typ: TypeNumber, lit: "1h", wantErr: `value "1h": want a number`},
		{typ: TypeNumber, lit: "true", wantErr: `value "true": want a number`},

		{typ: TypeBool, lit: "true", want: 1},
		{typ: TypeBool, lit: "false", want: 0},
		{typ: TypeBool, lit: "1", wantErr: `value "1": a bool signal compares with true or false`},
		{typ: TypeBool, lit: "True", wantErr: `value "True": a bool signal compares with true or false`},
		{typ: TypeBool, lit: "yes", wantErr: `value "yes": a bool signal compares with true or false`},

		{typ: TypeDuration, lit: "1h", want: 3600},
		{typ: TypeDuration, lit: "30m", want: 1800},
		{typ: TypeDuration, lit: "4h", want: 4 * 3600},
		{typ: TypeDuration, lit: "1h30m", want: 5400},
		{typ: TypeDuration, lit: "30d", want: 30 * 86400},
		{typ: TypeDuration, lit: "1w", want: 7 * 86400},
		{typ: TypeDuration, lit: "500ms", want: 0.5},
		{typ: TypeDuration, lit: "0", want: 0},
		{typ: TypeDuration, lit: "90", want: 90},
		{typ: TypeDuration, lit: "1.5", want: 1.5},
		{typ: TypeDuration, lit: "1hour", wantErr: `value "1hour": want a duration such as 1h or 30m, or seconds`},
		{typ: TypeDuration, lit: "1.5h", wantErr: `value "1.5h": want a duration such as 1h or 30m, or seconds`},
		{typ: TypeDuration, lit: "-1h", wantErr: `value "-1h": want a duration such as 1h or 30m, or seconds`},
		{typ: TypeDuration, lit: "NaN", wantErr: `value "NaN": want a duration such as 1h or 30m, or seconds`},
		{typ: TypeDuration, lit: "Inf", wantErr: `value "Inf": want a duration such as 1h or 30m, or seconds`},

		{typ: TypeRatio, lit: "20%", want: 0.2},
		{typ: TypeRatio, lit: "0.2", want: 0.2},
		{typ: TypeRatio, lit: "100%", want: 1},
		{typ: TypeRatio, lit: "0%", want: 0},
		{typ: TypeRatio, lit: "12.5%", want: 0.125},
		{typ: TypeRatio, lit: "%", wantErr: `value "%": not a percentage`},
		{typ: TypeRatio, lit: "twenty%", wantErr: `value "twenty%": not a percentage`},
		{typ: TypeRatio, lit: "NaN%", wantErr: `value "NaN%": not a percentage`},
		{typ: TypeRatio, lit: "Inf%", wantErr: `value "Inf%": not a percentage`},
		{typ: TypeRatio, lit: "NaN", wantErr: `value "NaN": want a ratio such as 0.2 or 20%`},
		{typ: TypeRatio, lit: "-Inf", wantErr: `value "-Inf": want a ratio such as 0.2 or 20%`},
		{typ: TypeRatio, lit: "20 percent", wantErr: `value "20 percent": want a ratio such as 0.2 or 20%`},
	}
	for _, tt := range tests {
		got, err := parseLiteral(tt.typ, tt.lit)
		if tt.wantErr != "" {
			if err == nil || err.Error() != tt.wantErr {
				t.Errorf("parseLiteral(%s, %q) = %v, %v; want error %s", tt.typ, tt.lit, got, err, tt.wantErr)
			}
			continue
		}
		if err != nil || math.Abs(got-tt.want) > 1e-12 {
			t.Errorf("parseLiteral(%s, %q) = %v, %v; want %v", tt.typ, tt.lit, got, err, tt.want)
		}
	}
}

func TestFormatValue(t *testing.T) {
	tests := []struct {
		typ  ValueType
		v    float64
		want string
	}{
		{TypeNumber, 5, "5"},
		{TypeNumber, 0, "0"},
		{TypeNumber, -0.25, "-0.25"},
		{TypeNumber, 1234567, "1234567"},
		{TypeNumber, 0.1, "0.1"},

		{TypeBool, 1, "true"},
		{TypeBool, 0, "false"},
		{TypeBool, 2, "true"},

		{TypeDuration, 3600, "1h"},
		{TypeDuration, 1800, "30m"},
		{TypeDuration, 4 * 3600, "4h"},
		{TypeDuration, 5400, "1h30m"},
		{TypeDuration, 30 * 86400, "30d"},
		{TypeDuration, 0, "0s"},
		{TypeDuration, 0.5, "500ms"},
		{TypeDuration, 1.5, "1s500ms"},
		{TypeDuration, 123456.7, "1d10h17m36s700ms"}, // a mean resolution time, not 1.235e+05s
		{TypeDuration, 1e10, "1e+10s"},               // beyond time.Duration: no overflow into a negative
		{TypeDuration, 0.0001, "0.0001s"},
		{TypeDuration, -5, "-5s"},

		{TypeRatio, 0.2, "20%"},
		{TypeRatio, 0.29, "29%"}, // not 28.999999999999996%
		{TypeRatio, 0.07, "7%"},  // not 7.000000000000001%
		{TypeRatio, 0.57, "57%"},
		{TypeRatio, 0.125, "12.5%"},
		{TypeRatio, 1, "100%"},
		{TypeRatio, 0, "0%"},
		{TypeRatio, 2.0 / 3, "66.6666666667%"},
	}
	for _, tt := range tests {
		if got := FormatValue(tt.typ, tt.v); got != tt.want {
			t.Errorf("FormatValue(%s, %v) = %q, want %q", tt.typ, tt.v, got, tt.want)
		}
	}
}

// A threshold written in the rules reads back as written.
func TestFormatValueRoundTrip(t *testing.T) {
	for _, tt := range []struct {
		typ ValueType
		lit string
	}{
		{TypeDuration, "1h"}, {TypeDuration, "30m"}, {TypeDuration, "4h"}, {TypeDuration, "30d"},
		{TypeRatio, "20%"}, {TypeRatio, "29%"}, {TypeRatio, "7%"}, {TypeRatio, "99.9%"},
		{TypeNumber, "5"}, {TypeNumber, "0.1"}, {TypeBool, "true"}, {TypeBool, "false"},
	} {
		v, err := parseLiteral(tt.typ, tt.lit)
		if err != nil {
			t.Fatal(err)
		}
		if got := FormatValue(tt.typ, v); got != tt.lit {
			t.Errorf("FormatValue(%s, parseLiteral(%q)) = %q", tt.typ, tt.lit, got)
		}
	}
}

func TestOpCompare(t *testing.T) {
	// Holding at 4, 5 and 6 against 5.
	want := map[Op][3]bool{OpGT: {false, false, true}, OpGE: {false, true, true}, OpLT: {true, false, false},
		OpLE: {true, true, false}, OpEQ: {false, true, false}, OpNE: {true, false, true}}
	for op, w := range want {
		for i, v := range []float64{4, 5, 6} {
			if got := op.Compare(v, 5); got != w[i] {
				t.Errorf("%v %s 5 = %v, want %v", v, op, got, w[i])
			}
		}
	}
	if Op("=").Compare(5, 5) {
		t.Error(`Op("=") compares true; an unknown operator never holds`)
	}
}

func TestKleene(t *testing.T) {
	U, F, T := Unknown, False, True
	andTable := []struct{ a, b, want Truth }{
		{T, T, T}, {T, F, F}, {T, U, U},
		{F, T, F}, {F, F, F}, {F, U, F},
		{U, T, U}, {U, F, F}, {U, U, U},
	}
	for _, tt := range andTable {
		if got := tt.a.And(tt.b); got != tt.want {
			t.Errorf("%v and %v = %v, want %v", tt.a, tt.b, got, tt.want)
		}
	}
	orTable := []struct{ a, b, want Truth }{
		{T, T, T}, {T, F, T}, {T, U, T},
		{F, T, T}, {F, F, F}, {F, U, U},
		{U, T, T}, {U, F, U}, {U, U, U},
	}
	for _, tt := range orTable {
		if got := tt.a.Or(tt.b); got != tt.want {
			t.Errorf("%v or %v = %v, want %v", tt.a, tt.b, got, tt.want)
		}
	}
	for _, tt := range []struct{ a, want Truth }{{T, F}, {F, T}, {U, U}} {
		if got := tt.a.Not(); got != tt.want {
			t.Errorf("not %v = %v, want %v", tt.a, got, tt.want)
		}
	}
	var zero Truth
	if zero != Unknown {
		t.Error("the zero Truth must be Unknown, so that a missing answer never reads as false")
	}
	for truth, s := range map[Truth]string{T: "true", F: "false", U: "unknown"} {
		if b, _ := truth.MarshalText(); string(b) != s || truth.String() != s {
			t.Errorf("%d renders %q, want %q", truth, b, s)
		}
	}
}

// mustParse parses inline rules, failing the test on any error.
func mustParse(t testing.TB, src string) *Rules {
	t.Helper()
	r, err := Parse("inline.yml", []byte(src))
	if err != nil {
		t.Fatalf("Parse:\n%v\nof:\n%s", err, src)
	}
	return r
}

// conditionRules is a capability whose trigger is the condition under test,
// over three number signals a, b and c.
func conditionRules(t *testing.T, trigger string) *Rules {
	t.Helper()
	return mustParse(t, `
signals:
  a: {help: A count., kubernetes: nodes}
  b: {help: Another count., kubernetes: zones}
  c: {help: A third count., kubernetes: regions}
capabilities:
  cap:
    complexity: low
    trigger: `+trigger+`
`)
}

func TestConditionEvaluate(t *testing.T) {
	// In each snapshot a > 0 is true, b > 0 false and c > 0 unknown (c not
	// collected, or collected as unknown).
	snaps := map[string]Snapshot{
		"absent": {"a": KnownValue(1, "kubernetes"), "b": KnownValue(0, "kubernetes")},
		"unknown": {"a": KnownValue(1, "kubernetes"), "b": KnownValue(0, "kubernetes"),
			"c": UnknownValue(CodeSourceDown, "connection refused", "kubernetes")},
	}
	tests := []struct {
		cond string
		want Truth
	}{
		{"a > 0", True},
		{"b > 0", False},
		{"c > 0", Unknown},
		// any: one true member makes it true, unknown members or not.
		{"{any: [a > 0, c > 0]}", True},
		{"{any: [c > 0, a > 0]}", True},
		// any: false and unknown is unknown; false only when all are false.
		{"{any: [b > 0, c > 0]}", Unknown},
		{"{any: [c > 0]}", Unknown},
		{"{any: [b > 0, b >= 1]}", False},
		// all: one false member makes it false, unknown members or not.
		{"{all: [b > 0, c > 0]}", False},
		{"{all: [c > 0, b > 0]}", False},
		// all: true and unknown is unknown; true only when all are true.
		{"{all: [a > 0, c > 0]}", Unknown},
		{"{all: [a > 0, a >= 1]}", True},
		// not: unknown stays unknown.
		{"{not: c > 0}", Unknown},
		{"{not: a > 0}", False},
		{"{not: b > 0}", True},
		// A leaf written with the framework's words.
		{"{if: a > 0, says: many}", True},
		// Nested.
		{"{not: {any: [b > 0, c > 0]}}", Unknown},
		{"{not: {all: [b > 0, c > 0]}}", True},
		{"{any: [{all: [a > 0, c > 0]}, a > 0]}", True},
		{"{all: [{any: [b > 0, c > 0]}, a > 0]}", Unknown},
	}
	for name, snap := range snaps {
		for _, tt := range tests {
			r := conditionRules(t, tt.cond)
			d := Evaluate(r, snap, time.Time{}).Decision("cap")
			if got := d.Step(KindTrigger); got != tt.want {
				t.Errorf("%s: trigger %s = %v, want %v", name, tt.cond, got, tt.want)
			}
			// Every leaf is evaluated and recorded, even after the outcome is
			// settled, so that the reasons are complete.
			if got, want := len(d.Conditions), len(r.Capability("cap").Trigger.Leaves()); got != want {
				t.Errorf("%s: trigger %s recorded %d conditions, want %d", name, tt.cond, got, want)
			}
		}
	}
}

// Conditions read the literal against the signal's type.
func TestConditionTypes(t *testing.T) {
	r := mustParse(t, `
signals:
  mttr: {help: Mean time to resolve., type: duration, fact: mttr}
  replicated: {help: Replicated share., type: ratio, kubernetes: replicated_workload_ratio}
  security_team: {help: A security team exists., type: bool, fact: security_team}
capabilities:
  cap:
    complexity: low
    trigger: {all: [mttr > 1h, replicated < 20%, security_team == false]}
`)
	leaves := r.Capability("cap").Trigger.Leaves()
	want := []struct {
		expr      string
		threshold float64
	}{{"mttr > 1h", 3600}, {"replicated < 20%", 0.2}, {"security_team == false", 0}}
	for i, l := range leaves {
		if l.Expr != want[i].expr || l.Threshold != want[i].threshold {
			t.Errorf("leaf %d = %q threshold %v, want %q threshold %v", i, l.Expr, l.Threshold, want[i].expr, want[i].threshold)
		}
	}
	snap := Snapshot{
		"mttr":          KnownValue(2*3600, "fact"),
		"replicated":    KnownValue(0.1, "kubernetes"),
		"security_team": KnownValue(0, "fact"),
	}
	if got := Evaluate(r, snap, time.Time{}).Decision("cap").Step(KindTrigger); got != True {
		t.Errorf("trigger = %v, want true", got)
	}
	snap["mttr"] = KnownValue(30*60, "fact")
	if got := Evaluate(r, snap, time.Time{}).Decision("cap").Step(KindTrigger); got != False {
		t.Errorf("trigger with mttr 30m = %v, want false", got)
	}
}

func TestConditionString(t *testing.T) {
	r := conditionRules(t, "{any: [a > 0, {all: [b>=1, {not: c == 2}]}, {if: c != 3}]}")
	got := r.Capability("cap").Trigger.String()
	want := "a > 0 or (b >= 1 and not (c == 2)) or c != 3"
	if got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	var nilCond *Condition
	if nilCond.String() != "never" || nilCond.Leaves() != nil {
		t.Errorf("nil condition renders %q", nilCond.String())
	}
}

// An alias reuses a condition written once with an anchor.
func TestConditionAlias(t *testing.T) {
	r := mustParse(t, `
signals:
  a: {help: A count., kubernetes: nodes}
capabilities:
  one:
    complexity: low
    trigger: &few {any: [a < 3]}
  two:
    complexity: low
    trigger: {not: *few}
    skip: *few
`)
	if got := r.Capability("two").Trigger.String(); got != "not (a < 3)" {
		t.Errorf("trigger through an alias = %q", got)
	}
	if got := r.Capability("two").Skip.String(); got != "a < 3" {
		t.Errorf("skip through an alias = %q", got)
	}
}

// Aliases that multiply into more conditions than any file writes are
// refused rather than expanded.
func TestConditionAliasExpansion(t *testing.T) {
	var b strings.Builder
	b.WriteString("signals:\n  a: {help: A count., kubernetes: nodes}\ncapabilities:\n  cap:\n    complexity: low\n    trigger: {all: [&l0 {any: [a > 1, a > 2, a > 3, a > 4]}")
	for i := 1; i < 10; i++ {
		b.WriteString(", &l" + string(rune('0'+i)) + " {any: [" + strings.Repeat("*l"+string(rune('0'+i-1))+", ", 3) + "*l" + string(rune('0'+i-1)) + "]}")
	}
	b.WriteString("]}\n")
	_, err := Parse("aliases.yml", []byte(b.String()))
	if err == nil || !strings.Contains(err.Error(), "more than 10000 conditions") {
		t.Fatalf("Parse = %v, want the condition limit", err)
	}
}
