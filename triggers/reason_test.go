package triggers

import (
	"slices"
	"testing"
)

// Each code says itself in words, and the words are its own.
func TestReasonCodeTexts(t *testing.T) {
	var texts []string
	for _, c := range ReasonCodes() {
		text := c.Text()
		if text == "" || text == string(c) || slices.Contains(texts, text) {
			t.Errorf("%s.Text() = %q: want words of its own", c, text)
		}
		texts = append(texts, text)
	}
	if v := (Snapshot{}).get("missing"); v.Known || v.Code != CodeNotCollected || v.Reason != CodeNotCollected.Text() {
		t.Errorf("a signal no source answered reads %+v, want unknown, not collected", v)
	}
}

// An unknown value keeps its code through the rules' own steps: a
// first_known with no alternative known takes its first alternative's, and
// a fact derived from measures that do not settle it reads not configured.
func TestReasonCodesThroughResolution(t *testing.T) {
	r, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	snap := Snapshot{}
	var name string
	for _, sig := range r.Signals {
		if len(sig.Source.Alternatives()) >= 2 && sig.derive() == nil {
			name = sig.Name
			for i := range sig.Source.Alternatives() {
				snap[AlternativeKey(sig.Name, i)] = UnknownValue(CodeAuth, "refused", "kubernetes")
			}
			snap[AlternativeKey(sig.Name, 0)] = UnknownValue(CodeSourceDown, "down", "loki")
			break
		}
	}
	if name == "" {
		t.Skip("the default rules have no first_known signal")
	}
	ResolveFirstKnown(r, snap)
	if v := snap[name]; v.Known || v.Code != CodeSourceDown {
		t.Errorf("%s = %+v, want unknown with the first alternative's code", name, v)
	}
	for _, sig := range r.Signals {
		d := sig.derive()
		if d == nil {
			continue
		}
		v := r.prepare(Snapshot{})[sig.Name]
		if !v.Known && v.Code != CodeNotConfigured {
			t.Errorf("derived %s over nothing = %+v, want not configured", sig.Name, v)
		}
	}
}

// A judgment the team declared unknown reads so in the probable reading
// too, not as one never declared.
func TestDeclaredUnknownStaysDeclared(t *testing.T) {
	r, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	for _, sig := range r.Signals {
		if !sig.Judgment() {
			continue
		}
		declared := UnknownValue(CodeDeclaredUnknown, "declared unknown under facts:", "fact")
		prob, _ := r.probable(Snapshot{sig.Name: declared})
		if v := prob[sig.Name]; !v.Known && v.Code != CodeDeclaredUnknown {
			t.Errorf("%s declared unknown reads %+v in the probable reading", sig.Name, v)
		}
		if v, _ := r.probable(Snapshot{}); !v[sig.Name].Known && v[sig.Name].Code != CodeNotConfigured {
			t.Errorf("%s never declared reads %+v in the probable reading, want not configured", sig.Name, v[sig.Name])
		}
		return
	}
	t.Fatal("the default rules have no judgment")
}
