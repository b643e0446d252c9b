package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	promconfig "github.com/prometheus/common/config"
	"github.com/prometheus/common/model"
	"go.yaml.in/yaml/v3"

	"github.com/capability-exporter/capability_exporter/triggers"
	"github.com/capability-exporter/capability_exporter/yamlpos"
)

// Config is a loaded, validated config file with the rules it names.
type Config struct {
	// Cluster names the cluster this exporter decides for, for people
	// reading the page and reports; the cluster label of series comes from
	// the scrape (the Helm chart sets both from clusterName).
	Cluster   string    `yaml:"cluster"`
	Sources   Sources   `yaml:"sources"`
	Facts     yaml.Node `yaml:"facts"`
	Overrides yaml.Node `yaml:"overrides"`
	// Thresholds set the organisation's own value of named thresholds of
	// the rules ({cost_growth_per_month}), each in the threshold's type.
	Thresholds yaml.Node `yaml:"thresholds"`
	// Impact sets how the impact of an adopted capability is judged
	// (impact.go).
	Impact    Impact `yaml:"impact"`
	RulesFile string `yaml:"rules_file"`

	// File is the config's path; Rules the loaded rules (the embedded default
	// unless RulesFile is set); FactValues the declared facts by name.
	File       string                    `yaml:"-"`
	Rules      *triggers.Rules           `yaml:"-"`
	FactValues map[string]triggers.Value `yaml:"-"`
	// OverrideValues replace measured signals by name (tool.<id> included;
	// the key tool.* stands for every tool not named).
	OverrideValues map[string]triggers.Value `yaml:"-"`
	// Adopted are the adoption dates declared under facts.adopted, by
	// capability: they outrank what the cluster and the store remember.
	Adopted map[string]time.Time `yaml:"-"`

	scrubber *scrubber  // the secrets Scrub hides, collected at load
	doc      *yaml.Node // the file as parsed, for the lines of later warnings
}

// Sources configures the signal sources. A nil section is not configured, and
// the signals it would answer are unknown.
type Sources struct {
	Prometheus *HTTPSource       `yaml:"prometheus"`
	Loki       *HTTPSource       `yaml:"loki"`
	Kubernetes *KubernetesSource `yaml:"kubernetes"`
}

// HTTPSource is a Prometheus-API or Loki server.
type HTTPSource struct {
	URL promconfig.URL `yaml:"url"`
	// Timeout is the deadline of one query.
	Timeout Duration `yaml:"timeout"`
	// MaxConcurrency bounds the queries in flight to this server.
	MaxConcurrency int `yaml:"max_concurrency"`
	// TenantID is sent as X-Scope-OrgID (Loki, Mimir, Cortex, Thanos).
	TenantID string `yaml:"tenant_id"`
	// Selectors are the selectors the rules refer to as ${name}; after
	// Parse they hold the kind's defaults too (see DefaultSelectors).
	Selectors map[string]string `yaml:"selectors,omitempty"`
	// Matchers are added to every selector of every query sent to this
	// server, e.g. cluster="prod-eu": the scope on a store shared by
	// several clusters.
	Matchers []string `yaml:"matchers,omitempty"`
	// SigV4, AzureAD and GoogleIAM are the auth of managed stores
	// (auth.go), on sources.prometheus only; at most one is set, and none
	// beside the standard client config's own auth.
	SigV4     *SigV4     `yaml:"sigv4,omitempty"`
	AzureAD   *AzureAD   `yaml:"azuread,omitempty"`
	GoogleIAM *GoogleIAM `yaml:"google_iam,omitempty"`
	// HTTPClientConfig is the standard client config: basic_auth,
	// authorization, bearer_token_file, tls_config, proxy, http_headers …
	HTTPClientConfig promconfig.HTTPClientConfig `yaml:",inline"`
}

// DefaultHTTPSource returns the defaults for HTTP sources, a new value on
// each call.
func DefaultHTTPSource() HTTPSource {
	return HTTPSource{
		Timeout:          Duration(30 * time.Second),
		MaxConcurrency:   4,
		HTTPClientConfig: promconfig.DefaultHTTPClientConfig,
	}
}

// UnmarshalYAML applies defaults. It takes the callback form on purpose: the
// callback decodes with the outer decoder, so unknown fields stay errors.
func (s *HTTPSource) UnmarshalYAML(unmarshal func(any) error) error {
	*s = DefaultHTTPSource()
	type httpSource HTTPSource
	return unmarshal((*httpSource)(s))
}

