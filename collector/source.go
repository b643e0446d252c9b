// Package collector obtains signal values from the sources (facts,
// Prometheus, Loki, Kubernetes), runs the rules on an interval, and exposes
// the last evaluation as Prometheus metrics.
package collector

import (
	"context"
	"fmt"
	"log/slog"
	"runtime/debug"
	"slices"
	"unicode/utf8"

	"github.com/capability-exporter/capability_exporter/config"
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
	Errors []SourceError
}

// SourceError is one failure, counted by Reason in
// capability_exporter_source_errors_total.
type SourceError struct {
	Reason string // a short fixed word: timeout, unreachable, bad_response, forbidden, not_found, query, too_many_requests …
	Err    error
	// Stack is where a recovered panic happened; the scheduler logs it once
	// per source and message. It is never part of the message.
	Stack []byte
}

func (e SourceError) Error() string {
	if e.Err == nil {
		return e.Reason
	}
	return e.Reason + ": " + e.Err.Error()
}

// Reasons the scheduler gives for any source.
const (
	reasonStart    = "start"    // the source could not be built from its config section
	reasonPanic    = "panic"    // the source panicked; its signals of that query or evaluation are unknown
	reasonCanceled = "canceled" // the exporter is shutting down; such an evaluation is neither counted nor published
)

// errorReasons are the fixed reasons each source kind counts its errors by.
// The scheduler starts every configured source's counter at 0 for each, so
// that increase() and rate() see the first error too.
var errorReasons = map[string][]string{
	"fact": {reasonPanic},
	"prometheus": {reasonStart, reasonPanic, reasonTimeout, reasonUnreachable, reasonUnauthorized, reasonForbidden,
		reasonNotFound, reasonBadQuery, reasonQueryFailed, reasonTooManyRequests, reasonServerError, reasonBadResponse, reasonSeveralSeries, reasonUnscoped},
	"loki": {reasonStart, reasonPanic, reasonTimeout, reasonUnreachable, reasonUnauthorized, reasonForbidden,
		reasonNotFound, reasonBadQuery, reasonQueryFailed, reasonTooManyRequests, reasonServerError, reasonBadResponse, reasonSeveralSeries, reasonUnscoped},
	"kubernetes": {reasonStart, reasonPanic, reasonTimeout, reasonUnreachable, reasonUnauthorized, reasonForbidden, reasonNotFound},
}

// ErrorReasons returns the reasons capability_exporter_source_errors_total
// counts a source kind's errors by (start and panic for every kind that can
// fail so). A kind not listed has start and panic only.
func ErrorReasons(kind string) []string {
	rs, ok := errorReasons[kind]
	if !ok {
		rs = []string{reasonStart, reasonPanic}
	}
	return slices.Clone(rs)
}

// factory builds a source from its config section.
type factory struct {
	// section returns the source's config section and whether it is set.
	section func(*config.Config) (any, bool)
	build   func(section any, logger *slog.Logger) (Source, error)
}

var factories = map[string]factory{}

// registerSource makes a source kind available; each source file calls it
// from init, so the scheduler knows nothing of any source's internals.
func registerSource(kind string, section func(*config.Config) (any, bool), build func(any, *slog.Logger) (Source, error)) {
	if _, dup := factories[kind]; dup {
		panic(fmt.Sprintf("source %q registered twice", kind))
	}
	factories[kind] = factory{section: section, build: build}
}

// recovered turns a recovered panic into the SourceError that counts it
// under reason panic and carries its stack; what names the work that
// panicked (a measure, a query, a reducer and its object).
func recovered(what string, p any) SourceError {
	return SourceError{Reason: reasonPanic, Err: fmt.Errorf("%s panicked: %v", what, p), Stack: debug.Stack()}
}

// guardValue computes one signal's value so that a panic in it costs that
// signal alone: it reads unknown with the panic as its reason, and the
// panic is added to res.Errors to be counted and logged.
func guardValue(res *Result, what string, value func() triggers.Value) (v triggers.Value) {
	defer func() {
		if p := recover(); p != nil {
			e := recovered(what, p)
			res.Errors = append(res.Errors, e)
			v = triggers.UnknownValue(e.Error(), "")
		}
	}()
	return value()
}

// cutBytes shortens msg to at most n bytes, marked with "…", without
// splitting a UTF-8 character: error bodies quote servers, and a message
// cut mid-character is invalid in the log, the JSON and the page.
func cutBytes(msg string, n int) string {
	if len(msg) <= n {
		return msg
	}
	for n > 0 && !utf8.RuneStart(msg[n]) {
		n--
	}
	return msg[:n] + "…"
}
