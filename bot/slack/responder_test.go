package slackbot

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/slack-go/slack"
	"golang.org/x/time/rate"

	"github.com/qlikbot/qlikbot/bot"
	"github.com/qlikbot/qlikbot/internal/testkit"
)

// testClock is an injected clock tests move by hand.
type testClock = testkit.Clock

// fakeAdapter is an adapter wired to a fake Slack, with retry waits
// recorded instead of slept.
func fakeAdapter(t *testing.T, f *fakeSlack, clock *testClock) (*Adapter, *waitLog) {
	t.Helper()
	a, err := New(Config{Mode: ModeHTTP, BotToken: "xoxb-test", SigningSecret: vecSecret, APIURL: f.GetAPIURL()},
		newRecorder(), neverSeen{}, WithClock(clock.Now))
	if err != nil {
		t.Fatal(err)
	}
	a.post.channels = bot.NewLimiters[string](rate.Inf, 0, maxLimiters) // pacing has its own test
	return a, recordWaits(a.post)
}

// waitLog records the retry waits a poster asked for, instead of sleeping
// them. Safe for concurrent use.
type waitLog struct {
	mu sync.Mutex
	ds []time.Duration
}

// recordWaits makes p's retry waits end at once and records them.
func recordWaits(p *poster) *waitLog {
	w := &waitLog{}
	p.after = func(d time.Duration) <-chan time.Time {
		w.mu.Lock()
		w.ds = append(w.ds, d)
		w.mu.Unlock()
		ch := make(chan time.Time, 1)
		ch <- time.Time{}
		return ch
	}
	return w
}

func (w *waitLog) all() []time.Duration {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]time.Duration(nil), w.ds...)
}

