package triggers

import (
	"fmt"
	"time"
)

// Truth is a three-valued (Kleene) truth value. The zero value is Unknown, so
// a missing answer can never read as false.
type Truth int8

// The three truth values; the zero value is Unknown.
const (
	Unknown Truth = iota
	False
	True
)

func (t Truth) String() string {
	switch t {
	case True:
		return "true"
	case False:
		return "false"
	}
	return "unknown"
}

// MarshalText renders true, false or unknown.
func (t Truth) MarshalText() ([]byte, error) { return []byte(t.String()), nil }

// UnmarshalText reads true, false or unknown, so that Go clients of the
// JSON API read truths back.
func (t *Truth) UnmarshalText(b []byte) error {
	switch string(b) {
	case "true":
		*t = True
	case "false":
		*t = False
	case "unknown":
		*t = Unknown
	default:
		return fmt.Errorf("truth %q: want true, false or unknown", b)
	}
	return nil
}

// Not is Kleene negation: unknown stays unknown.
func (t Truth) Not() Truth {
	switch t {
	case True:
		return False
	case False:
		return True
	}
	return Unknown
}

// Or is Kleene disjunction: true if either is true, even with the other
// unknown; false only if both are false.
func (t Truth) Or(u Truth) Truth {
	if t == True || u == True {
		return True
	}
	if t == False && u == False {
		return False
	}
	return Unknown
}

// And is Kleene conjunction: false if either is false, even with the other
// unknown; true only if both are true.
func (t Truth) And(u Truth) Truth {
	if t == False || u == False {
		return False
	}
	if t == True && u == True {
		return True
	}
	return Unknown
}

// Truthf converts a bool.
func Truthf(b bool) Truth {
	if b {
		return True
	}
	return False
}

// Value is a signal's value: a known number, or unknown with the reason.
type Value struct {
	Known  bool
	Number float64
	// Reason says for people why it is unknown (on a known value, how it
	// was reached: "derived: ...", "presumed: ...").
	Reason string
	// Code is why it is unknown, as code reads it; set on every unknown
	// value, empty on a known one.
	Code   ReasonCode
	Source string // the source that answered or failed: fact, prometheus, loki, kubernetes
	// LowerBound marks a measure that can only undercount: the real value
	// is at least Number.
	LowerBound bool
	// UpperBound marks a measure that can only overcount: the real value
	// is at most Number.
	UpperBound bool
	// Unasserted marks a judgment the team has not declared, as the
	// probable answer reads it: it equals no value, so every comparison
	// with it fails but != (see compare).
	Unasserted bool
	// MeasuredAt is when a value reused from an earlier evaluation was
	// measured (a query over a day or longer, on the slow cadence). The zero
	// time means the value was obtained in this evaluation.
	MeasuredAt time.Time
	// Since, on a tool's detection, is when the earliest of what shows the
	// tool (a running workload, an object of its CRDs) was created: when it
	// was adopted, as far as the cluster remembers. Zero when not known.
	Since time.Time
	// LeftOut, on a count, is what the source saw and deliberately did not
	// count (the datastores the microservices measure leaves out); nil
	// when it left nothing out. A pointer keeps Value comparable.
	LeftOut *LeftOut
}

// LeftOut is what a measure did not count: the first MaxLeftOut objects in
// name order, each with why, and how many in all.
type LeftOut struct {
	Objects []LeftOutObject
	Total   int
}

// LeftOutObject is one object a measure did not count.
type LeftOutObject struct {
	Name   string // namespace/name
	Reason string // image mongo, name ends in -db, label app.kubernetes.io/component=database
}

// MaxLeftOut bounds the objects a LeftOut names: the page and the JSON name
// the first ones and count the rest.
const MaxLeftOut = 20

// KnownValue is a value a source measured.
func KnownValue(v float64, source string) Value { return Value{Known: true, Number: v, Source: source} }

// UnknownValue is a value a source could not obtain: why in a word (code),
// and for people (reason).
func UnknownValue(code ReasonCode, reason, source string) Value {
	return Value{Code: code, Reason: reason, Source: source}
}

