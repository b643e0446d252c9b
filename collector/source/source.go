package source

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"slices"
	"unicode/utf8"

	"github.com/capability-exporter/capability_exporter/triggers"
)

// Source answers the signal requests of one kind (fact, prometheus, loki,
// kubernetes). Collect must return by ctx's deadline; a value it cannot
// obtain it leaves out or marks unknown with the reason, and each failure it
// meets it reports in Result.Errors by reason. A request with no signals
// still asks whether the source is up.
type Source interface {
	Collect(ctx context.Context, req Request) Result
}

// Closer is implemented by sources that hold resources (watches, clients)
// to release when a reload replaces them.
type Closer interface {
	Close()
}

// Request is what one evaluation asks of one source.
type Request struct {
	Rules   *triggers.Rules
	Signals []SignalRequest
	// Tools is set for the kubernetes source: each tool's detection is
	// returned under the key tool.<id>.
	Tools []*triggers.Tool
}

// SignalRequest asks for one signal, or one alternative of a first_known one.
type SignalRequest struct {
	Key    string // the key to answer under in Result.Values
	Signal *triggers.Signal
	Spec   triggers.SignalSource // the leaf spec for this source
}

// Result is a source's answer.
type Result struct {
	// Values by SignalRequest.Key (and tool.<id>). A requested key missing
	// here reads unknown, with the source's errors as the reason.
	Values map[string]triggers.Value
	// Up is false when the source could not be reached at all.
	Up     bool
	Errors []Error
}

// Error is one failure, counted by Reason in
// capability_exporter_source_errors_total.
type Error struct {
	Reason Reason // one of the Reason constants below
	Err    error
	// Stack is where a recovered panic happened; the scheduler logs it once
	// per source and message. It is never part of the message.
	Stack []byte
}

func (e Error) Error() string {
	if e.Err == nil {
		return string(e.Reason)
	}
	return string(e.Reason) + ": " + e.Err.Error()
}

// Reason is why a source's error is counted, the reason label of
// capability_exporter_source_errors_total. The constants below are the
// whole set, so the counter's cardinality stays bounded; the detail goes to
// the signal's reason and the log. Each source kind declares the reasons it
// can emit (collector's factories), and every one of them starts at 0.
type Reason string

// The reasons, each with what it counts.
const (
	ReasonStart    Reason = "start"    // the source could not be built from its config section
	ReasonPanic    Reason = "panic"    // the source panicked; its signals of that query or evaluation are unknown
	ReasonCanceled Reason = "canceled" // the exporter is shutting down (or closed the source); such an evaluation is neither counted nor published

	ReasonTimeout         Reason = "timeout"           // the query deadline passed, or the server gave up (Prometheus 503 timeout, Loki 504)
	ReasonUnreachable     Reason = "unreachable"       // no HTTP answer: connection refused, DNS, TLS
	ReasonAuth            Reason = "auth"              // a managed store's credentials or token could not be obtained, or were refused (401, 403): the message names the identity or the missing permission
	ReasonUnauthorized    Reason = "unauthorized"      // 401: credentials missing or wrong
	ReasonForbidden       Reason = "forbidden"         // 403
	ReasonNotFound        Reason = "not_found"         // 404: the URL does not lead to the API (a missing path prefix?)
	ReasonBadQuery        Reason = "bad_query"         // 400 and other 4xx: the server refuses the query as written
	ReasonQueryFailed     Reason = "query_failed"      // 422: the query parsed but could not run, often a query limit (samples, points per series)
	ReasonTooManyRequests Reason = "too_many_requests" // 429, after one retry
	ReasonServerError     Reason = "server_error"      // other 5xx, after one retry for 502 and 503
	ReasonBadResponse     Reason = "bad_response"      // an answer that is not the API's JSON, or of the wrong result type
	ReasonSeveralSeries   Reason = "several_series"    // several series where the signal wants one value
	// ReasonUnscoped counts an answer that cannot be limited to the configured matchers
	// (sources.*.matchers), so it would mix in other clusters; or a query the
	// matchers cannot be added to.
	ReasonUnscoped Reason = "unscoped"
)

