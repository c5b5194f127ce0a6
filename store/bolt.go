package store

import (
	"context"
	"encoding/binary"
	"fmt"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Bucket names. Index buckets hold keys made of timeKey(t)+id with empty
// values, so a cursor walks them in time order.
var (
	bktPending = []byte("pending")  // id -> pendingRecord JSON
	bktDue     = []byte("due")      // timeKey(ExpiresAt)+id, pending only
	bktRetire  = []byte("retire")   // timeKey(DecidedAt+retention)+id
	bktAudit   = []byte("audit")    // big-endian sequence -> eventRecord JSON
	bktSeen    = []byte("seen")     // replay key -> timeKey(expiry)
	bktSeenExp = []byte("seen_exp") // timeKey(expiry)+replay key
)

// seenPruneBatch bounds how many stale replay keys one SeenBefore removes, so
// a backlog never makes a single call slow.
const seenPruneBatch = 256

// Bolt is the embedded backend: one bbolt file, one writer at a time, which
// is what makes Claim, ExpireDue and SeenBefore atomic. Safe for concurrent
// use within one process; bbolt locks the file against a second process.
type Bolt struct {
	db    *bolt.DB
	path  string
	o     *options
	group groupCommit // shared commits for SeenBefore and AppendAudit
	dicts dictCache   // history series dictionaries, decoded
	sweep sweepCompact

	closeOnce sync.Once
	closeErr  error
}

var _ Store = (*Bolt)(nil)

// OpenBolt opens (creating if needed) the bolt file at path. It waits at most
// the bolt timeout (WithBoltTimeout, default 5s) for the file lock.
func OpenBolt(path string, opts ...Option) (*Bolt, error) {
	o, err := newOptions(opts)
	if err != nil {
		return nil, fmt.Errorf("open bolt store %s: %w", path, err)
	}
	if path == "" {
		return nil, fmt.Errorf("open bolt store: empty path")
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: o.boltTimeout})
	if err != nil {
		return nil, fmt.Errorf("open bolt store %s: %w", path, err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, name := range [][]byte{bktPending, bktDue, bktRetire, bktAudit, bktSeen, bktSeenExp, bktBlob, bktBlobExp,
			bktLease, bktJob, bktJobBatch, bktJobTime, bktJobOpen, bktJobRetire,
			bktHist, bktAlert, bktSub, bktSilence} {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return fmt.Errorf("create bucket %s: %w", name, err)
			}
		}
		for _, name := range [][]byte{bktAlert, bktSub, bktSilence} {
			if err := recount(tx.Bucket(name)); err != nil {
				return fmt.Errorf("count bucket %s: %w", name, err)
			}
		}
		// The file lock proves the process that held these leases is gone,
		// so its jobs can be resumed at once rather than after the ttl.
		return clearLeases(tx)
	})
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("open bolt store %s: %w", path, err)
	}
	o.logger.Info("store opened", "backend", "bolt", "path", path)
	return &Bolt{db: db, path: path, o: o, group: groupCommit{db: db}}, nil
}

// CreatePending saves p as pending; an existing id (even one decided or
// expired and still retained) is an error.
func (b *Bolt) CreatePending(ctx context.Context, p Pending) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("create pending %q: %w", p.ID, err)
	}
	p, err := checkNewPending(p)
	if err != nil {
		return fmt.Errorf("create pending: %w", err)
	}
	val, err := encodePending(p)
	if err != nil {
		return err
	}
	err = b.db.Update(func(tx *bolt.Tx) error {
		pb := tx.Bucket(bktPending)
		if pb.Get([]byte(p.ID)) != nil {
			return fmt.Errorf("id already exists")
		}
		if err := pb.Put([]byte(p.ID), val); err != nil {
			return err
		}
		return tx.Bucket(bktDue).Put(indexKey(p.ExpiresAt, p.ID), nil)
	})
	if err != nil {
		return fmt.Errorf("create pending %q: %w", p.ID, err)
	}
	return nil
}

// GetPending returns the action in whatever state it is.
func (b *Bolt) GetPending(ctx context.Context, id string) (Pending, error) {
	if err := ctx.Err(); err != nil {
		return Pending{}, fmt.Errorf("get pending %q: %w", id, err)
	}
	if !validID(id) {
		return Pending{}, fmt.Errorf("get pending %q: %w", id, ErrNotFound)
	}
	var p Pending
	err := b.db.View(func(tx *bolt.Tx) error {
		var err error
		p, err = getPending(tx, id)
		return err
	})
	if err != nil {
		return Pending{}, fmt.Errorf("get pending %q: %w", id, err)
	}
	return p, nil
}

// Claim decides a pending action in one write transaction; bbolt runs one at
// a time, so exactly one of concurrent callers finds it still pending.
func (b *Bolt) Claim(ctx context.Context, id string, decision State, by string, now time.Time) (Pending, error) {
	if err := ctx.Err(); err != nil {
		return Pending{}, fmt.Errorf("claim %q: %w", id, err)
	}
	if err := checkClaim(decision, by, now); err != nil {
		return Pending{}, fmt.Errorf("claim %q: %w", id, err)
	}
	if !validID(id) {
		return Pending{}, fmt.Errorf("claim %q: %w", id, ErrNotFound)
	}
	var (
		out     Pending
		outcome error // ErrDecided / ErrExpired, reported after a clean commit
	)
	err := b.db.Update(func(tx *bolt.Tx) error {
		var err error
		out, outcome, err = b.decide(tx, id, decision, by, now, true)
		return err
	})
	if err != nil {
		return Pending{}, fmt.Errorf("claim %q: %w", id, err)
	}
	if outcome != nil {
		return out, fmt.Errorf("claim %q: %w", id, outcome)
	}
	return out, nil
}

