package store

import (
	"context"
	"encoding/binary"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// AppendAudit adds events under the next sequence numbers and drops the
// oldest beyond the audit limit, in one (possibly shared) commit.
func (b *Bolt) AppendAudit(ctx context.Context, events ...Event) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("append audit: %w", err)
	}
	if len(events) == 0 {
		return nil
	}
	vals, err := encodeEvents(events)
	if err != nil {
		return fmt.Errorf("append audit: %w", err)
	}
	if err := b.group.update(ctx, func(tx *bolt.Tx) error { return b.appendAudit(tx, vals) }); err != nil {
		return fmt.Errorf("append audit: %w", err)
	}
	return nil
}

// appendAudit adds encoded events in tx and trims the trail to the limit.
func (b *Bolt) appendAudit(tx *bolt.Tx, vals [][]byte) error {
	if len(vals) == 0 {
		return nil
	}
	ab := tx.Bucket(bktAudit)
	var seq uint64
	for _, v := range vals {
		var err error
		if seq, err = ab.NextSequence(); err != nil {
			return err
		}
		if err := ab.Put(seqKey(seq), v); err != nil {
			return err
		}
	}
	// Keys are consecutive from the oldest kept one, so the count is
	// arithmetic rather than a scan.
	first, _ := ab.Cursor().First()
	excess := int(seq-binary.BigEndian.Uint64(first)+1) - b.o.auditLimit
	if excess <= 0 {
		return nil
	}
	var drop [][]byte
	c := ab.Cursor()
	for k, _ := c.First(); k != nil && len(drop) < excess; k, _ = c.Next() {
		drop = append(drop, append([]byte(nil), k...))
	}
	for _, k := range drop {
		if err := ab.Delete(k); err != nil {
			return err
		}
	}
	return nil
}

// RecentAudit returns up to n events, newest first.
func (b *Bolt) RecentAudit(ctx context.Context, n int) ([]Event, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("recent audit: %w", err)
	}
	if n < 0 {
		return nil, fmt.Errorf("recent audit: count %d is negative", n)
	}
	n = min(n, b.o.auditLimit)
	events := make([]Event, 0, n)
	err := b.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bktAudit).Cursor()
		for k, v := c.Last(); k != nil && len(events) < n; k, v = c.Prev() {
			e, err := decodeEvent(v)
			if err != nil {
				return err
			}
			events = append(events, e)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("recent audit: %w", err)
	}
	return events, nil
}

// SeenBefore records key until now+ttl (now from the wall clock, or the
// injected one: a replay key must outlast the window of the signature
// timestamps it guards, which is on the wall clock, whichever way that
// steps). A key whose time has passed counts as unseen and is recorded
// afresh. Concurrent
// calls share commits (groupCommit): each returns once its key is on disk,
// so a replay is caught across a crash, yet a burst of them costs about two
// commits, not one each.
func (b *Bolt) SeenBefore(ctx context.Context, key string, ttl time.Duration) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, fmt.Errorf("replay check: %w", err)
	}
	if err := checkSeen(key, ttl); err != nil {
		return false, fmt.Errorf("replay check: %w", err)
	}
	now := b.o.wall()
	until := now.Add(ttl)
	if err := checkTime("replay expiry", until); err != nil {
		return false, fmt.Errorf("replay check: %w", err)
	}
	seen := false
	err := b.group.update(ctx, func(tx *bolt.Tx) error {
		seen = false // reset: a failed group commit reruns this alone
		sb, eb := tx.Bucket(bktSeen), tx.Bucket(bktSeenExp)
		// Drop stale entries first, so the lookup below never sees one.
		for _, k := range keysBefore(eb, now.Add(time.Nanosecond), seenPruneBatch) {
			if err := eb.Delete(k); err != nil {
				return err
			}
			if err := sb.Delete(k[timeKeyLen:]); err != nil {
				return err
			}
		}
		if old := sb.Get([]byte(key)); old != nil {
			if string(old) > timeKey(now) {
				seen = true
				return nil
			}
			// Stale but beyond this call's prune batch.
			if err := eb.Delete(append(append([]byte(nil), old...), key...)); err != nil {
				return err
			}
		}
		if err := sb.Put([]byte(key), []byte(timeKey(until))); err != nil {
			return err
		}
		return eb.Put(indexKey(until, key), nil)
	})
	if err != nil {
		return false, fmt.Errorf("replay check: %w", err)
	}
	return seen, nil
}
