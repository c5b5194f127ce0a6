package commands

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func TestWords(t *testing.T) {
	t.Parallel()
	for d, want := range map[time.Duration]string{
		45 * time.Second: "45 s", 30 * time.Minute: "30 min", time.Hour: "1 h", 90 * time.Minute: "1 h 30 min",
		47 * time.Hour: "47 h", 168 * time.Hour: "7 days",
	} {
		if got := durationWords(d); got != want {
			t.Errorf("durationWords(%s) = %q, want %q", d, got, want)
		}
	}
	for _, tc := range []struct {
		n          int
		word, want string
	}{{1, "virtual proxy", "1 virtual proxy"}, {2, "virtual proxy", "2 virtual proxies"}, {0, "session", "0 sessions"}, {1, "session", "1 session"}} {
		if got := plural(tc.n, tc.word); got != tc.want {
			t.Errorf("plural(%d, %q) = %q, want %q", tc.n, tc.word, got, tc.want)
		}
	}
}

// TestClipLengths: texts are cut where meant (500 bytes for a command in
// the audit trail, 60 for a menu label), at a rune boundary, marked.
func TestClipLengths(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, got string
		max       int
	}{
		{"audit text", auditText("sessions " + strings.Repeat("é", 400)), 503},
		{"menu label", clipLabel("Kick " + strings.Repeat("é", 40)), 63},
		{"clip", clip(strings.Repeat("é", 40)), 63},
	}
	for _, tc := range cases {
		if !utf8.ValidString(tc.got) || !strings.HasSuffix(tc.got, "...") || strings.HasSuffix(tc.got, "......") ||
			len(tc.got) > tc.max || len(tc.got) < tc.max-4 {
			t.Errorf("%s: %d bytes %q, want valid UTF-8 of %d bytes at most (and not much less) ending in one ...", tc.name, len(tc.got), tc.got, tc.max)
		}
	}
	if s := strings.Repeat("a", 500); auditText(s) != s {
		t.Error("a command of 500 bytes is cut")
	}
}
