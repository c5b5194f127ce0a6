package store_test

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/qlikbot/qlikbot/store"
	"github.com/qlikbot/qlikbot/store/storetest"
)

// aclRule is the ACL user the package doc recommends, with the test's key
// prefix pattern: the whole suite must pass under it.
const aclRule = "qlikbot on >acl-Secret-1 ~acl* +@read +@write +@scripting +@transaction +@connection +time"

// suiteOver runs the store suite through URLs like rawURL, each store with
// its own key prefix (under keyPrefix) so the runs never meet.
func suiteOver(t *testing.T, rawURL, keyPrefix string, opts ...store.Option) {
	var n atomic.Int64
	storetest.Run(t, func(t *testing.T) store.Store {
		all := append([]store.Option{store.WithKeyPrefix(fmt.Sprintf("%s%d:", keyPrefix, n.Add(1))),
			store.WithAuditLimit(storetest.AuditLimit)}, opts...)
		s, err := store.Open(t.Context(), rawURL, all...)
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		t.Cleanup(func() { _ = s.Close() })
		return s
	})
}

// refused opens rawURL and checks that Ping fails with an error mentioning
// want, and that neither the error nor the log shows any of secrets.
func refused(t *testing.T, rawURL, want string, secrets []string, opts ...store.Option) {
	t.Helper()
	var logs syncBuffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	s, err := store.Open(t.Context(), rawURL, append(opts, store.WithLogger(logger))...)
	answered := false
	if err == nil {
		t.Cleanup(func() { _ = s.Close() })
		err = s.Ping(t.Context())
		if answered = err == nil; answered {
			_, err = s.SeenBefore(t.Context(), "k", time.Minute)
		}
	}
	if err == nil {
		t.Fatalf("%s: the store worked", store.RedactURL(rawURL))
	}
	if !strings.Contains(strings.ToLower(err.Error()), strings.ToLower(want)) {
		t.Errorf("error %q does not mention %q", err, want)
	}
	for _, secret := range secrets {
		for _, text := range []string{err.Error(), logs.String()} {
			if strings.Contains(text, secret) {
				t.Errorf("password %q leaked: %s", secret, text)
			}
		}
	}
	if !answered && strings.Contains(logs.String(), "store opened") {
		t.Errorf("'store opened' logged for a store that never answered: %s", logs.String())
	}
}

func TestRedisPassword(t *testing.T) {
	t.Parallel()
	const pw = "p@ss:w/rd%Secret" // characters a URL must escape
	srv := storetest.StartRedisServer(t, storetest.RedisConfig{Password: pw})
	t.Run("suite", func(t *testing.T) {
		suiteOver(t, srv.URL("", pw), "pw")
	})
	t.Run("refused", func(t *testing.T) {
		t.Parallel()
		refused(t, srv.URL("", "wrong-Secret"), "WRONGPASS", []string{"wrong-Secret", pw})
		refused(t, srv.URL("", ""), "NOAUTH", []string{pw})
	})
}

func TestRedisACLUser(t *testing.T) {
	t.Parallel()
	srv := storetest.StartRedisServer(t, storetest.RedisConfig{Users: []string{aclRule, "default off"}})
	good := srv.URL("qlikbot", "acl-Secret-1")
	t.Run("suite", func(t *testing.T) {
		suiteOver(t, good, "acl")
	})
	t.Run("no time", func(t *testing.T) {
		t.Parallel()
		// A user made by the advice of older releases (no +time) still
		// samples and compacts, on the watcher's clock.
		legacy := storetest.StartRedisServer(t, storetest.RedisConfig{Users: []string{strings.TrimSuffix(aclRule, " +time"), "default off"}})
		s, err := store.Open(t.Context(), legacy.URL("qlikbot", "acl-Secret-1"), store.WithKeyPrefix("acl:"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = s.Close() })
		l, err := s.AcquireLease(t.Context(), store.WatchLease, "w", time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		smp := store.Sample{Site: "prod", Time: time.Now().Add(-time.Minute), Values: map[store.SeriesKey]float64{{Metric: "users"}: 1}}
		if err := s.AppendSample(t.Context(), l, smp); err != nil {
			t.Errorf("AppendSample without +time: %v", err)
		}
		if err := s.Compact(t.Context(), time.Now()); err != nil {
			t.Errorf("Compact without +time: %v", err)
		}
	})
	t.Run("refused", func(t *testing.T) {
		t.Parallel()
		refused(t, srv.URL("qlikbot", "not-Secret-2"), "WRONGPASS", []string{"not-Secret-2", "acl-Secret-1"})
		refused(t, srv.URL("", ""), "NOAUTH", nil)
		// Keys outside the user's pattern are refused by Redis itself.
		refused(t, good, "NOPERM", []string{"acl-Secret-1"}, store.WithKeyPrefix("other:"))
	})
}

func TestRedisTLS(t *testing.T) {
	t.Parallel()
	const pw = "tls-Secret-3"
	srv := storetest.StartRedisServer(t, storetest.RedisConfig{TLS: true, Password: pw})
	url := srv.URL("", pw)
	if !strings.HasPrefix(url, "rediss://") {
		t.Fatalf("TLS server URL %s", store.RedactURL(url))
	}
	t.Run("suite", func(t *testing.T) {
		suiteOver(t, url, "tls", store.WithTLSCAFile(srv.CAFile))
	})
	t.Run("refused", func(t *testing.T) {
		t.Parallel()
		other := storetest.StartRedisServer(t, storetest.RedisConfig{TLS: true}) // another CA
		cases := []struct {
			name, url, want string
			opts            []store.Option
		}{
			{"system roots only", url, "certificate", nil},
			{"empty CA setting: system roots", url, "certificate", []store.Option{store.WithTLSCAFile("")}},
			{"another CA", url, "certificate", []store.Option{store.WithTLSCAFile(other.CAFile)}},
			{"plain text to a TLS port", strings.Replace(url, "rediss://", "redis://", 1), "", nil},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				refused(t, tc.url, tc.want, []string{pw}, tc.opts...)
			})
		}
	})
}

// TestRedisTLSCAFileErrors: a CA file that cannot serve is an error when
// the store is built, before any connection, and names no password.
func TestRedisTLSCAFileErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	notPEM := filepath.Join(dir, "ca.txt")
	if err := os.WriteFile(notPEM, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	const pw = "ca-Secret-4"
	cases := []struct {
		name, url, ca, want string
	}{
		{"CA without TLS", "redis://:" + pw + "@127.0.0.1:1/0", notPEM, "rediss://"},
		{"missing file", "rediss://:" + pw + "@127.0.0.1:1/0", filepath.Join(dir, "nope.pem"), "no such file"},
		{"not PEM", "rediss://:" + pw + "@127.0.0.1:1/0", notPEM, "no PEM certificate"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s, err := store.Open(t.Context(), tc.url, store.WithTLSCAFile(tc.ca))
			if err == nil {
				_ = s.Close()
				t.Fatal("Open succeeded")
			}
			if !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), pw) {
				t.Errorf("Open = %v, want a mention of %q and no password", err, tc.want)
			}
		})
	}
	b, err := store.Open(t.Context(), "bolt://"+filepath.Join(dir, "s.db"), store.WithTLSCAFile(notPEM))
	if err != nil {
		t.Fatalf("bolt with a CA file option (ignored): %v", err)
	}
	_ = b.Close()
}