func TestResponder(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 11, 22, 3, 0, 0, 0, time.UTC)
	table := &bot.Table{Columns: []string{"User"}, Rows: [][]string{{`LAB\testuser_1`}}}
	tests := []struct {
		name string
		// run sends replies through a responder made for a slash command
		// (ref zero) or a click (ref set) and checks the calls.
		ref  messageRef
		hook bool
		run  func(t *testing.T, f *fakeSlack, r *responder, clock *testClock, waits *waitLog)
	}{
		{"in-channel answer via response_url", messageRef{}, true, func(t *testing.T, f *fakeSlack, r *responder, _ *testClock, _ *waitLog) {
			mustRespond(t, r, bot.Reply{Title: "Sessions", Table: table, Visibility: bot.InChannel})
			c := f.next(t)
			if c.Path != "/hooks/r" || c.JSON["response_type"] != "in_channel" || c.JSON["replace_original"] != false {
				t.Errorf("call %s %v", c.Path, c.JSON)
			}
			if bs := c.blocksJSON(t); len(bs) != 2 || bs[1]["type"] != "table" {
				t.Errorf("blocks %v", bs)
			}
		}},
		{"sixth reply falls back to chat.postMessage", messageRef{}, true, func(t *testing.T, f *fakeSlack, r *responder, _ *testClock, _ *waitLog) {
			for i := range 6 {
				mustRespond(t, r, bot.Reply{Title: "progress", Summary: []string{strings.Repeat(".", i)}, Visibility: bot.InChannel})
			}
			for i := range 5 {
				if c := f.next(t); c.Path != "/hooks/r" {
					t.Errorf("reply %d went to %s", i, c.Path)
				}
			}
			if c := f.next(t); c.Path != "/chat.postMessage" || c.Form.Get("channel") != "C1" || c.Form.Get("token") != "xoxb-test" {
				t.Errorf("sixth reply: %s %v", c.Path, c.Form.Get("channel"))
			}
		}},
		{"expired response_url: ephemeral via bot token", messageRef{}, true, func(t *testing.T, f *fakeSlack, r *responder, clock *testClock, _ *waitLog) {
			clock.Advance(responseURLTTL)
			mustRespond(t, r, bot.Reply{Kind: bot.Denied, Title: "Not allowed"})
			if c := f.next(t); c.Path != "/chat.postEphemeral" || c.Form.Get("user") != "U1" || c.Form.Get("channel") != "C1" {
				t.Errorf("call %s %v", c.Path, c.Form)
			}
		}},
		{"click replaces via response_url", messageRef{Channel: "C1", TS: "1.5"}, true, func(t *testing.T, f *fakeSlack, r *responder, _ *testClock, _ *waitLog) {
			mustRespond(t, r, bot.Reply{Kind: bot.Success, Title: "Approved", ReplaceOriginal: true, Visibility: bot.InChannel})
			if c := f.next(t); c.Path != "/hooks/r" || c.JSON["replace_original"] != true {
				t.Errorf("call %s %v", c.Path, c.JSON)
			}
		}},
		{"click falls back to chat.update", messageRef{Channel: "C1", TS: "1.5"}, true, func(t *testing.T, f *fakeSlack, r *responder, _ *testClock, _ *waitLog) {
			f.failHook("/hooks/r", http.StatusNotFound)
			mustRespond(t, r, bot.Reply{Kind: bot.Success, Title: "Approved", ReplaceOriginal: true, Visibility: bot.InChannel})
			f.next(t) // the failed hook
			c := f.next(t)
			if c.Path != "/chat.update" || c.Form.Get("channel") != "C1" || c.Form.Get("ts") != "1.5" || !strings.Contains(c.text(), "Approved") {
				t.Errorf("call %s %v", c.Path, c.Form)
			}
		}},
		{"ephemeral original cannot be updated", messageRef{Channel: "C1", TS: "1.5", Ephemeral: true}, false, func(t *testing.T, f *fakeSlack, r *responder, _ *testClock, _ *waitLog) {
			mustRespond(t, r, bot.Reply{Title: "page 2", ReplaceOriginal: true})
			if c := f.next(t); c.Path != "/chat.postEphemeral" {
				t.Errorf("call %s", c.Path)
			}
		}},
		{"429 is waited out, not dropped", messageRef{}, false, func(t *testing.T, f *fakeSlack, r *responder, _ *testClock, waits *waitLog) {
			f.rateLimit("/chat.postMessage", 2)
			var limited atomic.Int32
			r.post.onLimited = func() { limited.Add(1) }
			mustRespond(t, r, bot.Reply{Title: "Sessions", Visibility: bot.InChannel})
			if n := limited.Load(); n != 2 {
				t.Errorf("rate-limit hook told of %d 429s, want 2", n)
			}
			for i, want := range []string{"/chat.postMessage (429)", "/chat.postMessage (429)", "/chat.postMessage"} {
				if c := f.next(t); c.Path != want {
					t.Errorf("call %d: %s, want %s", i, c.Path, want)
				}
			}
			if w := waits.all(); len(w) != 2 || w[0] != 2*time.Second {
				t.Errorf("waits %v, want two of Retry-After 2s", w)
			}
		}},
		{"CSV shared with in-channel reply", messageRef{}, true, func(t *testing.T, f *fakeSlack, r *responder, _ *testClock, _ *waitLog) {
			mustRespond(t, r, bot.Reply{Title: "Sessions", Visibility: bot.InChannel,
				Files: []bot.File{{Name: "sessions.csv", Type: "text/csv", Data: []byte("User\nLAB\\a\n")}}})
			f.next(t) // the message
			if c := f.next(t); c.Path != "/files.getUploadURLExternal" || c.Form.Get("filename") != "sessions.csv" {
				t.Errorf("call %s %v", c.Path, c.Form)
			}
			if c := f.next(t); c.Path != "/upload/F123" || c.File != "User\nLAB\\a\n" {
				t.Errorf("upload %s %q", c.Path, c.File)
			}
			if c := f.next(t); c.Path != "/files.completeUploadExternal" || c.Form.Get("channel_id") != "C1" {
				t.Errorf("call %s %v", c.Path, c.Form)
			}
		}},
		{"CSV never shared with a private reply", messageRef{}, true, func(t *testing.T, f *fakeSlack, r *responder, _ *testClock, _ *waitLog) {
			mustRespond(t, r, bot.Reply{Title: "Sessions", Files: []bot.File{{Name: "s.csv", Data: []byte("x")}}})
			c := f.next(t)
			if c.Path != "/hooks/r" || !strings.Contains(c.text(), "attached only to in-channel replies") {
				t.Errorf("call %s %s", c.Path, c.text())
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFakeSlack(t)
			clock := testkit.NewClock(start)
			a, waits := fakeAdapter(t, f, clock)
			hook := ""
			if tc.hook {
				hook = f.hookURL("r")
			}
			req := bot.Request{ID: "r1", User: bot.User{ID: "U1"}, Channel: "C1", ReceivedAt: start}
			r := a.newResponder(req, hook, tc.ref)
			tc.run(t, f, r, clock, waits)
			f.none(t)
		})
	}
}

func mustRespond(t *testing.T, r bot.Responder, rep bot.Reply) {
	t.Helper()
	if err := r.Respond(t.Context(), rep); err != nil {
		t.Fatalf("Respond: %v", err)
	}
}

