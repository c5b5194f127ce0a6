package seal

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestSealOpenRoundTrip(t *testing.T) {
	t.Parallel()
	s := Random()
	payload := []byte(`{"targets":["a","b"]}`)
	sealed := s.Seal("approval", "id1", payload)
	got, err := s.Open("approval", "id1", sealed)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	if !bytes.Equal(got, payload) {
		t.Fatalf("Open = %s, want %s", got, payload)
	}
}

func TestOpenRefuses(t *testing.T) {
	t.Parallel()
	s := Random()
	payload := []byte(`{"requester":"slack:U1","targets":["55142b14"]}`)
	sealed := s.Seal("approval", "id1", payload)
	alter := func(f func(*envelope)) []byte {
		var env envelope
		if err := json.Unmarshal(sealed, &env); err != nil {
			t.Fatal(err)
		}
		f(&env)
		b, _ := json.Marshal(env)
		return b
	}
	cases := []struct {
		name     string
		kind, id string
		record   []byte
	}{
		{"other id", "approval", "id2", sealed},
		{"other kind", "job", "id1", sealed},
		{"payload altered", "approval", "id1", alter(func(e *envelope) { e.Data = []byte(`{"requester":"slack:U2","targets":["55142b14"]}`) })},
		{"mac altered", "approval", "id1", alter(func(e *envelope) { e.MAC[0] ^= 1 })},
		{"kind field altered", "approval", "id1", alter(func(e *envelope) { e.Kind = "job" })},
		{"unknown key", "approval", "id1", Random().Seal("approval", "id1", payload)},
		{"no mac", "approval", "id1", alter(func(e *envelope) { e.MAC = nil })},
		{"plain json", "approval", "id1", payload},
		{"garbage", "approval", "id1", []byte("\x00\x01")},
		{"empty", "approval", "id1", nil},
	}
	for _, tc := range cases {
		_, err := s.Open(tc.kind, tc.id, tc.record)
		if !errors.Is(err, ErrTampered) {
			t.Errorf("%s: Open err = %v, want ErrTampered", tc.name, err)
		}
		if unknown := errors.Is(err, ErrUnknownKey); unknown != (tc.name == "unknown key") {
			t.Errorf("%s: errors.Is(err, ErrUnknownKey) = %v: %v", tc.name, unknown, err)
		}
	}
}

func TestRotation(t *testing.T) {
	t.Parallel()
	oldKey, newKey := NewKey(), NewKey()
	before, err := New(oldKey)
	if err != nil {
		t.Fatal(err)
	}
	after, err := New(newKey, oldKey)
	if err != nil {
		t.Fatal(err)
	}
	rec := before.Seal("job", "j1", []byte("x"))
	if _, err := after.Open("job", "j1", rec); err != nil {
		t.Fatalf("old key listed for verification: Open: %v", err)
	}
	// The new Sealer signs with the new key only.
	if _, err := before.Open("job", "j1", after.Seal("job", "j1", []byte("x"))); !errors.Is(err, ErrTampered) {
		t.Fatalf("record signed with the new key opened by the old Sealer: err = %v", err)
	}
	if after.KeyID() == before.KeyID() {
		t.Fatal("key ids of different keys are equal")
	}
}

func TestNewRefusesShortKeys(t *testing.T) {
	t.Parallel()
	if _, err := New(make([]byte, MinKeyLen-1)); err == nil {
		t.Fatal("short current key accepted")
	}
	if _, err := New(NewKey(), []byte("short")); err == nil {
		t.Fatal("short old key accepted")
	}
}

func TestParseKey(t *testing.T) {
	t.Parallel()
	k := NewKey()
	for _, s := range []string{EncodeKey(k), strings.TrimRight(EncodeKey(k), "="), "  " + EncodeKey(k) + "\n"} {
		got, err := ParseKey(s)
		if err != nil || !bytes.Equal(got, k) {
			t.Errorf("ParseKey(%q) = %x, %v", s, got, err)
		}
	}
	hexKey := strings.Repeat("ab", MinKeyLen)
	if got, err := ParseKey(hexKey); err != nil || len(got) != MinKeyLen {
		t.Errorf("ParseKey(hex) = %x, %v", got, err)
	}
	secret := "c2hvcnQ=" // "short"
	for _, s := range []string{"", secret, "not a key!"} {
		_, err := ParseKey(s)
		if err == nil {
			t.Errorf("ParseKey(%q) accepted", s)
			continue
		}
		if s != "" && strings.Contains(err.Error(), s) {
			t.Errorf("ParseKey error repeats the value: %v", err)
		}
	}
}

