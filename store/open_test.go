package store_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/qlikbot/qlikbot/store"
)

func TestOpen(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	tests := []struct {
		name     string
		url      string
		wantKind string // "bolt", "redis" or "" for an error
		wantFile string // bolt: the file that must now exist
		errHas   string // error: text it must contain
		secret   string // error: text it must not contain
	}{
		{name: "bolt absolute", url: "bolt://" + filepath.Join(dir, "a.db"), wantKind: "bolt", wantFile: filepath.Join(dir, "a.db")},
		{name: "plain path", url: filepath.Join(dir, "b.db"), wantKind: "bolt", wantFile: filepath.Join(dir, "b.db")},
		{name: "bolt upper-case scheme", url: "BOLT://" + filepath.Join(dir, "c.db"), wantKind: "bolt", wantFile: filepath.Join(dir, "c.db")},
		{name: "redis", url: "redis://127.0.0.1:1/2", wantKind: "redis"},
		{name: "redis with password", url: "redis://:pw@127.0.0.1:1/0", wantKind: "redis"},
		{name: "rediss", url: "rediss://user:pw@redis.example:6380/0", wantKind: "redis"},
		{name: "empty", url: "", errHas: "empty URL"},
		{name: "blank", url: "  ", errHas: "empty URL"},
		{name: "bolt without path", url: "bolt://", errHas: "no file path"},
		{name: "bolt dir missing", url: "bolt://" + filepath.Join(dir, "nope", "x.db"), errHas: "open bolt store"},
		{name: "unknown scheme", url: "mysql://root:hunter2@db/x", errHas: "unsupported scheme", secret: "hunter2"},
		{name: "redis bad db", url: "redis://:hunter2@127.0.0.1:6379/abc", errHas: "invalid database number", secret: "hunter2"},
		{name: "redis bad option", url: "redis://:hunter2@127.0.0.1:6379/0?dial_timeout=soon", errHas: "dial_timeout", secret: "hunter2"},
		{name: "redis unknown option", url: "redis://:hunter2@127.0.0.1:6379/0?colour=red", errHas: "unexpected option", secret: "hunter2"},
		{name: "redis bad escape in password", url: "redis://:hun%zzter2@127.0.0.1:6379/0", errHas: "escape", secret: "hun%zzter2"},
		{name: "redis bad port", url: "redis://:hunter2@127.0.0.1:port/0", errHas: "port", secret: "hunter2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, err := store.Open(t.Context(), tt.url)
			if tt.wantKind == "" {
				if err == nil {
					_ = s.Close()
					t.Fatalf("Open(%q) succeeded", tt.url)
				}
				if !strings.Contains(err.Error(), tt.errHas) {
					t.Errorf("error %q does not mention %q", err, tt.errHas)
				}
				if tt.secret != "" && strings.Contains(err.Error(), tt.secret) {
					t.Errorf("error leaks the password: %q", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Open(%q): %v", tt.url, err)
			}
			t.Cleanup(func() { _ = s.Close() })
			switch s.(type) {
			case *store.Bolt:
				if tt.wantKind != "bolt" {
					t.Fatalf("Open(%q) gave bolt, want %s", tt.url, tt.wantKind)
				}
				if _, err := os.Stat(tt.wantFile); err != nil {
					t.Errorf("bolt file: %v", err)
				}
				if err := s.Ping(t.Context()); err != nil {
					t.Errorf("Ping: %v", err)
				}
			case *store.Redis:
				if tt.wantKind != "redis" {
					t.Fatalf("Open(%q) gave redis, want %s", tt.url, tt.wantKind)
				}
			default:
				t.Fatalf("Open(%q) gave %T", tt.url, s)
			}
		})
	}
}

// TestOpenBoltRelative changes directory, so it cannot run in parallel.
func TestOpenBoltRelative(t *testing.T) {
	t.Chdir(t.TempDir())
	if err := os.Mkdir("state", 0o700); err != nil {
		t.Fatal(err)
	}
	s, err := store.Open(t.Context(), "bolt://state/qlikbot.db")
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer s.Close()
	if _, err := os.Stat(filepath.Join("state", "qlikbot.db")); err != nil {
		t.Fatalf("relative bolt file: %v", err)
	}
}

func TestOpenContext(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "state.db")
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := store.Open(ctx, path); !errors.Is(err, context.Canceled) {
		t.Fatalf("Open with a canceled context = %v, want context.Canceled", err)
	}
	held, err := store.Open(t.Context(), path)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = held.Close() })
	// The lock wait ends at the context deadline, not the 5s default.
	ctx, cancel = context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	if s, err := store.Open(ctx, path); err == nil {
		_ = s.Close()
		t.Fatal("second Open of a locked bolt file succeeded")
	}
}

func TestOptionsRejectBadValues(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		opt  store.Option
	}{
		{"nil logger", store.WithLogger(nil)},
		{"empty prefix", store.WithKeyPrefix("")},
		{"zero audit limit", store.WithAuditLimit(0)},
		{"negative retention", store.WithRetention(-time.Hour)},
		{"nil clock", store.WithClock(nil)},
		{"zero bolt timeout", store.WithBoltTimeout(0)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), "state.db")
			if b, err := store.OpenBolt(path, tt.opt); err == nil {
				_ = b.Close()
				t.Fatal("OpenBolt accepted the option")
			}
			if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("a refused OpenBolt left a file behind (%v)", err)
			}
			if r, err := store.NewRedis(&redis.Options{Addr: "127.0.0.1:1"}, tt.opt); err == nil {
				_ = r.Close()
				t.Fatal("NewRedis accepted the option")
			}
		})
	}
	if r, err := store.NewRedis(nil); err == nil {
		_ = r.Close()
		t.Fatal("NewRedis(nil) succeeded")
	}
}

func TestRedactURL(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in, want string
	}{
		{"password", "redis://:hunter2@db:6379/0", "redis://:xxxxx@db:6379/0"},
		{"user and password", "rediss://bot:hunter2@db:6380/1", "rediss://bot:xxxxx@db:6380/1"},
		{"no password", "redis://db:6379/0", "redis://db:6379/0"},
		{"user only", "redis://bot@db:6379/0", "redis://bot@db:6379/0"},
		{"unparseable", "redis://:hun%zzter2@db:6379/0", "redis://:xxxxx@db:6379/0"},
		{"plain path", "/var/lib/qlikbot/state.db", "/var/lib/qlikbot/state.db"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := store.RedactURL(tt.in); got != tt.want {
				t.Errorf("RedactURL(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}
