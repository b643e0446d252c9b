package report

import (
	"time"

	"github.com/capability-exporter/capability_exporter/history"
	"github.com/capability-exporter/capability_exporter/triggers"
)

// APIVersion is the version of the JSON shape.
const APIVersion = "v1"

// APIPath is where the JSON handler is mounted.
const APIPath = "/api/" + APIVersion + "/evaluation"

// Report is one evaluation, explained. Times are RFC 3339 in UTC, values are
// numbers in the signal's base unit (seconds, ratios 0..1, booleans 0/1), and
// anything unknown is null with a reason beside it.
type Report struct {
	APIVersion  string    `json:"api_version"`
	GeneratedAt time.Time `json:"generated_at"` // when this document was rendered
	EvaluatedAt time.Time `json:"evaluated_at"` // when the evaluation finished
	// AgeSeconds is GeneratedAt minus EvaluatedAt: how stale the decisions are.
	AgeSeconds                float64 `json:"age_seconds"`
	EvaluationDurationSeconds float64 `json:"evaluation_duration_seconds"`
	ExporterVersion           string  `json:"exporter_version"`
	ConfigFile                string  `json:"config_file"`
	RulesFile                 string  `json:"rules_file"`
	// RulesExtends names the rules RulesFile extends (extends: default), or
	// is empty when RulesFile holds the whole rules.
	RulesExtends string `json:"rules_extends"`
	// Cluster is the config's cluster: the cluster these decisions are for,
	// or empty when the config names none.
	Cluster string `json:"cluster"`
	// RecommendedNext is the one `now` capability to take on next, or null.
	RecommendedNext *string `json:"recommended_next"`
	// Questions are the undeclared facts ranked by how many decisions each
	// settles, most first.
	Questions    []Question   `json:"questions"`
	Sources      []Source     `json:"sources"`
	Capabilities []Capability `json:"capabilities"`
	Signals      []Signal     `json:"signals"`
	Tools        []Tool       `json:"tools"`
	Foundations  []Foundation `json:"foundations"`
	// Thresholds are the rules' named thresholds, each with the value in
	// force and whose it is.
	Thresholds []Threshold `json:"thresholds"`
	// DecisionHold is the evaluations a changed decision must hold before
	// it is published (--decision.hold).
	DecisionHold int `json:"decision_hold"`
	// RecentChanges are the newest published changes, at most 20, newest
	// first; /api/v1/changes serves all that are kept.
	RecentChanges []history.Change `json:"recent_changes"`
}

// Source is one signal source's health in the evaluation. Endpoints carry no
// credentials and header values are never included, only header names.
type Source struct {
	Name            string   `json:"name"` // fact, prometheus, loki, kubernetes
	Configured      bool     `json:"configured"`
	Up              bool     `json:"up"`
	DurationSeconds float64  `json:"duration_seconds"`
	Signals         int      `json:"signals"`  // requests it was asked to answer
	Endpoint        string   `json:"endpoint"` // redacted URL, kubeconfig, or where facts come from
	Auth            string   `json:"auth"`     // the kind of credentials in use, never their value
	Headers         []string `json:"headers"`  // names of extra headers sent; values hidden
	Errors          []string `json:"errors"`
	// Status is up, down (configured, did not answer) or not_configured.
	Status string `json:"status"`
	// Cause is why the source is down or erred: the first request of this
	// evaluation that failed, and why; null when none failed. Requests not
	// sent because the server was already down are not causes.
	Cause *string `json:"cause"`
	// Fault is, for a source that is down, its one cause in words (the URL
	// decoded, no query text), and Fix how to mend it; null otherwise.
	// Every value the source could not give reads "<source> is down".
	Fault *string `json:"fault"`
	Fix   *string `json:"fix"`
}

