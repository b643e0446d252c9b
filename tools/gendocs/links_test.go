package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"unicode"
)

// The documents a reader follows links through: the README, docs/ and the
// Helm chart's README. Every relative link among them must lead to a file
// that exists and, where it names an anchor, to a heading of that file.
var linkedDocs = []string{"README.md", "docs/*.md", "deploy/helm/capability-exporter/README.md"}

var (
	// inlineLinkRE matches [text](target) and ![alt](target); the target
	// ends at the first space (a title may follow) or the closing bracket.
	inlineLinkRE = regexp.MustCompile(`!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)`)
	// refDefRE matches a reference definition: [name]: target.
	refDefRE = regexp.MustCompile(`^\s{0,3}\[[^\]]+\]:\s+<?(\S+?)>?(?:\s+.*)?$`)
	// htmlIDRE matches an explicit anchor: <a id="x"> or <a name="x">.
	htmlIDRE = regexp.MustCompile(`<a\s+(?:id|name)="([^"]+)"`)
	// codeSpanStripRE matches inline code, whose brackets are not links.
	codeSpanStripRE = regexp.MustCompile("`+[^`]*`+")
	// headingLinkRE matches a link in a heading, which keeps its text.
	headingLinkRE = regexp.MustCompile(`\[([^\]]*)\]\([^)]*\)`)
	headingRE     = regexp.MustCompile(`^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$`)
)

// docLine is a line of a document outside its fenced code blocks.
type docLine struct {
	n    int
	text string
}

// proseLines returns the lines of a Markdown document that are not inside
// a fenced code block (``` or ~~~, of any length).
func proseLines(doc string) []docLine {
	var out []docLine
	fence := ""
	for i, line := range strings.Split(doc, "\n") {
		trimmed := strings.TrimLeft(line, " ")
		if fence != "" {
			if strings.HasPrefix(trimmed, fence) && strings.Trim(trimmed, fence[:1]) == "" {
				fence = ""
			}
			continue
		}
		if strings.HasPrefix(trimmed, "```") || strings.HasPrefix(trimmed, "~~~") {
			n := len(trimmed) - len(strings.TrimLeft(trimmed, trimmed[:1]))
			fence = trimmed[:n]
			continue
		}
		out = append(out, docLine{i + 1, line})
	}
	return out
}

// slug is the anchor GitHub gives a heading: lower case, its formatting
// dropped, every character but letters, digits, '-', '_' and spaces
// removed, spaces turned into '-'.
func slug(heading string) string {
	heading = headingLinkRE.ReplaceAllString(heading, "$1")
	var b strings.Builder
	for _, r := range strings.ToLower(heading) {
		switch {
		case r == ' ':
			b.WriteRune('-')
		case r == '-' || r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r):
			b.WriteRune(r)
		}
	}
	return b.String()
}

// anchors returns the anchors of a Markdown document: each heading's slug,
// the second of a name with "-1" appended and so on, and explicit ids.
func anchors(doc string) map[string]bool {
	out := map[string]bool{}
	seen := map[string]int{}
	for _, l := range proseLines(doc) {
		for _, m := range htmlIDRE.FindAllStringSubmatch(l.text, -1) {
			out[m[1]] = true
		}
		m := headingRE.FindStringSubmatch(l.text)
		if m == nil {
			continue
		}
		s := slug(m[2])
		if n := seen[s]; n > 0 {
			out[s+"-"+strconv.Itoa(n)] = true
		} else {
			out[s] = true
		}
		seen[s]++
	}
	return out
}

// links returns the targets of a document's links outside code, by line.
func links(doc string) []docLine {
	var out []docLine
	for _, l := range proseLines(doc) {
		text := codeSpanStripRE.ReplaceAllString(l.text, "")
		for _, m := range inlineLinkRE.FindAllStringSubmatch(text, -1) {
			out = append(out, docLine{l.n, m[1]})
		}
		if m := refDefRE.FindStringSubmatch(text); m != nil {
			out = append(out, docLine{l.n, m[1]})
		}
	}
	return out
}

