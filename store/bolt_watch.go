package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Bolt buckets for the watcher's records.
var (
	bktAlert   = []byte("alert")        // alertField -> versioned alert record
	bktSub     = []byte("subscription") // subField -> subscriptionRecord JSON
	bktSilence = []byte("silence")      // id -> silenceRecord JSON
)

// GetAlert returns the alert k.
func (b *Bolt) GetAlert(ctx context.Context, k AlertKey) (Alert, error) {
	if err := ctx.Err(); err != nil {
		return Alert{}, fmt.Errorf("get alert %s: %w", k, err)
	}
	var a Alert
	err := b.db.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(bktAlert).Get([]byte(alertField(k)))
		if v == nil {
			return ErrNotFound
		}
		var err error
		a, _, err = decodeStoredAlert(v)
		return err
	})
	if err != nil {
		return Alert{}, fmt.Errorf("get alert %s: %w", k, err)
	}
	return a, nil
}

// ListAlerts returns every alert kept, by rule, site and group.
func (b *Bolt) ListAlerts(ctx context.Context) ([]Alert, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("list alerts: %w", err)
	}
	out := []Alert{}
	err := b.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bktAlert).ForEach(func(_, v []byte) error {
			if a, _, err := decodeStoredAlert(v); err == nil {
				out = append(out, a)
			}
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("list alerts: %w", err)
	}
	return out, nil
}

// PutAlert writes a over a.Version, fenced by l.
func (b *Bolt) PutAlert(ctx context.Context, l Lease, a Alert) (Alert, error) {
	if err := ctx.Err(); err != nil {
		return Alert{}, fmt.Errorf("put alert %s: %w", a.Key, err)
	}
	val, err := prepareAlert(l, a)
	if err != nil {
		return Alert{}, fmt.Errorf("put alert %s: %w", a.Key, err)
	}
	var stored Alert
	err = b.db.Update(func(tx *bolt.Tx) error {
		if err := checkCurrent(tx, l, b.o.clock()); err != nil {
			return err
		}
		ab := tx.Bucket(bktAlert)
		field := []byte(alertField(a.Key))
		cur := ab.Get(field)
		var ver uint64
		if cur != nil {
			stored, ver, _ = decodeStoredAlert(cur)
		}
		if ver != a.Version {
			return ErrConflict
		}
		return putBounded(ab, field, val, b.o.limit(MaxAlerts))
	})
	if errors.Is(err, ErrConflict) {
		return stored, fmt.Errorf("put alert %s over version %d: %w", a.Key, a.Version, err)
	}
	if err != nil {
		return Alert{}, fmt.Errorf("put alert %s: %w", a.Key, err)
	}
	a.Version++
	return a, nil
}

// PutSubscription saves s, replacing the channel's subscription.
func (b *Bolt) PutSubscription(ctx context.Context, s Subscription) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("put subscription: %w", err)
	}
	val, err := encodeSubscription(s)
	if err != nil {
		return fmt.Errorf("put subscription: %w", err)
	}
	err = b.db.Update(func(tx *bolt.Tx) error {
		return putBounded(tx.Bucket(bktSub), []byte(subField(s.Platform, s.Channel)), val, b.o.limit(MaxSubscriptions))
	})
	if err != nil {
		return fmt.Errorf("put subscription of %s %s: %w", s.Platform, s.Channel, err)
	}
	return nil
}

// DeleteSubscription removes the channel's subscription and returns it.
func (b *Bolt) DeleteSubscription(ctx context.Context, platform, channel string) (Subscription, error) {
	if err := ctx.Err(); err != nil {
		return Subscription{}, fmt.Errorf("delete subscription: %w", err)
	}
	var s Subscription
	err := b.db.Update(func(tx *bolt.Tx) error {
		v, err := take(tx.Bucket(bktSub), []byte(subField(platform, channel)))
		if err != nil {
			return err
		}
		s, _ = decodeSubscription(v) // a damaged record is deleted all the same
		s.Platform, s.Channel = platform, channel
		return nil
	})
	if err != nil {
		return Subscription{}, fmt.Errorf("delete subscription of %s %s: %w", platform, channel, err)
	}
	return s, nil
}

// ListSubscriptions returns every subscription, by platform and channel.
func (b *Bolt) ListSubscriptions(ctx context.Context) ([]Subscription, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("list subscriptions: %w", err)
	}
	out := []Subscription{}
	err := b.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bktSub).ForEach(func(_, v []byte) error {
			if s, err := decodeSubscription(v); err == nil {
				out = append(out, s)
			}
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("list subscriptions: %w", err)
	}
	return out, nil
}

