package console

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/time/rate"

	"github.com/qlikbot/qlikbot/bot"
)

// waitLimit guards against hangs only; no test asserts on elapsed time.
const waitLimit = 10 * time.Second

// recorder is a fake command engine: it records every request and answers
// a few fixed commands.
type recorder struct {
	mu   sync.Mutex
	reqs []bot.Request
}

func (h *recorder) Handle(_ context.Context, req bot.Request) bot.Reply {
	h.mu.Lock()
	h.reqs = append(h.reqs, req)
	h.mu.Unlock()
	switch {
	case req.Action != nil:
		return bot.Reply{Kind: bot.Success, ReplaceOriginal: true,
			Title: fmt.Sprintf("%s clicked %s (%s)", req.Subject(), req.Action.ID, req.Action.Value)}
	case req.Text == "sessions finance":
		return bot.Reply{
			Title:   "Sessions on finance",
			Summary: []string{"Total: 1"},
			Table:   &bot.Table{Columns: []string{"User", "Proxy"}, Rows: [][]string{{`LAB\anna`, "finance"}}},
			Files:   []bot.File{{Name: "../sessions.csv", Type: "text/csv", Data: []byte("User,Proxy\nLAB\\anna,finance\n")}},
		}
	case req.Text == "kick finance":
		return bot.Reply{Kind: bot.Pending, Title: "Kick 2 sessions on finance?", Buttons: []bot.Button{
			{Label: "Approve", ActionID: "approve", Value: "p-42", Style: bot.Primary},
			{Label: "Reject", ActionID: "reject", Value: "p-42", Style: bot.Danger},
		}}
	case req.Text == "delete all":
		return bot.Reply{Title: "Really?", Buttons: []bot.Button{
			{Label: "Delete", ActionID: "delete", Value: "d-1", Confirm: "This ends 40 sessions."},
		}}
	}
	return bot.Reply{Title: fmt.Sprintf("echo %q from %s", req.Text, req.Subject())}
}

func (h *recorder) requests() []bot.Request {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]bot.Request(nil), h.reqs...)
}

// startDispatcher runs a real dispatcher for the test's lifetime.
func startDispatcher(t *testing.T, h bot.Handler, opts ...bot.DispatcherOption) *bot.Dispatcher {
	t.Helper()
	d, err := bot.NewDispatcher(h, opts...)
	if err != nil {
		t.Fatalf("NewDispatcher: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- d.Run(context.Background()) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
		defer cancel()
		if err := d.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		<-done
	})
	return d
}

