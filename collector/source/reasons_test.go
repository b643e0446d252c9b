package source

import (
	"slices"
	"testing"

	"github.com/capability-exporter/capability_exporter/triggers"
)

// Every reason is declared by a kind that can meet it, so that its
// capability_exporter_source_errors_total series starts at 0; canceled,
// which only a shutdown gives, by none, since it is never counted.
func TestEveryReasonIsDeclared(t *testing.T) {
	kinds := []string{"fact", "prometheus", "loki", "kubernetes"}
	for _, r := range Reasons() {
		declared := slices.ContainsFunc(kinds, func(k string) bool { return slices.Contains(KindReasons(k), r) })
		if declared == (r == ReasonCanceled) {
			t.Errorf("reason %s declared by a kind: %v, want %v", r, declared, r != ReasonCanceled)
		}
	}
	for _, k := range append(kinds, "other") {
		rs := KindReasons(k)
		if !slices.Contains(rs, ReasonPanic) {
			t.Errorf("%s does not declare panic, which the scheduler counts for every kind", k)
		}
		if k != "fact" && !slices.Contains(rs, ReasonStart) {
			t.Errorf("%s does not declare start: a source built from its config section can fail to start", k)
		}
		rs[0] = "changed"
		if KindReasons(k)[0] == "changed" {
			t.Errorf("KindReasons(%q) returns a list its caller can change for everyone", k)
		}
	}
}

// Each reason maps to a reason code the values it leaves unknown read.
func TestReasonCodes(t *testing.T) {
	want := map[Reason]triggers.ReasonCode{
		ReasonStart: triggers.CodeSourceDown, ReasonTimeout: triggers.CodeSourceDown, ReasonUnreachable: triggers.CodeSourceDown,
		ReasonTooManyRequests: triggers.CodeSourceDown, ReasonServerError: triggers.CodeSourceDown,
		ReasonPanic: triggers.CodePanic, ReasonCanceled: triggers.CodeNotCollected,
		ReasonAuth: triggers.CodeAuth, ReasonUnauthorized: triggers.CodeAuth, ReasonForbidden: triggers.CodeAuth,
		ReasonNotFound: triggers.CodeNotServed,
		ReasonBadQuery: triggers.CodeQueryFailed, ReasonQueryFailed: triggers.CodeQueryFailed, ReasonBadResponse: triggers.CodeQueryFailed,
		ReasonSeveralSeries: triggers.CodeQueryFailed, ReasonUnscoped: triggers.CodeQueryFailed,
	}
	for _, r := range Reasons() {
		got := r.Code()
		if got != want[r] {
			t.Errorf("%s.Code() = %s, want %s", r, got, want[r])
		}
		if !slices.Contains(triggers.ReasonCodes(), got) {
			t.Errorf("%s.Code() = %s, which is not a reason code", r, got)
		}
	}
	if len(want) != len(Reasons()) {
		t.Errorf("the test knows %d reasons, Reasons() lists %d", len(want), len(Reasons()))
	}
	err := &Error{Reason: ReasonForbidden}
	if got := CodeOf(err, triggers.CodeNoData); got != triggers.CodeAuth {
		t.Errorf("CodeOf(forbidden) = %s, want auth", got)
	}
	if got := CodeOf(Error{Reason: ReasonNotFound}, triggers.CodeNoData); got != triggers.CodeNotServed {
		t.Errorf("CodeOf(not_found) = %s, want not_served", got)
	}
	if got := CodeOf(nil, triggers.CodeNoData); got != triggers.CodeNoData {
		t.Errorf("CodeOf(nil) = %s, want the fallback", got)
	}
}
