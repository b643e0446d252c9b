package report

import "github.com/capability-exporter/capability_exporter/collector/source"

// One message per fault: a source that is down has its one cause said once,
// under the source (source.Fault), and every signal, tool and foundation that
// depends on it says only "<source> is down".

// sourceFault is a down source's one cause and its fix.
func sourceFault(name string, errs []string) (what, fix string) { return source.Fault(name, errs) }

// downReason is the reason every value a down source could not give reads:
// the fault itself is said once, under the source.
func downReason(source string) string { return source + " is down" }
