package slackbot

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/qlikbot/qlikbot/bot"
)

func httpAdapter(t *testing.T, sub Submitter, guard ReplayGuard, now func() time.Time, command string) *Adapter {
	t.Helper()
	a, err := New(Config{Mode: ModeHTTP, BotToken: "xoxb-test", SigningSecret: vecSecret, Command: command,
		APIURL: "http://127.0.0.1:1/api/"}, sub, guard, WithClock(now))
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return a
}

// TestSignatureVector runs every refusal against Slack's documented vector
// at its own time, and checks nothing reaches the Submitter.
func TestSignatureVector(t *testing.T) {
	t.Parallel()
	vecReq := func(mod func(r *http.Request)) func() *http.Request {
		return func() *http.Request {
			r := httptest.NewRequest(http.MethodPost, "/slack/commands", strings.NewReader(vecBody))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			r.Header.Set("X-Slack-Request-Timestamp", vecTS)
			r.Header.Set("X-Slack-Signature", vecSig)
			if mod != nil {
				mod(r)
			}
			return r
		}
	}
	tests := []struct {
		name    string
		clock   time.Time
		reqs    []func() *http.Request // sent in order; the last one's status is checked
		status  int
		submits int
	}{
		{"valid", vecTime, []func() *http.Request{vecReq(nil)}, http.StatusOK, 1},
		{"valid within skew", vecTime.Add(4 * time.Minute), []func() *http.Request{vecReq(nil)}, http.StatusOK, 1},
		{"bad signature", vecTime, []func() *http.Request{vecReq(func(r *http.Request) {
			r.Header.Set("X-Slack-Signature", strings.Replace(vecSig, "a2114d", "a2114e", 1))
		})}, http.StatusUnauthorized, 0},
		{"tampered body", vecTime, []func() *http.Request{vecReq(func(r *http.Request) {
			r.Body = httptest.NewRequest(http.MethodPost, "/", strings.NewReader(strings.Replace(vecBody, "U2CERLKJA", "U2CERLKJB", 1))).Body
		})}, http.StatusUnauthorized, 0},
		{"stale timestamp", vecTime.Add(5*time.Minute + time.Second), []func() *http.Request{vecReq(nil)}, http.StatusUnauthorized, 0},
		{"future timestamp", vecTime.Add(-6 * time.Minute), []func() *http.Request{vecReq(nil)}, http.StatusUnauthorized, 0},
		// A replay is acked (the guard runs after the ack) and runs nothing.
		{"replay", vecTime, []func() *http.Request{vecReq(nil), vecReq(nil)}, http.StatusOK, 1},
		{"replay with upper-case hex", vecTime, []func() *http.Request{vecReq(nil), vecReq(func(r *http.Request) {
			r.Header.Set("X-Slack-Signature", "v0="+strings.ToUpper(strings.TrimPrefix(vecSig, "v0=")))
		})}, http.StatusOK, 1},
		{"missing signature", vecTime, []func() *http.Request{vecReq(func(r *http.Request) { r.Header.Del("X-Slack-Signature") })}, http.StatusUnauthorized, 0},
		{"missing timestamp", vecTime, []func() *http.Request{vecReq(func(r *http.Request) { r.Header.Del("X-Slack-Request-Timestamp") })}, http.StatusUnauthorized, 0},
		{"no v0 prefix", vecTime, []func() *http.Request{vecReq(func(r *http.Request) {
			r.Header.Set("X-Slack-Signature", strings.TrimPrefix(vecSig, "v0="))
		})}, http.StatusUnauthorized, 0},
		{"not hex", vecTime, []func() *http.Request{vecReq(func(r *http.Request) { r.Header.Set("X-Slack-Signature", "v0=zz") })}, http.StatusUnauthorized, 0},
		{"timestamp not a number", vecTime, []func() *http.Request{vecReq(func(r *http.Request) { r.Header.Set("X-Slack-Request-Timestamp", "1531420618.5") })}, http.StatusUnauthorized, 0},
		{"oversized body", vecTime, []func() *http.Request{func() *http.Request {
			body := vecBody + "&pad=" + strings.Repeat("x", maxCommandBody)
			return signedRequest("/slack/commands", vecSecret, vecTime, body)
		}}, http.StatusRequestEntityTooLarge, 0},
		{"signed with another secret", vecTime, []func() *http.Request{func() *http.Request {
			return signedRequest("/slack/commands", "not-the-secret", vecTime, vecBody)
		}}, http.StatusUnauthorized, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			now := func() time.Time { return tc.clock }
			sub := newRecorder()
			h := httpAdapter(t, sub, openBolt(t, now), now, "/webhook-collect").Handler()
			var rec *httptest.ResponseRecorder
			for _, mk := range tc.reqs {
				rec = httptest.NewRecorder()
				h.ServeHTTP(rec, mk())
			}
			if rec.Code != tc.status {
				t.Errorf("status %d, want %d (body %q)", rec.Code, tc.status, rec.Body)
			}
			got := sub.got()
			if len(got) != tc.submits {
				t.Fatalf("%d requests reached the Submitter, want %d", len(got), tc.submits)
			}
			if tc.submits > 0 {
				r := got[0]
				if r.Platform != bot.Slack || r.User.ID != "U2CERLKJA" || r.User.Name != "roadrunner" || r.Channel != "G8PSS9T3V" || r.Text != "" || r.ReplyTo == nil {
					t.Errorf("request = %+v", r)
				}
				if r.Subject() != "slack:U2CERLKJA" {
					t.Errorf("subject %q", r.Subject())
				}
			}
		})
	}
}

