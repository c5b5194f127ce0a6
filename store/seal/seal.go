// Package seal signs the state qlikbot keeps in its store (pending
// approvals, durable jobs) with HMAC-SHA256, so that whoever can write to
// the store alone (an open Redis, a copied bolt file) can neither forge a
// record nor alter one: a record that does not verify is refused.
//
// A sealed record binds its kind ("approval", "job" ...) and its id into
// the MAC, so a valid record cannot be replayed under another id or read
// as another kind. One key signs; older keys may be kept for verification
// only, which is how a key is rotated without losing what is pending.
package seal

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"
)

// ErrTampered is returned by Open for a record that does not verify:
// altered, forged, signed with an unknown key, or not a sealed record.
var ErrTampered = errors.New("seal: record cannot be verified")

// ErrUnknownKey is returned (wrapped together with ErrTampered) for a
// well-formed record signed with a key this Sealer does not hold: during a
// key rotation another replica may hold it, so callers that can leave the
// record to someone else should, rather than treat it as forged.
var ErrUnknownKey = errors.New("seal: signed with a key not held here")

// MinKeyLen is the shortest key accepted, in bytes.
const MinKeyLen = 32

const version = 1

type key struct {
	id string // first 8 hex digits of SHA-256(key): names the key, reveals nothing
	k  []byte
}

func newKey(k []byte) (key, error) {
	if len(k) < MinKeyLen {
		return key{}, fmt.Errorf("key of %d bytes: want at least %d", len(k), MinKeyLen)
	}
	sum := sha256.Sum256(k)
	return key{id: hex.EncodeToString(sum[:4]), k: append([]byte(nil), k...)}, nil
}

// Sealer seals with its current key and opens with the current key or any
// old one. It is immutable and safe for concurrent use.
type Sealer struct {
	current key
	verify  []key // current first
}

// New returns a Sealer signing with current and also accepting records
// signed with any of old (verification only).
func New(current []byte, old ...[]byte) (*Sealer, error) {
	c, err := newKey(current)
	if err != nil {
		return nil, fmt.Errorf("seal: current %w", err)
	}
	s := &Sealer{current: c, verify: []key{c}}
	for i, o := range old {
		k, err := newKey(o)
		if err != nil {
			return nil, fmt.Errorf("seal: old key %d: %w", i+1, err)
		}
		s.verify = append(s.verify, k)
	}
	return s, nil
}

// Random returns a Sealer with a fresh random key: records it seals can be
// opened only by this process. For tests and single-process use where no
// key is configured.
func Random() *Sealer {
	s, err := New(NewKey())
	if err != nil {
		panic(err) // NewKey always returns MinKeyLen bytes
	}
	return s
}

// KeyID names the current key (not secret), for logs and /readyz.
func (s *Sealer) KeyID() string { return s.current.id }

// envelope is the stored form of a sealed record.
type envelope struct {
	V    int    `json:"v"`
	Kind string `json:"kind"`
	Key  string `json:"key"`
	MAC  []byte `json:"mac"`
	Data []byte `json:"data"`
}

// Seal returns payload wrapped with a MAC over kind, id and payload.
func (s *Sealer) Seal(kind, id string, payload []byte) []byte {
	env := envelope{V: version, Kind: kind, Key: s.current.id, MAC: mac(s.current.k, kind, id, payload), Data: payload}
	b, err := json.Marshal(env)
	if err != nil {
		panic(err) // strings and byte slices always encode
	}
	return b
}

// Open verifies a record made by Seal for the same kind and id and returns
// its payload. Any failure wraps ErrTampered.
func (s *Sealer) Open(kind, id string, sealed []byte) ([]byte, error) {
	var env envelope
	if err := json.Unmarshal(sealed, &env); err != nil || env.V != version {
		return nil, fmt.Errorf("%w: %s %s is not a sealed record", ErrTampered, kind, id)
	}
	if env.Kind != kind {
		return nil, fmt.Errorf("%w: %s %s holds a %q record", ErrTampered, kind, id, env.Kind)
	}
	for _, k := range s.verify {
		if k.id != env.Key {
			continue
		}
		if hmac.Equal(env.MAC, mac(k.k, kind, id, env.Data)) {
			return env.Data, nil
		}
		return nil, fmt.Errorf("%w: %s %s: signature does not match", ErrTampered, kind, id)
	}
	return nil, fmt.Errorf("%w: %w: %s %s: key %q", ErrTampered, ErrUnknownKey, kind, id, env.Key)
}

func mac(k []byte, kind, id string, payload []byte) []byte {
	h := hmac.New(sha256.New, k)
	// Length-prefixed fields: no two (kind, id, payload) share an input.
	fmt.Fprintf(h, "qlikbot-seal-v%d\x00%d:%s\x00%d:%s\x00", version, len(kind), kind, len(id), id)
	h.Write(payload)
	return h.Sum(nil)
}