// decide moves pending action id to decision in tx and returns it as it
// now stands, with ErrDecided or ErrExpired as the outcome when it could
// not. Past its expiry the action becomes expired when expire is set and is
// left to the sweep otherwise.
func (b *Bolt) decide(tx *bolt.Tx, id string, decision State, by string, now time.Time, expire bool) (Pending, error, error) {
	p, err := getPending(tx, id)
	if err != nil {
		return Pending{}, nil, err
	}
	switch p.State {
	case StatePending:
	case StateExpired:
		return p, ErrExpired, nil
	default:
		return p, ErrDecided, nil
	}
	if p.ExpiresAt.Before(now) {
		if !expire {
			return p, ErrExpired, nil
		}
		p.State, p.DecidedAt = StateExpired, now
		return p, ErrExpired, b.settle(tx, p)
	}
	p.State, p.DecidedBy, p.DecidedAt = decision, by, now
	return p, nil, b.settle(tx, p)
}

// ExpireDue expires every pending action whose ExpiresAt is before now and
// appends its audit event, and drops decided actions, finished jobs and
// blobs past their retention, all in one transaction: all or nothing.
func (b *Bolt) ExpireDue(ctx context.Context, now time.Time, auditFor func(Pending) Event) ([]Pending, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("expire due: %w", err)
	}
	if err := checkTime("expiry sweep time", now); err != nil {
		return nil, fmt.Errorf("expire due: %w", err)
	}
	var expired []Pending
	pruned := 0
	err := b.db.Update(func(tx *bolt.Tx) error {
		due := keysBefore(tx.Bucket(bktDue), now, 0)
		var events [][]byte
		for _, k := range due {
			id := string(k[timeKeyLen:])
			if err := tx.Bucket(bktDue).Delete(k); err != nil {
				return err
			}
			p, err := getPending(tx, id)
			if err != nil || p.State != StatePending {
				continue // index entry outlived its record: nothing to expire
			}
			p.State, p.DecidedAt = StateExpired, now
			if err := b.settle(tx, p); err != nil {
				return err
			}
			if auditFor != nil {
				ev, err := encodeEvent(auditFor(p))
				if err != nil {
					return err
				}
				events = append(events, ev)
			}
			expired = append(expired, p)
		}
		if err := b.appendAudit(tx, events); err != nil {
			return err
		}
		old := keysBefore(tx.Bucket(bktRetire), now, 0)
		for _, k := range old {
			if err := tx.Bucket(bktRetire).Delete(k); err != nil {
				return err
			}
			if err := tx.Bucket(bktPending).Delete(k[timeKeyLen:]); err != nil {
				return err
			}
		}
		blobs, err := pruneBlobs(tx, now)
		if err != nil {
			return err
		}
		jobs, err := pruneJobs(tx, now)
		pruned = len(old) + blobs + jobs
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("expire due: %w", err)
	}
	if len(expired) > 0 || pruned > 0 {
		b.o.logger.Debug("store sweep", "backend", "bolt", "expired", len(expired), "pruned", pruned)
	}
	b.sweep.run(ctx, b.o.logger, now, b.Compact)
	return expired, nil
}

// Ping checks the file is open and readable.
func (b *Bolt) Ping(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("ping bolt store: %w", err)
	}
	err := b.db.View(func(tx *bolt.Tx) error {
		if tx.Bucket(bktPending) == nil {
			return fmt.Errorf("bucket %s missing", bktPending)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("ping bolt store %s: %w", b.path, err)
	}
	return nil
}

// Close closes the file; later calls return the first call's result.
func (b *Bolt) Close() error {
	b.closeOnce.Do(func() {
		if err := b.db.Close(); err != nil {
			b.closeErr = fmt.Errorf("close bolt store %s: %w", b.path, err)
		}
	})
	return b.closeErr
}

// settle saves a record that has just left StatePending: out of the due
// index, into the retention index.
func (b *Bolt) settle(tx *bolt.Tx, p Pending) error {
	val, err := encodePending(p)
	if err != nil {
		return err
	}
	if err := tx.Bucket(bktPending).Put([]byte(p.ID), val); err != nil {
		return err
	}
	if err := tx.Bucket(bktDue).Delete(indexKey(p.ExpiresAt, p.ID)); err != nil {
		return err
	}
	return tx.Bucket(bktRetire).Put(indexKey(b.o.dropTime(p.DecidedAt), p.ID), nil)
}

func getPending(tx *bolt.Tx, id string) (Pending, error) {
	v := tx.Bucket(bktPending).Get([]byte(id))
	if v == nil {
		return Pending{}, ErrNotFound
	}
	return decodePending(v)
}

// keysBefore returns copies of the index keys whose time is before t, oldest
// first, at most limit of them (0: no limit). Copies, because keys are only
// valid during the transaction and deleting under a cursor skips entries.
func keysBefore(bkt *bolt.Bucket, t time.Time, limit int) [][]byte {
	bound := []byte(timeKey(t))
	var keys [][]byte
	c := bkt.Cursor()
	for k, _ := c.First(); k != nil && string(k[:timeKeyLen]) < string(bound); k, _ = c.Next() {
		keys = append(keys, append([]byte(nil), k...))
		if limit > 0 && len(keys) == limit {
			break
		}
	}
	return keys
}

func indexKey(t time.Time, id string) []byte {
	return []byte(timeKey(t) + id)
}

func seqKey(seq uint64) []byte {
	return binary.BigEndian.AppendUint64(nil, seq)
}
