package store

import (
	"context"
	"encoding/binary"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// bktLease holds name -> leaseValue; its bucket sequence issues the fencing
// tokens, so they keep growing across releases, clears and restarts.
var bktLease = []byte("lease")

// leaseValue is the stored form of a lease: token and expiry (UnixNano),
// 8 bytes each, big-endian, then the holder.
func leaseValue(l Lease) []byte {
	v := binary.BigEndian.AppendUint64(make([]byte, 0, 16+len(l.Holder)), l.Token)
	v = binary.BigEndian.AppendUint64(v, uint64(l.Expires.UnixNano()))
	return append(v, l.Holder...)
}

func parseLease(name string, v []byte) (Lease, bool) {
	if len(v) < 16 {
		return Lease{}, false
	}
	return Lease{
		Name:    name,
		Token:   binary.BigEndian.Uint64(v[:8]),
		Expires: time.Unix(0, int64(binary.BigEndian.Uint64(v[8:16]))),
		Holder:  string(v[16:]),
	}, true
}

// clearLeases drops every lease: OpenBolt holds the file lock, so whoever
// held them is gone.
func clearLeases(tx *bolt.Tx) error {
	_, err := deleteWhere(tx.Bucket(bktLease), func([]byte) bool { return true })
	return err
}

// liveLease returns the unexpired lease called name, if any.
func liveLease(tx *bolt.Tx, name string, now time.Time) (Lease, bool) {
	l, ok := parseLease(name, tx.Bucket(bktLease).Get([]byte(name)))
	if !ok || !l.Expires.After(now) {
		return Lease{}, false
	}
	return l, true
}

// takeLease gives name to holder until now+ttl with a new token, or
// returns ErrLeaseHeld with the current holder.
func takeLease(tx *bolt.Tx, name, holder string, now time.Time, ttl time.Duration) (Lease, error) {
	if cur, ok := liveLease(tx, name, now); ok {
		cur.Token = 0
		return cur, ErrLeaseHeld
	}
	lb := tx.Bucket(bktLease)
	tok, err := lb.NextSequence()
	if err != nil {
		return Lease{}, err
	}
	l := Lease{Name: name, Holder: holder, Token: tok, Expires: until(now, ttl)}
	return l, lb.Put([]byte(name), leaseValue(l))
}

// checkCurrent returns ErrLeaseLost unless l is the live lease of its name.
func checkCurrent(tx *bolt.Tx, l Lease, now time.Time) error {
	cur, ok := liveLease(tx, l.Name, now)
	if !ok || cur.Token != l.Token || cur.Holder != l.Holder {
		return ErrLeaseLost
	}
	return nil
}

// onWall is l, whose Expires is on the store's clock at now, with its
// Expires moved onto the wall clock read with it: what a caller compares
// with time.Now and time.Until (the store's clock keeps the time it read
// at the start, so after the wall clock stepped forward by more than a
// ttl, a job would think every lease lapsed as it took it). A wall reading
// with a monotonic one (time.Now) keeps it right through later steps too.
func onWall(l Lease, now, wall time.Time) Lease {
	if !l.Expires.IsZero() {
		l.Expires = wall.Add(l.Expires.Sub(now))
	}
	return l
}

// AcquireLease takes name for holder until the store clock's now+ttl.
func (b *Bolt) AcquireLease(ctx context.Context, name, holder string, ttl time.Duration) (Lease, error) {
	if err := ctx.Err(); err != nil {
		return Lease{}, fmt.Errorf("acquire lease %q: %w", name, err)
	}
	if err := checkLeaseArgs(name, holder, ttl); err != nil {
		return Lease{}, fmt.Errorf("acquire lease %q: %w", name, err)
	}
	var (
		l         Lease
		held      bool
		now, wall time.Time
	)
	err := b.db.Update(func(tx *bolt.Tx) error {
		var err error
		now, wall = b.o.clock(), b.o.wall()
		l, err = takeLease(tx, name, holder, now, ttl)
		if err == ErrLeaseHeld {
			held = true
			return nil
		}
		return err
	})
	if err != nil {
		return Lease{}, fmt.Errorf("acquire lease %q: %w", name, err)
	}
	l = onWall(l, now, wall)
	if held {
		return l, fmt.Errorf("acquire lease %q: held by %s: %w", name, l.Holder, ErrLeaseHeld)
	}
	return l, nil
}

// RenewLease extends l to the store clock's now+ttl if it is still current.
func (b *Bolt) RenewLease(ctx context.Context, l Lease, ttl time.Duration) (Lease, error) {
	if err := ctx.Err(); err != nil {
		return Lease{}, fmt.Errorf("renew lease %q: %w", l.Name, err)
	}
	if err := checkLease(l); err != nil {
		return Lease{}, fmt.Errorf("renew lease %q: %w", l.Name, err)
	}
	if ttl <= 0 {
		return Lease{}, fmt.Errorf("renew lease %q: ttl %s: must be positive", l.Name, ttl)
	}
	var now, wall time.Time
	err := b.db.Update(func(tx *bolt.Tx) error {
		now, wall = b.o.clock(), b.o.wall()
		if err := checkCurrent(tx, l, now); err != nil {
			return err
		}
		l.Expires = until(now, ttl)
		return tx.Bucket(bktLease).Put([]byte(l.Name), leaseValue(l))
	})
	if err != nil {
		return Lease{}, fmt.Errorf("renew lease %q: %w", l.Name, err)
	}
	return onWall(l, now, wall), nil
}

// ReleaseLease drops l if it is still the live lease of its name.
func (b *Bolt) ReleaseLease(ctx context.Context, l Lease) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("release lease %q: %w", l.Name, err)
	}
	if err := checkLease(l); err != nil {
		return fmt.Errorf("release lease %q: %w", l.Name, err)
	}
	err := b.db.Update(func(tx *bolt.Tx) error { return dropLease(tx, l, b.o.clock()) })
	if err != nil {
		return fmt.Errorf("release lease %q: %w", l.Name, err)
	}
	return nil
}

func dropLease(tx *bolt.Tx, l Lease, now time.Time) error {
	if err := checkCurrent(tx, l, now); err != nil {
		return err
	}
	return tx.Bucket(bktLease).Delete([]byte(l.Name))
}