// ReasonCode is why a value is unknown, one of the constants below: what a
// program reads (the JSON's reason_code) where people read the reason.
// It is not source.Reason, which labels capability_exporter_source_errors_total
// by the failure a source met; collector/source maps those onto these.
type ReasonCode string

// The reason codes, each with when it is given.
const (
	// CodeNotCollected: no source answered for the signal in this
	// evaluation; nothing asked it.
	CodeNotCollected ReasonCode = "not_collected"
	// CodeSourceDown: the source that measures it did not answer (timeout,
	// unreachable, server errors), or could not be started.
	CodeSourceDown ReasonCode = "source_down"
	// CodeNotConfigured: the config has no section for its source, or does
	// not declare the fact (nor do the measures that stand in for it settle
	// it).
	CodeNotConfigured ReasonCode = "not_configured"
	// CodeTooYoung: the data does not reach back far enough: the store is
	// younger than the window, or keeps data for less, or the capability
	// was adopted too recently to compare.
	CodeTooYoung ReasonCode = "too_young"
	// CodeNoData: the source answered, with nothing to count: no series,
	// no history, or a value that is not a number.
	CodeNoData ReasonCode = "no_data"
	// CodePanic: measuring it panicked; the panic is counted and logged.
	CodePanic ReasonCode = "panic"
	// CodeAuth: the source refused the exporter's credentials (401, 403) or
	// they could not be obtained.
	CodeAuth ReasonCode = "auth"
	// CodeNotServed: the server does not serve what it is measured from:
	// an API group or kind the cluster lacks, a URL that leads to no API.
	CodeNotServed ReasonCode = "not_served"
	// CodeDeclaredUnknown: the team declared it unknown on purpose.
	CodeDeclaredUnknown ReasonCode = "declared_unknown"
	// CodeQueryFailed: the source refused the query, or answered it in a
	// form that gives no single value (several series, the wrong type,
	// an answer it cannot limit to the configured scope).
	CodeQueryFailed ReasonCode = "query_failed"
	// CodeLowerBound: the value is known only as a lower bound, which a
	// comparison needs more than; declaring the fact settles it.
	CodeLowerBound ReasonCode = "lower_bound"
	// CodeUpperBound: the value is known only as an upper bound, which a
	// comparison needs less than; declaring the fact settles it.
	CodeUpperBound ReasonCode = "upper_bound"
)

// ReasonCodes returns every reason code, in the order above.
func ReasonCodes() []ReasonCode {
	return []ReasonCode{CodeNotCollected, CodeSourceDown, CodeNotConfigured, CodeTooYoung, CodeNoData,
		CodePanic, CodeAuth, CodeNotServed, CodeDeclaredUnknown, CodeQueryFailed, CodeLowerBound, CodeUpperBound}
}

// Text is the code in words, the reason of a value that has no other:
// for not_collected, not collected.
func (c ReasonCode) Text() string {
	switch c {
	case CodeNotCollected:
		return "not collected"
	case CodeSourceDown:
		return "the source is down"
	case CodeNotConfigured:
		return "not configured"
	case CodeTooYoung:
		return "the data does not reach back far enough"
	case CodeNoData:
		return "no data"
	case CodePanic:
		return "measuring it panicked"
	case CodeAuth:
		return "the source refused the credentials"
	case CodeNotServed:
		return "not served"
	case CodeDeclaredUnknown:
		return "declared unknown"
	case CodeQueryFailed:
		return "the query failed"
	case CodeLowerBound:
		return "only a lower bound is known"
	case CodeUpperBound:
		return "only an upper bound is known"
	}
	return string(c)
}

// NotCollected is the value of a signal no source answered for.
func NotCollected() Value {
	return UnknownValue(CodeNotCollected, CodeNotCollected.Text(), "")
}

// Snapshot holds signal values by name, tool.<id> included. A signal absent
// from the snapshot is unknown.
type Snapshot map[string]Value

func (s Snapshot) get(name string) Value {
	if v, ok := s[name]; ok {
		return v
	}
	return NotCollected()
}