// neverSeen is a replay guard for verifier unit tests only.
type neverSeen struct{}

func (neverSeen) SeenBefore(context.Context, string, time.Duration) (bool, error) { return false, nil }

type brokenGuard struct{}

func (brokenGuard) SeenBefore(context.Context, string, time.Duration) (bool, error) {
	return false, errors.New("disk on fire")
}

// TestGuardDownRunsNothing: when the replay guard fails, the acked
// request is not queued and the user is told, on the response_url, that
// nothing was done.
func TestGuardDownRunsNothing(t *testing.T) {
	t.Parallel()
	f := newFakeSlack(t)
	now := func() time.Time { return vecTime }
	sub := newRecorder()
	a, err := New(Config{Mode: ModeHTTP, BotToken: "xoxb-test", SigningSecret: vecSecret, APIURL: f.GetAPIURL()},
		sub, brokenGuard{}, WithClock(now))
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	a.Handler().ServeHTTP(rec, signedRequest("/slack/commands", vecSecret, vecTime, commandBody("U1", "C1", "sessions", f.hookURL("cmd"))))
	if rec.Code != http.StatusOK || len(sub.got()) != 0 {
		t.Errorf("status %d with %d submitted; want the ack and none", rec.Code, len(sub.got()))
	}
	if c := f.next(t); c.Path != "/hooks/cmd" || !strings.Contains(c.text(), "nothing was done") {
		t.Errorf("notice %s %s", c.Path, c.text())
	}
}

