package helm

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	sigsyaml "sigs.k8s.io/yaml"

	"github.com/capability-exporter/capability_exporter/config"
	"github.com/capability-exporter/capability_exporter/triggers"
)

var update = flag.Bool("update", false, "rewrite the chart's values.schema.json from the rules and the config types")

// The chart's values.schema.json is generated here: the facts from the
// default rules, the sources from the config's own types, so that a value
// Helm accepts is one the exporter reads, and a wrong one fails at render
// time, naming the value, instead of crash-looping the pod.
func TestValuesSchemaIsGenerated(t *testing.T) {
	got := generateSchema(t)
	path := filepath.Join(chart, "values.schema.json")
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s is not what the rules and the config types say; run go test ./deploy/helm -run TestValuesSchemaIsGenerated -update", path)
	}
}

// Every value of values.yaml is typed by the schema, and the schema types
// nothing values.yaml lacks.
func TestValuesSchemaTypesEveryValue(t *testing.T) {
	var schema, vals map[string]any
	if err := json.Unmarshal(generateSchema(t), &schema); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(chart, "values.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := sigsyaml.Unmarshal(data, &vals); err != nil {
		t.Fatal(err)
	}
	var walk func(path string, v any, s map[string]any)
	walk = func(path string, v any, s map[string]any) {
		if s == nil {
			t.Errorf("%s: not in the schema", path)
			return
		}
		if s["type"] == nil && s["oneOf"] == nil {
			t.Errorf("%s: the schema gives no type", path)
		}
		m, ok := v.(map[string]any)
		props, _ := s["properties"].(map[string]any)
		if !ok || props == nil {
			return
		}
		for k, sub := range m {
			ps, _ := props[k].(map[string]any)
			walk(path+"."+k, sub, ps)
		}
		if path == "" {
			for k := range props {
				if _, ok := m[k]; !ok && k != "global" {
					t.Errorf("schema types %s, which values.yaml lacks", k)
				}
			}
		}
	}
	walk("", vals, schema)
}

