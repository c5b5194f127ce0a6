package slackbot

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/time/rate"

	"github.com/qlikbot/qlikbot/bot"
	"github.com/qlikbot/qlikbot/internal/testkit"
)

// stormSlack is a fake Slack Web API that answers 429 (Retry-After: 1)
// to the first n calls of chat.postMessage and chat.update, then accepts
// and records each call.
type stormSlack struct {
	srv *httptest.Server

	mu        sync.Mutex
	left      int      // 429s still to send
	limited   int      // 429s sent
	delivered []string // accepted calls: "method text", in arrival order
	ts        int
}

func newStormSlack(t *testing.T, n int) *stormSlack {
	t.Helper()
	s := &stormSlack{left: n}
	mux := http.NewServeMux()
	for _, m := range []string{"chat.postMessage", "chat.update"} {
		mux.HandleFunc("POST /"+m, func(w http.ResponseWriter, r *http.Request) { s.serve(w, r, m) })
	}
	s.srv = httptest.NewServer(mux)
	t.Cleanup(s.srv.Close)
	return s
}

func (s *stormSlack) serve(w http.ResponseWriter, r *http.Request, method string) {
	_ = r.ParseForm()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.left > 0 {
		s.left--
		s.limited++
		w.Header().Set("Retry-After", "1")
		w.WriteHeader(http.StatusTooManyRequests)
		return
	}
	s.delivered = append(s.delivered, method+" "+r.PostForm.Get("text"))
	s.ts++
	ts := r.PostForm.Get("ts")
	if ts == "" {
		ts = fmt.Sprintf("1700000000.%06d", s.ts)
	}
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, `{"ok":true,"channel":%q,"ts":%q,"text":""}`, r.PostForm.Get("channel"), ts)
}

func (s *stormSlack) snapshot() (delivered []string, limited int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.delivered...), s.limited
}

// TestChaos429Storm drives the whole HTTP path (signed slash commands and
// clicks -> adapter -> real dispatcher -> responder -> Web API) while
// Slack answers 429 to the first calls: every reply arrives exactly once,
// in the order the requests came, and each wait honours Retry-After.
func TestChaos429Storm(t *testing.T) {
	t.Parallel()
	const (
		commands = 8
		clicks   = 2
		storm    = 7
	)
	api := newStormSlack(t, storm)
	now := time.Date(2026, 11, 22, 3, 0, 0, 0, time.UTC)
	clock := testkit.NewClock(now)

	// One worker: requests run, and their replies go out, one after the
	// other, so the order Slack sees is the order they came in.
	var disp *bot.Dispatcher
	a, err := New(Config{Mode: ModeHTTP, BotToken: "xoxb-storm", SigningSecret: vecSecret, APIURL: api.srv.URL + "/"},
		submitFunc(func(ctx context.Context, r bot.Request) error { return disp.Submit(ctx, r) }),
		openBolt(t, clock.Now), WithClock(clock.Now))
	if err != nil {
		t.Fatal(err)
	}
	a.post.channels = bot.NewLimiters[string](rate.Inf, 0, maxLimiters) // per-channel pacing has its own test
	recorded := recordWaits(a.post)
	disp, err = bot.NewDispatcher(bot.HandlerFunc(func(_ context.Context, r bot.Request) bot.Reply {
		if r.Action != nil {
			return bot.Reply{Title: "updated " + r.Action.Value, ReplaceOriginal: true, Visibility: bot.InChannel}
		}
		return bot.Reply{Title: "answer " + r.Text, Visibility: bot.InChannel}
	}), bot.WithWorkers(1), bot.WithUserRate(rate.Inf, 0), bot.WithQueueSize(commands+clicks))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	runDone := make(chan struct{})
	go func() { defer close(runDone); _ = disp.Run(ctx) }()

	var want []string
	for i := range commands + clicks {
		var path, body string
		if i%5 == 4 { // a click on an earlier message: replaced with chat.update
			v := fmt.Sprintf("m%02d", i)
			path, body = "/slack/interactions", clickBody(t, "U1", "C1", "1699999999.000001", "qlik.run", v, "")
			want = append(want, "chat.update updated "+v)
		} else { // no response_url: posted with chat.postMessage
			text := fmt.Sprintf("c%02d", i)
			path, body = "/slack/commands", commandBody("U1", "C1", text, "")
			want = append(want, "chat.postMessage answer "+text)
		}
		rec := httptest.NewRecorder()
		a.Handler().ServeHTTP(rec, signedRequest(path, vecSecret, now, body))
		if rec.Code != http.StatusOK {
			t.Fatalf("request %d: ack %d %s", i, rec.Code, rec.Body)
		}
	}

	// Shutdown waits until every queued request is answered.
	sctx, scancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer scancel()
	if err := disp.Shutdown(sctx); err != nil {
		t.Fatalf("dispatcher did not finish: %v", err)
	}
	<-runDone
	got, limited := api.snapshot()
	if limited != storm {
		t.Errorf("fake sent %d 429s, want %d", limited, storm)
	}
	if len(got) != len(want) {
		t.Fatalf("delivered %d replies, want %d:\n%s", len(got), len(want), strings.Join(got, "\n"))
	}
	for i := range want {
		if !strings.HasPrefix(got[i], want[i]) {
			t.Errorf("delivery %d: %q, want %q (lost, duplicated or out of order)", i, got[i], want[i])
		}
	}
	waits := recorded.all()
	if len(waits) != storm {
		t.Errorf("waited %d times, want once per 429 (%d)", len(waits), storm)
	}
	for _, d := range waits {
		if d != time.Second {
			t.Errorf("waited %v, want Retry-After's 1s", d)
		}
	}
}