// Reasons returns every reason, in the order above.
func Reasons() []Reason {
	return []Reason{ReasonStart, ReasonPanic, ReasonCanceled, ReasonTimeout, ReasonUnreachable, ReasonAuth,
		ReasonUnauthorized, ReasonForbidden, ReasonNotFound, ReasonBadQuery, ReasonQueryFailed,
		ReasonTooManyRequests, ReasonServerError, ReasonBadResponse, ReasonSeveralSeries, ReasonUnscoped}
}

// KindReasons returns the reasons a source kind counts its errors by: the
// scheduler starts each at 0 for every configured source of the kind, so
// that increase() and rate() see the first error too. A source of the kind
// emits no other; canceled, which only a shutdown gives, is never counted.
// A kind not listed can fail to start and panic, nothing else.
func KindReasons(kind string) []Reason {
	switch kind {
	case "fact":
		// The facts were checked when the config loaded: their source
		// cannot fail to start.
		return []Reason{ReasonPanic}
	case "prometheus", "loki":
		return slices.DeleteFunc(Reasons(), func(r Reason) bool { return r == ReasonCanceled })
	case "kubernetes":
		return []Reason{ReasonStart, ReasonPanic, ReasonTimeout, ReasonUnreachable,
			ReasonUnauthorized, ReasonForbidden, ReasonNotFound}
	}
	return []Reason{ReasonStart, ReasonPanic}
}

// Code is the reason code of a value that a failure of this reason left
// unknown.
func (r Reason) Code() triggers.ReasonCode {
	switch r {
	case ReasonPanic:
		return triggers.CodePanic
	case ReasonAuth, ReasonUnauthorized, ReasonForbidden:
		return triggers.CodeAuth
	case ReasonNotFound:
		return triggers.CodeNotServed
	case ReasonBadQuery, ReasonQueryFailed, ReasonBadResponse, ReasonSeveralSeries, ReasonUnscoped:
		return triggers.CodeQueryFailed
	case ReasonCanceled:
		return triggers.CodeNotCollected
	}
	// start, timeout, unreachable, too_many_requests, server_error: the
	// source did not answer.
	return triggers.CodeSourceDown
}

// Code is the reason code of a value that errs left unknown: the first
// error's, or source down when there is none.
func Code(errs []Error) triggers.ReasonCode {
	if len(errs) == 0 {
		return triggers.CodeSourceDown
	}
	return errs[0].Reason.Code()
}

// CodeOf is the reason code of a value err left unknown: the code of its
// Error's reason, or otherwise when it holds none.
func CodeOf(err error, otherwise triggers.ReasonCode) triggers.ReasonCode {
	var pe *Error
	if errors.As(err, &pe) && pe != nil {
		return pe.Reason.Code()
	}
	var e Error
	if errors.As(err, &e) {
		return e.Reason.Code()
	}
	return otherwise
}

// Recovered turns a recovered panic into the Error that counts it
// under reason panic and carries its stack; what names the work that
// panicked (a measure, a query, a reducer and its object).
func Recovered(what string, p any) Error {
	return Error{Reason: ReasonPanic, Err: fmt.Errorf("%s panicked: %v", what, p), Stack: debug.Stack()}
}

// GuardValue computes one signal's value so that a panic in it costs that
// signal alone: it reads unknown with the panic as its reason, and the
// panic is added to res.Errors to be counted and logged.
func GuardValue(res *Result, what string, value func() triggers.Value) (v triggers.Value) {
	defer func() {
		if p := recover(); p != nil {
			e := Recovered(what, p)
			res.Errors = append(res.Errors, e)
			v = triggers.UnknownValue(triggers.CodePanic, e.Error(), "")
		}
	}()
	return value()
}

// CutBytes shortens msg to at most n bytes, marked with "…", without
// splitting a UTF-8 character: error bodies quote servers, and a message
// cut mid-character is invalid in the log, the JSON and the page.
func CutBytes(msg string, n int) string {
	if len(msg) <= n {
		return msg
	}
	for n > 0 && !utf8.RuneStart(msg[n]) {
		n--
	}
	return msg[:n] + "…"
}
