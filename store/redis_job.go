package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// pruneBatch bounds how many finished jobs one prune script drops.
const pruneBatch = 200

// StartJob claims the approval, creates the job, takes its lease and
// appends the events in one script.
func (r *Redis) StartJob(ctx context.Context, s JobStart) (Pending, Lease, error) {
	id := s.PendingID
	rec, vals, err := checkJobStart(s)
	if err != nil {
		return Pending{}, Lease{}, fmt.Errorf("start job %q: %w", id, err)
	}
	args := appendArgs([]any{s.By, timeKey(s.Now), s.Now.Format(time.RFC3339Nano), r.retentionMS(), id, rec,
		s.Holder, ttlMS(s.LeaseTTL), r.o.auditLimit}, vals)
	keys := []string{r.kPending + id, r.kDue, r.kJob + id, r.kJobs, r.kJobsOpen, r.kLease + JobLease(id), r.kLeaseSeq, r.kAudit}
	now := time.Now()
	res, err := startJobScript.Run(ctx, r.c, keys, args...).Slice()
	if err != nil {
		return Pending{}, Lease{}, fmt.Errorf("start job %q on redis %s: %w", id, r.addr, err)
	}
	if len(res) == 0 {
		return Pending{}, Lease{}, fmt.Errorf("start job %q: empty script reply", id)
	}
	outcome, _ := res[0].(string)
	switch outcome {
	case "notfound":
		return Pending{}, Lease{}, fmt.Errorf("start job %q: %w", id, ErrNotFound)
	case "jobexists":
		return Pending{}, Lease{}, fmt.Errorf("start job %q: %w", id, errJobExists)
	case "leaseheld":
		if len(res) < 3 {
			return Pending{}, Lease{}, fmt.Errorf("start job %q: short script reply", id)
		}
		cur := heldLease(JobLease(id), res[1], res[2], now)
		return Pending{}, Lease{}, fmt.Errorf("start job %q: lease held by %s: %w", id, cur.Holder, ErrLeaseHeld)
	case "decided", "expired":
		p, err := pendingFromFlat(res[1:])
		if err != nil {
			return Pending{}, Lease{}, fmt.Errorf("start job %q: %w", id, err)
		}
		if outcome == "decided" {
			return p, Lease{}, fmt.Errorf("start job %q: %w", id, ErrDecided)
		}
		return p, Lease{}, fmt.Errorf("start job %q: %w", id, ErrExpired)
	case "ok":
	default:
		return Pending{}, Lease{}, fmt.Errorf("start job %q: unexpected script outcome %q", id, outcome)
	}
	if len(res) < 2 {
		return Pending{}, Lease{}, fmt.Errorf("start job %q: short script reply", id)
	}
	tok, _ := res[1].(int64)
	p, err := pendingFromFlat(res[2:])
	if err != nil || tok <= 0 {
		return Pending{}, Lease{}, fmt.Errorf("start job %q: bad script reply (token %v): %v", id, res[1], err)
	}
	return p, Lease{Name: JobLease(id), Holder: s.Holder, Token: uint64(tok), Expires: now.Add(s.LeaseTTL)}, nil
}

// RecordJobBatch appends batch and events in one script fenced by l.
func (r *Redis) RecordJobBatch(ctx context.Context, l Lease, jobID string, batch []byte, events []Event) error {
	vals, err := checkJobWrite(l, jobID, "job batch", batch, events)
	if err != nil {
		return fmt.Errorf("record job %q batch: %w", jobID, err)
	}
	args := appendArgs([]any{leaseVal(l), batch, r.o.auditLimit}, vals)
	keys := []string{r.kLease + l.Name, r.kJob + jobID, r.kJobBatch + jobID, r.kAudit}
	out, err := recordScript.Run(ctx, r.c, keys, args...).Text()
	if err != nil {
		return fmt.Errorf("record job %q batch on redis %s: %w", jobID, r.addr, err)
	}
	if err := fencedOutcome(out); err != nil {
		return fmt.Errorf("record job %q batch: %w", jobID, err)
	}
	return nil
}

// FinishJob closes the job, appends events and releases l in one script.
func (r *Redis) FinishJob(ctx context.Context, l Lease, jobID string, now time.Time, result []byte, events []Event) error {
	if err := checkTime("finish time", now); err != nil {
		return fmt.Errorf("finish job %q: %w", jobID, err)
	}
	vals, err := checkJobWrite(l, jobID, "job result", result, events)
	if err != nil {
		return fmt.Errorf("finish job %q: %w", jobID, err)
	}
	args := appendArgs([]any{leaseVal(l), now.Format(time.RFC3339Nano), result, timeKey(r.o.dropTime(now)), jobID, r.o.auditLimit}, vals)
	keys := []string{r.kLease + l.Name, r.kJob + jobID, r.kJobsOpen, r.kJobsRetire, r.kAudit}
	out, err := finishScript.Run(ctx, r.c, keys, args...).Text()
	if err != nil {
		return fmt.Errorf("finish job %q on redis %s: %w", jobID, r.addr, err)
	}
	if err := fencedOutcome(out); err != nil {
		return fmt.Errorf("finish job %q: %w", jobID, err)
	}
	return nil
}

func fencedOutcome(out string) error {
	switch out {
	case "ok":
		return nil
	case "lost":
		return ErrLeaseLost
	case "notfound":
		return ErrNotFound
	case "finished":
		return ErrJobFinished
	}
	return fmt.Errorf("unexpected script outcome %q", out)
}