type submitFunc func(ctx context.Context, r bot.Request) error

func (f submitFunc) Submit(ctx context.Context, r bot.Request) error { return f(ctx, r) }

// TestChaosHugeBody: a 10 MB POST is refused without being read whole,
// signed or not, on every endpoint; an unsigned one is not read at all;
// nothing reaches the dispatcher.
func TestChaosHugeBody(t *testing.T) {
	t.Parallel()
	const size = 10 << 20
	now := time.Date(2026, 11, 22, 3, 0, 0, 0, time.UTC)
	tests := []struct {
		name, path string
		signed     bool
		limit      int64 // bytes it may read
	}{
		{"command, signed", "/slack/commands", true, maxCommandBody},
		{"command, unsigned", "/slack/commands", false, 0},
		{"event, signed", "/slack/events", true, maxCommandBody},
		{"event, unsigned", "/slack/events", false, 0},
		{"interaction, signed", "/slack/interactions", true, maxInteractionBody},
		{"interaction, unsigned", "/slack/interactions", false, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			sub := newRecorder()
			a, err := New(Config{Mode: ModeHTTP, BotToken: "xoxb-test", SigningSecret: vecSecret}, sub, neverSeen{}, WithClock(func() time.Time { return now }))
			if err != nil {
				t.Fatal(err)
			}
			body := &testkit.CountingReader{R: io.LimitReader(testkit.Repeat('a'), size)}
			req := httptest.NewRequestWithContext(t.Context(), http.MethodPost, tc.path, body)
			req.ContentLength = size
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			if tc.signed {
				ts := strconv.FormatInt(now.Unix(), 10)
				mac := hmac.New(sha256.New, []byte(vecSecret))
				mac.Write([]byte("v0:" + ts + ":"))
				_, _ = io.Copy(mac, io.LimitReader(testkit.Repeat('a'), size))
				req.Header.Set("X-Slack-Request-Timestamp", ts)
				req.Header.Set("X-Slack-Signature", "v0="+hex.EncodeToString(mac.Sum(nil)))
			}
			rec := httptest.NewRecorder()
			a.Handler().ServeHTTP(rec, req)
			if rec.Code != http.StatusRequestEntityTooLarge && rec.Code != http.StatusUnauthorized {
				t.Errorf("status %d, want 413 or 401", rec.Code)
			}
			if slack := int64(4096); tc.limit == 0 && body.N != 0 || tc.limit > 0 && body.N > tc.limit+slack {
				t.Errorf("read %d bytes of a %d byte body; the cap is %d", body.N, size, tc.limit)
			}
			if got := sub.got(); len(got) != 0 {
				t.Errorf("reached the dispatcher: %+v", got)
			}
		})
	}
}