// external says whether a link leaves the repository.
func external(target string) bool {
	if i := strings.Index(target, ":"); i > 0 && !strings.ContainsAny(target[:i], "/#.") {
		return true // a scheme: https:, mailto:, ...
	}
	return strings.HasPrefix(target, "//")
}

// checkLinks returns one message per relative link of the documents
// matched by patterns, under root, that leads nowhere: to a file that does
// not exist, or to an anchor that no heading of its Markdown file has.
func checkLinks(root string, patterns []string) ([]string, error) {
	var files []string
	for _, p := range patterns {
		m, err := filepath.Glob(filepath.Join(root, p))
		if err != nil {
			return nil, err
		}
		if len(m) == 0 {
			return nil, fmt.Errorf("no document matches %s", p)
		}
		files = append(files, m...)
	}
	cache := map[string]map[string]bool{}
	anchorsOf := func(path string) (map[string]bool, error) {
		if a, ok := cache[path]; ok {
			return a, nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, err
		}
		a := anchors(string(data))
		cache[path] = a
		return a, nil
	}
	var broken []string
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			return nil, err
		}
		rel, _ := filepath.Rel(root, file)
		for _, l := range links(string(data)) {
			if external(l.text) {
				continue
			}
			path, anchor, _ := strings.Cut(l.text, "#")
			target := file
			if path != "" {
				target = filepath.Join(filepath.Dir(file), filepath.FromSlash(path))
				if _, err := os.Stat(target); err != nil {
					broken = append(broken, fmt.Sprintf("%s:%d: %s: no such file", rel, l.n, l.text))
					continue
				}
			}
			if anchor == "" || !strings.HasSuffix(target, ".md") {
				continue
			}
			a, err := anchorsOf(target)
			if err != nil {
				return nil, err
			}
			if !a[anchor] {
				broken = append(broken, fmt.Sprintf("%s:%d: %s: no heading has the anchor #%s", rel, l.n, l.text, anchor))
			}
		}
	}
	return broken, nil
}

// Every relative link and anchor of the README, docs/ and the chart's
// README leads somewhere.
func TestDocLinksResolve(t *testing.T) {
	broken, err := checkLinks("../..", linkedDocs)
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range broken {
		t.Error(b)
	}
}

// The check finds a missing file, a missing anchor in another document and
// in the same one, and passes what GitHub resolves: a heading's slug with
// its code and punctuation dropped, a repeated heading's "-1", an explicit
// id, a directory, and links inside code, which are not links.
func TestCheckLinksFindsBrokenLinks(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("docs/a.md", "# A\n\n## The `assess` command: exit codes\n\n## Notes\n\n## Notes\n\n<a id=\"custom\"></a>\n")
	write("README.md", "# Top\n\n"+
		"[ok](docs/a.md) [ok](docs/a.md#the-assess-command-exit-codes) [ok](docs/a.md#notes-1) [ok](docs/a.md#custom)\n"+
		"[ok](#top) [ok](docs) [web](https://example.com/x#y) <https://example.com>\n"+
		"`[not a link](nowhere.md)`\n\n```\n[not a link](nowhere.md)\n# not a heading\n```\n\n"+
		"[gone](docs/b.md)\n[gone](docs/a.md#notes-2)\n[gone](#not-a-heading)\n[ref]: docs/c.md\n")
	broken, err := checkLinks(dir, []string{"README.md", "docs/*.md"})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"README.md:12: docs/b.md: no such file",
		"README.md:13: docs/a.md#notes-2: no heading has the anchor #notes-2",
		"README.md:14: #not-a-heading: no heading has the anchor #not-a-heading",
		"README.md:15: docs/c.md: no such file",
	}
	if strings.Join(broken, "\n") != strings.Join(want, "\n") {
		t.Errorf("broken links:\n%s\nwant:\n%s", strings.Join(broken, "\n"), strings.Join(want, "\n"))
	}
}
