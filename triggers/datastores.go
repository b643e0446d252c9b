package triggers

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// Datastores say which workloads the microservices measure leaves out: the
// databases, caches and message brokers an app runs beside its services. A
// Service selects them like any service, but they are no microservice of the
// app's own, and counting them would make a monolith with a database and a
// cache look like three services. A workload is left out when one of its
// containers runs one of Images, its name ends in one of NameSuffixes, or its
// pod template or itself carries an app.kubernetes.io/component label of one
// of Components. An extending rules file adds to each list.
type Datastores struct {
	// Images are image names: the last path element of a container image's
	// repository, without registry, organisation, tag or digest (redis for
	// docker.io/library/redis:7, postgresql for bitnami/postgresql).
	Images []string
	// NameSuffixes end the names of datastore workloads (-db).
	NameSuffixes []string
	// Components are values of the app.kubernetes.io/component label
	// (database).
	Components []string
}

// ComponentLabel is the label whose values Datastores.Components lists.
const ComponentLabel = "app.kubernetes.io/component"

// rawDatastores is the datastores: section as written.
type rawDatastores struct {
	Images       []string `yaml:"images"`
	NameSuffixes []string `yaml:"name_suffixes"`
	Components   []string `yaml:"components"`
}

var (
	// imageNameRE is one path component of an image repository, as the
	// OCI distribution spec allows it.
	imageNameRE = regexp.MustCompile(`^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$`)
	// nameSuffixRE is the end of a DNS-1123 name, which Deployments and
	// StatefulSets have.
	nameSuffixRE = regexp.MustCompile(`^[a-z0-9.-]*[a-z0-9]$`)
	// labelValueRE is a Kubernetes label value that is not empty.
	labelValueRE = regexp.MustCompile(`^[A-Za-z0-9](?:[A-Za-z0-9_.-]{0,61}[A-Za-z0-9])?$`)
)

// datastores reads the datastores: section; each list is checked item by
// item, and an item listed twice in one file is an error.
func (p *parser) datastores(raw rawDatastores) {
	d := Datastores{
		Images: p.datastoreList("images", raw.Images, func(s string) string {
			switch {
			case strings.ContainsAny(s, "/:@"):
				return "want the image's name alone, without registry, organisation, tag or digest (redis, not docker.io/library/redis:7)"
			case !imageNameRE.MatchString(s):
				return "not an image name: lowercase letters and digits, with . _ or - between them"
			}
			return ""
		}),
		NameSuffixes: p.datastoreList("name_suffixes", raw.NameSuffixes, func(s string) string {
			if !nameSuffixRE.MatchString(s) {
				return "not the end of a workload name: lowercase letters, digits, - and ., ending in a letter or digit"
			}
			return ""
		}),
		Components: p.datastoreList("components", raw.Components, func(s string) string {
			if !labelValueRE.MatchString(s) {
				return "not a label value: at most 63 letters, digits, - _ and ., starting and ending in a letter or digit"
			}
			return ""
		}),
	}
	p.r.Datastores = d
}

func (p *parser) datastoreList(key string, items []string, bad func(string) string) []string {
	var out []string
	for i, s := range items {
		field := fmt.Sprintf("datastores.%s[%d]", key, i)
		if why := bad(s); why != "" {
			p.errf(0, field, "%q: %s", s, why)
			continue
		}
		if j := slices.Index(items[:i], s); j >= 0 {
			p.errf(0, field, "%q is listed twice (also datastores.%s[%d])", s, key, j)
			continue
		}
		out = append(out, s)
	}
	return out
}

// mergeDatastores adds an extending file's datastores to the base's, the
// base's first; an item the base lists already is not repeated.
func mergeDatastores(base, own Datastores) Datastores {
	union := func(a, b []string) []string {
		out := slices.Clone(a)
		for _, s := range b {
			if !slices.Contains(out, s) {
				out = append(out, s)
			}
		}
		return out
	}
	return Datastores{Images: union(base.Images, own.Images), NameSuffixes: union(base.NameSuffixes, own.NameSuffixes),
		Components: union(base.Components, own.Components)}
}
