package triggers

import (
	"fmt"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Rules is a parsed, validated rules file. Slices keep the file's order, which
// is also the order of output and the final tie-break of the recommendation.
type Rules struct {
	File string
	// Extends names the rules File builds on (DefaultRulesFile), or is
	// empty when File holds the whole rules.
	Extends      string
	Signals      []*Signal
	Tools        []*Tool
	Foundations  []*Foundation
	Capabilities []*Capability
	// Thresholds are the named numbers conditions compare with as {name},
	// in file order (an extending file's after the defaults').
	Thresholds []*Threshold
	// Datastores are what the microservices measure leaves out.
	Datastores Datastores

	docs         map[string]*yaml.Node // each file read, as parsed, by its name
	thresholds   map[string]*Threshold
	signals      map[string]*Signal
	tools        map[string]*Tool
	foundations  map[string]*Foundation
	capabilities map[string]*Capability
	// words is the memo of Words by text (memoWords), made when the Rules
	// are and only read afterwards.
	words map[string]string
	// spaceReads is, per capability, every signal its decision space can
	// read (spaceReadsOf), made when the Rules are and only read
	// afterwards.
	spaceReads map[*Capability][]string
}

// Doc returns the document of a rules file these rules were read from (a
// Signal's File, say) as it was parsed, so that a check made after loading
// names the lines of the file that was loaded, not of the file on disk now.
// A file the rules were not read from gives an empty node.
func (r *Rules) Doc(file string) *yaml.Node {
	if doc, ok := r.docs[file]; ok {
		return doc
	}
	return &yaml.Node{}
}

// Signal returns the named signal, or nil.
func (r *Rules) Signal(name string) *Signal { return r.signals[name] }

// Tool returns the named tool, or nil.
func (r *Rules) Tool(id string) *Tool { return r.tools[id] }

// Foundation returns the named foundation component, or nil.
func (r *Rules) Foundation(id string) *Foundation { return r.foundations[id] }

// Capability returns the named capability, or nil.
func (r *Rules) Capability(id string) *Capability { return r.capabilities[id] }

// Facts returns the fact names the rules read, each with the type of the first
// signal that reads it, in file order. The config's facts section is validated
// against it.
func (r *Rules) Facts() []FactSpec {
	var out []FactSpec
	seen := map[string]bool{}
	for _, s := range r.Signals {
		for _, src := range s.Source.Alternatives() {
			if src.Fact != "" && !seen[src.Fact] {
				seen[src.Fact] = true
				out = append(out, FactSpec{Name: src.Fact, Type: s.Type, Help: s.Help})
			}
		}
	}
	return out
}

// FactSpec names a fact the organisation may declare in the config.
type FactSpec struct {
	Name string
	Type ValueType
	Help string
}

// ValueType says how a signal's value reads and how literals compare to it.
type ValueType string

// The value types a signal may have.
const (
	TypeNumber   ValueType = "number"   // a count or plain number
	TypeBool     ValueType = "bool"     // 1 for true, 0 for false
	TypeDuration ValueType = "duration" // seconds; literals may be written 1h, 30m
	TypeRatio    ValueType = "ratio"    // 0..1; literals may be written 20%
)

// Signal is one named input of the rules, with exactly one way to obtain it.
type Signal struct {
	Name   string
	Help   string
	Type   ValueType
	Source SignalSource
	// Hysteresis is the band around each threshold the signal is compared
	// with, in its base unit; see Hysteresis.Width.
	Hysteresis Hysteresis
	// Presume gives the value a team's undeclared judgment is presumed to
	// have where a measure speaks to it: the first whose When holds. A
	// presumption is weaker than a derived fact: it feeds only the probable
	// answer (need probably or probably_not), never a settled one.
	Presume []*Presumption
	// File is the rules file that defines the signal, and Line its line
	// there: an extending file's signals sit beside the defaults'.
	File string
	Line int
}

// Presumption is one presumed value of a judgment, with the measure it cites.
type Presumption struct {
	Value float64
	// From, if set, names a measured signal of the same type whose value is
	// presumed instead of Value: a proxy the judgment probably follows.
	From string
	When *Condition
	Says string
	// Seed quotes the framework's bullets the presumption encodes (the
	// webshop's "Probably NOT" lines), if any; see Condition.Seed.
	Seed []string
	Line int
}

// Judgment reports whether the signal is a judgment of the team: a fact,
// possibly derived or presumed, that no source measures. An unknown judgment
// is an open question for the team; an unknown measure is a source that
// could not say.
func (s *Signal) Judgment() bool {
	fact := false
	for _, alt := range s.Source.Alternatives() {
		switch {
		case alt.Fact != "":
			fact = true
		case alt.Derive != nil:
		default:
			return false
		}
	}
	return fact
}

// SignalSource says where a signal's value comes from. Exactly one field is
// set; FirstKnown lists alternatives of which the first known value wins.
type SignalSource struct {
	Fact       string            `yaml:"fact,omitempty" json:"fact,omitempty"`
	Prometheus *PrometheusSignal `yaml:"prometheus,omitempty" json:"prometheus,omitempty"`
	Loki       *LokiSignal       `yaml:"loki,omitempty" json:"loki,omitempty"`
	Kubernetes string            `yaml:"kubernetes,omitempty" json:"kubernetes,omitempty"`
	FirstKnown []SignalSource    `yaml:"first_known,omitempty" json:"first_known,omitempty"`
	// Derive stands a measure in for a fact: the value is true while its
	// true_if condition holds, false while its false_if holds, else unknown.
	Derive *Derive `yaml:"derive,omitempty" json:"derive,omitempty"`
	// LowerBound marks a measure that can only undercount (people seen in an
	// audit log, subjects of RBAC bindings): its value proves "more than",
	// never "fewer than". Comparisons read it that way.
	LowerBound bool `yaml:"lower_bound,omitempty" json:"lower_bound,omitempty"`
	// UpperBound marks a measure that can only overcount (the time to
	// resolve an incident, of which debugging is a part): its value proves
	// "fewer than", never "more than". Comparisons read it that way.
	UpperBound bool `yaml:"upper_bound,omitempty" json:"upper_bound,omitempty"`
}

// Derive is a bool signal worked out from other signals, so that a fact a
// measure can honestly stand in for need not be asked of the user. Either
// side may be left out: a measure that can only disprove a fact gives only
// false_if.
type Derive struct {
	TrueIfNode  yaml.Node  `yaml:"true_if" json:"-"`
	FalseIfNode yaml.Node  `yaml:"false_if" json:"-"`
	TrueIf      *Condition `yaml:"-" json:"true_if,omitempty"`
	FalseIf     *Condition `yaml:"-" json:"false_if,omitempty"`
}

// Kind names the source that answers this SignalSource: fact, prometheus,
// loki, kubernetes, or first_known.
func (s SignalSource) Kind() string {
	switch {
	case s.Fact != "":
		return "fact"
	case s.Prometheus != nil:
		return "prometheus"
	case s.Loki != nil:
		return "loki"
	case s.Kubernetes != "":
		return "kubernetes"
	case len(s.FirstKnown) > 0:
		return "first_known"
	case s.Derive != nil:
		return "derive"
	}
	return ""
}

// AlternativeKey is the snapshot key under which alternative i of a
// first_known signal is answered before ResolveFirstKnown picks one.
func AlternativeKey(signal string, i int) string { return fmt.Sprintf("%s#%d", signal, i) }

// Alternatives returns the leaf sources of a signal in the order they are
// tried: one element unless the signal is first_known.
func (s SignalSource) Alternatives() []SignalSource {
	if len(s.FirstKnown) == 0 {
		return []SignalSource{s}
	}
	var out []SignalSource
	for _, alt := range s.FirstKnown {
		out = append(out, alt.Alternatives()...)
	}
	return out
}

// Empty says how a query's empty result reads.
type Empty string

// The readings of an empty result.
const (
	EmptyUnknown Empty = "unknown" // default: no series means we do not know
	EmptyZero    Empty = "zero"    // no series means none, e.g. no firing alerts
)

// PrometheusSignal is a Prometheus measure. Exactly one of Query,
// AlertHistory, Rules or Reachable is set.
type PrometheusSignal struct {
	// Query is an instant PromQL query expected to return at most one sample.
	Query string `yaml:"query,omitempty" json:"query,omitempty"`
	Empty Empty  `yaml:"empty,omitempty" json:"empty,omitempty"`
	// AlertHistory is computed by the exporter from a range query.
	AlertHistory *AlertHistory `yaml:"alert_history,omitempty" json:"alert_history,omitempty"`
	// Rules is a measure over /api/v1/rules, see RulesMeasures().
	Rules string `yaml:"rules,omitempty" json:"rules,omitempty"`
	// Reachable is 1 when the server answers its build info endpoint.
	Reachable bool `yaml:"reachable,omitempty" json:"reachable,omitempty"`
	// Window, on a query, is how far back the query's data must reach for
	// its answer to count. Unset, each selector's own range and offset say
	// it; a query over a recording rule that already sums a month shows no
	// range, so it declares the month here.
	Window Duration `yaml:"window,omitempty" json:"window,omitempty"`
}

// AlertHistory measures incidents from an alert selector over a window.
type AlertHistory struct {
	Selector string   `yaml:"selector" json:"selector"`
	Window   Duration `yaml:"window" json:"window"`
	Measure  string   `yaml:"measure" json:"measure"`
	// GroupBy are the labels whose values make firing series one incident;
	// unset, alertname and namespace.
	GroupBy []string `yaml:"group_by,omitempty" json:"group_by,omitempty"`
}

// AlertHistoryMeasures are the measures an alert_history signal may name.
func AlertHistoryMeasures() []string { return slices.Clone(alertHistoryMeasures) }

var alertHistoryMeasures = []string{
	"incidents",         // firing runs that ended inside the window
	"open_incidents",    // firing runs still open at the window's end
	"mean_resolution",   // mean duration of resolved runs, seconds
	"median_resolution", // median duration of resolved runs, seconds
	"alerts_per_day",    // firing runs that started inside the window, per day
}

// RulesMeasures are the measures a prometheus rules signal may name.
func RulesMeasures() []string { return slices.Clone(rulesMeasures) }

var rulesMeasures = []string{
	"alerting_rules",                  // alerting rules loaded
	"alerting_rules_without_severity", // alerting rules with no severity label
	"slo_recording_rules",             // recording rules that look like SLOs (Sloth, Pyrra, slo: names)
}

// LokiSignal is a Loki metric query (a vector result) or reachability.
type LokiSignal struct {
	Query string `yaml:"query,omitempty" json:"query,omitempty"`
	Empty Empty  `yaml:"empty,omitempty" json:"empty,omitempty"`
	// Ago evaluates the query this long before now: a short range ending a
	// year ago asks whether logs reach back a year, where a [365d] range
	// would exceed Loki's max_query_length. An empty answer reads unknown
	// while Loki holds no logs at all from then (it is younger, or keeps
	// less), and as Empty says otherwise.
	Ago       Duration `yaml:"ago,omitempty" json:"ago,omitempty"`
	Reachable bool     `yaml:"reachable,omitempty" json:"reachable,omitempty"`
}

// KubernetesMeasures are the built-in measures of the Kubernetes source. All
// exclude platform namespaces.
func KubernetesMeasures() []string { return slices.Clone(kubernetesMeasures) }

var kubernetesMeasures = []string{
	"microservices",                 // Deployments and StatefulSets a Service selects, Rules.Datastores left out
	"workloads",                     // Deployments and StatefulSets
	"app_namespaces",                // namespaces that are not platform namespaces
	"tenants",                       // distinct team label values over app namespaces
	"nodes",                         // nodes
	"zones",                         // distinct topology.kubernetes.io/zone values
	"regions",                       // distinct topology.kubernetes.io/region values; unknown when no node has one
	"nodes_not_ready",               // nodes whose Ready condition is False or Unknown
	"deployments_unavailable",       // Deployments, all namespaces, with Available=False
	"deployments_stuck",             // Deployments, all namespaces, with Progressing=False for ProgressDeadlineExceeded
	"networkpolicies",               // network policies of any CNI, all namespaces and clusterwide
	"gitops_apps",                   // Argo CD Applications, Flux Kustomizations and HelmReleases
	"gitops_apps_failing",           // of those, Degraded or long OutOfSync (Argo CD), Ready=False (Flux)
	"replicated_workload_ratio",     // workloads with 2+ replicas
	"pdb_workload_ratio",            // workloads a PodDisruptionBudget selects
	"probed_workload_ratio",         // workloads whose containers all have readiness and liveness probes
	"networkpolicy_namespace_ratio", // app namespaces with at least one NetworkPolicy
	"default_deny_namespace_ratio",  // app namespaces with a default-deny ingress policy
	"pod_security_namespace_ratio",  // app namespaces enforcing the baseline or restricted Pod Security Standard
	"privileged_containers",         // privileged or host-namespace containers
	"containers_without_limits",     // containers without cpu or memory limits
	"limited_container_ratio",       // containers with cpu and memory limits
	"stateless_workload_ratio",      // workloads without persistent volume claims
	"rbac_human_subjects",           // distinct User and Group subjects of bindings, not system:
	"reachable",                     // 1 when the API server answers
}

// Tool is something installed in the cluster that the Kubernetes source
// detects. A tool with a Capability marks that capability adopted; a tool
// without one is a Priority 1 component that foundations refer to as
// tool.<id> in their conditions.
type Tool struct {
	ID         string
	Title      string
	Capability string
	CRDGroups  []string // API groups of CustomResourceDefinitions, exact
	Namespaces []string // namespace names, exact
	Workloads  []string // regular expressions, anchored, on Deployment/StatefulSet/DaemonSet names
	// Exit is how to go back should the tool not pay off: the framework's
	// "Exit strategy: can we go back if it does not work?".
	Exit string
	Line int
}

// SignalName is the implicit signal that carries the tool's detection.
func (t *Tool) SignalName() string { return ToolSignalPrefix + t.ID }

// ToolSignalPrefix prefixes the implicit signal of each tool.
const ToolSignalPrefix = "tool."

// Foundation is a Priority 1 component that capabilities build on.
type Foundation struct {
	ID      string
	Title   string
	Present *Condition
	// Advice says what to do while the component is missing; capabilities
	// that build on it show it beside "builds on: <title> (missing)".
	Advice string
	Line   int
}

// FoundationSignalPrefix prefixes the implicit bool signal of each
// foundation's presence, foundation.<id>, which capability conditions may
// read: the framework's own gates ("no HA setup", "no monitoring to measure
// impact") are written with it.
const FoundationSignalPrefix = "foundation."

// Complexity is the framework's complexity cost, ordered low to high.
type Complexity int

// The complexity costs, low to high.
const (
	ComplexityLow Complexity = iota + 1
	ComplexityLowMedium
	ComplexityMedium
	ComplexityMediumHigh
	ComplexityHigh
)

var complexityNames = map[Complexity]string{
	ComplexityLow: "low", ComplexityLowMedium: "low_medium", ComplexityMedium: "medium",
	ComplexityMediumHigh: "medium_high", ComplexityHigh: "high",
}

func (c Complexity) String() string { return complexityNames[c] }

// ParseComplexity reads low, low_medium, medium, medium_high or high.
func ParseComplexity(s string) (Complexity, error) {
	for c, name := range complexityNames {
		if name == s {
			return c, nil
		}
	}
	return 0, fmt.Errorf("unknown complexity %q (want low, low_medium, medium, medium_high or high)", s)
}

// Capability is one Priority 2 capability of the framework.
type Capability struct {
	ID         string
	Title      string
	Complexity Complexity
	// Conditions by kind; nil means "never holds". Need reads Trigger (each
	// top-level member a motive), Structural, Must and Skip (each member
	// answering the motives its Answers name); timing reads Gate, Must,
	// Later and Now. See decide.go.
	Trigger, Structural, Must, Gate, Skip, Later, Now *Condition
	// AdoptedIf marks the capability adopted besides its tools, for
	// adoption a tool cannot show (audit logs flowing into Loki).
	AdoptedIf *Condition
	// Contradictions are declared facts or measures that cannot both be
	// true; each one that holds is shown with the decision.
	Contradictions []*Condition
	// Checklist is the preparation the framework asks for before the
	// capability is activated, each item shown with its measured state.
	Checklist []*Condition
	Requires  []string // foundation ids
	// foundations are the ids of Requires and of every foundation.<id> its
	// conditions read: what Decide evaluates.
	foundations []string
	Questions   []string // the framework's decision questions, for reports
	// NotEncoded are the framework's bullets about the capability that no
	// condition encodes, each with the reason.
	NotEncoded []NotEncoded
	// Impact are the signals whose change since adoption shows whether the
	// capability solved the problem it was adopted for.
	Impact []*ImpactSignal
	Order  int // position in the file
	Line   int
}

// Condition is a leaf comparison or a combination of conditions.
type Condition struct {
	// Leaf: Signal Op Threshold, written Expr. A leaf that compares with a
	// named threshold ({name}) has its name in ThresholdName and the rules'
	// default in Threshold; the value in force is the rules' (thresholdOf).
	Signal        string
	Op            Op
	Threshold     float64
	ThresholdName string
	Expr          string
	// Combination: exactly one of Any, All, Not.
	Any, All []*Condition
	Not      *Condition
	// Says is the framework's words for this condition, if given.
	Says string
	// Seed quotes the framework's bullets this condition encodes, word for
	// word (`seed:` in the rules, a string or a list): the trace from a
	// rule back to the text it comes from. The rules' own conditions, and
	// an organisation's, leave it out.
	Seed []string
	// Motive names a top-level member of a trigger: the reason for wanting
	// the capability that a skip may answer.
	Motive string
	// Answers, on a top-level member of skip, names the motives this NOT
	// bullet answers; empty, it answers every motive.
	Answers []string
	Line    int
}

// IsLeaf reports whether c is a comparison.
func (c *Condition) IsLeaf() bool { return c.Signal != "" }

// String renders the condition in the rules syntax.
func (c *Condition) String() string {
	switch {
	case c == nil:
		return "never"
	case c.IsLeaf():
		return c.Expr
	case c.Not != nil:
		return "not (" + c.Not.String() + ")"
	}
	op, members := " or ", c.Any
	if c.All != nil {
		op, members = " and ", c.All
	}
	parts := make([]string, len(members))
	for i, m := range members {
		parts[i] = m.String()
		if !m.IsLeaf() && m.Not == nil {
			parts[i] = "(" + parts[i] + ")"
		}
	}
	return strings.Join(parts, op)
}

// Leaves returns the comparisons under c in order.
func (c *Condition) Leaves() []*Condition {
	if c == nil {
		return nil
	}
	if c.IsLeaf() {
		return []*Condition{c}
	}
	var out []*Condition
	if c.Not != nil {
		out = append(out, c.Not.Leaves()...)
	}
	for _, m := range append(append([]*Condition{}, c.Any...), c.All...) {
		out = append(out, m.Leaves()...)
	}
	return out
}