func TestInboundRequests(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 11, 22, 3, 0, 0, 0, time.UTC)
	const secret = vecSecret
	tests := []struct {
		name   string
		path   string
		query  string
		body   func(t *testing.T) string
		status int
		check  func(t *testing.T, reqs []bot.Request, body string)
	}{
		{"slash command", "/slack/commands", "", func(*testing.T) string {
			return commandBody("U123", "C999", "  /qlik sessions finance ", "https://hooks.slack.com/commands/T1/1/x")
		}, http.StatusOK, func(t *testing.T, reqs []bot.Request, _ string) {
			if len(reqs) != 1 {
				t.Fatalf("%d requests", len(reqs))
			}
			r := reqs[0]
			if r.Text != "sessions finance" || r.User.ID != "U123" || r.Channel != "C999" || r.Action != nil || r.ID == "" || !r.ReceivedAt.Equal(at) {
				t.Errorf("request = %+v", r)
			}
			if rs := r.ReplyTo.(*responder); rs.responseURL == "" {
				t.Errorf("trusted response_url was dropped")
			}
		}},
		{"untrusted response_url is ignored", "/slack/commands", "", func(*testing.T) string {
			return commandBody("U123", "C999", "sessions", "https://evil.example.com/hook")
		}, http.StatusOK, func(t *testing.T, reqs []bot.Request, _ string) {
			if rs := reqs[0].ReplyTo.(*responder); rs.responseURL != "" {
				t.Errorf("response_url %q kept", rs.responseURL)
			}
		}},
		{"other command", "/slack/commands", "", func(*testing.T) string {
			return strings.Replace(commandBody("U123", "C999", "x", ""), "%2Fqlik", "%2Fother", 1)
		}, http.StatusOK, func(t *testing.T, reqs []bot.Request, body string) {
			if len(reqs) != 0 || !strings.Contains(body, "answers /qlik only") {
				t.Errorf("%d requests, body %q", len(reqs), body)
			}
		}},
		{"bad user id", "/slack/commands", "", func(*testing.T) string {
			return commandBody("u<script>", "C999", "x", "")
		}, http.StatusBadRequest, func(t *testing.T, reqs []bot.Request, _ string) {
			if len(reqs) != 0 {
				t.Errorf("%d requests", len(reqs))
			}
		}},
		{"click by another user", "/slack/interactions", "", func(t *testing.T) string {
			return clickBody(t, "UAPPROVER", "C999", "1700000000.000100", "qlik.approve#0", "p-42", "https://hooks.slack.com/actions/T1/2/y")
		}, http.StatusOK, func(t *testing.T, reqs []bot.Request, _ string) {
			if len(reqs) != 1 {
				t.Fatalf("%d requests", len(reqs))
			}
			r := reqs[0]
			want := bot.Action{ID: "qlik.approve", Value: "p-42", MessageRef: "C999/1700000000.000100"}
			if r.Action == nil || *r.Action != want || r.User.ID != "UAPPROVER" || r.Channel != "C999" {
				t.Errorf("request = %+v action %+v", r, r.Action)
			}
		}},
		{"payload only in query string", "/slack/interactions", "", func(t *testing.T) string {
			return "" // the payload goes in the URL below, the signed body is empty
		}, http.StatusBadRequest, func(t *testing.T, reqs []bot.Request, _ string) {
			if len(reqs) != 0 {
				t.Errorf("query-string payload reached the Submitter")
			}
		}},
		{"not a click", "/slack/interactions", "", func(t *testing.T) string {
			return "payload=" + `%7B%22type%22%3A%22view_submission%22%7D`
		}, http.StatusOK, func(t *testing.T, reqs []bot.Request, _ string) {
			if len(reqs) != 0 {
				t.Errorf("%d requests", len(reqs))
			}
		}},
		{"payload not json", "/slack/interactions", "", func(t *testing.T) string { return "payload=%7Bnope" },
			http.StatusBadRequest, func(t *testing.T, reqs []bot.Request, _ string) {
				if len(reqs) != 0 {
					t.Errorf("%d requests", len(reqs))
				}
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			now := func() time.Time { return at }
			sub := newRecorder()
			h := httpAdapter(t, sub, openBolt(t, now), now, "").Handler()
			req := signedRequest(tc.path, secret, at, tc.body(t))
			if tc.name == "payload only in query string" {
				req.URL.RawQuery = clickBody(t, "U1", "C1", "1.2", "qlik.approve", "p", "")
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != tc.status {
				t.Errorf("status %d, want %d (%q)", rec.Code, tc.status, rec.Body)
			}
			tc.check(t, sub.got(), rec.Body.String())
		})
	}
}

