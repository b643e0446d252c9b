package main

import (
	"bytes"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"github.com/capability-exporter/capability_exporter/config"
)

// The quick start logs its declared values as one line, naming them all.
func TestExampleWarningsAreOneLine(t *testing.T) {
	cfg, err := config.Load(filepath.Join("..", "..", "examples", "webshop.yml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Warnings()) < 2 {
		t.Fatalf("the example has %d warnings; this test wants several", len(cfg.Warnings()))
	}
	var buf bytes.Buffer
	logConfigWarnings(slog.New(slog.NewTextHandler(&buf, nil)), cfg)
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 1 {
		t.Fatalf("%d log lines, want one:\n%s", len(lines), buf.String())
	}
	for _, w := range cfg.Warnings() {
		if !strings.Contains(lines[0], w.Field) {
			t.Errorf("the line does not name %s: %s", w.Field, lines[0])
		}
	}
}
