package commands

import (
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/qlikbot/qlikbot/bot"
)

// TestHelpFits100Columns: /qlik help and the help of every command, as
// the console prints them (the first line after "[console:oncall] "), have
// no line over 100 columns.
func TestHelpFits100Columns(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envConfig{})
	for _, topic := range append([]string{""}, verbOrder...) {
		text := "help " + topic
		r := e.eng.Handle(t.Context(), bot.Request{Platform: bot.Console, User: bot.User{ID: "oncall"}, Text: text})
		if r.Kind != bot.Info {
			t.Fatalf("%s: %v %s", text, r.Kind, joined(r))
		}
		for i, line := range strings.Split("[console:oncall] "+bot.PlainText(r), "\n") {
			if n := utf8.RuneCountInString(line); n > 100 {
				t.Errorf("%s: line %d has %d columns: %s", text, i+1, n, line)
			}
		}
	}
}

func TestDidYouMean(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"sesions finance", "did you mean sessions?"},
		{"sessoins", "did you mean sessions?"},
		{"kik finance", "did you mean kick?"},
		{"whoamii", "did you mean whoami?"},
		{"sessions --prxy dev1", "did you mean --proxy?"},
		{"sessions --usr LAB\\a", "did you mean --user?"},
		{"users --mn 3", "did you mean --min?"},
	}
	for _, tc := range tests {
		_, err := Parse(tc.in)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Parse(%q) = %v, want %q", tc.in, err, tc.want)
		}
	}
	for _, in := range []string{"xyz", "sessions --zzzzzz 1"} {
		if _, err := Parse(in); err == nil || strings.Contains(err.Error(), "did you mean") {
			t.Errorf("Parse(%q) = %v: no suggestion expected", in, err)
		}
	}
}

// TestHelpJobsNamesNoFixedDelay: the job lease is configurable, so help
// jobs does not promise a fixed resume delay (jobs says the real one).
func TestHelpJobsNamesNoFixedDelay(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envConfig{})
	r := e.eng.Handle(t.Context(), bot.Request{Platform: bot.Console, User: bot.User{ID: "oncall"}, Text: "help jobs"})
	if text := bot.PlainText(r); !strings.Contains(text, "once its lease lapses") || regexp.MustCompile(`within \d+ ?s\b`).MatchString(text) {
		t.Errorf("help jobs:\n%s", text)
	}
}
