package main

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"time"

	"github.com/capability-exporter/capability_exporter/collector"
	"github.com/capability-exporter/capability_exporter/config"
	"github.com/capability-exporter/capability_exporter/report"
)

// docs/assess.md's example is a real assess run on assessConfig: the
// record and the stderr lines as `capability_exporter assess
// --fail-on-unknown` writes them, with what changes from run to run
// normalised: the date, the times, the durations, and a resolver's address.

// assessConfig is the example's config, under the repository root.
const assessConfig = "tools/gendocs/testdata/assess.yml"

// assessCommand is the command docs/assess.md shows the example's output of.
const assessCommand = "capability_exporter assess --config.file=" + assessConfig + " --fail-on-unknown"

// exampleTime stands for every time of the example run, exampleDuration
// for every duration it took.
var (
	exampleTime     = time.Date(2026, time.March, 2, 9, 30, 0, 0, time.UTC)
	exampleDuration = 12 * time.Millisecond
)

// assessRun is the example run's output.
type assessRun struct {
	record, stderr string
	unknown        bool // a decision is unknown: assess --fail-on-unknown exits 3
}

// runAssess evaluates the example config once, as `capability_exporter
// assess` does (cmd/capability_exporter/assess.go), and writes its record
// and stderr lines.
func runAssess(root string) (*assessRun, error) {
	cfg, err := config.Load(root + "/" + assessConfig)
	if err != nil {
		return nil, err
	}
	cfg.File = assessConfig // as the command is run from the repository root
	sched := collector.NewScheduler(cfg, 2*time.Minute, slog.New(slog.DiscardHandler))
	defer sched.Close()
	st := *sched.Evaluate(context.Background())
	st.LastChange, st.History = nil, nil
	ev := *st.Evaluation
	ev.Time = exampleTime
	st.Evaluation = &ev
	st.Duration = exampleDuration
	st.Sources = append([]collector.SourceStatus(nil), st.Sources...)
	for i := range st.Sources {
		if st.Sources[i].Duration > 0 {
			st.Sources[i].Duration = exampleDuration
		}
	}
	r := report.Build(&st, report.Options{Now: exampleTime})
	var record, stderr bytes.Buffer
	if err := report.WriteMarkdown(&record, r); err != nil {
		return nil, err
	}
	report.WriteSourceFaults(&stderr, "capability_exporter", r)
	unknown := report.WriteUnknownDecisions(&stderr, "capability_exporter", r)
	return &assessRun{record: normalise(record.String()), stderr: normalise(stderr.String()), unknown: unknown}, nil
}

// resolverRE matches the resolver a failed lookup names, which differs
// from machine to machine ("lookup prometheus.monitoring on 10.0.0.10:53").
var resolverRE = regexp.MustCompile(`(lookup \S+) on [^\s:]+:\d+`)

func normalise(s string) string { return resolverRE.ReplaceAllString(s, "$1") }

// exampleSections are the record's sections the example shows whole, by
// their "## " heading; the others are cut to a line that names them.
// Context is left out: its list of the evaluation's source errors is in
// the order the queries failed, which differs from run to run.
var exampleSections = map[string]bool{
	"To get decisions": true, "Recommended next step": true, "Decisions": true,
	"Observability Maturity": true, "Questions": true,
}

// AssessExample is the example record, cut to the sections a reader needs
// to see what the record holds, in a fence that its own fences cannot end.
func AssessExample(run *assessRun) string {
	var b strings.Builder
	b.WriteString("`" + assessCommand + " > record.md`, the record (a section left out is named in brackets, `[… Recent changes …]`):\n\n")
	b.WriteString("````markdown\n")
	keep := true     // the title and the evidence, before the first section
	var cut []string // the sections left out since the last one shown
	flush := func() {
		if len(cut) > 0 {
			fmt.Fprintf(&b, "[… %s …]\n\n", strings.Join(cut, ", "))
			cut = nil
		}
	}
	for _, line := range strings.SplitAfter(strings.TrimRight(run.record, "\n"), "\n") {
		title, ok := strings.CutPrefix(line, "## ")
		if !ok {
			// Thresholds, a part of Context, is named where it is left
			// out: it is what a reader of the record looks for.
			title, ok = strings.CutPrefix(line, "### Thresholds")
			if ok {
				title = "Thresholds"
			}
		}
		if ok {
			title = strings.TrimSpace(title)
			keep = exampleSections[title]
			if keep {
				flush()
			} else {
				cut = append(cut, title)
			}
		}
		if keep {
			b.WriteString(line)
		}
	}
	flush()
	b.WriteString("\n````\n")
	return b.String()
}

// AssessStderr is the example run's stderr, less the log lines.
func AssessStderr(run *assessRun) string {
	exit := 0
	if run.unknown {
		exit = 3
	}
	return fmt.Sprintf("`%s` writes these lines to stderr (below any log lines) and exits %d:\n\n```text\n%s```\n", assessCommand, exit, run.stderr)
}
