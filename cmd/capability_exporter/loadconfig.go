package main

import (
	"errors"
	"fmt"
	"io/fs"

	"github.com/capability-exporter/capability_exporter/config"
)

// loadConfig loads the config file; where there is none, the error says
// what to run: the example to try the exporter, deploy/config.yml to start
// a real deployment, and check to validate one.
func loadConfig(file string) (*config.Config, error) {
	cfg, err := config.Load(file)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: to try the exporter, run %s --config.file=examples/webshop.yml; "+
			"to start a real deployment, copy deploy/config.yml and point its sources at your servers; "+
			"%s check --config.file=FILE validates a config", err, name, name)
	}
	return cfg, err
}
