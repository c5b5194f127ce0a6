package console

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/qlikbot/qlikbot/bot"
)

// lockedBuffer is console output safe to read while the console writes.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestDeliver: a reply without a request (a resumed job's outcome) is
// printed as qlikbot speaking; a destination on another platform, or a
// context already done, is refused and prints nothing.
func TestDeliver(t *testing.T) {
	t.Parallel()
	outcome := bot.Reply{Kind: bot.Success, Title: "Approved: end 2 sessions on finance", Summary: []string{"Resumed after an interruption."}, ReplaceOriginal: true}
	done, cancel := context.WithCancel(t.Context())
	cancel()
	cases := []struct {
		name string
		ctx  context.Context
		dst  bot.Destination
		ok   bool
	}{
		{"the approval message", t.Context(), bot.Destination{Platform: bot.Console, Channel: Channel, Message: "console-3"}, true},
		{"no message", t.Context(), bot.Destination{Platform: bot.Console}, true},
		{"another platform", t.Context(), bot.Destination{Platform: bot.Slack, Channel: "C1", Message: "1.2"}, false},
		{"context done", done, bot.Destination{Platform: bot.Console}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var out lockedBuffer
			c, err := New(silent{}, strings.NewReader(""), &out)
			if err != nil {
				t.Fatal(err)
			}
			got, err := c.Deliver(tc.ctx, tc.dst, outcome)
			printed := out.String()
			if !tc.ok {
				if err == nil || printed != "" {
					t.Errorf("Deliver = %+v, %v; printed %q: want an error and nothing printed", got, err, printed)
				}
				return
			}
			if err != nil || got.Platform != bot.Console {
				t.Fatalf("Deliver = %+v, %v", got, err)
			}
			if want := "[console:qlikbot] Approved: end 2 sessions on finance"; !strings.HasPrefix(printed, want) || !strings.Contains(printed, "Resumed after an interruption.") {
				t.Errorf("printed %q, want it to start %q", printed, want)
			}
		})
	}
}

// TestDeliverKeepsTheNumbers: a delivered reply (an alert) printed while
// an earlier reply's buttons are numbered does not renumber them under
// the user, and says so; with nothing numbered it brings its own.
func TestDeliverKeepsTheNumbers(t *testing.T) {
	t.Parallel()
	var out lockedBuffer
	c, err := New(silent{}, strings.NewReader(""), &out)
	if err != nil {
		t.Fatal(err)
	}
	alert := bot.Reply{Kind: bot.Warning, Title: "Firing: too many sessions",
		Buttons: []bot.Button{{Label: "Silence 1 h", ActionID: "qlik.silence", Value: "1h"}}}
	if _, err := c.Deliver(t.Context(), bot.Destination{Platform: bot.Console}, alert); err != nil {
		t.Fatal(err)
	}
	labels := func() []string {
		c.mu.Lock()
		defer c.mu.Unlock()
		var out []string
		for _, b := range c.buttons {
			out = append(out, b.Label)
		}
		return out
	}
	if got := labels(); len(got) != 1 || got[0] != "Silence 1 h" {
		t.Fatalf("with nothing numbered: buttons %q, want the alert's", got)
	}
	approval := bot.Reply{Title: "Approval needed", Buttons: []bot.Button{{Label: "Approve", ActionID: "qlik.approve", Value: "p"}, {Label: "Reject", ActionID: "qlik.reject", Value: "p"}}}
	if err := c.show(bot.User{ID: "ann"}, approval, false); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Deliver(t.Context(), bot.Destination{Platform: bot.Console}, alert); err != nil {
		t.Fatal(err)
	}
	if got := labels(); len(got) != 2 || got[0] != "Approve" {
		t.Errorf("after a delivered alert: buttons %q, want the approval's still", got)
	}
	if !strings.Contains(out.String(), "not numbered for /click: 1 to 2 still click the earlier reply's") {
		t.Errorf("the alert does not say its choices are not numbered:\n%s", out.String())
	}
	if err := c.show(bot.User{ID: "ann"}, bot.Reply{Title: "Sessions", Buttons: alert.Buttons}, false); err != nil {
		t.Fatal(err)
	}
	if got := labels(); len(got) != 1 {
		t.Errorf("a reply to the user: buttons %q, want its own", got)
	}
}
