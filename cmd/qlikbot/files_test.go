package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/qlikbot/qlikbot/bot"
	"github.com/qlikbot/qlikbot/internal/testkit"
	"github.com/qlikbot/qlikbot/store"
)

var filesT0 = time.Date(2026, 11, 22, 3, 0, 0, 0, time.UTC)

// fileServer is a publisher on a bolt store with an injected clock, served
// by a real HTTP server whose URL is the public URL.
type fileServer struct {
	pub   *filePublisher
	srv   *httptest.Server
	clock *testkit.Clock
	logs  *testkit.Buffer
}

func newFileServer(t *testing.T) *fileServer {
	t.Helper()
	clock := testkit.NewClock(filesT0)
	st, err := store.OpenBolt(filepath.Join(t.TempDir(), "state.db"), store.WithClock(clock.Now))
	if err != nil {
		t.Fatalf("OpenBolt: %v", err)
	}
	t.Cleanup(func() { _ = st.Close() })
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	logs := &testkit.Buffer{}
	pub, err := newFilePublisher(st, srv.URL+"/", time.Hour, slog.New(slog.NewTextHandler(logs, nil)))
	if err != nil {
		t.Fatalf("newFilePublisher: %v", err)
	}
	pub.register(mux)
	return &fileServer{pub: pub, srv: srv, clock: clock, logs: logs}
}

func (f *fileServer) get(t *testing.T, rawURL string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, rawURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := f.srv.Client().Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", rawURL, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, body
}

func TestPublishThenDownload(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, file, ctype  string
		wantPath, wantType string
		wantDisposition    string
	}{
		{"csv", "sessions.csv", "text/csv", "/sessions.csv", "text/csv", `attachment; filename=sessions.csv`},
		{"space and unicode", "Sessions på finance.csv", "text/csv; charset=utf-8", "/Sessions%20p%C3%A5%20finance.csv",
			"text/csv; charset=utf-8", `attachment; filename*=utf-8''Sessions%20p%C3%A5%20finance.csv`},
		{"slash and no type", "../etc/passwd", "", "/.._etc_passwd", "application/octet-stream", `attachment; filename=.._etc_passwd`},
	}
	f := newFileServer(t)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			data := []byte("Proxy,User\nfinance,LAB\\u1\n" + tc.name)
			link, err := f.pub.Publish(t.Context(), bot.File{Name: tc.file, Type: tc.ctype, Data: data})
			if err != nil {
				t.Fatalf("Publish: %v", err)
			}
			prefix := f.srv.URL + "/files/"
			token, rest, ok := strings.Cut(strings.TrimPrefix(link, prefix), "/")
			if !strings.HasPrefix(link, prefix) || !ok || !validToken(token) || "/"+rest != tc.wantPath {
				t.Fatalf("link %q, want %s<32 hex>%s", link, prefix, tc.wantPath)
			}
			resp, body := f.get(t, link)
			if resp.StatusCode != http.StatusOK || !bytes.Equal(body, data) {
				t.Fatalf("GET = %d %q, want 200 with the file", resp.StatusCode, body)
			}
			for h, want := range map[string]string{
				"Content-Type":           tc.wantType,
				"Content-Disposition":    tc.wantDisposition,
				"Cache-Control":          "no-store",
				"X-Content-Type-Options": "nosniff",
			} {
				if got := resp.Header.Get(h); got != want {
					t.Errorf("%s = %q, want %q", h, got, want)
				}
			}
		})
	}
}

func TestPublishedTokensDiffer(t *testing.T) {
	t.Parallel()
	f := newFileServer(t)
	seen := map[string]bool{}
	for range 20 {
		link, err := f.pub.Publish(t.Context(), bot.File{Name: "a.csv", Data: []byte("x")})
		if err != nil {
			t.Fatal(err)
		}
		if seen[link] {
			t.Fatalf("link %s handed out twice", link)
		}
		seen[link] = true
	}
}

func TestDownloadRefusals(t *testing.T) {
	t.Parallel()
	f := newFileServer(t)
	secret := []byte("the secret list")
	link, err := f.pub.Publish(t.Context(), bot.File{Name: "sessions.csv", Type: "text/csv", Data: secret})
	if err != nil {
		t.Fatal(err)
	}
	token := strings.Split(strings.TrimPrefix(link, f.srv.URL+"/files/"), "/")[0]
	base := f.srv.URL + "/files/"
	tests := []struct{ name, url string }{
		{"unknown token", base + "0123456789abcdef0123456789abcdef/sessions.csv"},
		{"short token", base + token[:31] + "/sessions.csv"},
		{"upper-case token", base + strings.ToUpper(token) + "/sessions.csv"},
		{"not hex", base + strings.Repeat("g", 32) + "/sessions.csv"},
		{"wrong name", base + token + "/other.csv"},
		{"no name", base + token},
		{"extra segment", base + token + "/sessions.csv/x"},
		{"dot-dot", base + "../x"},
		{"escaped dot-dot", base + "%2e%2e/sessions.csv"},
		{"escaped slash in token", base + token[:16] + "%2F" + token[16:] + "/sessions.csv"},
		{"dot-dot out of the token", base + token + "/../sessions.csv"},
	}
	// In order, not in parallel: each refusal must be checked while the
	// file is still valid (parallel subtests would run after the expiry
	// below, where every URL is refused anyway).
	if resp, body := f.get(t, link); resp.StatusCode != http.StatusOK || !bytes.Equal(body, secret) {
		t.Fatalf("the valid link: %d %q", resp.StatusCode, body)
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := f.get(t, tc.url)
			if resp.StatusCode != http.StatusNotFound || bytes.Contains(body, secret) {
				t.Fatalf("GET %s = %d %q, want 404 without the file", tc.url, resp.StatusCode, body)
			}
		})
	}
	// Expiry by the store's clock: readable one tick before, 404 at the TTL.
	f.clock.Set(filesT0.Add(time.Hour - time.Nanosecond))
	if resp, body := f.get(t, link); resp.StatusCode != http.StatusOK || !bytes.Equal(body, secret) {
		t.Fatalf("before expiry: %d %q", resp.StatusCode, body)
	}
	f.clock.Set(filesT0.Add(time.Hour))
	if resp, body := f.get(t, link); resp.StatusCode != http.StatusNotFound || bytes.Contains(body, secret) {
		t.Fatalf("after expiry: %d %q, want 404", resp.StatusCode, body)
	}
	if strings.Contains(f.logs.String(), token) {
		t.Fatalf("token in logs: %s", f.logs.String())
	}
}

