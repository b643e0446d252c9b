package triggers

import (
	"slices"
	"testing"
)

// The default rules name the datastores and brokers the framework's
// services run beside, by image name.
func TestDefaultDatastores(t *testing.T) {
	def, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	d := def.Datastores
	for _, img := range []string{"postgres", "postgresql", "mysql", "mariadb", "mongo", "redis", "valkey", "memcached",
		"rabbitmq", "kafka", "nats", "elasticsearch", "opensearch", "cassandra", "zookeeper", "etcd"} {
		if !slices.Contains(d.Images, img) {
			t.Errorf("default datastores lack image %s", img)
		}
	}
	if !slices.Equal(d.NameSuffixes, []string{"-db"}) || !slices.Equal(d.Components, []string{"database"}) {
		t.Errorf("name_suffixes %q, components %q; want [-db], [database]", d.NameSuffixes, d.Components)
	}
}

// An extending file adds its image names and suffixes to the defaults',
// after them and without repeating one the defaults list; the default rules
// other configs use keep theirs.
func TestExtendAddsDatastores(t *testing.T) {
	def, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	r, err := Load("testdata/extend/datastores.yml")
	if err != nil {
		t.Fatal(err)
	}
	d := r.Datastores
	if want := append(slices.Clone(def.Datastores.Images), "acme-ledger"); !slices.Equal(d.Images, want) {
		t.Errorf("images = %q, want the defaults' then acme-ledger", d.Images)
	}
	if want := []string{"-db", "-kv"}; !slices.Equal(d.NameSuffixes, want) {
		t.Errorf("name_suffixes = %q, want %q", d.NameSuffixes, want)
	}
	if !slices.Equal(d.Components, def.Datastores.Components) {
		t.Errorf("components = %q, want the defaults' %q", d.Components, def.Datastores.Components)
	}
	if slices.Contains(def.Datastores.Images, "acme-ledger") {
		t.Error("the extending file's image reached the default rules")
	}
}

// Rules that replace the defaults and name no datastores leave nothing out.
func TestNoDatastoresSection(t *testing.T) {
	r, err := Load("testdata/valid.yml")
	if err != nil {
		t.Fatal(err)
	}
	if d := r.Datastores; len(d.Images)+len(d.NameSuffixes)+len(d.Components) > 0 {
		t.Errorf("datastores = %+v, want none", d)
	}
}
