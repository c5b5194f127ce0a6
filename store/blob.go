package store

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
	bolt "go.etcd.io/bbolt"
)

// MaxBlobSize caps what PutBlob accepts: blobs are short-lived downloads
// (a CSV of a long list), and anything larger is a bug upstream that would
// bloat the bolt file or Redis memory.
const MaxBlobSize = 16 << 20

// Bolt buckets for blobs: key -> 8-byte big-endian expiry (UnixNano) followed
// by the data, and timeKey(expiry)+key for the sweep.
var (
	bktBlob    = []byte("blob")
	bktBlobExp = []byte("blob_exp")
)

func checkBlob(key string, size int, ttl time.Duration) error {
	switch {
	case !validID(key):
		return fmt.Errorf("blob key of %d bytes: must be 1 to %d bytes", len(key), maxIDLen)
	case size > MaxBlobSize:
		return fmt.Errorf("blob of %d bytes is larger than the %d byte limit", size, MaxBlobSize)
	case ttl <= 0:
		return fmt.Errorf("blob ttl %s: must be positive", ttl)
	}
	return nil
}

// PutBlob stores data under key until now+ttl (now from the injected clock),
// replacing any blob already there.
func (b *Bolt) PutBlob(ctx context.Context, key string, data []byte, ttl time.Duration) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("put blob: %w", err)
	}
	if err := checkBlob(key, len(data), ttl); err != nil {
		return fmt.Errorf("put blob: %w", err)
	}
	until := b.o.clock().Add(ttl)
	if err := checkTime("blob expiry", until); err != nil {
		return fmt.Errorf("put blob: %w", err)
	}
	val := binary.BigEndian.AppendUint64(make([]byte, 0, 8+len(data)), uint64(until.UnixNano()))
	val = append(val, data...)
	err := b.db.Update(func(tx *bolt.Tx) error {
		bb, eb := tx.Bucket(bktBlob), tx.Bucket(bktBlobExp)
		if old := bb.Get([]byte(key)); len(old) >= 8 {
			if err := eb.Delete(indexKey(blobExpiry(old), key)); err != nil {
				return err
			}
		}
		if err := bb.Put([]byte(key), val); err != nil {
			return err
		}
		return eb.Put(indexKey(until, key), nil)
	})
	if err != nil {
		return fmt.Errorf("put blob: %w", err)
	}
	return nil
}

// GetBlob returns the blob under key; ErrNotFound when absent or past its
// expiry (ExpireDue removes it later).
func (b *Bolt) GetBlob(ctx context.Context, key string) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("get blob: %w", err)
	}
	if !validID(key) {
		return nil, fmt.Errorf("get blob: %w", ErrNotFound)
	}
	now := b.o.clock()
	var out []byte
	err := b.db.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(bktBlob).Get([]byte(key))
		if len(v) < 8 || !blobExpiry(v).After(now) {
			return ErrNotFound
		}
		out = append([]byte(nil), v[8:]...)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("get blob: %w", err)
	}
	return out, nil
}

// pruneBlobs deletes the blobs expired before now; ExpireDue calls it in its
// transaction.
func pruneBlobs(tx *bolt.Tx, now time.Time) (int, error) {
	bb, eb := tx.Bucket(bktBlob), tx.Bucket(bktBlobExp)
	old := keysBefore(eb, now.Add(time.Nanosecond), 0)
	for _, k := range old {
		if err := eb.Delete(k); err != nil {
			return 0, err
		}
		if err := bb.Delete(k[timeKeyLen:]); err != nil {
			return 0, err
		}
	}
	return len(old), nil
}

func blobExpiry(v []byte) time.Time {
	return time.Unix(0, int64(binary.BigEndian.Uint64(v[:8])))
}

// PutBlob stores data under the key prefix with SET PX, so Redis drops it
// itself when the ttl runs out.
func (r *Redis) PutBlob(ctx context.Context, key string, data []byte, ttl time.Duration) error {
	if err := checkBlob(key, len(data), ttl); err != nil {
		return fmt.Errorf("put blob: %w", err)
	}
	// PX takes whole milliseconds; round up so a tiny ttl still keeps it.
	if rem := ttl % time.Millisecond; rem != 0 {
		ttl += time.Millisecond - rem
	}
	if err := r.c.Set(ctx, r.kBlob+key, data, ttl).Err(); err != nil {
		return fmt.Errorf("put blob on redis %s: %w", r.addr, err)
	}
	return nil
}

// GetBlob returns the blob under key; ErrNotFound when absent or expired.
func (r *Redis) GetBlob(ctx context.Context, key string) ([]byte, error) {
	if !validID(key) {
		return nil, fmt.Errorf("get blob: %w", ErrNotFound)
	}
	data, err := r.c.Get(ctx, r.kBlob+key).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("get blob: %w", ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("get blob on redis %s: %w", r.addr, err)
	}
	return data, nil
}
