package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Limits on caller-supplied keys: both backends store them as keys, and a
// runaway id is a bug upstream, not something to persist.
const (
	maxIDLen  = 512
	maxKeyLen = 1024
)

// UnixNano is only defined between these years; times outside cannot be
// ordered correctly, so they are refused.
var (
	minTime = time.Date(1678, 1, 1, 0, 0, 0, 0, time.UTC)
	maxTime = time.Date(2262, 1, 1, 0, 0, 0, 0, time.UTC)
)

// pendingRecord is the stored form of Pending. Converting between the two
// (pendingRecord(p)) stops compiling if Pending gains a field, so the stored
// form cannot silently drop one.
type pendingRecord struct {
	ID        string    `json:"id"`
	CreatedAt time.Time `json:"created_at"`
	ExpiresAt time.Time `json:"expires_at"`
	State     State     `json:"state"`
	DecidedBy string    `json:"decided_by,omitempty"`
	DecidedAt time.Time `json:"decided_at"`
	Data      []byte    `json:"data,omitempty"`
}

// eventRecord is the stored (JSON) form of Event; see pendingRecord.
type eventRecord struct {
	Time      time.Time `json:"time"`
	RequestID string    `json:"request_id,omitempty"`
	Platform  string    `json:"platform,omitempty"`
	Subject   string    `json:"subject,omitempty"`
	UserName  string    `json:"user_name,omitempty"`
	Channel   string    `json:"channel,omitempty"`
	Action    string    `json:"action,omitempty"`
	Command   string    `json:"command,omitempty"`
	Decision  string    `json:"decision,omitempty"`
	Reason    string    `json:"reason,omitempty"`
	Target    string    `json:"target,omitempty"`
	Outcome   string    `json:"outcome,omitempty"`
	Pending   string    `json:"pending,omitempty"`
	Site      string    `json:"site,omitempty"`
}

func encodePending(p Pending) ([]byte, error) {
	b, err := json.Marshal(pendingRecord(p))
	if err != nil {
		return nil, fmt.Errorf("encode pending %s: %w", p.ID, err)
	}
	return b, nil
}

func decodePending(b []byte) (Pending, error) {
	var r pendingRecord
	if err := json.Unmarshal(b, &r); err != nil {
		return Pending{}, fmt.Errorf("decode pending: %w", err)
	}
	return Pending(r), nil
}

func encodeEvent(e Event) ([]byte, error) {
	b, err := json.Marshal(eventRecord(e))
	if err != nil {
		return nil, fmt.Errorf("encode audit event: %w", err)
	}
	return b, nil
}

func decodeEvent(b []byte) (Event, error) {
	var r eventRecord
	if err := json.Unmarshal(b, &r); err != nil {
		return Event{}, fmt.Errorf("decode audit event: %w", err)
	}
	return Event(r), nil
}

// timeKey renders t as a fixed-width decimal string whose byte order is time
// order (the sign bit of UnixNano is flipped so earlier times sort first).
// Bolt uses it in index keys, Redis in a lexicographically sorted set and in
// Lua string comparisons, where numbers would lose nanoseconds.
func timeKey(t time.Time) string {
	return fmt.Sprintf("%020d", uint64(t.UnixNano())^(1<<63))
}

// timeKeyLen is len(timeKey(t)) for every t.
const timeKeyLen = 20

func checkTime(what string, t time.Time) error {
	if t.IsZero() {
		return fmt.Errorf("%s is not set", what)
	}
	if t.Before(minTime) || !t.Before(maxTime) {
		return fmt.Errorf("%s %s is out of range", what, t.Format(time.RFC3339))
	}
	return nil
}

// checkNewPending validates what CreatePending is given and returns the
// record to save: State pending, no decision.
func checkNewPending(p Pending) (Pending, error) {
	switch {
	case p.ID == "":
		return Pending{}, errors.New("empty id")
	case len(p.ID) > maxIDLen:
		return Pending{}, fmt.Errorf("id of %d bytes is longer than %d", len(p.ID), maxIDLen)
	}
	if err := checkTime("expiry time", p.ExpiresAt); err != nil {
		return Pending{}, err
	}
	p.State = StatePending
	p.DecidedBy = ""
	p.DecidedAt = time.Time{}
	return p, nil
}

func checkClaim(decision State, by string, now time.Time) error {
	if decision != StateApproved && decision != StateRejected {
		return fmt.Errorf("decision %q: want %q or %q", decision, StateApproved, StateRejected)
	}
	if by == "" {
		return errors.New("empty decider")
	}
	return checkTime("claim time", now)
}

func checkSeen(key string, ttl time.Duration) error {
	switch {
	case key == "":
		return errors.New("empty replay key")
	case len(key) > maxKeyLen:
		return fmt.Errorf("replay key of %d bytes is longer than %d", len(key), maxKeyLen)
	case ttl <= 0:
		return fmt.Errorf("replay ttl %s: must be positive", ttl)
	}
	return nil
}

// validID reports whether id can name a stored action; anything else is
// simply not found.
func validID(id string) bool { return id != "" && len(id) <= maxIDLen }

