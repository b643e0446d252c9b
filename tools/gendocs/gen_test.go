package main

import (
	"os"
	"strings"
	"testing"
)

// The committed documents carry exactly what the generator writes now.
func TestDocsUpToDate(t *testing.T) {
	files, err := generate("../..")
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range files {
		got, err := os.ReadFile("../../" + name)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != want {
			t.Errorf("%s differs from what the rules and the engine generate; run `go run ./tools/gendocs` from the repository root and commit the result", name)
		}
	}
}

func TestReplaceBlock(t *testing.T) {
	doc := "intro\n" + beginMarker("x") + "\nold\n" + endMarker + "\noutro\n"
	got, err := replaceBlock(doc, "x", "new\n")
	if err != nil {
		t.Fatal(err)
	}
	if want := "intro\n" + beginMarker("x") + "\n\nnew\n\n" + endMarker + "\noutro\n"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if _, err := replaceBlock("no markers", "x", ""); err == nil || !strings.Contains(err.Error(), "generated: x") {
		t.Errorf("missing markers: err %v", err)
	}
}

// Every row of the state table is decided by the engine, and the rows the
// framework's two questions give are all there.
func TestStateTable(t *testing.T) {
	table, err := StateTable()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"| any | the capability runs", "| `adopted` | `adopted` |",
		"| `yes` | a declared obligation (`must`) holds and no gate; a LATER bullet yields to it | `now` | `must` |",
		"| `yes` or `probably` | a gate holds, even beside an obligation | `later` | `gate` |",
		"| `consider` |", "`structural` |", "| `skip` | `skip` |", "| `not_triggered` |",
		"| `unknown` | – (a motive reads a measure that is unknown) | `unknown`, with `possible`",
	} {
		if !strings.Contains(table, want) {
			t.Errorf("state table lacks %q:\n%s", want, table)
		}
	}
}