// GetJob reads the job, its journal and its lease in one MULTI, so they
// agree with each other.
func (r *Redis) GetJob(ctx context.Context, id string) (Job, [][]byte, error) {
	if !validID(id) {
		return Job{}, nil, fmt.Errorf("get job %q: %w", id, ErrNotFound)
	}
	var (
		hash    *redis.MapStringStringCmd
		batches *redis.StringSliceCmd
		lease   *redis.StringCmd
	)
	_, err := r.c.TxPipelined(ctx, func(p redis.Pipeliner) error {
		hash = p.HGetAll(ctx, r.kJob+id)
		batches = p.LRange(ctx, r.kJobBatch+id, 0, -1)
		lease = p.Get(ctx, r.kLease+JobLease(id))
		return nil
	})
	if err = firstErr(err, hash, batches, lease); err != nil {
		return Job{}, nil, fmt.Errorf("get job %q on redis %s: %w", id, r.addr, err)
	}
	if len(hash.Val()) == 0 {
		return Job{}, nil, fmt.Errorf("get job %q: %w", id, ErrNotFound)
	}
	j := jobFromHash(id, hash.Val(), int64(len(batches.Val())), lease.Val())
	out := make([][]byte, len(batches.Val()))
	for i, b := range batches.Val() {
		out[i] = []byte(b)
	}
	return j, out, nil
}

// ListJobs walks the index newest first and reads the jobs in one MULTI;
// a job dropped meanwhile is left out.
func (r *Redis) ListJobs(ctx context.Context, unfinishedOnly bool, limit int) ([]Job, error) {
	if limit < 0 {
		return nil, fmt.Errorf("list jobs: limit %d is negative", limit)
	}
	if limit == 0 {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("list jobs: %w", err)
		}
		return []Job{}, nil
	}
	index := r.kJobs
	if unfinishedOnly {
		index = r.kJobsOpen
	}
	members, err := r.c.ZRevRangeByLex(ctx, index, &redis.ZRangeBy{Min: "-", Max: "+", Count: int64(limit)}).Result()
	if err != nil {
		return nil, fmt.Errorf("list jobs on redis %s: %w", r.addr, err)
	}
	type read struct {
		hash   *redis.MapStringStringCmd
		n      *redis.IntCmd
		holder *redis.StringCmd
	}
	ids := make([]string, 0, len(members))
	for _, m := range members {
		if id, ok := memberID(m); ok {
			ids = append(ids, id)
		}
	}
	reads := make([]read, len(ids))
	_, err = r.c.TxPipelined(ctx, func(p redis.Pipeliner) error {
		for i, id := range ids {
			reads[i] = read{p.HGetAll(ctx, r.kJob+id), p.LLen(ctx, r.kJobBatch+id), p.Get(ctx, r.kLease+JobLease(id))}
		}
		return nil
	})
	for _, rd := range reads {
		err = firstErr(err, rd.hash, rd.n, rd.holder)
	}
	if err != nil {
		return nil, fmt.Errorf("list jobs on redis %s: %w", r.addr, err)
	}
	jobs := make([]Job, 0, len(ids))
	for i, rd := range reads {
		if len(rd.hash.Val()) == 0 {
			continue
		}
		jobs = append(jobs, jobFromHash(ids[i], rd.hash.Val(), rd.n.Val(), rd.holder.Val()))
	}
	return jobs, nil
}

// jobFromHash reads job id's hash. A record that does not decode (written
// by something else than this store) comes back as its id alone, without
// Data, so the caller's seal check refuses that job instead of one bad
// record failing every listing and with it the resume loop.
func jobFromHash(id string, fields map[string]string, batches int64, lease string) Job {
	j, err := decodeJob([]byte(fields["rec"]))
	if err != nil || j.ID != id {
		j = Job{ID: id}
	}
	if fin := fields["fin"]; fin != "" {
		if at, err := time.Parse(time.RFC3339Nano, fin); err == nil {
			j.FinishedAt, j.Result = at, []byte(fields["res"])
		}
	}
	j.Batches = int(batches)
	if _, holder, ok := strings.Cut(lease, ":"); ok {
		j.Holder = holder
	}
	return j
}

// memberID returns the id in an index member "<timeKey>:<id>".
func memberID(m string) (string, bool) {
	if len(m) <= timeKeyLen+1 || m[timeKeyLen] != ':' {
		return "", false
	}
	return m[timeKeyLen+1:], true
}

// pruneJobs drops finished jobs past their retention, a batch per script.
func (r *Redis) pruneJobs(ctx context.Context, now time.Time) error {
	for {
		n, err := pruneJobsScript.Run(ctx, r.c, []string{r.kJobsRetire, r.kJobs},
			r.kJob, r.kJobBatch, r.kLease+JobLease(""), timeKey(now), pruneBatch).Int()
		if err != nil {
			return fmt.Errorf("prune jobs on redis %s: %w", r.addr, err)
		}
		if n < pruneBatch {
			return nil
		}
	}
}

// appendArgs adds encoded values to script arguments.
func appendArgs(args []any, vals [][]byte) []any {
	for _, v := range vals {
		args = append(args, v)
	}
	return args
}

// firstErr returns the error of a MULTI that matters: a missing key
// (redis.Nil, from GET) is an answer, not a failure.
func firstErr(err error, cmds ...redis.Cmder) error {
	for _, c := range cmds {
		if e := c.Err(); e != nil && !errors.Is(e, redis.Nil) {
			return e
		}
	}
	if errors.Is(err, redis.Nil) {
		return nil
	}
	return err
}