// Limits on leases: a holder names a process, a lease name is at most a
// prefix plus an id.
const (
	maxHolderLen    = 256
	maxLeaseNameLen = maxIDLen + 64
)

func checkLeaseArgs(name, holder string, ttl time.Duration) error {
	switch {
	case name == "" || len(name) > maxLeaseNameLen:
		return fmt.Errorf("lease name of %d bytes: must be 1 to %d bytes", len(name), maxLeaseNameLen)
	case holder == "" || len(holder) > maxHolderLen:
		return fmt.Errorf("lease holder of %d bytes: must be 1 to %d bytes", len(holder), maxHolderLen)
	case ttl <= 0:
		return fmt.Errorf("lease ttl %s: must be positive", ttl)
	}
	return nil
}

// checkLease validates a lease a caller hands back; a zero token was never
// issued.
func checkLease(l Lease) error {
	if l.Token == 0 {
		return errors.New("lease without a token")
	}
	return checkLeaseArgs(l.Name, l.Holder, time.Second)
}

// checkWatchLease validates l as the watcher's lease (WatchLease): a job's
// lease does not fence the watcher's writes.
func checkWatchLease(l Lease) error {
	if err := checkLease(l); err != nil {
		return err
	}
	if l.Name != WatchLease {
		return fmt.Errorf("lease %q is not the watcher's (%q)", l.Name, WatchLease)
	}
	return nil
}

// checkJobLease validates l as the lease of job id.
func checkJobLease(l Lease, id string) error {
	if !validID(id) {
		return fmt.Errorf("job id of %d bytes: must be 1 to %d bytes", len(id), maxIDLen)
	}
	if err := checkLease(l); err != nil {
		return err
	}
	if l.Name != JobLease(id) {
		return fmt.Errorf("lease %q does not guard job %q", l.Name, id)
	}
	return nil
}

// checkRecord bounds caller-supplied opaque bytes (job data, batches,
// results) like a blob.
func checkRecord(what string, b []byte) error {
	if len(b) > MaxBlobSize {
		return fmt.Errorf("%s of %d bytes is larger than the %d byte limit", what, len(b), MaxBlobSize)
	}
	return nil
}

// checkJobWrite validates a write fenced by l to job id carrying data (a
// batch or a result) and returns the events encoded.
func checkJobWrite(l Lease, id, what string, data []byte, events []Event) ([][]byte, error) {
	if err := checkJobLease(l, id); err != nil {
		return nil, err
	}
	if err := checkRecord(what, data); err != nil {
		return nil, err
	}
	return encodeEvents(events)
}

// checkJobStart validates s and returns the job record and events to
// store.
func checkJobStart(s JobStart) (rec []byte, events [][]byte, err error) {
	if err := checkClaim(StateApproved, s.By, s.Now); err != nil {
		return nil, nil, err
	}
	if !validID(s.PendingID) {
		return nil, nil, fmt.Errorf("approval id of %d bytes: must be 1 to %d bytes", len(s.PendingID), maxIDLen)
	}
	if err := checkLeaseArgs(JobLease(s.PendingID), s.Holder, s.LeaseTTL); err != nil {
		return nil, nil, err
	}
	if err := checkRecord("job data", s.Data); err != nil {
		return nil, nil, err
	}
	if rec, err = encodeJob(Job{ID: s.PendingID, CreatedAt: s.Now, Data: s.Data}); err != nil {
		return nil, nil, err
	}
	events, err = encodeEvents(s.Events)
	return rec, events, err
}

// jobRecord is the stored (JSON) form of a job's fixed part; Batches and
// Holder are derived, FinishedAt and Result are added by FinishJob.
type jobRecord struct {
	ID         string    `json:"id"`
	CreatedAt  time.Time `json:"created_at"`
	FinishedAt time.Time `json:"finished_at"`
	Data       []byte    `json:"data,omitempty"`
	Result     []byte    `json:"result,omitempty"`
}

func encodeJob(j Job) ([]byte, error) {
	b, err := json.Marshal(jobRecord{ID: j.ID, CreatedAt: j.CreatedAt, FinishedAt: j.FinishedAt, Data: j.Data, Result: j.Result})
	if err != nil {
		return nil, fmt.Errorf("encode job %s: %w", j.ID, err)
	}
	return b, nil
}

func decodeJob(b []byte) (Job, error) {
	var r jobRecord
	if err := json.Unmarshal(b, &r); err != nil {
		return Job{}, fmt.Errorf("decode job: %w", err)
	}
	return Job{ID: r.ID, CreatedAt: r.CreatedAt, FinishedAt: r.FinishedAt, Data: r.Data, Result: r.Result}, nil
}

// encodeEvents encodes events for one write.
func encodeEvents(events []Event) ([][]byte, error) {
	out := make([][]byte, 0, len(events))
	for _, e := range events {
		b, err := encodeEvent(e)
		if err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	return out, nil
}

// ttlMS renders d as whole milliseconds for PX / PEXPIRE, rounded up so a
// tiny duration still counts.
func ttlMS(d time.Duration) int64 {
	ms := d.Milliseconds()
	if time.Duration(ms)*time.Millisecond < d {
		ms++
	}
	return max(ms, 1)
}
