package main

import (
	"fmt"
	"log/slog"
	"net/http"
	"sync"

	"github.com/capability-exporter/capability_exporter/collector"
	"github.com/capability-exporter/capability_exporter/config"
)

// reloader re-reads the config file on SIGHUP and POST /-/reload. The new
// config is parsed and validated in full before anything changes, so a broken
// file leaves the old config and rules running.
type reloader struct {
	mu        sync.Mutex
	file      string
	sched     *collector.Scheduler
	logger    *slog.Logger
	onSuccess func()
}

func newReloader(file string, sched *collector.Scheduler, logger *slog.Logger, onSuccess func()) *reloader {
	return &reloader{file: file, sched: sched, logger: logger, onSuccess: onSuccess}
}

// Reload loads the config file and swaps it in on success.
func (r *reloader) Reload() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	cfg, err := config.Load(r.file)
	if err != nil {
		r.sched.ReloadResult(err)
		r.logger.Error("Reload failed; keeping the previous config and rules", "file", r.file, "err", err)
		return err
	}
	r.sched.Reload(cfg)
	r.logger.Info("Reloaded config", "file", r.file)
	logConfigWarnings(r.logger, cfg)
	if r.onSuccess != nil {
		r.onSuccess()
	}
	return nil
}

func (r *reloader) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	if req.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "reload requires POST", http.StatusMethodNotAllowed)
		return
	}
	if err := r.Reload(); err != nil {
		http.Error(w, fmt.Sprintf("failed to reload config: %v", err), http.StatusInternalServerError)
		return
	}
	fmt.Fprintln(w, "Reloaded")
}