// KubernetesSource is the cluster the exporter reads.
type KubernetesSource struct {
	// Kubeconfig is a kubeconfig path; empty means in-cluster config.
	Kubeconfig string `yaml:"kubeconfig"`
	// Context selects a kubeconfig context; empty means the current one.
	Context string `yaml:"context"`
	// Timeout bounds the initial sync and each request.
	Timeout Duration `yaml:"timeout"`
	// PlatformNamespaces are namespace names excluded from app measures, in
	// addition to PlatformNamespacesRegex.
	PlatformNamespaces []string `yaml:"platform_namespaces"`
	// PlatformNamespacesRegex matches excluded namespaces, anchored.
	PlatformNamespacesRegex string `yaml:"platform_namespaces_regex"`
	// TeamLabels are the namespace labels that name a tenant, first found wins.
	TeamLabels []string `yaml:"team_labels"`
}

// DefaultPlatformNamespacesRegex excludes the namespaces of Kubernetes itself,
// of the big distributions and clouds, and of the platform tools that usually
// run beside the apps; docs/sources.md and docs/rules.md list them. `default` is not
// one: a small shop deploys its apps there.
const DefaultPlatformNamespacesRegex = `kube-.*|monitoring|observability|logging|local-path-storage` +
	// Distributions and clouds: OpenShift, GKE (and Managed Prometheus, Config
	// Sync), EKS (add-ons, CloudWatch, GuardDuty), Karpenter, AKS, Rancher.
	`|openshift|openshift-.*|gke-.*|gmp-.*|config-management-system|aws-.*|amazon-.*|karpenter` +
	`|azure-.*|app-routing-system|cattle-.*|fleet-.*` +
	// CNI, ingress, storage and load balancing.
	`|cilium.*|calico-.*|tigera-.*|metallb-system|ingress-nginx|.*-ingress|traefik|external-dns` +
	`|longhorn-system|rook-ceph` +
	// Platform tools: delivery, policy, secrets, mesh, observability, cost,
	// backup, security, autoscaling, serverless.
	`|argocd|argo-cd|flux-system|tekton-.*|crossplane-system|knative-.*|keda|cert-manager` +
	`|gatekeeper-system|kyverno|vault|external-secrets|istio-.*|linkerd.*|kuma-system` +
	`|prometheus|grafana|loki|tempo|jaeger|opentelemetry-operator-system|odigos-system|datadog|dynatrace` +
	`|opencost|kubecost|velero|kasten-io|chaos-mesh|litmus|falco|kubearmor|trivy-system`

// DefaultKubernetesSource returns the defaults of the kubernetes section, a
// new value on each call.
func DefaultKubernetesSource() KubernetesSource {
	return KubernetesSource{
		Timeout:                 Duration(60 * time.Second),
		PlatformNamespacesRegex: DefaultPlatformNamespacesRegex,
		TeamLabels:              []string{"team", "app.kubernetes.io/part-of"},
	}
}

// UnmarshalYAML applies defaults, keeping unknown fields errors.
func (s *KubernetesSource) UnmarshalYAML(unmarshal func(any) error) error {
	*s = DefaultKubernetesSource()
	type kubernetesSource KubernetesSource
	return unmarshal((*kubernetesSource)(s))
}

var configTypeNames = map[string]string{
	"config.Config": "config", "config.Sources": "sources", "config.httpSource": "source",
	"config.kubernetesSource": "kubernetes source", "config.plain": "section",
	"config.Impact": "impact section",
}

// Load reads a config file and the rules it names, validating both.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Parse(path, data)
}

// Parse reads config data; file names it in errors and anchors a relative
// rules_file.
func Parse(file string, data []byte) (*Config, error) {
	c := &Config{File: file}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(c); err != nil && !errors.Is(err, io.EOF) {
		if errs := urlErrors(file, data); len(errs) > 0 {
			return nil, errs
		}
		return nil, yamlpos.DecodeErrors(file, err, configTypeNames, data)
	}
	var doc yaml.Node
	_ = yaml.Unmarshal(data, &doc)
	c.doc = &doc
	p := &problems{file: file, doc: &doc}
	c.checkSources(p)
	c.resolvePaths()
	c.loadRules(p)
	c.readDeclarations(p)
	p.errs = append(p.errs, c.parseImpact(file)...)
	c.checkScope(&doc, func(file string, line int, field, msg string) {
		p.errs = append(p.errs, &yamlpos.Error{File: file, Line: line, Field: field, Msg: msg})
	})
	slices.SortStableFunc(p.errs, func(a, b *yamlpos.Error) int { return a.Line - b.Line })
	if err := p.errs.Err(); err != nil {
		return nil, err
	}
	c.scrubber = newScrubber(c)
	return c, nil
}

