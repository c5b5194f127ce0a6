package slackbot

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/qlikbot/qlikbot/bot"
)

// orderSubmitter records, at Submit, whether the ack was already flushed.
type orderSubmitter struct {
	rec       *httptest.ResponseRecorder
	flushed   atomic.Bool
	submitted atomic.Bool
}

func (s *orderSubmitter) Submit(context.Context, bot.Request) error {
	s.flushed.Store(s.rec.Flushed && s.rec.Code == http.StatusOK)
	s.submitted.Store(true)
	return nil
}

// TestAckBeforeSubmit: the ack is complete and flushed before the request
// is queued (and before the e-mail lookup), so no work delays it.
func TestAckBeforeSubmit(t *testing.T) {
	t.Parallel()
	now := func() time.Time { return vecTime }
	sub := &orderSubmitter{rec: httptest.NewRecorder()}
	h := httpAdapter(t, sub, openBolt(t, now), now, "/webhook-collect").Handler()
	h.ServeHTTP(sub.rec, signedRequest("/slack/commands", vecSecret, vecTime, vecBody))
	if !sub.submitted.Load() || !sub.flushed.Load() {
		t.Fatalf("submitted %v, ack flushed before: %v", sub.submitted.Load(), sub.flushed.Load())
	}
}

// slowGuard answers SeenBefore only when the test says so.
type slowGuard struct {
	asked  chan struct{}
	answer chan guardAnswer
}

type guardAnswer struct {
	seen bool
	err  error
}

func (g *slowGuard) SeenBefore(ctx context.Context, _ string, _ time.Duration) (bool, error) {
	g.asked <- struct{}{}
	select {
	case a := <-g.answer:
		return a.seen, a.err
	case <-ctx.Done():
		return false, ctx.Err()
	}
}

// flushSignal is a response recorder that tells when the ack is flushed.
type flushSignal struct {
	*httptest.ResponseRecorder
	flushed chan struct{}
}

func (f *flushSignal) Flush() {
	f.ResponseRecorder.Flush()
	close(f.flushed)
}

// TestAckDoesNotWaitForTheGuard: the ack is out before the replay guard
// (a store write) answers, and the guard's verdict decides afterwards: a
// fresh request is queued, a replay is dropped, a failed check is told to
// the user; nothing is queued before the verdict.
func TestAckDoesNotWaitForTheGuard(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		answer  guardAnswer
		submits int
		notice  string // on the response_url; "" = none
	}{
		{"fresh", guardAnswer{}, 1, ""},
		{"replay", guardAnswer{seen: true}, 0, ""},
		{"guard failed", guardAnswer{err: errors.New("store unreachable")}, 0, "could not check this request"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFakeSlack(t)
			g := &slowGuard{asked: make(chan struct{}, 1), answer: make(chan guardAnswer)}
			sub := newRecorder()
			now := func() time.Time { return vecTime }
			a, err := New(Config{Mode: ModeHTTP, BotToken: "xoxb-test", SigningSecret: vecSecret, APIURL: f.GetAPIURL()},
				sub, g, WithClock(now))
			if err != nil {
				t.Fatal(err)
			}
			w := &flushSignal{ResponseRecorder: httptest.NewRecorder(), flushed: make(chan struct{})}
			done := make(chan struct{})
			go func() {
				defer close(done)
				a.Handler().ServeHTTP(w, signedRequest("/slack/commands", vecSecret, vecTime,
					commandBody("U1", "C1", "sessions", f.hookURL("cmd"))))
			}()
			select {
			case <-g.asked:
			case <-time.After(10 * time.Second):
				t.Fatal("the replay guard was never asked")
			}
			select {
			case <-w.flushed:
			case <-time.After(10 * time.Second):
				t.Fatal("no ack while the guard is still checking")
			}
			if w.Code != http.StatusOK || w.Body.Len() != 0 {
				t.Fatalf("ack: status %d, body %q", w.Code, w.Body)
			}
			if n := len(sub.got()); n != 0 {
				t.Fatalf("%d requests queued before the guard's verdict", n)
			}
			g.answer <- tc.answer
			<-done
			if n := len(sub.got()); n != tc.submits {
				t.Fatalf("%d requests queued, want %d", n, tc.submits)
			}
			if tc.notice == "" {
				f.none(t)
				return
			}
			if c := f.next(t); c.Path != "/hooks/cmd" || !strings.Contains(c.text(), tc.notice) {
				t.Fatalf("notice %s %s, want %q", c.Path, c.text(), tc.notice)
			}
		})
	}
}
