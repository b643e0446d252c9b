package source

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// An error body cut to length must stay valid UTF-8 wherever the cut falls.
func TestCutBytesKeepsCharactersWhole(t *testing.T) {
	for _, msg := range []string{strings.Repeat("é", 200), strings.Repeat("a", 299) + "€uro", strings.Repeat("🙂", 100), "short"} {
		for n := 0; n <= 320; n++ {
			got := CutBytes(msg, n)
			if !utf8.ValidString(got) {
				t.Fatalf("CutBytes(%q…, %d) = %q: not valid UTF-8", msg[:8], n, got)
			}
			if body := strings.TrimSuffix(got, "…"); len(body) > n || !strings.HasPrefix(msg, body) {
				t.Fatalf("CutBytes(%q…, %d) = %q: want a prefix of at most %d bytes", msg[:8], n, got, n)
			}
		}
	}
	if got := CutBytes("short", 300); got != "short" {
		t.Errorf("CutBytes(short) = %q, want it unchanged", got)
	}
}
