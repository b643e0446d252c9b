package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/alecthomas/kingpin/v2"
	"github.com/prometheus/client_golang/prometheus/collectors"
	versioncollector "github.com/prometheus/client_golang/prometheus/collectors/version"
	"github.com/prometheus/common/promslog"
	promslogflag "github.com/prometheus/common/promslog/flag"
	"github.com/prometheus/common/version"
	"github.com/prometheus/exporter-toolkit/web"
	"github.com/prometheus/exporter-toolkit/web/kingpinflag"
	"k8s.io/klog/v2"

	"github.com/capability-exporter/capability_exporter/collector"
	"github.com/capability-exporter/capability_exporter/report"
	"github.com/capability-exporter/capability_exporter/triggers"
)

const name = "capability_exporter"

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run is main without the process: it returns the exit code, so tests can
// drive every subcommand in-process.
func run(args []string, stdout, stderr io.Writer) int {
	app := kingpin.New(name, "Decides from live data which platform capabilities have become worth their complexity, and exports the decisions as Prometheus metrics.")
	app.Writer(stdout)
	app.ErrorWriter(stderr)
	app.UsageWriter(stdout)
	app.HelpFlag.Short('h')
	app.Version(version.Print(name))
	// --help and --version end the program through kingpin's terminate,
	// os.Exit by default; run returns the code instead, so that tests can
	// call it and deferred cleanup runs.
	exited := -1
	app.Terminate(func(code int) {
		if exited < 0 {
			exited = code
		}
	})

	configFile := app.Flag("config.file", "Path to the config file.").Default(name + ".yml").String()
	logConfig := &promslog.Config{Writer: stderr}
	promslogflag.AddFlags(app, logConfig)

	serve := app.Command("run", "Serve /metrics, evaluating the rules on an interval (the default command).").Default()
	interval := serve.Flag("evaluation.interval", "How often to query the sources and evaluate the rules; also once at start.").Default("5m").Duration()
	timeout := serve.Flag("evaluation.timeout", "Deadline of one evaluation across all sources.").Default("2m").Duration()
	slowInterval := serve.Flag("evaluation.slow-interval", "How often queries that read a day or longer (30-day MTTR, month-over-month cost) are sent; in between, their last answer is reused and shown with its age. 0 sends them every evaluation.").Default("1h").Duration()
	hold := serve.Flag("decision.hold", "Evaluations a changed decision must hold before it is published (1: at once). The first evaluation after start and after a reload publishes at once.").Default("3").Int()
	metricsPath := serve.Flag("web.telemetry-path", "Path under which to expose metrics.").Default("/metrics").String()
	// Hidden: reuse is what the exporter should do; off exists so that the
	// perf tier measures, in the same run, what reuse saves.
	metricsReuse := serve.Flag("web.metrics-reuse", "Serve a rendered /metrics response again, for up to a second, to scrapes that ask the same way.").Default("true").Hidden().Bool()
	mcpOn := serve.Flag("web.mcp", "Serve the Model Context Protocol at /mcp, for AI agents: read-only tools over the published evaluation, behind the same --web.config.file; --no-web.mcp turns it off (docs/mcp.md).").Default("true").Bool()
	webConfig := kingpinflag.AddFlags(serve, ":9877")

	check := app.Command("check", "Validate the config file and the rules it uses; exit non-zero listing every error with file, line and field.")
	probe := check.Flag("probe", "Also ask each configured source once whether it answers, and warn with file:line about each that does not (the exit code stays 0: a server may be down for a while).").Bool()
	probeTimeout := check.Flag("probe.timeout", "Deadline of the probes, all sources together.").Default("15s").Duration()
	assess := addAssessCommand(app)
	rulesCmd := app.Command("rules", "Print the embedded default rules: a rules_file to start from, or to read beside a file that extends them (extends: default).")

	cmd, err := app.Parse(args)
	if exited >= 0 {
		return exited
	}
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", name, err)
		return 2
	}
	logger := promslog.New(logConfig)
	// client-go logs through klog; route it into the same structured log.
	klog.SetSlogLogger(logger)

	switch cmd {
	case check.FullCommand():
		return runCheck(*configFile, checkProbe{on: *probe, timeout: *probeTimeout, logger: logger}, stdout, stderr)
	case rulesCmd.FullCommand():
		if _, err := stdout.Write(triggers.DefaultRulesYAML()); err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
		return 0
	case assess.cmd.FullCommand():
		return assess.run(*configFile, stdout, stderr, logger)
	case serve.FullCommand():
		return runServe(serveOptions{configFile: *configFile, interval: *interval, timeout: *timeout, slowInterval: *slowInterval, hold: *hold,
			metricsPath: *metricsPath, metricsReuse: *metricsReuse, mcp: *mcpOn, web: webConfig}, logger)
	}
	return 2
}