// problems collects what is wrong with a config file, each problem with the
// line of the field it is about.
type problems struct {
	file string
	doc  *yaml.Node
	errs yamlpos.Errors
}

// check records err, if any, against field, at the line of the deepest part
// of path the file holds.
func (p *problems) check(err error, field string, path ...string) {
	if err != nil {
		p.errs = append(p.errs, &yamlpos.Error{File: p.file, Line: yamlpos.NodeLine(p.doc, path...), Field: field, Msg: err.Error()})
	}
}

// checkSources checks the sources section: each HTTP source's url, timeout,
// concurrency and auth, and the kubernetes section's values.
func (c *Config) checkSources(p *problems) {
	for name, s := range map[string]*HTTPSource{"prometheus": c.Sources.Prometheus, "loki": c.Sources.Loki} {
		if s == nil {
			continue
		}
		field := "sources." + name
		if s.URL.URL == nil || s.URL.Host == "" {
			p.check(errors.New("missing url (want e.g. http://prometheus:9090)"), field+".url", "sources", name)
		} else if s.URL.Scheme != "http" && s.URL.Scheme != "https" {
			p.check(fmt.Errorf("url scheme %q: want http or https", s.URL.Scheme), field+".url", "sources", name, "url")
		}
		if s.Timeout <= 0 {
			p.check(errors.New("want a positive duration"), field+".timeout", "sources", name, "timeout")
		}
		if s.MaxConcurrency < 1 {
			p.check(errors.New("want at least 1"), field+".max_concurrency", "sources", name, "max_concurrency")
		}
		p.check(s.HTTPClientConfig.Validate(), field, "sources", name)
		s.checkAuth(name, func(err error, path ...string) {
			p.check(err, field+"."+path[0], append([]string{"sources", name}, path...)...)
		})
	}
	if k := c.Sources.Kubernetes; k != nil {
		if _, err := regexp.Compile("^(?:" + k.PlatformNamespacesRegex + ")$"); err != nil {
			p.check(err, "sources.kubernetes.platform_namespaces_regex", "sources", "kubernetes", "platform_namespaces_regex")
		}
		if k.Timeout <= 0 {
			p.check(errors.New("want a positive duration"), "sources.kubernetes.timeout", "sources", "kubernetes", "timeout")
		}
		if len(k.TeamLabels) == 0 {
			p.check(errors.New("want at least one label"), "sources.kubernetes.team_labels", "sources", "kubernetes", "team_labels")
		}
	}
}

// resolvePaths makes the paths in the config relative to the config file,
// wherever the exporter was started from.
func (c *Config) resolvePaths() {
	if k := c.Sources.Kubernetes; k != nil && k.Kubeconfig != "" && !filepath.IsAbs(k.Kubeconfig) {
		k.Kubeconfig = filepath.Join(filepath.Dir(c.File), k.Kubeconfig)
	}
	c.Sources.setDirectory(filepath.Dir(c.File))
}

// loadRules loads the rules_file, or the default rules when it names none;
// a rules file's own problems keep its file and lines.
func (c *Config) loadRules(p *problems) {
	var err error
	if c.RulesFile == "" {
		c.Rules, err = triggers.Default()
	} else {
		rf := c.RulesFile
		if !filepath.IsAbs(rf) {
			rf = filepath.Join(filepath.Dir(c.File), rf)
		}
		c.Rules, err = triggers.Load(rf)
		if errors.Is(err, os.ErrNotExist) {
			p.check(err, "rules_file", "rules_file")
			err = nil
		}
	}
	if err != nil {
		var rerrs yamlpos.Errors
		if errors.As(err, &rerrs) {
			p.errs = append(p.errs, rerrs...)
		} else {
			p.check(err, "rules_file", "rules_file")
		}
	}
}

// readDeclarations reads what the organisation declares against the rules:
// adoption dates, facts, overrides and its own thresholds, which then take
// effect in c.Rules.
func (c *Config) readDeclarations(p *problems) {
	if c.Rules == nil {
		return
	}
	var errs yamlpos.Errors
	var facts yaml.Node // the facts section without adopted
	c.Adopted, facts, errs = parseAdopted(c.File, &c.Facts, c.Rules)
	p.errs = append(p.errs, errs...)
	c.FactValues, errs = parseFacts(c.File, &facts, c.Rules)
	p.errs = append(p.errs, errs...)
	c.OverrideValues, errs = parseOverrides(c.File, &c.Overrides, c.Rules)
	p.errs = append(p.errs, errs...)
	own, errs := parseThresholds(c.File, &c.Thresholds, c.Rules)
	p.errs = append(p.errs, errs...)
	c.Rules = c.Rules.WithThresholds(own)
}