// runScript plays script through a console and returns what it printed.
func runScript(t *testing.T, sub Submitter, script string, opts ...Option) string {
	t.Helper()
	var out bytes.Buffer
	c, err := New(sub, strings.NewReader(script), &out, opts...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if err := c.Start(t.Context()); err != nil {
		t.Fatalf("Start: %v", err)
	}
	return out.String() // Start has returned: every reply is printed
}

func TestScriptedSession(t *testing.T) {
	t.Parallel()
	h := &recorder{}
	d := startDispatcher(t, h)
	dir := t.TempDir()
	script := strings.Join([]string{
		"/qlik sessions finance",
		"# a comment, then a blank line",
		"",
		"--as lead /qlik whoami",
		"qlik kick finance",
		"/click 3",
		"/as lead",
		"/click 1",
		"whoami",
		"2",
		"/bogus",
		"/as slack:U123",
		"/quit",
		"never read",
	}, "\n")
	got := runScript(t, d, script, WithFileDir(dir))

	csvPath := filepath.Join(dir, "1-sessions.csv")
	want := "[console:oncall] Sessions on finance\nTotal: 1\n\n" +
		"User      Proxy\n----      -----\nLAB\\anna  finance\n" +
		"  attached sessions.csv: " + csvPath + " (28 bytes)\n\n" +
		"[console:lead] echo \"whoami\" from console:lead\n\n" +
		"[console:oncall] Kick 2 sessions on finance?\n\n[1] Approve  [2] Reject\n\n" +
		"no button 3: the latest buttons are numbered 1 to 2\n" +
		"now acting as console:lead\n" +
		"[console:lead] console:lead clicked approve (p-42)\n\n" +
		"[console:lead] echo \"whoami\" from console:lead\n\n" +
		"no buttons to click\n" +
		"unknown console command /bogus\n" + helpText +
		"/as: user \"slack:U123\": the console acts only as console users (console:ID)\n"
	if got != want {
		t.Errorf("transcript:\n%s\nwant:\n%s", got, want)
	}
	if data, err := os.ReadFile(csvPath); err != nil || string(data) != "User,Proxy\nLAB\\anna,finance\n" {
		t.Errorf("attachment = %q, %v", data, err)
	}

	reqs := h.requests()
	wantReqs := []struct {
		subject, text string
		action        *bot.Action
	}{
		{"console:oncall", "sessions finance", nil},
		{"console:lead", "whoami", nil},
		{"console:oncall", "kick finance", nil},
		{"console:lead", "", &bot.Action{ID: "approve", Value: "p-42", MessageRef: "console-3"}},
		{"console:lead", "whoami", nil},
	}
	if len(reqs) != len(wantReqs) {
		t.Fatalf("handler saw %d requests, want %d: %+v", len(reqs), len(wantReqs), reqs)
	}
	for i, w := range wantReqs {
		r := reqs[i]
		if r.Subject() != w.subject || r.Text != w.text || r.Channel != Channel || r.ID == "" || r.ReceivedAt.IsZero() {
			t.Errorf("request %d = %s %q channel %q id %q, want %s %q", i, r.Subject(), r.Text, r.Channel, r.ID, w.subject, w.text)
		}
		if (w.action == nil) != (r.Action == nil) || (w.action != nil && *w.action != *r.Action) {
			t.Errorf("request %d action = %+v, want %+v", i, r.Action, w.action)
		}
	}
}

func TestLinesThatSendNothing(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		script string
		want   string
	}{
		{"as with a slack subject", "--as slack:U1 whoami", "--as: user \"slack:U1\": the console acts only as console users (console:ID). Usage: --as USER COMMAND\n"},
		{"as without a command", "--as lead", "--as: nothing to run. Usage: --as USER COMMAND\n"},
		{"as with a bad id", "--as a/b whoami", "--as: user \"a/b\": want 1-64 letters, digits or . _ @ \\ -. Usage: --as USER COMMAND\n"},
		{"click before any buttons", "/click 1", "no buttons to click\n"},
		{"click without a number", "/click first", "/click: want a button number, e.g. /click 1\n"},
		{"help", "/help", helpText},
		{"as alone says who acts", "/as", "acting as console:oncall\n"},
		{"unknown command", "/sessions", "unknown console command /sessions\n" + helpText},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := &recorder{}
			got := runScript(t, startDispatcher(t, h), tt.script)
			if got != tt.want {
				t.Errorf("output:\n%q\nwant:\n%q", got, tt.want)
			}
			if n := len(h.requests()); n != 0 {
				t.Errorf("handler saw %d requests, want none", n)
			}
		})
	}
}

func TestClickWithConfirm(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		answer   string
		wantSent bool
	}{
		{"yes sends", "y", true},
		{"YES sends", "YES", true},
		{"no cancels", "n", false},
		{"anything else cancels", "/click 1", false},
		{"end of input cancels", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := &recorder{}
			script := "delete all\n/click 1\n"
			if tt.answer != "" {
				script += tt.answer + "\n"
			}
			got := runScript(t, startDispatcher(t, h), script)
			if !strings.Contains(got, "This ends 40 sessions. Type y to confirm: ") {
				t.Errorf("no confirmation asked:\n%s", got)
			}
			reqs := h.requests()
			sent := len(reqs) == 2 && reqs[1].Action != nil && reqs[1].Action.Value == "d-1"
			if sent != tt.wantSent || (!tt.wantSent && len(reqs) != 1) {
				t.Errorf("requests = %+v, want click sent: %v", reqs, tt.wantSent)
			}
			if !tt.wantSent && !strings.HasSuffix(got, "cancelled\n") {
				t.Errorf("output does not end with cancelled:\n%s", got)
			}
		})
	}
}

// blocking holds requests whose text is "slow" until released.
type blocking struct {
	recorder
	started chan struct{}
	release chan struct{}
}

