package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Bolt buckets for jobs. Index keys are timeKey(t)+id with empty values.
var (
	bktJob       = []byte("job")        // id -> jobRecord JSON
	bktJobBatch  = []byte("job_batch")  // id -> bucket: big-endian sequence -> batch
	bktJobTime   = []byte("job_time")   // timeKey(CreatedAt)+id, every job
	bktJobOpen   = []byte("job_open")   // timeKey(CreatedAt)+id, unfinished jobs
	bktJobRetire = []byte("job_retire") // timeKey(FinishedAt+retention)+id
)

// errJobExists aborts a StartJob whose job id is taken (a pruned approval
// id created again while its old job is kept).
var errJobExists = errors.New("a job with this id already exists")

// StartJob claims the approval, creates the job, takes its lease (on the
// store clock) and appends the events in one transaction.
func (b *Bolt) StartJob(ctx context.Context, s JobStart) (Pending, Lease, error) {
	id := s.PendingID
	if err := ctx.Err(); err != nil {
		return Pending{}, Lease{}, fmt.Errorf("start job %q: %w", id, err)
	}
	rec, events, err := checkJobStart(s)
	if err != nil {
		return Pending{}, Lease{}, fmt.Errorf("start job %q: %w", id, err)
	}
	var (
		p         Pending
		l         Lease
		outcome   error // ErrDecided / ErrExpired: nothing written
		now, wall time.Time
	)
	err = b.db.Update(func(tx *bolt.Tx) error {
		var err error
		if p, outcome, err = b.decide(tx, id, StateApproved, s.By, s.Now, false); err != nil || outcome != nil {
			return err
		}
		if tx.Bucket(bktJob).Get([]byte(id)) != nil {
			return errJobExists
		}
		now, wall = b.o.clock(), b.o.wall()
		if l, err = takeLease(tx, JobLease(id), s.Holder, now, s.LeaseTTL); err != nil {
			return err // ErrLeaseHeld rolls the claim back too
		}
		if err := tx.Bucket(bktJob).Put([]byte(id), rec); err != nil {
			return err
		}
		if err := tx.Bucket(bktJobTime).Put(indexKey(s.Now, id), nil); err != nil {
			return err
		}
		if err := tx.Bucket(bktJobOpen).Put(indexKey(s.Now, id), nil); err != nil {
			return err
		}
		if _, err := tx.Bucket(bktJobBatch).CreateBucketIfNotExists([]byte(id)); err != nil {
			return err
		}
		return b.appendAudit(tx, events)
	})
	if err != nil {
		return Pending{}, Lease{}, fmt.Errorf("start job %q: %w", id, err)
	}
	if outcome != nil {
		return p, Lease{}, fmt.Errorf("start job %q: %w", id, outcome)
	}
	return p, onWall(l, now, wall), nil
}

// RecordJobBatch appends batch and events in one transaction, if l is
// current.
func (b *Bolt) RecordJobBatch(ctx context.Context, l Lease, jobID string, batch []byte, events []Event) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("record job %q batch: %w", jobID, err)
	}
	vals, err := checkJobWrite(l, jobID, "job batch", batch, events)
	if err != nil {
		return fmt.Errorf("record job %q batch: %w", jobID, err)
	}
	err = b.db.Update(func(tx *bolt.Tx) error {
		if _, err := b.openJob(tx, l, jobID); err != nil {
			return err
		}
		bb := tx.Bucket(bktJobBatch).Bucket([]byte(jobID))
		if bb == nil {
			return fmt.Errorf("journal bucket missing")
		}
		if _, last := bb.Cursor().Last(); last != nil && bytes.Equal(last, batch) {
			return nil // a retry whose answer was lost: recorded already
		}
		seq, err := bb.NextSequence()
		if err != nil {
			return err
		}
		if err := bb.Put(seqKey(seq), batch); err != nil {
			return err
		}
		return b.appendAudit(tx, vals)
	})
	if err != nil {
		return fmt.Errorf("record job %q batch: %w", jobID, err)
	}
	return nil
}

// FinishJob closes the job, appends events and releases l in one
// transaction, if l is current.
func (b *Bolt) FinishJob(ctx context.Context, l Lease, jobID string, now time.Time, result []byte, events []Event) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("finish job %q: %w", jobID, err)
	}
	if err := checkTime("finish time", now); err != nil {
		return fmt.Errorf("finish job %q: %w", jobID, err)
	}
	vals, err := checkJobWrite(l, jobID, "job result", result, events)
	if err != nil {
		return fmt.Errorf("finish job %q: %w", jobID, err)
	}
	err = b.db.Update(func(tx *bolt.Tx) error {
		j, err := b.openJob(tx, l, jobID)
		if err != nil {
			return err
		}
		j.FinishedAt, j.Result = now, result
		rec, err := encodeJob(j)
		if err != nil {
			return err
		}
		if err := tx.Bucket(bktJob).Put([]byte(jobID), rec); err != nil {
			return err
		}
		if err := tx.Bucket(bktJobOpen).Delete(indexKey(j.CreatedAt, jobID)); err != nil {
			return err
		}
		if err := tx.Bucket(bktJobRetire).Put(indexKey(b.o.dropTime(now), jobID), nil); err != nil {
			return err
		}
		if err := tx.Bucket(bktLease).Delete([]byte(l.Name)); err != nil {
			return err
		}
		return b.appendAudit(tx, vals)
	})
	if err != nil {
		return fmt.Errorf("finish job %q: %w", jobID, err)
	}
	return nil
}