// NewKey returns MinKeyLen random bytes.
func NewKey() []byte {
	k := make([]byte, MinKeyLen)
	_, _ = rand.Read(k) // crypto/rand.Read never fails (Go 1.24+)
	return k
}

// EncodeKey writes a key the way ParseKey reads it (standard base64).
func EncodeKey(k []byte) string { return base64.StdEncoding.EncodeToString(k) }

// ParseKey reads a key written as standard or URL-safe base64 (padded or
// not) or as hex, at least MinKeyLen bytes once decoded. The error never
// repeats the value.
func ParseKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, errors.New("empty key")
	}
	var k []byte
	if b, err := hex.DecodeString(s); err == nil {
		k = b
	} else {
		for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
			if b, err := enc.DecodeString(s); err == nil {
				k = b
				break
			}
		}
	}
	if k == nil {
		return nil, errors.New("not base64 or hex (make one with: openssl rand -base64 32)")
	}
	if len(k) < MinKeyLen {
		return nil, fmt.Errorf("%d bytes once decoded: want at least %d (make one with: openssl rand -base64 32)", len(k), MinKeyLen)
	}
	return k, nil
}

// LoadOrCreateKeyFile reads the key in path, or, when path does not exist,
// creates it (mode 0600) with a new random key. created reports which.
// The embedded store keeps its key beside its state file this way.
//
// The file appears whole or not at all, and survives a crash once this
// returns: the key is written to a temporary file in the same directory,
// synced, linked to path (which fails when another process made it first:
// its key is used), and the directory synced. Where the file system has
// no hard links (some network shares) the key is written in place instead
// (created exclusively, synced). A file found empty (one being written in
// place) is read again for a while before it is refused.
func LoadOrCreateKeyFile(path string) (k []byte, created bool, err error) {
	return loadOrCreateKeyFile(path, os.Link)
}

// loadOrCreateKeyFile is LoadOrCreateKeyFile making path with link.
func loadOrCreateKeyFile(path string, link func(oldname, newname string) error) (k []byte, created bool, err error) {
	for range 10 {
		k, err := readKeyFile(path, emptyKeyWait)
		if !errors.Is(err, os.ErrNotExist) {
			return k, false, err
		}
		k, err = createKeyFile(path, link)
		if !errors.Is(err, os.ErrExist) {
			return k, err == nil, err
		}
		// another process made it first: read its key
	}
	return nil, false, fmt.Errorf("state key file %s: made and removed again by another process", path)
}

// emptyKeyWait is how long readKeyFile waits for an empty key file to be
// written.
const emptyKeyWait = 2 * time.Second

func readKeyFile(path string, wait time.Duration) ([]byte, error) {
	deadline := time.Now().Add(wait)
	for {
		b, err := os.ReadFile(path)
		if errors.Is(err, os.ErrNotExist) {
			return nil, err
		}
		if err != nil {
			return nil, fmt.Errorf("read state key file: %w", err)
		}
		if len(bytes.TrimSpace(b)) == 0 && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
			continue
		}
		if len(bytes.TrimSpace(b)) == 0 {
			return nil, fmt.Errorf("state key file %s is empty (a crash while an older qlikbot wrote it?): "+
				"remove it to make a new key; what was sealed with the lost key will be refused", path)
		}
		k, err := ParseKey(string(b))
		if err != nil {
			return nil, fmt.Errorf("state key file %s: %w", path, err)
		}
		return k, nil
	}
}

// createKeyFile writes a new key to path; an error wrapping os.ErrExist
// when path exists.
func createKeyFile(path string, link func(oldname, newname string) error) ([]byte, error) {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create state key file: %w", err)
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*.tmp") // mode 0600
	if err != nil {
		return nil, fmt.Errorf("create state key file: %w", err)
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	k := NewKey()
	if err := writeKey(f, k); err != nil {
		return nil, fmt.Errorf("write state key file: %w", err)
	}
	// A link, not a rename: it never replaces a key another process
	// made meanwhile.
	if lerr := link(tmp, path); lerr != nil {
		if errors.Is(lerr, os.ErrExist) {
			return nil, lerr
		}
		if err := writeKeyInPlace(path, k); err != nil {
			return nil, fmt.Errorf("create state key file (%v): %w", lerr, err)
		}
	}
	if err := syncDir(dir); err != nil {
		return nil, fmt.Errorf("create state key file: sync %s: %w", dir, err)
	}
	return k, nil
}

// writeKeyInPlace creates path exclusively and writes k to it, synced:
// for a file system without hard links. An error wrapping os.ErrExist
// when path exists (its maker's key is read, waiting while it is empty).
func writeKeyInPlace(path string, k []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if err := writeKey(f, k); err != nil {
		_ = os.Remove(path) // not left empty or partly written
		return err
	}
	return nil
}

// writeKey writes k to f, syncs and closes it.
func writeKey(f *os.File, k []byte) error {
	_, err := f.WriteString(EncodeKey(k) + "\n")
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// syncDir makes the entries of dir durable (not possible on Windows,
// where the file's own sync is what there is).
func syncDir(dir string) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}
