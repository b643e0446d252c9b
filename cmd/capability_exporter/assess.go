package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/alecthomas/kingpin/v2"
	"github.com/prometheus/common/version"

	"github.com/capability-exporter/capability_exporter/collector"
	"github.com/capability-exporter/capability_exporter/report"
)

// exitUnknown is assess's exit code when --fail-on-unknown is set and a
// decision is unknown; 1 stays "could not run at all" (bad config) and 2 a
// usage error, so a pipeline can tell "not decided" from "broken".
const exitUnknown = 3

// assessCommand is `capability_exporter assess`: one evaluation against the
// configured sources, printed as a decision record or as the JSON of
// /api/v1/evaluation.
type assessCommand struct {
	cmd           *kingpin.CmdClause
	format        *string
	failOnUnknown *bool
	timeout       *time.Duration
	set           *[]string
}

func addAssessCommand(app *kingpin.Application) *assessCommand {
	c := app.Command("assess", "Evaluate once against the configured sources and print every decision with its reasons, "+
		"as a Markdown decision record or as JSON.")
	return &assessCommand{
		cmd:    c,
		format: c.Flag("format", "Output format: markdown (a decision record) or json (the shape of /api/v1/evaluation).").Default("markdown").Enum("markdown", "json"),
		failOnUnknown: c.Flag("fail-on-unknown", fmt.Sprintf("Exit %d when any capability's decision is unknown: a signal it "+
			"hinges on could not be read (source unreachable or not configured, fact not declared).", exitUnknown)).Bool(),
		timeout: c.Flag("evaluation.timeout", "Deadline of the evaluation across all sources.").Default("2m").Duration(),
		set:     c.Flag("set", setHelp).PlaceHolder("fact.NAME=VALUE").Strings(),
	}
}

func (a *assessCommand) run(configFile string, stdout, stderr io.Writer, logger *slog.Logger) int {
	cfg, err := loadConfig(configFile)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	if *a.timeout <= 0 {
		fmt.Fprintln(stderr, name+": --evaluation.timeout must be positive")
		return 1
	}
	cfg, asked, err := layWhatIf(cfg, *a.set)
	if err != nil {
		fmt.Fprintf(stderr, "%s: --set: %v\n", name, err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// assess says each source that is down on stderr itself, once.
	sched := collector.NewScheduler(cfg, *a.timeout, logger, collector.WithoutSourceLog())
	defer sched.Close()
	st := *sched.Evaluate(ctx)
	// One run tracks no history: "unchanged since" would only say "now",
	// and nothing can be pending or have changed.
	st.LastChange, st.History = nil, nil
	r := report.Build(&st, report.Options{Version: version.Version})

	write := report.WriteMarkdown
	if *a.format == "json" {
		write = report.WriteJSON
	}
	if err := writeWithWhatIf(stdout, stderr, *a.format != "json", asked, func(w io.Writer) error { return write(w, r) }); err != nil {
		fmt.Fprintf(stderr, "%s: writing the report: %v\n", name, err)
		return 1
	}
	// One line per source down, with its fault and fix, then one per
	// unknown decision: the fault is never repeated per signal.
	report.WriteSourceFaults(stderr, name, r)
	if !*a.failOnUnknown {
		return 0
	}
	if report.WriteUnknownDecisions(stderr, name, r) {
		return exitUnknown
	}
	return 0
}