// Capability is one decision with everything behind it.
type Capability struct {
	ID         string `json:"id"`
	Title      string `json:"title"`
	Complexity string `json:"complexity"`
	// Decision is adopted, skip, later, now, consider, not_triggered or unknown.
	Decision string `json:"decision"`
	// Need answers "do we need this?" (the framework's TRIGGER and NOT):
	// yes or no where measures and declared facts settle it; probably or
	// probably_not where they point one way and only the team's undeclared
	// judgments could overturn it; unknown where the measures cannot say.
	Need string `json:"need"`
	// Timing answers "why now or not?": now, later, none or unknown.
	Timing string `json:"timing"`
	// Probable marks a decision reached by reading undeclared judgments as
	// presumed or not asserted: the framework's "probably".
	Probable bool `json:"probable"`
	// Possible lists the states still reachable given every unknown signal:
	// one when the decision is settled.
	Possible []string `json:"possible"`
	// SettleWith is the smallest set of unknown signals whose values decide
	// the state; empty when it is settled.
	SettleWith []string `json:"settle_with"`
	// Asks lists the undeclared facts of SettleWith that, declared, can
	// change the states possible while the sources are as they are.
	Asks []string `json:"asks"`
	// NotBullets lists the NOT bullets that hold, each with the motives it
	// answers; a motive it leaves unanswered stays under Motives.
	NotBullets []Answered `json:"not_bullets"`
	// hasTiming is the engine's word on whether the state asks "now or
	// later?" (not for skip, not triggered or adopted).
	hasTiming bool
	// Presumed lists the presumptions a probable decision rests on.
	Presumed []Presumed `json:"presumed"`
	// Motives are the trigger's reasons that hold and that no NOT bullet
	// answers: why the capability is still relevant.
	Motives []Outweighed `json:"motives"`
	// DecidedBy is the step that decided: adopted, structural, must, skip,
	// gate, later, now or trigger; empty while the decision is unknown.
	DecidedBy       string     `json:"decided_by"`
	RecommendedNext bool       `json:"recommended_next"`
	DecisionSince   *time.Time `json:"decision_since"` // last change of the decision, null if not tracked
	// Pending is a changed decision that has not held long enough to be
	// published, or null.
	Pending *Pending `json:"pending"`
	// Stale is set while the decision is kept through a short outage.
	Stale *Stale `json:"stale"`
	// ChangesTotal counts the published changes since the exporter started.
	ChangesTotal int `json:"changes_total"`
	// Summary is one sentence on why, for tables and notifications.
	Summary            string          `json:"summary"`
	Steps              Steps           `json:"steps"`
	Conditions         []Condition     `json:"conditions"`
	Tools              []Tool          `json:"tools"`
	Foundations        []Foundation    `json:"foundations"`         // Priority 1 components it requires
	FoundationsMissing []string        `json:"foundations_missing"` // ids of those known to be absent
	FoundationsUnknown []string        `json:"foundations_unknown"` // ids of those whose presence is unknown
	UnknownSignals     []UnknownSignal `json:"unknown_signals"`     // every signal it could not read, blocking ones first
	// Reasons are the deciding step's conditions that held, each whole (a
	// conjunction is one reason), in the framework's words.
	Reasons []Outweighed `json:"reasons"`
	// Outweighed lists the conditions that held on the side that lost:
	// the skip and later conditions a hard requirement (must) outweighed,
	// the hard requirements a gate outweighed, the now conditions a skip or
	// later outweighed.
	Outweighed []Outweighed `json:"outweighed"`
	// Contradictions are declared facts or measures that cannot both hold.
	Contradictions []Outweighed `json:"contradictions"`
	// Checklist is the preparation the framework asks for before the
	// capability is activated (multi-region), each item evaluated.
	Checklist       []Condition `json:"checklist"`
	WhatWouldChange []Change    `json:"what_would_change"`
	OpenQuestions   []string    `json:"open_questions"` // the framework's decision questions
	// Impact is the impact since adoption of an adopted capability, null
	// for the others.
	Impact *Impact `json:"impact"`
}

// Steps are the inputs of the decision ladder: true, false, or null when
// unknown. They are the rules engine's own steps (triggers.Decision.Steps),
// not worked out again, so they cannot disagree with the decision.
type Steps struct {
	Adopted *bool `json:"adopted"` // a tool for the capability is detected, or its adopted_if holds
	Gate    *bool `json:"gate"`    // a readiness gate holds: later, whatever else holds
	Must    *bool `json:"must"`    // a hard requirement holds: now, over skip and later
	Skip    *bool `json:"skip"`
	Later   *bool `json:"later"` // the later condition holds
	Trigger *bool `json:"trigger"`
	Now     *bool `json:"now"` // the now condition alone; the decision needs trigger too
}

// Condition is one comparison of a capability's rules, evaluated.
type Condition struct {
	Kind          string  `json:"kind"` // trigger, structural, must, gate, skip, later, now or adopted (triggers.Kinds, KindAdopted)
	Expr          string  `json:"expr"` // as written in the rules
	Says          *string `json:"says"` // the framework's words, if the rules give them
	Signal        string  `json:"signal"`
	Op            string  `json:"op"`
	Threshold     float64 `json:"threshold"`
	ThresholdText string  `json:"threshold_text"`
	// ThresholdName names the rules' threshold compared with ({name}), or
	// is null for a literal; ThresholdNote then says whose its value is:
	// "yours; the framework says 20%", "the framework's".
	ThresholdName *string  `json:"threshold_name"`
	ThresholdNote *string  `json:"threshold_note"`
	Type          string   `json:"type"` // number, bool, duration, ratio
	Value         *float64 `json:"value"`
	ValueText     string   `json:"value_text"`
	Source        string   `json:"source"`
	Holds         *bool    `json:"holds"`
	Reason        *string  `json:"reason"` // why the value is unknown
	// ReasonCode is the reason as a code (triggers.ReasonCode): null
	// where reason is.
	ReasonCode *triggers.ReasonCode `json:"reason_code"`
	Measured
}

// Presumed is a judgment presumed from a measure, for a probable answer.
type Presumed struct {
	Signal    string  `json:"signal"`
	Value     float64 `json:"value"`
	ValueText string  `json:"value_text"`
	Says      string  `json:"says"`
}

