package main

import (
	"reflect"
	"strings"
	"testing"

	"github.com/capability-exporter/capability_exporter/config"
)

// The example's config is the webshop's: the same facts, and the same
// overrides except those that stood for what Prometheus measures, which its
// Prometheus, down, leaves unknown.
func TestAssessConfigIsTheWebshops(t *testing.T) {
	shop, err := config.Load("../../examples/webshop.yml")
	if err != nil {
		t.Fatal(err)
	}
	ex, err := config.Load("../../" + assessConfig)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(ex.FactValues, shop.FactValues) {
		t.Errorf("facts differ from examples/webshop.yml's:\n%v\n%v", ex.FactValues, shop.FactValues)
	}
	if ex.Sources.Prometheus == nil || ex.Sources.Prometheus.URL.String() != "http://127.0.0.1:1" {
		t.Errorf("the example's Prometheus is %v, want one at http://127.0.0.1:1", ex.Sources.Prometheus)
	}
	for name, v := range shop.OverrideValues {
		got, ok := ex.OverrideValues[name]
		prometheus := false
		if s := shop.Rules.Signal(name); s != nil {
			prometheus = true
			for _, alt := range s.Source.Alternatives() {
				prometheus = prometheus && alt.Kind() == "prometheus"
			}
		}
		switch {
		case ok && !reflect.DeepEqual(got, v):
			t.Errorf("override %s = %v, examples/webshop.yml's %v", name, got, v)
		case !ok && !prometheus:
			t.Errorf("override %s of examples/webshop.yml is missing, yet Prometheus does not measure it", name)
		case ok && prometheus && !strings.HasPrefix(name, "tool."):
			t.Errorf("override %s stands for what Prometheus measures; leave it out", name)
		}
	}
	for name := range ex.OverrideValues {
		if _, ok := shop.OverrideValues[name]; !ok {
			t.Errorf("override %s is not examples/webshop.yml's", name)
		}
	}
}