func generateSchema(t *testing.T) []byte {
	t.Helper()
	rules, err := triggers.Default()
	if err != nil {
		t.Fatal(err)
	}
	str := obj("type", "string")
	strMap := obj("type", "object", "additionalProperties", str)
	object := obj("type", "object")
	array := obj("type", "array")
	boolean := obj("type", "boolean")
	integer := func(least int) map[string]any { return obj("type", "integer", "minimum", least) }
	enabled := obj("description", "true, false, or auto: on when the cluster serves monitoring.coreos.com/v1 (helm template: --api-versions monitoring.coreos.com/v1)",
		"oneOf", []any{boolean, obj("type", "string", "enum", []any{"auto"})})

	facts := map[string]any{}
	for _, f := range rules.Facts() {
		s := valueSchema(f.Type)
		s["description"] = f.Help
		facts[f.Name] = s
	}
	// Capabilities are not enumerated: an extending rules file may add one,
	// and the exporter checks the names.
	facts[config.AdoptedFact] = obj("type", "object",
		"description", "when each capability was adopted (service_mesh, distributed_tracing, ...), a date (2026-10-04) or an RFC 3339 time; it outranks what the cluster and the store remember",
		"additionalProperties", obj("type", "string", "pattern", `^\d{4}-\d{2}-\d{2}([T ].*)?$`))
	thresholds := map[string]any{}
	for _, th := range rules.Thresholds {
		s := valueSchema(th.Type)
		if th.Type == triggers.TypeRatio {
			s["maximum"] = 1 // a bare 15 is refused: 15% or 0.15
		}
		s["description"] = th.Help + " The framework says " + th.DefaultText() + "."
		thresholds[th.Name] = s
	}
	overrides := map[string]any{config.ToolWildcard: obj("type", "boolean", "description", "every tool not named")}
	for _, s := range rules.Signals {
		if s.Source.Fact == "" {
			vs := valueSchema(s.Type)
			vs["description"] = s.Help
			overrides[s.Name] = vs
		}
	}
	for _, tool := range rules.Tools {
		overrides[tool.SignalName()] = obj("type", "boolean", "description", tool.Title+" installed")
	}
	source := func(v any, required ...string) map[string]any {
		s := closed(fieldSchemas(reflect.TypeOf(v)))
		if len(required) > 0 {
			s["required"] = required
		}
		return obj("oneOf", []any{s, obj("type", "null")})
	}

	schema := closed(map[string]any{
		"global":                object,
		"nameOverride":          str,
		"fullnameOverride":      str,
		"namespaceOverride":     str,
		"commonLabels":          strMap,
		"clusterName":           obj("type", "string", "description", "the cluster this release decides for: in the config, on the status page, and as the cluster label the ServiceMonitor adds"),
		"clusterLabel":          obj("type", "string", "pattern", "^[a-zA-Z_][a-zA-Z0-9_]*$"),
		"scopeSourcesToCluster": boolean,
		"sources": closed(map[string]any{
			"prometheus": source(config.HTTPSource{}, "url"),
			"loki":       source(config.HTTPSource{}, "url"),
			"kubernetes": source(config.KubernetesSource{}),
		}),
		"facts": obj("type", "object", "properties", facts,
			"description", "the organisation's declared answers; names the default rules do not read are allowed for rules that extend them, and the exporter checks them",
			"additionalProperties", true),
		"overrides": obj("type", "object", "properties", overrides, "additionalProperties", true),
		"thresholds": obj("type", "object", "properties", thresholds,
			"description", "the organisation's own values of the rules' named thresholds; names the default rules do not define are allowed for rules that define their own, and the exporter checks them",
			"additionalProperties", true),
		"impact": closed(map[string]any{
			"margin":         obj("type", "string", "pattern", `^[0-9.]+%$`, "description", "how far an impact signal must move the wanted way to count as improved (default 10%)"),
			"judging_period": obj("type", "string", "description", "how long after adoption the exit question is raised where no impact signal improved (default 60d)"),
			"min_window":     obj("type", "string", "description", "windows on each side of adoption shorter than this are too early to judge (default 7d)"),
		}),
		"rules": obj("type", []any{"object", "string"}),
		"image": closed(map[string]any{
			"registry": str, "repository": str, "tag": str, "digest": str,
			"pullPolicy":  obj("type", "string", "enum", []any{"Always", "IfNotPresent", "Never"}),
			"pullSecrets": obj("type", "array", "items", str),
		}),
		"extraArgs":            obj("type", "array", "items", str),
		"replicas":             integer(0),
		"revisionHistoryLimit": integer(0),
		"podAnnotations":       strMap,
		"podLabels":            strMap,
		"podSecurityContext":   object,
		"securityContext":      object,
		"resources":            object,
		"livenessProbe":        object,
		"readinessProbe":       object,
		"nodeSelector":         strMap,
		"tolerations":          array,
		"affinity":             object,
		"priorityClassName":    str,
		"service": closed(map[string]any{
			"type":        obj("type", "string", "enum", []any{"ClusterIP", "NodePort", "LoadBalancer"}),
			"port":        obj("type", "integer", "minimum", 1, "maximum", 65535),
			"annotations": strMap,
			"labels":      strMap,
		}),
		"serviceAccount": closed(map[string]any{"create": boolean, "name": str, "annotations": strMap}),
		"rbac":           closed(map[string]any{"create": boolean}),
		"serviceMonitor": closed(map[string]any{
			"enabled": enabled, "additionalLabels": strMap, "interval": str, "scrapeTimeout": str,
			"relabelings": array, "metricRelabelings": array,
		}),
		"prometheusRule": closed(map[string]any{"enabled": enabled, "additionalLabels": strMap, "namespace": str}),
		"grafanaDashboards": closed(map[string]any{
			"enabled":          obj("type", "boolean", "description", "one ConfigMap per dashboard, for Grafana's dashboard sidecar (kube-prometheus-stack's)"),
			"namespace":        obj("type", "string", "description", "where the ConfigMaps go (default: the release's); the sidecar's searchNamespace must include it"),
			"label":            obj("type", "string", "minLength", 1, "description", "the label the sidecar selects by (its sidecar.dashboards.label)"),
			"labelValue":       obj("type", []any{"string", "number", "boolean"}, "description", "that label's value (its sidecar.dashboards.labelValue)"),
			"folderAnnotation": obj("type", "string", "description", "the annotation the sidecar reads a folder from (its sidecar.dashboards.folderAnnotation)"),
			"folder":           obj("type", "string", "description", "the Grafana folder, set as folderAnnotation; empty: no annotation"),
			"additionalLabels": strMap,
			"annotations":      strMap,
		}),
	})
	schema["$schema"] = "http://json-schema.org/draft-07/schema#"
	schema["title"] = "capability-exporter values (generated by deploy/helm/schema_test.go)"
	out, err := json.MarshalIndent(schema, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return append(out, '\n')
}

// valueSchema is how the config reads a declared value of type t: YAML
// booleans, numbers, and durations (6h) and percentages (20%) as strings
// or plain numbers.
func valueSchema(t triggers.ValueType) map[string]any {
	switch t {
	case triggers.TypeBool:
		return obj("type", "boolean")
	case triggers.TypeDuration:
		return obj("type", []any{"string", "number"}, "pattern", `^([0-9]+(ms|s|m|h|d|w|y))+$`)
	case triggers.TypeRatio:
		return obj("type", []any{"string", "number"}, "pattern", `^[0-9]+(\.[0-9]+)?%$`)
	}
	return obj("type", "number")
}

// fieldSchemas types the YAML fields of a config struct, inline ones (the
// HTTP client's) included. Nested structs are objects: the exporter checks
// them field by field when it loads the config.
func fieldSchemas(rt reflect.Type) map[string]any {
	out := map[string]any{}
	for f := range rt.Fields() {
		name, opts, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if opts == "inline" {
			for k, v := range fieldSchemas(f.Type) {
				out[k] = v
			}
			continue
		}
		if name == "" || name == "-" {
			continue
		}
		out[name] = kindSchema(f.Type)
	}
	return out
}

func kindSchema(ft reflect.Type) map[string]any {
	switch {
	case ft.Name() == "URL":
		return obj("type", "string")
	case ft.Name() == "Duration":
		return obj("type", "string", "pattern", `^([0-9]+(ms|s|m|h|d|w|y))+$`)
	}
	switch ft.Kind() {
	case reflect.String:
		return obj("type", "string")
	case reflect.Bool:
		return obj("type", "boolean")
	case reflect.Int, reflect.Int64:
		return obj("type", "integer")
	case reflect.Slice:
		return obj("type", "array", "items", kindSchema(ft.Elem()))
	}
	return obj("type", "object")
}

func closed(props map[string]any) map[string]any {
	return obj("type", "object", "properties", props, "additionalProperties", false)
}

func obj(kv ...any) map[string]any {
	out := map[string]any{}
	for i := 0; i+1 < len(kv); i += 2 {
		out[kv[i].(string)] = kv[i+1]
	}
	return out
}
