package config

import (
	"testing"
	"time"

	"github.com/capability-exporter/capability_exporter/impact"
)

func TestFactsAdopted(t *testing.T) {
	c, err := Parse("config.yml", []byte("facts:\n  developers: 12\n  adopted:\n    cost_visibility: 2026-10-04\n    distributed_tracing: 2026-11-14T08:00:00Z\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]time.Time{
		"cost_visibility":     time.Date(2026, 10, 4, 0, 0, 0, 0, time.UTC),
		"distributed_tracing": time.Date(2026, 11, 14, 8, 0, 0, 0, time.UTC),
	}
	for k, v := range want {
		if !c.Adopted[k].Equal(v) {
			t.Errorf("adopted %s = %v, want %v", k, c.Adopted[k], v)
		}
	}
	if v := c.FactValues["developers"]; !v.Known || v.Number != 12 {
		t.Errorf("developers = %+v: the other facts still read", v)
	}
}

// The impact settings a config leaves out keep the defaults; those it sets
// are in force.
func TestImpactSettings(t *testing.T) {
	c, err := Parse("c.yml", []byte("impact:\n  margin: 25%\n  judging_period: 12w\n"))
	if err != nil {
		t.Fatal(err)
	}
	o := c.ImpactOptions()
	if o.Margin != 0.25 || o.Judging != 84*24*time.Hour || o.MinWindow != impact.DefaultMinWindow {
		t.Errorf("options = %+v; want margin 0.25, judging 84 days, the default min window", o)
	}
	c, err = Parse("c.yml", nil)
	if err != nil {
		t.Fatal(err)
	}
	if o := c.ImpactOptions(); o != impact.DefaultOptions() {
		t.Errorf("options = %+v; want the defaults", o)
	}
}
