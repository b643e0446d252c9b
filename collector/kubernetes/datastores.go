package kubernetes

import (
	"strings"

	"github.com/capability-exporter/capability_exporter/triggers"
)

// The microservices measure leaves out the datastores and brokers the rules
// list (triggers.Datastores): a Service selects PostgreSQL or Redis like any
// service, but they are none of the app's own services.

// imageName is the last path element of an image reference's repository,
// without tag or digest, as the rules name images: redis for
// docker.io/library/redis:7, postgresql for bitnami/postgresql, postgres for
// ghcr.io/org/postgres@sha256:…. A registry's port is before the last
// slash, so the colon after it is always the tag's.
func imageName(ref string) string {
	ref, _, _ = strings.Cut(ref, "@")
	if i := strings.LastIndexByte(ref, '/'); i >= 0 {
		ref = ref[i+1:]
	}
	ref, _, _ = strings.Cut(ref, ":")
	return strings.ToLower(ref)
}

// datastoreMatcher tells a datastore workload by the rules' lists.
type datastoreMatcher struct {
	images     map[string]bool
	suffixes   []string
	components map[string]bool
}

func newDatastoreMatcher(d triggers.Datastores) datastoreMatcher {
	m := datastoreMatcher{images: make(map[string]bool, len(d.Images)), suffixes: d.NameSuffixes,
		components: make(map[string]bool, len(d.Components))}
	for _, img := range d.Images {
		m.images[img] = true
	}
	for _, c := range d.Components {
		m.components[c] = true
	}
	return m
}

// reason says why w is a datastore, in the words the page shows (image
// mongo, name ends in -db, label app.kubernetes.io/component=database), or
// is empty when it is not one. An image is the strongest sign and is named
// first.
func (m datastoreMatcher) reason(w *workload) string {
	for _, img := range w.images {
		if m.images[img] {
			return "image " + img
		}
	}
	for _, s := range m.suffixes {
		if strings.HasSuffix(w.name, s) {
			return "name ends in " + s
		}
	}
	for _, c := range w.components {
		if m.components[c] {
			return "label " + triggers.ComponentLabel + "=" + c
		}
	}
	return ""
}