// Question is an undeclared fact with the decisions knowing it settles.
type Question struct {
	Fact     string   `json:"fact"`
	Signal   string   `json:"signal"`
	Type     string   `json:"type"`
	Question string   `json:"question"` // the rules' help text for it
	Settles  []string `json:"settles"`  // capability ids
}

// Tool is a tool's detection in the cluster.
type Tool struct {
	ID         string  `json:"id"`
	Title      string  `json:"title"`
	Capability *string `json:"capability"` // null for Priority 1 tools
	Detected   *bool   `json:"detected"`
	Reason     *string `json:"reason"`
	// ReasonCode is why the detection is unknown, as a code; null when it
	// is known (a known detection's reason is a note).
	ReasonCode *triggers.ReasonCode `json:"reason_code"`
}

// Outweighed is a condition that held but lost to a stronger step, or one
// side of a contradiction.
type Outweighed struct {
	Kind string `json:"kind"`         // must, skip, later or now; contradiction
	By   string `json:"by,omitempty"` // the step that outweighed it
	Expr string `json:"expr"`
	Says string `json:"says"`
	// Leaves are the comparisons under it that hold, with their values,
	// as the engine read them (reasons only).
	Leaves []Condition `json:"leaves,omitempty"`
}

// Answered is a NOT bullet that holds, with the motives holding that it
// answers: the engine's word on which bullet answered which motive.
type Answered struct {
	Skip    Outweighed   `json:"skip"`
	Answers []Outweighed `json:"answers"`
}

// Foundation is a Priority 1 component's presence. A capability builds on
// it; a missing one informs and never decides.
type Foundation struct {
	ID      string  `json:"id"`
	Title   string  `json:"title"`
	Present *bool   `json:"present"`
	Advice  *string `json:"advice"` // what to do while it is missing
	Reason  *string `json:"reason"` // why it is unknown
	// ReasonCode is the code of the first unknown condition's reason.
	ReasonCode *triggers.ReasonCode `json:"reason_code"`
	Conditions []Condition          `json:"conditions,omitempty"`
}

// Signal is one input value.
type Signal struct {
	Name  string   `json:"name"`
	Help  string   `json:"help"`
	Type  string   `json:"type"`
	Value *float64 `json:"value"`
	Text  string   `json:"text"` // the value for people: 1h30m, 12.5%, yes, at least 12
	// LowerBound marks a measure that can only undercount: the real value
	// is at least Value.
	LowerBound bool `json:"lower_bound"`
	// UpperBound marks a measure that can only overcount: the real value
	// is at most Value.
	UpperBound bool    `json:"upper_bound"`
	Source     string  `json:"source"`
	Reason     *string `json:"reason"`
	// ReasonCode is the reason as a code: null where reason is.
	ReasonCode *triggers.ReasonCode `json:"reason_code"`
	// DerivedFrom is, for a fact the rules derive from measures when it is
	// not declared, each part of the derivation (kind true_if or false_if)
	// with the value it read; absent for other signals.
	DerivedFrom []Condition `json:"derived_from,omitempty"`
	// LeftOut is, for a count that deliberately leaves objects out (the
	// datastores and brokers microservices does not count), what it left
	// out and why; absent when it left nothing out, and for other signals.
	LeftOut *LeftOut `json:"left_out,omitempty"`
	Measured
}

// LeftOut is what a count left out: the first objects by name, each with
// why, at most 20, and how many in all.
type LeftOut struct {
	Total   int             `json:"total"`
	Objects []LeftOutObject `json:"objects"`
}

// LeftOutObject is one object a count left out.
type LeftOutObject struct {
	Name   string `json:"name"`   // namespace/name
	Reason string `json:"reason"` // image mongo, name ends in -db, label app.kubernetes.io/component=database
}

// Measured says when a value reused from an earlier evaluation was measured:
// a query over a day or longer is sent once per --evaluation.slow-interval,
// and its answer reused in between. Both are null for a value obtained in
// this evaluation, whose age is the document's age_seconds.
type Measured struct {
	MeasuredAt *time.Time `json:"measured_at"`
	// AgeSeconds is generated_at minus measured_at.
	AgeSeconds *float64 `json:"age_seconds"`
}

// UnknownSignal names a signal a decision could not read, and why.
type UnknownSignal struct {
	Signal string `json:"signal"`
	Source string `json:"source"`
	Reason string `json:"reason"`
	// ReasonCode is the reason as a code (triggers.ReasonCode).
	ReasonCode triggers.ReasonCode `json:"reason_code"`
	// Blocking is true for the signals that keep an unknown decision from
	// being made: those unknown in the step where deciding stopped
	// (decided_by). Knowing the others alone cannot settle it.
	Blocking bool `json:"blocking"`
	Measured
}

// Change is one way the decision would move: what would have to become true,
// in the signals' terms, for the decision to become To.
type Change struct {
	To      string   `json:"to"`
	If      string   `json:"if"`
	Signals []string `json:"signals"`
	// Set is the what-if that asks it (POST /api/v1/what-if, the MCP
	// what_if tool, assess --set); null when a move has no value to try.
	Set *WhatIfValues `json:"set"`
}
