package config

import (
	"errors"
	"fmt"
	"net/url"

	"go.yaml.in/yaml/v3"

	"github.com/capability-exporter/capability_exporter/yamlpos"
)

// urlExamples are the URLs the errors give as examples.
var urlExamples = map[string]string{
	"prometheus.url": "http://prometheus:9090", "loki.url": "http://loki:3100",
	"prometheus.proxy_url": "http://proxy:3128", "loki.proxy_url": "http://proxy:3128",
}

// urlErrors names, with its line and field, each URL of the sources that
// does not parse. The decoder stops at the first with url.Parse's words
// alone (prometheus/common's URL type reads it); this finds them all.
func urlErrors(file string, data []byte) yamlpos.Errors {
	var doc yaml.Node
	if yaml.Unmarshal(data, &doc) != nil {
		return nil
	}
	sources := yamlpos.MappingValue(yamlpos.Root(&doc), "sources")
	var errs yamlpos.Errors
	for _, name := range []string{"prometheus", "loki"} {
		s := yamlpos.MappingValue(sources, name)
		for _, key := range []string{"url", "proxy_url"} {
			v := yamlpos.MappingValue(s, key)
			if v == nil || v.Kind != yaml.ScalarNode {
				continue
			}
			if _, err := url.Parse(v.Value); err != nil {
				var ue *url.Error
				if errors.As(err, &ue) {
					err = ue.Err
				}
				// The value itself is not repeated: it may hold a password.
				errs = append(errs, &yamlpos.Error{File: file, Line: v.Line, Field: "sources." + name + "." + key,
					Msg: fmt.Sprintf("not a URL: %v (want e.g. %s)", err, urlExamples[name+"."+key])})
			}
		}
	}
	return errs
}
