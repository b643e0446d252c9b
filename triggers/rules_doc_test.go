package triggers

import (
	"testing"

	"github.com/capability-exporter/capability_exporter/yamlpos"
)

// The rules keep each file they were read from as it was parsed, so that
// later checks name its lines without reading the file again: an extending
// file's own signals in it, the defaults' in the embedded rules.
func TestRulesKeepEachFileAsParsed(t *testing.T) {
	r, err := Parse("x.yml", []byte(`extends: default

signals:
  team_size:
    help: People on the team.
    fact: team_size
`))
	if err != nil {
		t.Fatal(err)
	}
	own, base := r.Signal("team_size"), r.Signal("microservices")
	if own == nil || base == nil {
		t.Fatalf("signals team_size %v, microservices %v", own, base)
	}
	if got := yamlpos.NodeLine(r.Doc(own.File), "signals", "team_size", "fact"); got != 6 {
		t.Errorf("team_size's fact at line %d of %s, want 6", got, own.File)
	}
	if got := yamlpos.NodeLine(r.Doc(base.File), "signals", "microservices"); got != base.Line {
		t.Errorf("microservices at line %d of %s, want %d", got, base.File, base.Line)
	}
	if got := yamlpos.NodeLine(r.Doc("elsewhere.yml"), "signals"); got != 0 {
		t.Errorf("a file not read has line %d, want 0", got)
	}
}
