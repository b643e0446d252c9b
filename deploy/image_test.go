package deploy

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// There is no Docker engine to build the image with in CI, so the Makefile
// builds the binary the way the Dockerfile does; this keeps the two from
// drifting and checks what the image promises.

func readRepoFile(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile("../" + name)
	if err != nil {
		t.Fatal(err)
	}
	// Join continued lines, as both make and the Dockerfile read them.
	return strings.ReplaceAll(string(b), "\\\n", " ")
}

// goBuildLine returns the one line that runs go build, with variables
// written ${X} whichever syntax the file uses and spaces collapsed.
func goBuildLine(t *testing.T, file, text string) string {
	t.Helper()
	var found []string
	for _, l := range strings.Split(text, "\n") {
		if strings.Contains(l, "go build") && !strings.HasPrefix(strings.TrimSpace(l), "#") {
			found = append(found, l)
		}
	}
	if len(found) != 1 {
		t.Fatalf("%s: want one go build line, found %d", file, len(found))
	}
	l := strings.TrimPrefix(strings.TrimSpace(found[0]), "RUN ")
	l = regexp.MustCompile(`\$\((\w+)\)`).ReplaceAllString(l, "$${$1}")
	return strings.Join(strings.Fields(l), " ")
}

func TestMakeBuildIsTheDockerfileBuild(t *testing.T) {
	docker := goBuildLine(t, "Dockerfile", readRepoFile(t, "Dockerfile"))
	makefile := goBuildLine(t, "Makefile", readRepoFile(t, "Makefile"))
	if docker != makefile {
		t.Fatalf("the builds differ:\nDockerfile: %s\nMakefile:   %s", docker, makefile)
	}
	for _, want := range []string{"CGO_ENABLED=0 ", " -trimpath ", " ./cmd/capability_exporter"} {
		if !strings.Contains(docker, want) {
			t.Errorf("go build line lacks %q: %s", want, docker)
		}
	}
	for _, v := range []string{"Version", "Revision", "Branch", "BuildUser", "BuildDate"} {
		if !regexp.MustCompile(`-X github.com/prometheus/common/version.` + v + `=\$\{\w+\}`).MatchString(docker) {
			t.Errorf("go build line does not stamp version.%s into the build info: %s", v, docker)
		}
	}
}

func TestDockerfile(t *testing.T) {
	text := readRepoFile(t, "Dockerfile")
	var froms []string
	directives := map[string][]string{}
	for _, l := range strings.Split(text, "\n") {
		f := strings.Fields(l)
		if len(f) < 2 || strings.HasPrefix(f[0], "#") {
			continue
		}
		directives[f[0]] = append(directives[f[0]], strings.Join(f[1:], " "))
		if f[0] == "FROM" {
			froms = append(froms, f[1])
		}
	}
	if len(froms) != 2 || !strings.HasPrefix(froms[0], "golang:1.26") ||
		!regexp.MustCompile(`^gcr\.io/distroless/static(-debian\d+)?:nonroot$`).MatchString(froms[1]) {
		t.Errorf("stages %v: want a golang:1.26 builder and gcr.io/distroless/static:nonroot", froms)
	}
	if !slices.Equal(directives["USER"], []string{"65532:65532"}) && !slices.Equal(directives["USER"], []string{"65532"}) {
		t.Errorf("USER %v, want 65532 (distroless nonroot, runAsUser in deploy/deployment.yaml)", directives["USER"])
	}
	if !slices.Equal(directives["EXPOSE"], []string{"9877"}) {
		t.Errorf("EXPOSE %v, want 9877", directives["EXPOSE"])
	}
	want := `ENTRYPOINT ["/bin/capability_exporter", "--config.file=/etc/capability_exporter/config.yml"]`
	if got := "ENTRYPOINT " + strings.Join(directives["ENTRYPOINT"], ""); got != want {
		t.Errorf("%s\nwant %s (deploy/ mounts the config there)", got, want)
	}
}

func TestMakefileTargets(t *testing.T) {
	text := readRepoFile(t, "Makefile")
	for target, recipe := range map[string]string{
		"build":       "go build",
		"test":        "test -race ./...",
		"test-e2e":    "-race -tags e2e",
		"test-all":    "",
		"fuzz":        "-fuzz='^FuzzParse$$'",
		"lint":        "golangci-lint",
		"check-rules": "$(PROMTOOL) test rules",
		"bench":       "",
		"all":         "",
	} {
		i := strings.Index(text, "\n"+target+":")
		if i < 0 {
			t.Errorf("Makefile has no %s target", target)
			continue
		}
		body := text[i+1:]
		if j := strings.Index(body, "\n\n"); j >= 0 {
			body = body[:j]
		}
		if !strings.Contains(body, recipe) {
			t.Errorf("Makefile target %s does not run %q:\n%s", target, recipe, body)
		}
	}
}