// parseFacts reads the facts section against the facts the rules declare:
// an unknown name or a value of the wrong type is an error, and a fact that
// is not declared stays unknown.
func parseFacts(file string, n *yaml.Node, rules *triggers.Rules) (map[string]triggers.Value, yamlpos.Errors) {
	specs := map[string]triggers.ValueType{}
	var names []string
	for _, f := range rules.Facts() {
		specs[f.Name] = f.Type
		names = append(names, f.Name)
	}
	return parseDeclared(file, "facts", "fact", n, func(name string) (triggers.ValueType, string) {
		if t, ok := specs[name]; ok {
			return t, ""
		}
		return "", fmt.Sprintf("unknown fact (the rules read: %s)", strings.Join(names, ", "))
	})
}

// parseThresholds reads the organisation's values of the rules' named
// thresholds, each typed like the signals compared with it: 15% (or 0.15) for
// a ratio, 2h (or 7200) for a duration, a number for a count. A plain number
// above 1 for a ratio is refused, as 15 is more likely 15% than 1500%.
func parseThresholds(file string, n *yaml.Node, rules *triggers.Rules) (map[string]float64, yamlpos.Errors) {
	var names []string
	for _, t := range rules.Thresholds {
		names = append(names, t.Name)
	}
	vals, errs := parseDeclared(file, "thresholds", "threshold", n, func(name string) (triggers.ValueType, string) {
		if t := rules.Threshold(name); t != nil {
			return t.Type, ""
		}
		if len(names) == 0 {
			return "", "unknown threshold (the rules define none)"
		}
		return "", fmt.Sprintf("unknown threshold (the rules define: %s)", strings.Join(names, ", "))
	})
	for k, v := range yamlpos.Pairs(n) {
		if t := rules.Threshold(k.Value); t != nil && v.Tag == "!!null" {
			errs = append(errs, &yamlpos.Error{File: file, Line: v.Line, Field: "thresholds." + k.Value,
				Msg: "want a value; leave the name out for the rules' " + t.DefaultText()})
		}
	}
	out := make(map[string]float64, len(vals))
	for name, v := range vals {
		t := rules.Threshold(name)
		line := yamlpos.NodeLine(n, name)
		switch {
		case t.Type == triggers.TypeRatio && v.Number > 1 && !strings.HasSuffix(scalarAt(n, name), "%"):
			errs = append(errs, &yamlpos.Error{File: file, Line: line, Field: "thresholds." + name,
				Msg: fmt.Sprintf("%s is a ratio: write %s%% or %s", name, scalarAt(n, name), triggers.FormatValue(triggers.TypeNumber, v.Number/100))})
			continue
		}
		out[name] = v.Number
	}
	slices.SortStableFunc(errs, func(a, b *yamlpos.Error) int { return a.Line - b.Line })
	return out, errs
}

// scalarAt is the text of the value of key in mapping n.
func scalarAt(n *yaml.Node, key string) string {
	if v := yamlpos.MappingValue(n, key); v != nil {
		return v.Value
	}
	return ""
}

// ToolWildcard is the overrides key that stands for every tool not named.
const ToolWildcard = triggers.ToolSignalPrefix + "*"

// parseOverrides reads declared values for measured signals: for a what-if
// question, or to decide without a source. Facts are declared under facts.
func parseOverrides(file string, n *yaml.Node, rules *triggers.Rules) (map[string]triggers.Value, yamlpos.Errors) {
	out, errs := parseDeclared(file, "overrides", "override", n, func(name string) (triggers.ValueType, string) {
		id, isTool := strings.CutPrefix(name, triggers.ToolSignalPrefix)
		sig := rules.Signal(name)
		switch {
		case isTool && id != "*" && rules.Tool(id) == nil:
			return "", fmt.Sprintf("unknown tool %q", id)
		case isTool:
			return triggers.TypeBool, ""
		case sig == nil:
			return "", "unknown signal"
		case sig.Source.Fact != "":
			return "", "a fact, not a measured signal: declare it under facts as " + sig.Source.Fact
		}
		return sig.Type, ""
	})
	if wild, ok := out[ToolWildcard]; ok {
		delete(out, ToolWildcard)
		for _, t := range rules.Tools {
			if _, named := out[t.SignalName()]; !named {
				out[t.SignalName()] = wild
			}
		}
	}
	return out, errs
}

