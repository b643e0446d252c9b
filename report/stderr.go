package report

import (
	"fmt"
	"io"
	"strings"
)

// What `capability_exporter assess` writes to stderr after the record: the
// fault of each source that is down said once, and, with
// --fail-on-unknown, one line per decision that is unknown. docs/assess.md
// shows these lines from a real run (go run ./tools/gendocs).

// MaxStderrSignals bounds the signals one unknown decision's line names;
// the JSON lists every one.
const MaxStderrSignals = 5

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
// of the signals that settle it, each with its reason, then "and N more".
// It reports whether any decision is unknown.
func WriteUnknownDecisions(w io.Writer, prefix string, r *Report) bool {
	unknown := false
	for _, c := range r.Capabilities {
		if c.Decision != "unknown" {
			continue
		}
		unknown = true
		var needs []string
		for _, u := range c.UnknownSignals {
			if u.Blocking {
				needs = append(needs, fmt.Sprintf("%s (%s)", u.Signal, u.Reason))
			}
		}
		if len(needs) > MaxStderrSignals {
			needs = append(needs[:MaxStderrSignals:MaxStderrSignals], fmt.Sprintf("and %d more", len(needs)-MaxStderrSignals))
		}
		fmt.Fprintf(w, "%s: %s: decision unknown (possible: %s); knowing %s settles it\n", prefix, c.ID,
			strings.Join(c.Possible, ", "), strings.Join(needs, ", "))
	}
	return unknown
}
