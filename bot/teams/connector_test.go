package teams

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// recordSleeps replaces the connector's retry wait with a recorder.
func recordSleeps(c *connector) func() []time.Duration {
	var mu sync.Mutex
	var waits []time.Duration
	c.sleep = func(_ context.Context, d time.Duration) error {
		mu.Lock()
		defer mu.Unlock()
		waits = append(waits, d)
		return nil
	}
	return func() []time.Duration {
		mu.Lock()
		defer mu.Unlock()
		return append([]time.Duration(nil), waits...)
	}
}

func TestConnectorRetries(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name         string
		script       []scripted
		wantCalls    int
		wantStatus   int // 0: success
		checkWaits   func([]time.Duration) error
		wantAttempts int
	}{
		{
			name:      "429 then success honours Retry-After",
			script:    []scripted{{status: 429, retryAfter: "2"}},
			wantCalls: 2,
			checkWaits: func(w []time.Duration) error {
				if len(w) != 1 || w[0] != 2*time.Second {
					return fmt.Errorf("waits %v, want [2s]", w)
				}
				return nil
			},
		},
		{
			name:      "Retry-After as an HTTP date",
			script:    []scripted{{status: 429, retryAfter: t0.Add(3 * time.Second).Format(http.TimeFormat)}},
			wantCalls: 2,
			checkWaits: func(w []time.Duration) error {
				if len(w) != 1 || w[0] != 3*time.Second {
					return fmt.Errorf("waits %v, want [3s]", w)
				}
				return nil
			},
		},
		{
			name:      "502 and 504 back off exponentially",
			script:    []scripted{{status: 502}, {status: 504}, {status: 412}},
			wantCalls: 4,
			checkWaits: func(w []time.Duration) error {
				if len(w) != 3 {
					return fmt.Errorf("waits %v, want 3", w)
				}
				for i, d := range w {
					base := backoffBase << i
					if d < base/2 || d > base {
						return fmt.Errorf("wait %d = %v, want within [%v, %v]", i, d, base/2, base)
					}
				}
				return nil
			},
		},
		{
			name:         "gives up after max attempts",
			script:       []scripted{{status: 429}, {status: 429}, {status: 429}, {status: 429}, {status: 429}, {status: 429}},
			wantCalls:    maxAttempts,
			wantStatus:   429,
			wantAttempts: maxAttempts,
		},
		{
			name:         "400 is not retried",
			script:       []scripted{{status: 400}},
			wantCalls:    1,
			wantStatus:   400,
			wantAttempts: 1,
		},
		{
			name:      "401 refreshes the token once",
			script:    []scripted{{status: 401}},
			wantCalls: 2,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newTestEnv(t, nil)
			waits := recordSleeps(e.a.conn)
			e.conn.setScript(tc.script...)
			e.a.conn.trust(e.conn.serviceURL())
			var limited atomic.Int32
			e.a.conn.onRateLimited = func() { limited.Add(1) }
			ref := conversationRef{ServiceURL: e.conn.serviceURL(), ConversationID: "a:1"}
			id, err := e.a.conn.post(t.Context(), ref, "", cardActivity(render(goldenReplies()["outcome"]), "x"))
			calls := e.conn.recorded()
			want429 := 0
			for _, c := range calls {
				if c.Status == http.StatusTooManyRequests {
					want429++
				}
			}
			if int(limited.Load()) != want429 {
				t.Errorf("rate-limit hook told of %d 429s, connector sent %d", limited.Load(), want429)
			}
			if len(calls) != tc.wantCalls {
				t.Fatalf("connector saw %d calls, want %d", len(calls), tc.wantCalls)
			}
			if tc.wantStatus != 0 {
				var se *StatusError
				if !errors.As(err, &se) || se.Status != tc.wantStatus || se.Attempts != tc.wantAttempts {
					t.Fatalf("err = %v, want StatusError %d after %d attempts", err, tc.wantStatus, tc.wantAttempts)
				}
				return
			}
			if err != nil || id == "" {
				t.Fatalf("post: id %q, err %v", id, err)
			}
			ok := 0
			for _, c := range calls {
				if c.Status == http.StatusOK {
					ok++
				}
				if c.Activity["type"] != "message" {
					t.Fatalf("call lost the activity: %+v", c)
				}
			}
			if ok != 1 {
				t.Fatalf("message delivered %d times, want exactly once", ok)
			}
			if tc.checkWaits != nil {
				if err := tc.checkWaits(waits()); err != nil {
					t.Fatal(err)
				}
			}
			if strings.Contains(e.logs.String(), testToken) || strings.Contains(e.logs.String(), testSecret) {
				t.Fatal("a token or the app password reached the logs")
			}
		})
	}
}

func TestTokenFetchedOnceForManyPosts(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, nil)
	e.a.conn.trust(e.conn.serviceURL())
	act := cardActivity(render(goldenReplies()["outcome"]), "x")
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for i := range 20 {
		wg.Go(func() {
			// One conversation each: the per-conversation limiter does not
			// slow this test down.
			ref := conversationRef{ServiceURL: e.conn.serviceURL(), ConversationID: fmt.Sprintf("a:%d", i)}
			if _, err := e.a.conn.post(t.Context(), ref, "", act); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("post: %v", err)
	}
	if n := e.conn.tokenHits.Load(); n != 1 {
		t.Fatalf("token fetched %d times for 20 posts, want 1", n)
	}
	// Near expiry (3599 s minus the 5 min margin) a fresh token is fetched.
	e.now.Advance(56 * time.Minute)
	ref := conversationRef{ServiceURL: e.conn.serviceURL(), ConversationID: "a:0"}
	if _, err := e.a.conn.post(t.Context(), ref, "", act); err != nil {
		t.Fatal(err)
	}
	if n := e.conn.tokenHits.Load(); n != 2 {
		t.Fatalf("token fetched %d times after expiry, want 2", n)
	}
}

func TestConnectorRefusals(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, nil)
	act := cardActivity(render(goldenReplies()["outcome"]), "x")
	ref := conversationRef{ServiceURL: e.conn.serviceURL(), ConversationID: "a:1"}
	if _, err := e.a.conn.post(t.Context(), ref, "", act); !errors.Is(err, errUntrustedServiceURL) {
		t.Fatalf("post to an unseen serviceUrl: err = %v, want errUntrustedServiceURL", err)
	}
	if n := len(e.conn.recorded()) + int(e.conn.tokenHits.Load()); n != 0 {
		t.Fatalf("untrusted post reached the network (%d calls)", n)
	}

	// A wrong app password: the error explains, and never shows it.
	bad := newTestEnv(t, nil)
	bad.a.conn.tokens.secret = "wrong-password-do-not-print"
	bad.a.conn.trust(bad.conn.serviceURL())
	_, err := bad.a.conn.post(t.Context(), conversationRef{ServiceURL: bad.conn.serviceURL(), ConversationID: "a:1"}, "", act)
	if err == nil || !strings.Contains(err.Error(), "status 401") || strings.Contains(err.Error(), "wrong-password") {
		t.Fatalf("err = %v, want a token error with status 401 and no secret", err)
	}
}

func TestParseRetryAfter(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   string
		want time.Duration
	}{
		{"", 0}, {"0", 0}, {"-3", 0}, {"soon", 0}, {"7", 7 * time.Second},
		{"86400", maxRetryAfter}, {t0.Add(-time.Minute).Format(http.TimeFormat), 0},
	} {
		if got := parseRetryAfter(tc.in, t0); got != tc.want {
			t.Errorf("parseRetryAfter(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
}