// TestChaosMalformedInteraction: correctly signed bodies whose payload is
// deeply nested or broken JSON are refused with a 4xx, without a panic,
// and nothing reaches the dispatcher. Well-formed JSON that is not a
// button click is acknowledged (200) and ignored, as Slack expects.
func TestChaosMalformedInteraction(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 22, 3, 0, 0, 0, time.UTC)
	payload := func(p string) string { return url.Values{"payload": {p}}.Encode() }
	tests := []struct {
		name, path, body string
		ignored          bool // well-formed but not a click: 200, ignored
	}{
		{"60k nested arrays (under the size cap)", "/slack/interactions", "payload=" + strings.Repeat("[", 60000), false},
		{"100k nested arrays", "/slack/interactions", "payload=" + strings.Repeat("[", 100000), false},
		{"nested objects", "/slack/interactions", payload(strings.Repeat(`{"a":`, 12000)), false},
		{"truncated JSON", "/slack/interactions", payload(`{"type":"block_actions","user":{"id":"U1"},"actions":[{"action_id":"qlik.approve"`), false},
		{"wrong types", "/slack/interactions", payload(`{"type":"block_actions","user":"U1","actions":"approve"}`), false},
		{"null action", "/slack/interactions", payload(`{"type":"block_actions","user":{"id":"U1"},"channel":{"id":"C1"},"actions":[null]}`), true},
		{"attachment action", "/slack/interactions", payload(`{"type":"block_actions","user":{"id":"U1"},"actions":[{"name":"x","value":"y"}]}`), true},
		{"click without user", "/slack/interactions", payload(`{"type":"block_actions","channel":{"id":"C1"},"actions":[{"action_id":"qlik.approve","block_id":"b","value":"x"}]}`), false},
		{"click with a forged user id", "/slack/interactions", payload(`{"type":"block_actions","user":{"id":"U1\u0000<!channel>"},"channel":{"id":"C1"},"actions":[{"action_id":"qlik.approve","block_id":"b","value":"x"}]}`), false},
		{"not JSON", "/slack/interactions", payload("approve please"), false},
		{"invalid UTF-8 in JSON", "/slack/interactions", "payload=%7B%22type%22%3A%22%FF%FE", false},
		{"no payload field", "/slack/interactions", "foo=bar", false},
		{"broken form encoding", "/slack/interactions", "payload=%zz%7B", false},
		{"slash command with a broken form", "/slack/commands", "command=%2Fqlik&text=%zz", false},
		{"slash command without user", "/slack/commands", "command=%2Fqlik&text=sessions&channel_id=C1", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			sub := newRecorder()
			a, err := New(Config{Mode: ModeHTTP, BotToken: "xoxb-test", SigningSecret: vecSecret}, sub, neverSeen{}, WithClock(func() time.Time { return now }))
			if err != nil {
				t.Fatal(err)
			}
			rec := httptest.NewRecorder()
			a.Handler().ServeHTTP(rec, signedRequest(tc.path, vecSecret, now, tc.body))
			switch {
			case tc.ignored && rec.Code != http.StatusOK:
				t.Errorf("status %d, want 200 (acknowledged, ignored)", rec.Code)
			case !tc.ignored && (rec.Code < 400 || rec.Code > 499):
				t.Errorf("status %d, want 4xx", rec.Code)
			}
			if got := sub.got(); len(got) != 0 {
				t.Errorf("reached the dispatcher: %+v", got)
			}
		})
	}
}