// PutSilence saves s, replacing a silence with its id.
func (b *Bolt) PutSilence(ctx context.Context, s Silence) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("put silence: %w", err)
	}
	val, err := encodeSilence(s)
	if err != nil {
		return fmt.Errorf("put silence: %w", err)
	}
	err = b.db.Update(func(tx *bolt.Tx) error {
		return putBounded(tx.Bucket(bktSilence), []byte(s.ID), val, b.o.limit(MaxSilences))
	})
	if err != nil {
		return fmt.Errorf("put silence %s: %w", s.ID, err)
	}
	return nil
}

// EndSilence removes silence id and returns it.
func (b *Bolt) EndSilence(ctx context.Context, id string) (Silence, error) {
	if err := ctx.Err(); err != nil {
		return Silence{}, fmt.Errorf("end silence %s: %w", id, err)
	}
	if !validID(id) {
		return Silence{}, fmt.Errorf("end silence: %w", ErrNotFound)
	}
	var s Silence
	err := b.db.Update(func(tx *bolt.Tx) error {
		v, err := take(tx.Bucket(bktSilence), []byte(id))
		if err != nil {
			return err
		}
		s, _ = decodeSilence(v)
		s.ID = id
		return nil
	})
	if err != nil {
		return Silence{}, fmt.Errorf("end silence %s: %w", id, err)
	}
	return s, nil
}

// ListSilences returns the silences active at now, oldest first.
func (b *Bolt) ListSilences(ctx context.Context, now time.Time) ([]Silence, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("list silences: %w", err)
	}
	out := []Silence{}
	err := b.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bktSilence).ForEach(func(_, v []byte) error {
			if s, err := decodeSilence(v); err == nil && s.Active(now) {
				out = append(out, s)
			}
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("list silences: %w", err)
	}
	sortSilences(out)
	return out, nil
}

// pruneWatch drops alerts resolved longer than the retention ago and
// silences that ended before now, in one transaction.
func (b *Bolt) pruneWatch(now time.Time) error {
	alerts, silences := 0, 0
	err := b.db.Update(func(tx *bolt.Tx) error {
		var err error
		alerts, err = deleteWhere(tx.Bucket(bktAlert), func(v []byte) bool {
			a, _, err := decodeStoredAlert(v)
			return err == nil && alertDue(a, now, b.o.retention)
		})
		if err == nil {
			err = addCount(tx.Bucket(bktAlert), -alerts)
		}
		if err != nil {
			return err
		}
		silences, err = deleteWhere(tx.Bucket(bktSilence), func(v []byte) bool {
			s, err := decodeSilence(v)
			return err == nil && !s.Active(now)
		})
		if err == nil {
			err = addCount(tx.Bucket(bktSilence), -silences)
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("prune alerts and silences: %w", err)
	}
	if alerts > 0 || silences > 0 {
		b.o.logger.Debug("watch records pruned", "backend", "bolt", "alerts", alerts, "silences", silences)
	}
	return nil
}

// deleteWhere deletes the entries of bkt whose value drop approves.
func deleteWhere(bkt *bolt.Bucket, drop func(v []byte) bool) (int, error) {
	var keys [][]byte
	_ = bkt.ForEach(func(k, v []byte) error {
		if drop(v) {
			keys = append(keys, append([]byte(nil), k...))
		}
		return nil
	})
	return deleteKeys(bkt, keys)
}

// deleteKeys deletes keys, collected first (copies, as keys are valid only
// in their transaction, and deleting under a cursor skips entries).
func deleteKeys(bkt *bolt.Bucket, keys [][]byte) (int, error) {
	for _, k := range keys {
		if err := bkt.Delete(k); err != nil {
			return 0, err
		}
	}
	return len(keys), nil
}

// The watch buckets (alerts, subscriptions, silences) keep their key
// count in their bucket sequence: set when the file is opened, moved by
// every new key (putBounded) and every delete (take, pruneWatch), so the
// limit check does not walk the bucket.

// recount sets bkt's count to the keys it holds.
func recount(bkt *bolt.Bucket) error { return bkt.SetSequence(uint64(bkt.Stats().KeyN)) }

// addCount moves bkt's count by d.
func addCount(bkt *bolt.Bucket, d int) error {
	return bkt.SetSequence(uint64(max(int(bkt.Sequence())+d, 0)))
}

// putBounded puts key, refusing a new key once bkt holds limit of them.
func putBounded(bkt *bolt.Bucket, key, val []byte, limit int) error {
	if bkt.Get(key) != nil {
		return bkt.Put(key, val)
	}
	if int(bkt.Sequence()) >= limit {
		return fmt.Errorf("%d kept: %w", limit, ErrLimit)
	}
	if err := bkt.Put(key, val); err != nil {
		return err
	}
	return addCount(bkt, 1)
}

// take deletes key from bkt and returns its value (copied).
func take(bkt *bolt.Bucket, key []byte) ([]byte, error) {
	v := bkt.Get(key)
	if v == nil {
		return nil, ErrNotFound
	}
	v = append([]byte(nil), v...)
	if err := bkt.Delete(key); err != nil {
		return nil, err
	}
	return v, addCount(bkt, -1)
}
