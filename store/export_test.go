package store

import (
	"context"
	"encoding/hex"
	"fmt"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"
)

// BoltCount returns how many keys a bolt bucket holds, so tests can see that
// pruning really removes entries.
func BoltCount(b *Bolt, bucket string) (int, error) {
	n := 0
	err := b.db.View(func(tx *bolt.Tx) error {
		n = tx.Bucket([]byte(bucket)).Stats().KeyN
		return nil
	})
	return n, err
}

// SetCompactHook makes r call fn between Compact's read of a site's
// history and its write, so a test can change the history in between.
func SetCompactHook(r *Redis, fn func()) { r.compactHook = fn }

// BoltUsed returns how much of the bolt file holds pages in use or on the
// freelist (the file itself grows in larger steps).
func BoltUsed(b *Bolt) (int64, error) {
	var n int64
	err := b.db.View(func(tx *bolt.Tx) error {
		n = tx.Size()
		return nil
	})
	return n, err
}

// WithWatchLimit makes n the limit of alerts, subscriptions and silences
// kept, so tests can reach it.
func WithWatchLimit(n int) Option {
	return func(o *options) error {
		o.watchLimit = n
		return nil
	}
}

// PutRawAlert stores raw as alert k's record, as damage would leave it.
func PutRawAlert(s Store, k AlertKey, raw []byte) error {
	switch b := s.(type) {
	case *Bolt:
		return b.db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bktAlert).Put([]byte(alertField(k)), raw) })
	case *Redis:
		return b.c.HSet(context.Background(), b.kAlerts(), alertField(k), raw).Err()
	}
	return fmt.Errorf("no raw writes to a %T", s)
}

// RollupDictID is the hex id of the dictionary an aggregate of keys is
// stored with.
func RollupDictID(keys ...SeriesKey) string {
	keys = slices.Clone(keys)
	slices.SortFunc(keys, compareKeys)
	id := dictIDOf(encodeDict(keys))
	return hex.EncodeToString(id[:])
}

// WithLeaseClock sets only the clock of Bolt's leases, replay keys and
// blobs, not its wall clock: a test makes the two disagree, as a wall
// clock stepped after the store opened does.
func WithLeaseClock(now func() time.Time) Option {
	return func(o *options) error {
		o.clock = now
		return nil
	}
}
