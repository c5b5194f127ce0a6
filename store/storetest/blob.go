package storetest

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/qlikbot/qlikbot/store"
)

func testBlobRoundTrip(t *testing.T, open func(t *testing.T) store.Store) {
	s := open(t)
	ctx := t.Context()
	cases := []struct {
		name, key string
		data      []byte
	}{
		{"csv", "0123456789abcdef0123456789abcdef", []byte("user,host\nLAB\\u1,node1\n")},
		{"binary", "bin", []byte{0, 1, 2, 0xff, '\n', 0}},
		{"empty", "empty", []byte{}},
		{"at the limit", "big", bytes.Repeat([]byte{'x'}, store.MaxBlobSize)},
	}
	for _, tc := range cases {
		if err := s.PutBlob(ctx, tc.key, tc.data, time.Hour); err != nil {
			t.Fatalf("%s: PutBlob: %v", tc.name, err)
		}
	}
	for _, tc := range cases {
		got, err := s.GetBlob(ctx, tc.key)
		if err != nil {
			t.Fatalf("%s: GetBlob: %v", tc.name, err)
		}
		if !bytes.Equal(got, tc.data) {
			t.Errorf("%s: GetBlob = %d bytes, want the %d stored", tc.name, len(got), len(tc.data))
		}
	}
	// The caller owns what GetBlob returns: changing it changes nothing stored.
	got, err := s.GetBlob(ctx, "bin")
	if err != nil {
		t.Fatalf("GetBlob: %v", err)
	}
	got[0] = 'Z'
	if again, err := s.GetBlob(ctx, "bin"); err != nil || again[0] != 0 {
		t.Fatalf("stored blob changed through a returned slice: %q, %v", again, err)
	}
	// A second put replaces the first.
	if err := s.PutBlob(ctx, "bin", []byte("v2"), time.Hour); err != nil {
		t.Fatalf("PutBlob again: %v", err)
	}
	if got, err := s.GetBlob(ctx, "bin"); err != nil || string(got) != "v2" {
		t.Fatalf("GetBlob after replace = %q, %v; want v2", got, err)
	}
}

func testBlobNotFound(t *testing.T, open func(t *testing.T) store.Store) {
	s := open(t)
	if err := s.PutBlob(t.Context(), "known", []byte("x"), time.Hour); err != nil {
		t.Fatalf("PutBlob: %v", err)
	}
	for name, key := range map[string]string{
		"unknown":  "unknown",
		"empty":    "",
		"too long": strings.Repeat("k", 4096),
		"prefix":   "know",
	} {
		if got, err := s.GetBlob(t.Context(), key); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("%s: GetBlob = %q, %v; want ErrNotFound", name, got, err)
		}
	}
}

func testBlobInvalid(t *testing.T, open func(t *testing.T) store.Store) {
	s := open(t)
	cases := []struct {
		name, key string
		size      int
		ttl       time.Duration
		want      string
	}{
		{"empty key", "", 1, time.Hour, "blob key"},
		{"long key", strings.Repeat("k", 4096), 1, time.Hour, "blob key"},
		{"too large", "big", store.MaxBlobSize + 1, time.Hour, "larger than"},
		{"zero ttl", "zero", 1, 0, "ttl"},
		{"negative ttl", "neg", 1, -time.Second, "ttl"},
	}
	for _, tc := range cases {
		err := s.PutBlob(t.Context(), tc.key, make([]byte, tc.size), tc.ttl)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: PutBlob = %v, want an error about %q", tc.name, err, tc.want)
		}
		if tc.key == "" || len(tc.key) > 512 {
			continue
		}
		if _, err := s.GetBlob(t.Context(), tc.key); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("%s: refused blob was stored (GetBlob: %v)", tc.name, err)
		}
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := s.PutBlob(ctx, "canceled", []byte("x"), time.Hour); !errors.Is(err, context.Canceled) {
		t.Errorf("PutBlob with a canceled context = %v, want context.Canceled", err)
	}
	if _, err := s.GetBlob(t.Context(), "canceled"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("blob put with a canceled context was stored (GetBlob: %v)", err)
	}
}
