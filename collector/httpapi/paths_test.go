package httpapi

import (
	"context"
	"encoding/base64"
	"os"
	"path/filepath"
	"testing"

	"github.com/capability-exporter/capability_exporter/collector/source"
	"github.com/capability-exporter/capability_exporter/config"
)

// A password_file written relative to the config file is found when the
// exporter runs from another folder, and its password is sent.
func TestRelativePasswordFileFromAnotherWorkingDirectory(t *testing.T) {
	stub := newAPIStub(t, map[string][]stubAnswer{"/api/v1/query": {{status: 200, body: vectorOne}}})
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "pw.txt"), []byte("s3cretFromFile\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "config.yml")
	if err := os.WriteFile(file, []byte("sources:\n  prometheus:\n    url: "+stub.URL+
		"\n    basic_auth: {username: exporter, password_file: pw.txt}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Chdir(t.TempDir())

	cfg, err := config.Load(file)
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewPrometheus(cfg.Sources.Prometheus, discardLogger, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	res := s.Collect(context.Background(), source.Request{Signals: []source.SignalRequest{promQuery("s", "sum(up)", "")}})
	if v := res.Values["s"]; !v.Known || v.Number != 3 {
		t.Fatalf("got %+v, errors %v", v, res.Errors)
	}
	want := "Basic " + base64.StdEncoding.EncodeToString([]byte("exporter:s3cretFromFile"))
	if got := stub.lastRequest().Header.Get("Authorization"); got != want {
		t.Errorf("Authorization %q, want %q", got, want)
	}
}
