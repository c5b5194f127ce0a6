package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/qlikbot/qlikbot/bot"
)

// TestReadyzDegradedIsANote: a check answering bot.ErrDegraded (Slack
// without the e-mail scope) is shown but keeps the pod ready; any other
// error makes it not ready, and the note is still shown.
func TestReadyzDegradedIsANote(t *testing.T) {
	t.Parallel()
	degraded := check{"slack", func(context.Context) error {
		return fmt.Errorf("%w: e-mail lookups off: the token lacks users:read.email", bot.ErrDegraded)
	}}
	ok := check{"store", func(context.Context) error { return nil }}
	down := check{"qlik", func(context.Context) error { return errors.New("no answer") }}
	for _, tc := range []struct {
		name   string
		checks []check
		status int
		want   []string
	}{
		{"all fine", []check{ok}, http.StatusOK, []string{"ready"}},
		{"degraded", []check{ok, degraded}, http.StatusOK, []string{"ready, degraded", "users:read.email"}},
		{"down and degraded", []check{down, degraded}, http.StatusServiceUnavailable, []string{"not ready", "qlik: no answer", "users:read.email"}},
	} {
		mux := http.NewServeMux()
		adminHandlers(mux, newMetrics(), tc.checks)
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, httptest.NewRequestWithContext(t.Context(), http.MethodGet, "/readyz", nil))
		body, _ := io.ReadAll(rec.Body)
		if rec.Code != tc.status {
			t.Errorf("%s: status %d, want %d (%s)", tc.name, rec.Code, tc.status, body)
		}
		for _, w := range tc.want {
			if !strings.Contains(string(body), w) {
				t.Errorf("%s: body %q lacks %q", tc.name, body, w)
			}
		}
	}
}