// TestPacePerChannel: after the burst, one channel must wait (a short
// deadline fails at once) while another channel is free.
func TestPacePerChannel(t *testing.T) {
	t.Parallel()
	p := newPoster(nil, nil)
	for range channelBurst {
		if err := p.pace(t.Context(), "C1"); err != nil {
			t.Fatal(err)
		}
	}
	short, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	if err := p.pace(short, "C1"); err == nil {
		t.Error("fourth post in a burst was not held back")
	}
	if err := p.pace(short, "C2"); err != nil {
		t.Errorf("another channel was held back: %v", err)
	}
}

func TestRetryGivesUpOnlyWithContext(t *testing.T) {
	t.Parallel()
	p := newPoster(nil, discardLog())
	ctx, cancel := context.WithCancel(t.Context())
	attempts := 0
	p.after = func(time.Duration) <-chan time.Time {
		cancel()
		return make(chan time.Time) // never fires: only ctx ends the wait
	}
	err := p.retry(ctx, "x", func(context.Context) error {
		attempts++
		return errRateLimited
	})
	if !errors.Is(err, context.Canceled) || attempts != 1 {
		t.Errorf("err %v after %d attempts", err, attempts)
	}
}

var errRateLimited error = &slack.RateLimitedError{RetryAfter: time.Second}

func discardLog() *slog.Logger { return slog.New(slog.DiscardHandler) }

// TestNoURLInLogs: a response_url is a bearer capability; a failed post
// must not write it to the log or the returned error.
func TestNoURLInLogs(t *testing.T) {
	t.Parallel()
	f := newFakeSlack(t)
	var logs testkit.Buffer
	a, err := New(Config{Mode: ModeHTTP, BotToken: "xoxb-secret-token", SigningSecret: "s", APIURL: f.GetAPIURL()},
		newRecorder(), neverSeen{}, WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	if err != nil {
		t.Fatal(err)
	}
	hook := f.hookURL("T1/B2/secret-hook-path")
	f.Stop() // every call now fails in the transport
	r := a.newResponder(bot.Request{ID: "r1", User: bot.User{ID: "U1"}, Channel: "C1", ReceivedAt: time.Now()}, hook, messageRef{})
	err = r.Respond(t.Context(), bot.Reply{Title: "x"})
	if err == nil {
		t.Fatal("Respond succeeded against a stopped server")
	}
	for _, s := range []string{err.Error(), logs.String()} {
		if strings.Contains(s, "secret-hook-path") || strings.Contains(s, "secret-token") {
			t.Errorf("leaked: %s", s)
		}
	}
	if !strings.Contains(logs.String(), "response_url failed") {
		t.Errorf("the failure was not logged: %s", logs.String())
	}
}

func TestTrustedResponseURL(t *testing.T) {
	t.Parallel()
	api, _ := url.Parse("http://127.0.0.1:8080/api/")
	tests := []struct {
		url  string
		want bool
	}{
		{"https://hooks.slack.com/commands/T1/1/x", true},
		{"https://hooks.slack.com/actions/T1/2/y", true},
		{"http://hooks.slack.com/commands/T1/1/x", false},
		{"https://hooks.slack.com.evil.example/x", false},
		{"https://evilslack.com/x", false},
		{"https://user:pw@hooks.slack.com/x", false},
		{"http://127.0.0.1:8080/hooks/x", true},
		{"http://127.0.0.1:8081/hooks/x", false},
		{"https://127.0.0.1:8080/hooks/x", false},
		{"/relative", false},
		{"::", false},
	}
	for _, tc := range tests {
		t.Run(tc.url, func(t *testing.T) {
			t.Parallel()
			if got := trustedResponseURL(tc.url, api); got != tc.want {
				t.Errorf("trustedResponseURL(%q) = %v, want %v", tc.url, got, tc.want)
			}
		})
	}
}

// TestRespondHonoursContext: a reply does not outlive its ctx, so the
// dispatcher's delivery bound and a forced shutdown reach Slack calls too.
func TestRespondHonoursContext(t *testing.T) {
	t.Parallel()
	f := newFakeSlack(t)
	a, _ := fakeAdapter(t, f, testkit.NewClock(time.Date(2026, 11, 22, 3, 0, 0, 0, time.UTC)))
	r := a.newResponder(bot.Request{ID: "r1", User: bot.User{ID: "U1"}, Channel: "C1"}, "", messageRef{})
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := r.Respond(ctx, bot.Reply{Title: "late", Visibility: bot.InChannel}); !errors.Is(err, context.Canceled) {
		t.Errorf("Respond with a cancelled ctx = %v, want context.Canceled", err)
	}
	f.none(t)
}
