package config

import (
	"maps"
	"testing"
)

func TestScopedConfig(t *testing.T) {
	c, err := Load("testdata/good/scoped.yml")
	if err != nil {
		t.Fatal(err)
	}
	p, l := c.Sources.Prometheus, c.Sources.Loki
	if want := map[string]string{"critical_alerts": `ALERTS{alertstate="firing",priority="P1"}`}; !maps.Equal(p.Selectors, want) {
		t.Errorf("prometheus selectors %v, want the override %v", p.Selectors, want)
	}
	if !maps.Equal(l.Selectors, DefaultSelectors("loki")) {
		t.Errorf("loki selectors %v, want the defaults %v", l.Selectors, DefaultSelectors("loki"))
	}
	if len(p.Matchers) != 1 || p.Matchers[0] != `cluster="prod-eu"` {
		t.Errorf("prometheus matchers %v", p.Matchers)
	}
	// The defaults are copied, never shared with a loaded config.
	l.Selectors["audit_stream"] = "changed"
	if DefaultSelectors("loki")["audit_stream"] != `{job="kubernetes-audit"}` {
		t.Error("a loaded config's selectors alias the defaults")
	}
}
