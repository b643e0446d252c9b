package report

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite testdata/report.md and testdata/evaluation/ from the current output")

// golden compares got with testdata/name byte for byte: the JSON is an API
// and the Markdown is pasted into decision records, so every change to
// either must be a visible diff. A mismatch prints that diff.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./report -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s differs from the output (-want +got; run go test ./report -update after checking):\n%s", path, diff)
	}
}

// goldenDir compares each part with testdata/dir/<name>, and fails for a
// file there that no part is: with -update, the directory is written
// afresh, so a part that went away goes too.
func goldenDir(t *testing.T, dir string, parts map[string][]byte) {
	t.Helper()
	root := filepath.Join("testdata", dir)
	if *update {
		if err := os.RemoveAll(root); err != nil {
			t.Fatal(err)
		}
	}
	names := make([]string, 0, len(parts))
	for name := range parts {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		golden(t, filepath.Join(dir, name), parts[name])
	}
	if *update {
		return
	}
	err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		if _, ok := parts[filepath.ToSlash(rel)]; !ok {
			t.Errorf("%s is no part of the output (run go test ./report -update to remove it)", path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// splitEvaluation splits the JSON document into files of one concern each,
// so that a change shows where it is: capabilities/<id>.json for each
// capability, <key>.json for each of sources, signals, tools and
// foundations, and document.json for the rest, in the document's order.
func splitEvaluation(t *testing.T, doc []byte) map[string][]byte {
	t.Helper()
	own := []string{"sources", "signals", "tools", "foundations"}
	parts := map[string][]byte{}
	var rest bytes.Buffer
	rest.WriteString("{")
	dec := json.NewDecoder(bytes.NewReader(doc))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		t.Fatalf("the document does not start with an object: %v %v", tok, err)
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		key := tok.(string)
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			t.Fatal(err)
		}
		switch {
		case key == "capabilities":
			var caps []json.RawMessage
			if err := json.Unmarshal(raw, &caps); err != nil {
				t.Fatal(err)
			}
			for _, c := range caps {
				var id struct{ ID string }
				if err := json.Unmarshal(c, &id); err != nil || id.ID == "" {
					t.Fatalf("a capability without an id: %v", err)
				}
				parts["capabilities/"+id.ID+".json"] = indentJSON(t, c)
			}
		case slices.Contains(own, key):
			parts[key+".json"] = indentJSON(t, raw)
		default:
			if rest.Len() > 1 {
				rest.WriteString(",")
			}
			k, _ := json.Marshal(key)
			rest.Write(k)
			rest.WriteString(":")
			rest.Write(raw)
		}
	}
	if _, err := dec.Token(); err != nil {
		t.Fatal(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		t.Fatalf("more after the document: %v", err)
	}
	rest.WriteString("}")
	parts["document.json"] = indentJSON(t, rest.Bytes())
	return parts
}

func indentJSON(t *testing.T, raw []byte) []byte {
	t.Helper()
	var out bytes.Buffer
	if err := json.Indent(&out, raw, "", "  "); err != nil {
		t.Fatal(err)
	}
	out.WriteString("\n")
	return out.Bytes()
}

// The parts hold the whole document: put together again, they are it.
func TestGoldenPartsAreTheDocument(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteJSON(&buf, fixtureReport(t)); err != nil {
		t.Fatal(err)
	}
	parts := splitEvaluation(t, buf.Bytes())
	var doc map[string]any
	if err := json.Unmarshal(parts["document.json"], &doc); err != nil {
		t.Fatal(err)
	}
	for name, part := range parts {
		var v any
		if err := json.Unmarshal(part, &v); err != nil {
			t.Fatal(name, err)
		}
		switch {
		case strings.HasPrefix(name, "capabilities/"):
			caps, _ := doc["capabilities"].([]any)
			doc["capabilities"] = append(caps, v)
		case name != "document.json":
			doc[strings.TrimSuffix(name, ".json")] = v
		}
	}
	var whole map[string]any
	if err := json.Unmarshal(buf.Bytes(), &whole); err != nil {
		t.Fatal(err)
	}
	byID := func(a, b any) int {
		return strings.Compare(a.(map[string]any)["id"].(string), b.(map[string]any)["id"].(string))
	}
	slices.SortFunc(whole["capabilities"].([]any), byID)
	slices.SortFunc(doc["capabilities"].([]any), byID)
	if diff := cmp.Diff(whole, doc); diff != "" {
		t.Errorf("the parts differ from the document (-document +parts):\n%s", diff)
	}
}