func runCheck(configFile string, probe checkProbe, stdout, stderr io.Writer) int {
	cfg, err := loadConfig(configFile)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	for _, w := range cfg.Warnings() {
		fmt.Fprintln(stderr, w)
	}
	if probe.on {
		for _, w := range probe.run(cfg) {
			fmt.Fprintln(stderr, w)
		}
	}
	rulesName := cfg.Rules.File
	if cfg.Rules.Extends != "" {
		rulesName += " extending " + cfg.Rules.Extends
	}
	own := 0
	for _, t := range cfg.Rules.Thresholds {
		if t.Own {
			own++
		}
	}
	fmt.Fprintf(stdout, "%s: OK (%d signals, %d tools, %d foundations, %d capabilities from %s; %d facts declared, %d signals overridden, %d of %d thresholds set)\n",
		configFile, len(cfg.Rules.Signals), len(cfg.Rules.Tools), len(cfg.Rules.Foundations),
		len(cfg.Rules.Capabilities), rulesName, len(cfg.FactValues), len(cfg.OverrideValues), own, len(cfg.Rules.Thresholds))
	return 0
}

type serveOptions struct {
	configFile   string
	interval     time.Duration
	timeout      time.Duration
	slowInterval time.Duration
	hold         int
	metricsPath  string
	metricsReuse bool
	mcp          bool
	web          *web.FlagConfig
}

func runServe(o serveOptions, logger *slog.Logger) int {
	logger.Info("Starting "+name, "version", version.Info(), "build_context", version.BuildContext())
	cfg, err := loadConfig(o.configFile)
	if err != nil {
		logger.Error("Cannot load config", "file", o.configFile, "err", err)
		return 1
	}
	logConfigWarnings(logger, cfg)
	if o.interval <= 0 || o.timeout <= 0 {
		logger.Error("--evaluation.interval and --evaluation.timeout must be positive")
		return 1
	}
	if o.hold < 1 {
		logger.Error("--decision.hold must be at least 1", "hold", o.hold)
		return 1
	}

	sched := collector.NewScheduler(cfg, o.timeout, logger, collector.WithSlowInterval(o.slowInterval), collector.WithHold(o.hold))
	defer sched.Close()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	// A reload never starts an evaluation of its own: Run coalesces reloads
	// into at most one evaluation behind the running one.
	reload := newReloader(o.configFile, sched, logger, sched.EvaluateSoon)
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-hup:
				_ = reload.Reload()
			}
		}
	}()
	go sched.Run(ctx, o.interval)

	mux := newMux(sched, o.metricsPath, o.metricsReuse, reload, logger)
	agentEndpoints(mux, sched, o.mcp, logger)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- web.ListenAndServe(srv, o.web, logger) }()
	select {
	case err := <-errc:
		if !errors.Is(err, http.ErrServerClosed) {
			logger.Error("Web server failed", "err", err)
			return 1
		}
	case <-ctx.Done():
		logger.Info("Shutting down")
		shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdownCtx)
	}
	return 0
}

// newMux is every endpoint the server serves, on one scheduler.
// With reuse, the capability metrics are rendered once per evaluation and a
// rendered /metrics response is served again to scrapes that ask the same
// way (scrape_cache.go).
func newMux(sched *collector.Scheduler, metricsPath string, reuse bool, reload http.Handler, logger *slog.Logger) *http.ServeMux {
	mux := http.NewServeMux()
	// The exporter's own metrics: everything beside the capability metrics.
	metrics := newMetricsHandler(sched, reuse, logger,
		whatIfMetrics, mcpMetrics,
		versioncollector.NewCollector(name),
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	mux.Handle(metricsPath, metrics)
	mux.Handle("/-/reload", reload)
	mux.HandleFunc("/-/healthy", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "Healthy") })
	mux.HandleFunc("/-/ready", func(w http.ResponseWriter, _ *http.Request) {
		if sched.Current() == nil {
			http.Error(w, "first evaluation not finished", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "Ready")
	})
	pages := report.Handlers{Current: sched.Current, MetricsPath: metricsPath, Version: version.Version}
	mux.Handle(report.APIPath, pages.JSON())
	mux.Handle(report.ChangesPath, pages.Changes())
	if metricsPath != "/" {
		mux.Handle("/", pages.Page())
	}
	return mux
}
