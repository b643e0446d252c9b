package report

import (
	"fmt"
	"io"
	"strings"

	"github.com/capability-exporter/capability_exporter/triggers"
)

// What `capability_exporter assess` writes to stderr after the record: the
// fault of each source that is down said once, and, with
// --fail-on-unknown, one line per decision that is unknown. docs/assess.md
// shows these lines from a real run (go run ./tools/gendocs).

// MaxStderrSignals bounds the signals one unknown decision's line names;
// the record and the JSON list every one, each with its reason. The lines
// name no reason: a source that is down is said once, on its own line, and
// the eight decisions of a run with nothing reachable stay under 2 KB.
const MaxStderrSignals = 3

// WriteSourceFaults writes one line per configured source that is down,
// with its fault and the fix, each line starting with prefix.
func WriteSourceFaults(w io.Writer, prefix string, r *Report) {
	for _, s := range r.Sources {
		if s.Fault == nil {
			continue
		}
		msg := fmt.Sprintf("%s: source %s is down: %s", prefix, s.Name, *s.Fault)
		if s.Fix != nil {
			msg += "; to fix: " + *s.Fix
		}
		fmt.Fprintln(w, msg)
	}
}

// WriteUnknownDecisions writes one line per capability whose decision is
// unknown, naming the states still possible and at most MaxStderrSignals
// of the signals that settle it, then "and N more". It reports whether any
// decision is unknown.
func WriteUnknownDecisions(w io.Writer, prefix string, r *Report) bool {
	unknown := false
	for _, c := range r.Capabilities {
		if c.Decision != "unknown" {
			continue
		}
		unknown = true
		var needs []string
		for _, u := range c.UnknownSignals {
			if !u.Blocking {
				continue
			}
			// A source that is down was said on its own line; a source
			// that is not configured is said nowhere else.
			if u.ReasonCode == triggers.CodeNotConfigured && u.Source != "fact" {
				needs = append(needs, fmt.Sprintf("%s (%s)", u.Signal, u.Reason))
			} else {
				needs = append(needs, u.Signal)
			}
		}
		if len(needs) > MaxStderrSignals {
			needs = append(needs[:MaxStderrSignals:MaxStderrSignals], fmt.Sprintf("and %d more", len(needs)-MaxStderrSignals))
		}
		fmt.Fprintf(w, "%s: %s: unknown, possible %s; settled by %s\n", prefix, c.ID,
			strings.Join(c.Possible, "|"), strings.Join(needs, ", "))
	}
	return unknown
}