// parseDeclared reads a mapping of names to values. resolve gives a name's
// type, or why the name is not accepted. A null value declares the name
// unknown on purpose.
func parseDeclared(file, section, source string, n *yaml.Node, resolve func(name string) (triggers.ValueType, string)) (map[string]triggers.Value, yamlpos.Errors) {
	out := map[string]triggers.Value{}
	if n.Kind == 0 || n.Tag == "!!null" {
		return out, nil
	}
	if n.Kind != yaml.MappingNode {
		return out, yamlpos.Errors{{File: file, Line: n.Line, Field: section, Msg: "want a mapping of names to values"}}
	}
	var errs yamlpos.Errors
	seen := map[string]bool{}
	for k, v := range yamlpos.Pairs(n) {
		field := section + "." + k.Value
		typ, problem := resolve(k.Value)
		switch {
		case problem != "":
			errs = append(errs, &yamlpos.Error{File: file, Line: k.Line, Field: field, Msg: problem})
			continue
		case seen[k.Value]:
			errs = append(errs, &yamlpos.Error{File: file, Line: k.Line, Field: field, Msg: "declared twice"})
			continue
		}
		seen[k.Value] = true
		if v.Kind == yaml.ScalarNode && v.Tag == "!!null" {
			if source == "fact" { // unknown on purpose, and it says so
				out[k.Value] = triggers.UnknownValue(triggers.CodeDeclaredUnknown, "declared unknown under facts:", source)
			}
			continue
		}
		val, err := declaredValue(typ, v)
		if err != nil {
			errs = append(errs, &yamlpos.Error{File: file, Line: v.Line, Field: field, Msg: err.Error()})
			continue
		}
		out[k.Value] = triggers.KnownValue(val, source)
	}
	return out, errs
}

// declaredValue reads one scalar as the rules read literals. YAML's own
// booleans (true, True, TRUE) are accepted for bool; a quoted "true" is not,
// since it is more likely a mistake than a choice.
func declaredValue(t triggers.ValueType, v *yaml.Node) (float64, error) {
	if v.Kind != yaml.ScalarNode {
		return 0, fmt.Errorf("want a single %s value", t)
	}
	lit := v.Value
	switch {
	case t == triggers.TypeBool && v.Tag != "!!bool":
		return 0, fmt.Errorf("want true or false, got %q", v.Value)
	case t == triggers.TypeBool:
		b, _ := strconv.ParseBool(v.Value)
		lit = strconv.FormatBool(b)
	case t == triggers.TypeNumber && v.Tag != "!!int" && v.Tag != "!!float":
		return 0, fmt.Errorf("want a number, got %q", v.Value)
	}
	return triggers.ParseValue(t, lit)
}

// Line returns the line of the deepest part of path (mapping keys, each
// optionally with [i] indexes) in the config file as it was loaded, or 0
// for a config that was not parsed from a file.
func (c *Config) Line(path ...string) int {
	if c.doc == nil {
		return 0
	}
	return yamlpos.NodeLine(c.doc, path...)
}

// Redacted returns the config as YAML with secrets hidden, for display.
func (c *Config) Redacted() string {
	out, err := yaml.Marshal(struct {
		Cluster   string  `yaml:"cluster,omitempty"`
		Sources   Sources `yaml:"sources"`
		RulesFile string  `yaml:"rules_file,omitempty"`
	}{c.Cluster, c.Sources, c.RulesFile})
	if err != nil {
		return err.Error()
	}
	return string(out)
}

// RedactURL hides the password of a URL's user info, for pages and reports,
// with the one marker every output uses (Hidden).
func RedactURL(u *promconfig.URL) string {
	if u == nil || u.URL == nil {
		return ""
	}
	if _, has := u.User.Password(); !has {
		return u.String()
	}
	c := *u.URL
	c.User = url.UserPassword(u.User.Username(), "PASSWORD")
	return strings.Replace(c.String(), ":PASSWORD@", ":"+Hidden+"@", 1)
}

// Duration is a Prometheus-style duration (30s, 5m) whose parse error names
// its line.
type Duration time.Duration

// UnmarshalYAML reads a duration such as 30s.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	v, err := model.ParseDuration(n.Value)
	if err != nil || n.Kind != yaml.ScalarNode {
		if strings.HasPrefix(n.Value, "-") {
			return yamlpos.LineError(n, fmt.Errorf("want a positive duration, got %q", n.Value))
		}
		return yamlpos.LineError(n, fmt.Errorf("bad duration %q (want e.g. 30s, 5m)", n.Value))
	}
	*d = Duration(v)
	return nil
}

// MarshalYAML writes the duration back as 30s.
func (d Duration) MarshalYAML() (any, error) { return model.Duration(d).String(), nil }