func TestNewValidates(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		cfg  Config
		want string // substring of the error; "" = ok
	}{
		{"socket ok", Config{BotToken: "xoxb-1", AppToken: "xapp-1"}, ""},
		{"http ok", Config{Mode: "http", BotToken: "xoxb-1", SigningSecret: "s"}, ""},
		{"bad mode", Config{Mode: "rtm", BotToken: "xoxb-1"}, "QLIKBOT_SLACK_MODE"},
		{"no bot token", Config{AppToken: "xapp-1"}, "QLIKBOT_SLACK_BOT_TOKEN is required"},
		{"user token", Config{BotToken: "xoxp-secret-value", AppToken: "xapp-1"}, "QLIKBOT_SLACK_BOT_TOKEN must start with xoxb-"},
		{"no app token", Config{BotToken: "xoxb-1"}, "QLIKBOT_SLACK_APP_TOKEN is required"},
		{"bot token as app token", Config{BotToken: "xoxb-1", AppToken: "xoxb-secret-value"}, "QLIKBOT_SLACK_APP_TOKEN must start with xapp-"},
		{"no signing secret", Config{Mode: "http", BotToken: "xoxb-1"}, "QLIKBOT_SLACK_SIGNING_SECRET"},
		{"bad api url", Config{BotToken: "xoxb-1", AppToken: "xapp-1", APIURL: "ftp://x"}, "QLIKBOT_SLACK_API_URL"},
		{"bad command", Config{BotToken: "xoxb-1", AppToken: "xapp-1", Command: "qlik"}, "command"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := New(tc.cfg, newRecorder(), neverSeen{})
			if tc.want == "" {
				if err != nil {
					t.Fatalf("New: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to mention %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "secret-value") {
				t.Errorf("error leaks a token: %v", err)
			}
		})
	}
}

// refusingSubmitter is a queue that will not take the request.
type refusingSubmitter struct{ err error }

func (s refusingSubmitter) Submit(context.Context, bot.Request) error { return s.err }

// TestSubmitRefused: the ack is sent before the dispatcher is asked, so
// it is an empty 200 whatever the dispatcher says; when it refuses because
// qlikbot shuts down, the user is told through response_url.
func TestSubmitRefused(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		err    error
		notice string // posted to response_url; "" = nothing (the dispatcher answers itself)
	}{
		{"shutting down", bot.ErrClosed, "restarting"},
		{"busy (dispatcher answered)", bot.ErrBusy, ""},
		{"rate limited (dispatcher answered)", bot.ErrRateLimited, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFakeSlack(t)
			now := func() time.Time { return vecTime }
			a, err := New(Config{Mode: ModeHTTP, BotToken: "xoxb-test", SigningSecret: vecSecret, APIURL: f.GetAPIURL()},
				refusingSubmitter{tc.err}, openBolt(t, now), WithClock(now))
			if err != nil {
				t.Fatal(err)
			}
			rec := httptest.NewRecorder()
			a.Handler().ServeHTTP(rec, signedRequest("/slack/commands", vecSecret, vecTime,
				commandBody("U1", "C1", "sessions", f.hookURL("cmd"))))
			if rec.Code != http.StatusOK || rec.Body.Len() != 0 || rec.Header().Get("Content-Length") != "0" {
				t.Errorf("ack: status %d, body %q, Content-Length %q; want an empty 200", rec.Code, rec.Body, rec.Header().Get("Content-Length"))
			}
			if tc.notice == "" {
				f.none(t)
				return
			}
			if c := f.next(t); c.Path != "/hooks/cmd" || !strings.Contains(c.text(), tc.notice) {
				t.Errorf("notice %s %s, want %q on the response_url", c.Path, c.text(), tc.notice)
			}
		})
	}
}
