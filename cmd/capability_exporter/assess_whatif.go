package main

import (
	"bytes"
	"fmt"
	"io"
	"strings"

	"github.com/capability-exporter/capability_exporter/config"
	"github.com/capability-exporter/capability_exporter/whatif"
)

// assess --set: a what-if on assess's own single evaluation. Each value is
// fact.NAME=VALUE, override.NAME=VALUE or threshold.NAME=VALUE, laid over the
// config and checked as the config's sections are, exactly as POST
// /api/v1/what-if lays its body over the running exporter's.

const setHelp = "A what-if: lay fact.NAME=VALUE, override.NAME=VALUE or threshold.NAME=VALUE over the config " +
	"(null takes the config's away), checked as the config is; repeat for more. " +
	"Some names are both a fact and an override: the prefix says which."

// layWhatIf returns cfg with the --set values laid over it, and the values
// as they are echoed in the record.
func layWhatIf(cfg *config.Config, sets []string) (*config.Config, []string, error) {
	if len(sets) == 0 {
		return cfg, nil, nil
	}
	w, err := whatif.ParseSet(sets)
	if err != nil {
		return nil, nil, err
	}
	out, err := cfg.WhatIf(w)
	if err != nil {
		return nil, nil, err
	}
	return out, whatif.Asked(w), nil
}

// writeWithWhatIf writes the report through write and, for a what-if, says
// so: in a Markdown record, a line under its evidence, so that nobody pastes
// a hypothesis as the finding; for JSON, on stderr, keeping stdout the
// document of /api/v1/evaluation.
func writeWithWhatIf(stdout, stderr io.Writer, markdown bool, asked []string, write func(io.Writer) error) error {
	if len(asked) == 0 {
		return write(stdout)
	}
	line := "what-if: " + strings.Join(asked, ", ") + " (assess --set), in place of the config's"
	if !markdown {
		fmt.Fprintf(stderr, "%s: %s\n", name, line)
		return write(stdout)
	}
	var buf bytes.Buffer
	if err := write(&buf); err != nil {
		return err
	}
	text := buf.String()
	note := "- What-if: `" + strings.Join(asked, "`, `") + "` (`assess --set`), in place of the config's: not the finding\n"
	if i := strings.Index(text, "\n- Evidence:"); i >= 0 {
		if j := strings.Index(text[i+1:], "\n"); j >= 0 {
			at := i + 1 + j + 1
			text = text[:at] + note + text[at:]
		}
	} else {
		text = note + "\n" + text
	}
	_, err := io.WriteString(stdout, text)
	return err
}