// openJob returns job id for a write fenced by l: ErrLeaseLost unless l is
// current, ErrNotFound, ErrJobFinished.
func (b *Bolt) openJob(tx *bolt.Tx, l Lease, id string) (Job, error) {
	if err := checkCurrent(tx, l, b.o.clock()); err != nil {
		return Job{}, err
	}
	j, err := b.readJob(tx, id)
	if err != nil {
		return Job{}, err
	}
	if j.Finished() {
		return Job{}, ErrJobFinished
	}
	return j, nil
}

// GetJob returns the job with its batches and current lease holder.
func (b *Bolt) GetJob(ctx context.Context, id string) (Job, [][]byte, error) {
	if err := ctx.Err(); err != nil {
		return Job{}, nil, fmt.Errorf("get job %q: %w", id, err)
	}
	if !validID(id) {
		return Job{}, nil, fmt.Errorf("get job %q: %w", id, ErrNotFound)
	}
	var (
		j       Job
		batches [][]byte
	)
	err := b.db.View(func(tx *bolt.Tx) error {
		var err error
		if j, err = b.readJob(tx, id); err != nil {
			return err
		}
		batches = make([][]byte, 0, j.Batches)
		if bb := tx.Bucket(bktJobBatch).Bucket([]byte(id)); bb != nil {
			return bb.ForEach(func(_, v []byte) error {
				batches = append(batches, append([]byte(nil), v...))
				return nil
			})
		}
		return nil
	})
	if err != nil {
		return Job{}, nil, fmt.Errorf("get job %q: %w", id, err)
	}
	return j, batches, nil
}

// ListJobs walks the time index backwards: newest first.
func (b *Bolt) ListJobs(ctx context.Context, unfinishedOnly bool, limit int) ([]Job, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("list jobs: %w", err)
	}
	if limit < 0 {
		return nil, fmt.Errorf("list jobs: limit %d is negative", limit)
	}
	index := bktJobTime
	if unfinishedOnly {
		index = bktJobOpen
	}
	jobs := []Job{}
	err := b.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(index).Cursor()
		for k, _ := c.Last(); k != nil && len(jobs) < limit; k, _ = c.Prev() {
			j, err := b.readJob(tx, string(k[timeKeyLen:]))
			if errors.Is(err, ErrNotFound) {
				continue
			}
			if err != nil {
				return err
			}
			jobs = append(jobs, j)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list jobs: %w", err)
	}
	return jobs, nil
}

// readJob decodes job id (copying out of the transaction) and fills in the
// derived fields. A record that does not decode comes back as its id alone,
// as from Redis (jobFromHash).
func (b *Bolt) readJob(tx *bolt.Tx, id string) (Job, error) {
	v := tx.Bucket(bktJob).Get([]byte(id))
	if v == nil {
		return Job{}, ErrNotFound
	}
	j, err := decodeJob(v)
	if err != nil || j.ID != id {
		j = Job{ID: id}
	}
	if bb := tx.Bucket(bktJobBatch).Bucket([]byte(id)); bb != nil {
		j.Batches = int(bb.Sequence())
	}
	if l, ok := liveLease(tx, JobLease(id), b.o.clock()); ok {
		j.Holder = l.Holder
	}
	return j, nil
}

// pruneJobs drops finished jobs past their retention, with their journal,
// index entries and any lease left on them; ExpireDue calls it.
func pruneJobs(tx *bolt.Tx, now time.Time) (int, error) {
	old := keysBefore(tx.Bucket(bktJobRetire), now, 0)
	for _, k := range old {
		id := k[timeKeyLen:]
		if err := tx.Bucket(bktJobRetire).Delete(k); err != nil {
			return 0, err
		}
		if v := tx.Bucket(bktJob).Get(id); v != nil {
			if j, err := decodeJob(v); err == nil {
				if err := tx.Bucket(bktJobTime).Delete(indexKey(j.CreatedAt, j.ID)); err != nil {
					return 0, err
				}
			}
		}
		if err := tx.Bucket(bktJob).Delete(id); err != nil {
			return 0, err
		}
		if err := tx.Bucket(bktJobBatch).DeleteBucket(id); err != nil && !errors.Is(err, bolt.ErrBucketNotFound) {
			return 0, err
		}
		if err := tx.Bucket(bktLease).Delete([]byte(JobLease(string(id)))); err != nil {
			return 0, err
		}
	}
	return len(old), nil
}
