package triggers

import (
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/capability-exporter/capability_exporter/yamlpos"
)

var fuzzSignalRE = regexp.MustCompile(`^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)?$`)

// FuzzParseLeaf: the condition parser never panics, and a condition it
// accepts, written back as `signal op literal`, reads as the same condition.
func FuzzParseLeaf(f *testing.F) {
	for _, s := range []string{
		"microservices > 5", "incident_mttr>=1h", " replicated < 20% ", "tool.istio == true",
		"microservices = 5", "microservices 5", "microservices >", "a > 5 and b < 3", "", "5 < a",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		l, err := parseLeaf(s)
		if err != nil {
			return
		}
		switch l.op {
		case OpGT, OpGE, OpLT, OpLE, OpEQ, OpNE:
		default:
			t.Fatalf("parseLeaf(%q) accepted operator %q", s, l.op)
		}
		if !fuzzSignalRE.MatchString(l.signal) || l.literal == "" {
			t.Fatalf("parseLeaf(%q) = %+v", s, l)
		}
		again, err := parseLeaf(l.signal + " " + string(l.op) + " " + l.literal)
		if err != nil || again != l {
			t.Fatalf("parseLeaf(%q) = %+v, but its rendering reads as %+v, %v", s, l, again, err)
		}
		for _, typ := range []ValueType{TypeNumber, TypeBool, TypeDuration, TypeRatio} {
			v, err := parseLiteral(typ, l.literal)
			if err != nil {
				continue
			}
			out := FormatValue(typ, v)
			if typ == TypeNumber || typ == TypeBool {
				if back, err := parseLiteral(typ, out); err != nil || back != v {
					t.Fatalf("%s literal %q = %v renders %q, which reads %v, %v", typ, l.literal, v, out, back, err)
				}
			}
		}
	})
}

// FuzzParse: the rules loader never panics on any bytes. It either returns
// located Errors, or rules that evaluate: with nothing collected, every
// decision is unknown.
func FuzzParse(f *testing.F) {
	f.Add(DefaultRulesYAML())
	seeds, _ := filepath.Glob("testdata/bad/*.yml")
	seeds = append(seeds, "testdata/valid.yml")
	for _, file := range seeds {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := Parse("fuzz.yml", data)
		if err != nil {
			var es yamlpos.Errors
			if !errors.As(err, &es) || len(es) == 0 {
				t.Fatalf("Parse error %T %v is not a list of Errors", err, err)
			}
			for _, e := range es {
				if e.File != "fuzz.yml" || e.Msg == "" {
					t.Fatalf("error %#v lacks its file or message", e)
				}
			}
			return
		}
		if len(r.Capabilities) == 0 {
			t.Fatal("Parse accepted rules with no capabilities")
		}
		ev := Evaluate(r, Snapshot{}, time.Time{})
		for _, d := range ev.Decisions {
			if d.State != StateUnknown || len(d.UnknownSignals) == 0 || len(d.BlockedBy) == 0 {
				t.Fatalf("with nothing collected, %s is %s (unknown signals %q, blocked by %q)", d.Capability, d.State, d.UnknownSignals, d.BlockedBy)
			}
		}
		if ev.Recommended != "" {
			t.Fatalf("with nothing collected, %s is recommended", ev.Recommended)
		}
	})
}