func (b *blocking) Handle(ctx context.Context, req bot.Request) bot.Reply {
	if req.Text == "slow" {
		close(b.started)
		<-b.release
		return bot.Reply{Title: "slow answer"}
	}
	return b.recorder.Handle(ctx, req)
}

func TestEOFWaitsForTheLastReply(t *testing.T) {
	t.Parallel()
	h := &blocking{started: make(chan struct{}), release: make(chan struct{})}
	d := startDispatcher(t, h)
	var out bytes.Buffer
	c, err := New(d, strings.NewReader("whoami\nslow\n"), &out)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- c.Start(t.Context()) }()
	select {
	case <-h.started:
	case <-time.After(waitLimit):
		t.Fatal("slow request never reached the handler")
	}
	select {
	case err := <-done:
		t.Fatalf("Start returned %v before the last reply", err)
	default:
	}
	close(h.release)
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Start: %v", err)
		}
	case <-time.After(waitLimit):
		t.Fatal("Start did not return after the last reply")
	}
	want := "[console:oncall] echo \"whoami\" from console:oncall\n\n[console:oncall] slow answer\n\n"
	if got := out.String(); got != want {
		t.Errorf("output:\n%q\nwant:\n%q", got, want)
	}
}

func TestDispatcherRefusals(t *testing.T) {
	t.Parallel()
	h := &recorder{}
	d := startDispatcher(t, h, bot.WithUserRate(rate.Limit(0.001), 1))
	got := runScript(t, d, "one\ntwo\n--as lead three\n")
	want := "[console:oncall] echo \"one\" from console:oncall\n\n" +
		"[console:oncall] Slow down: too many requests; try again in 1000s.\n\n" +
		"[console:lead] echo \"three\" from console:lead\n\n"
	if got != want {
		t.Errorf("output:\n%q\nwant:\n%q", got, want)
	}

	closed, err := bot.NewDispatcher(h)
	if err != nil {
		t.Fatal(err)
	}
	if err := closed.Shutdown(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := runScript(t, closed, "four\n"); got != "[console:oncall] qlikbot is shutting down; nothing was sent\n" {
		t.Errorf("after shutdown: %q", got)
	}
}

func TestInteractiveBannerAndPrompt(t *testing.T) {
	t.Parallel()
	got := runScript(t, startDispatcher(t, &recorder{}), "/as lead\n",
		WithInteractive(true), WithUser(bot.User{ID: "console:anna"}))
	want := "qlikbot console: acting as console:anna. Type /qlik help for bot commands, /help for console commands.\n" +
		"Attached files (the CSV of a long list) are saved in a temporary folder, removed when you leave (charts stay).\n" +
		"console:anna> now acting as console:lead\nconsole:lead> \n"
	if got != want {
		t.Errorf("output:\n%q\nwant:\n%q", got, want)
	}
}

func TestNewRejectsBadArguments(t *testing.T) {
	t.Parallel()
	in, out := strings.NewReader(""), io.Discard
	tests := []struct {
		name string
		sub  Submitter
		in   io.Reader
		out  io.Writer
		opts []Option
	}{
		{name: "nil submitter", in: in, out: out},
		{name: "nil input", sub: silent{}, out: out},
		{name: "nil output", sub: silent{}, in: in},
		{name: "teams user", sub: silent{}, in: in, out: out, opts: []Option{WithUser(bot.User{ID: "teams:x"})}},
		{name: "empty user", sub: silent{}, in: in, out: out, opts: []Option{WithUser(bot.User{})}},
		{name: "nil logger", sub: silent{}, in: in, out: out, opts: []Option{WithLogger(nil)}},
		{name: "empty file dir", sub: silent{}, in: in, out: out, opts: []Option{WithFileDir("")}},
		{name: "zero wait", sub: silent{}, in: in, out: out, opts: []Option{WithWait(0)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if c, err := New(tt.sub, tt.in, tt.out, tt.opts...); err == nil || c != nil {
				t.Errorf("New = %v, %v; want an error", c, err)
			}
		})
	}
	c, err := New(silent{}, in, out)
	if err != nil || c.Name() != bot.Console {
		t.Errorf("New with defaults = %v, %v", c, err)
	}
}