func TestLoadOrCreateKeyFile(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "sub", "state.db.key")
	k1, created, err := LoadOrCreateKeyFile(path)
	if err != nil || !created {
		t.Fatalf("first call: created=%v err=%v", created, err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("key file mode %v, want 0600", fi.Mode().Perm())
	}
	k2, created, err := LoadOrCreateKeyFile(path)
	if err != nil || created {
		t.Fatalf("second call: created=%v err=%v", created, err)
	}
	if !bytes.Equal(k1, k2) {
		t.Fatal("second call returned another key")
	}
	bad := filepath.Join(t.TempDir(), "bad.key")
	if err := os.WriteFile(bad, []byte("c2hvcnQ=\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := LoadOrCreateKeyFile(bad); err == nil {
		t.Fatal("short key file accepted")
	}
}

// TestLoadOrCreateKeyFileRace: processes starting at once on one state
// file all get the same key, none reads a half-written file, and no
// temporary file is left.
func TestLoadOrCreateKeyFileRace(t *testing.T) {
	t.Parallel()
	for range 20 {
		dir := t.TempDir()
		path := filepath.Join(dir, "state.db.key")
		const n = 8
		keys := make([][]byte, n)
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() { keys[i], _, errs[i] = LoadOrCreateKeyFile(path) })
		}
		wg.Wait()
		for i := range n {
			if errs[i] != nil {
				t.Fatalf("caller %d: %v", i, errs[i])
			}
			if !bytes.Equal(keys[i], keys[0]) {
				t.Fatalf("caller %d got another key", i)
			}
		}
		ents, err := os.ReadDir(dir)
		if err != nil || len(ents) != 1 {
			t.Fatalf("directory holds %v (%v), want the key file alone", ents, err)
		}
	}
}

// TestKeyFileEmpty: an empty key file (being written by another process)
// is read again until it holds the key; one that stays empty is refused
// with what to do, and left alone.
func TestKeyFileEmpty(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "state.db.key")
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	want := NewKey()
	written := make(chan error, 1)
	go func() {
		time.Sleep(50 * time.Millisecond)
		written <- os.WriteFile(path, []byte(EncodeKey(want)+"\n"), 0o600)
	}()
	k, created, err := LoadOrCreateKeyFile(path)
	if werr := <-written; werr != nil {
		t.Fatal(werr)
	}
	if err != nil || created || !bytes.Equal(k, want) {
		t.Fatalf("key file written late: created=%v err=%v, same key %v", created, err, bytes.Equal(k, want))
	}

	empty := filepath.Join(t.TempDir(), "state.db.key")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := readKeyFile(empty, 0); err == nil || !strings.Contains(err.Error(), "remove it") {
		t.Fatalf("empty key file: %v, want a refusal saying what to do", err)
	}
	if b, err := os.ReadFile(empty); err != nil || len(b) != 0 {
		t.Errorf("the empty key file was changed: %q, %v", b, err)
	}
}

// TestKeyFileWithoutHardLinks: on a file system without hard links the
// key is written in place, whole, and read back by the next start; a key
// another process made first is used, not replaced.
func TestKeyFileWithoutHardLinks(t *testing.T) {
	t.Parallel()
	noLinks := func(oldname, newname string) error {
		return &os.LinkError{Op: "link", Old: oldname, New: newname, Err: errors.New("operation not permitted")}
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "state.db.key")
	k1, created, err := loadOrCreateKeyFile(path, noLinks)
	if err != nil || !created {
		t.Fatalf("first start: created=%v err=%v", created, err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v, %v; want mode 0600", fi, err)
	}
	k2, created, err := loadOrCreateKeyFile(path, noLinks)
	if err != nil || created || !bytes.Equal(k1, k2) {
		t.Fatalf("second start: created=%v err=%v, same key %v", created, err, bytes.Equal(k1, k2))
	}
	if ents, err := os.ReadDir(dir); err != nil || len(ents) != 1 {
		t.Errorf("directory holds %v (%v), want the key file alone", ents, err)
	}
	if err := writeKeyInPlace(path, NewKey()); !errors.Is(err, os.ErrExist) {
		t.Errorf("writing over a key made first: %v, want ErrExist", err)
	}
	if k3, _, err := LoadOrCreateKeyFile(path); err != nil || !bytes.Equal(k1, k3) {
		t.Errorf("the key was replaced: %v", err)
	}
}