// brokenStore fails every call, like a Redis that went away.
type brokenStore struct{}

func (brokenStore) PutBlob(context.Context, string, []byte, time.Duration) error {
	return errors.New("redis 10.0.0.1:6379: connection refused")
}

func (brokenStore) GetBlob(context.Context, string) ([]byte, error) {
	return nil, errors.New("redis 10.0.0.1:6379: connection refused")
}

func TestPublishStoreErrors(t *testing.T) {
	t.Parallel()
	pub, err := newFilePublisher(brokenStore{}, "https://bot.example.com", time.Hour, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if link, err := pub.Publish(t.Context(), bot.File{Name: "a.csv"}); err == nil || link != "" {
		t.Fatalf("Publish on a broken store = %q, %v; want an error", link, err)
	}
	// Too large for the store: a clear error, no link.
	f := newFileServer(t)
	big := bot.File{Name: "big.csv", Data: make([]byte, store.MaxBlobSize)}
	if link, err := f.pub.Publish(t.Context(), big); err == nil || link != "" || !strings.Contains(err.Error(), "larger than") {
		t.Fatalf("Publish of an oversized file = %q, %v; want a size error", link, err)
	}
	mux := http.NewServeMux()
	pub.register(mux)
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequestWithContext(t.Context(), http.MethodGet, "/files/0123456789abcdef0123456789abcdef/a.csv", nil))
	if rec.Code != http.StatusServiceUnavailable || strings.Contains(rec.Body.String(), "10.0.0.1") {
		t.Fatalf("GET with a broken store = %d %q, want 503 without details", rec.Code, rec.Body)
	}
}

func TestNewFilePublisherChecks(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, url string
		ttl       time.Duration
		ok        bool
	}{
		{"https", "https://bot.example.com", time.Hour, true},
		{"http loopback with path", "http://127.0.0.1:8080/qlikbot/", time.Hour, true},
		{"http localhost", "http://localhost:8080", time.Hour, true},
		{"http ipv6 loopback", "http://[::1]:8080", time.Hour, true},
		{"http not loopback", "http://10.0.0.5:8080/qlikbot/", time.Hour, false},
		{"http public host", "http://bot.example.com", time.Hour, false},
		{"relative", "/files", time.Hour, false},
		{"no scheme", "bot.example.com", time.Hour, false},
		{"ftp", "ftp://bot.example.com", time.Hour, false},
		{"query", "https://bot.example.com/?a=b", time.Hour, false},
		{"credentials", "https://u:p@bot.example.com", time.Hour, false},
		{"zero ttl", "https://bot.example.com", 0, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := newFilePublisher(brokenStore{}, tc.url, tc.ttl, slog.New(slog.DiscardHandler))
			if (err == nil) != tc.ok {
				t.Fatalf("newFilePublisher(%q, %s) = %v, want ok=%v", tc.url, tc.ttl, err, tc.ok)
			}
			if err != nil && strings.Contains(err.Error(), "u:p") {
				t.Fatalf("error repeats credentials: %v", err)
			}
		})
	}
}

// TestAppServesFiles: with QLIKBOT_PUBLIC_URL the app's own listener
// serves what its publisher stored; without it there are no links and no
// /files/ route.
func TestAppServesFiles(t *testing.T) {
	t.Parallel()
	sim := startSim(t)
	for _, public := range []string{"https://bot.example.com/qlikbot", ""} {
		t.Run("public="+public, func(t *testing.T) {
			cfg := simConfig(t, sim, "")
			cfg.HTTPAddr = "127.0.0.1:0"
			cfg.PublicURL, cfg.FileTTL = public, time.Hour
			a := startApp(t, cfg, nil)
			addr := "http://" + a.public.Addr().String()
			if public == "" {
				if a.files != nil {
					t.Fatal("publisher built without QLIKBOT_PUBLIC_URL")
				}
				resp, err := http.Get(addr + "/files/0123456789abcdef0123456789abcdef/a.csv")
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode != http.StatusNotFound {
					t.Fatalf("GET /files/ without a public URL = %d, want 404", resp.StatusCode)
				}
				return
			}
			link, err := a.files.Publish(t.Context(), bot.File{Name: "sessions.csv", Type: "text/csv", Data: []byte("a,b\n")})
			if err != nil {
				t.Fatalf("Publish: %v", err)
			}
			path, ok := strings.CutPrefix(link, public)
			if !ok || !strings.HasPrefix(path, "/files/") {
				t.Fatalf("link %q does not start with %s/files/", link, public)
			}
			resp, err := http.Get(addr + path) // the proxy in front strips /qlikbot
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != http.StatusOK || string(body) != "a,b\n" || resp.Header.Get("Content-Type") != "text/csv" {
				t.Fatalf("GET %s = %d %q %v", path, resp.StatusCode, body, resp.Header)
			}
		})
	}
}
