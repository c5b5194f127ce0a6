package commands

import (
	"testing"
	"time"
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
