package commands

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/qlikbot/qlikbot/bot"
	"github.com/qlikbot/qlikbot/qlik"
)

// Approved work is a durable job (store.StartJob ... store.FinishJob):
// the approval's claim, the job and the approve audit row are one store
// write made before the first DELETE; each batch of outcomes is one write
// (the batch plus one audit row per target) fenced by the job's lease;
// the result closes it. A job interrupted by a crash, a rollout or a lost
// store is resumed by ResumeJobs on whichever process takes its lease,
// which deletes only the targets no batch records.
//
// What the engine writes is sealed (store/seal) under the same key as the
// approvals, each kind bound to the job id: the job (what to do, who
// approved, where to report), every batch and the result. Everything read
// back is verified: a job that does not verify is refused and audited as
// tampering; a batch that does not verify is audited and disregarded, so
// its targets are deleted again (they are approved ones: at worst a
// second DELETE, reported "already gone").

// Seal kinds of the job's records.
const (
	jobKind       = "job"
	jobBatchKind  = "job-batch"
	jobResultKind = "job-result"
)

// Job timing. A holder renews its lease every DefaultJobLease/3; a lease
// not renewed lapses after DefaultJobLease, and every process looks for
// lapsed jobs every ResumeEvery, so a job resumes within DefaultJobLease +
// ResumeEvery (25 s) of its holder dying.
const (
	DefaultJobLease = 15 * time.Second
	ResumeEvery     = 10 * time.Second
	// jobBatch is how many targets one batch deletes and records; two
	// batches are in flight at once, so the Qlik client never idles
	// between them while one is being recorded.
	jobBatch  = 50
	jobWindow = 2
	// resumeScan bounds the unfinished jobs one ResumeJobs looks at.
	resumeScan = 100
)

// WithJobLease sets how long a job's lease lasts unless renewed (default
// DefaultJobLease); the holder renews it every third of that.
func WithJobLease(ttl time.Duration) Option {
	return func(o *options) error {
		if ttl < 300*time.Millisecond {
			return fmt.Errorf("job lease %v: want at least 300ms", ttl)
		}
		o.leaseTTL = ttl
		return nil
	}
}

// resumeWithin is how soon a job nobody runs is resumed by itself: its
// lease lapses, then the next ResumeJobs scan takes it.
func (e *Engine) resumeWithin() time.Duration { return e.leaseTTL + ResumeEvery }

// jobRecord is a job as sealed in the store.
type jobRecord struct {
	Action   action   `json:"action"`
	Approver approver `json:"approver"`
	// Origin is where the outcome goes when no request waits for it: the
	// approve click's Request.Origin, whose Message is the approval
	// message.
	Origin   bot.Destination `json:"origin"`
	Approved time.Time       `json:"approved"`
}

// approver is who approved the job: the subject of its audit rows.
type approver struct {
	Subject   string `json:"subject"`
	Name      string `json:"name,omitempty"`
	Platform  string `json:"platform"`
	Channel   string `json:"channel,omitempty"`
	RequestID string `json:"requestId"`
}

// jobBatchRecord is the outcomes of one batch: Action.Targets[Index[k]]
// ended with Outcomes[k] ("deleted", "already gone", "failed: ...").
type jobBatchRecord struct {
	Index    []int    `json:"i"`
	Outcomes []string `json:"o"`
}

// jobResult is a finished job's result.
type jobResult struct {
	Deleted int  `json:"deleted"`
	Gone    int  `json:"gone"`
	Failed  int  `json:"failed"`
	Resumed bool `json:"resumed,omitempty"`
	// Refused says why the job was closed without doing (the rest of) it.
	Refused string `json:"refused,omitempty"`
}

func (e *Engine) sealJob(id string, rec jobRecord) ([]byte, error) {
	data, err := json.Marshal(rec)
	if err != nil {
		return nil, fmt.Errorf("encode job: %w", err)
	}
	return e.sealer.Seal(jobKind, id, data), nil
}

// openJob verifies and decodes a stored job; its site and targets are
// checked as if typed, as for an approval (checkAction). Errors wrap errUnverified.
func (e *Engine) openJob(id string, sealed []byte) (jobRecord, error) {
	payload, err := e.sealer.Open(jobKind, id, sealed)
	if err != nil {
		return jobRecord{}, fmt.Errorf("%w: job: %w", errUnverified, err)
	}
	var rec jobRecord
	if err := json.Unmarshal(payload, &rec); err != nil {
		return jobRecord{}, fmt.Errorf("%w: decode job: %w", errUnverified, err)
	}
	if err := checkAction(rec.Action); err != nil {
		return jobRecord{}, fmt.Errorf("%w: job: %w", errUnverified, err)
	}
	if rec.Approver.Subject == "" || len(rec.Action.Targets) == 0 {
		return jobRecord{}, fmt.Errorf("%w: job without an approver or targets", errUnverified)
	}
	return rec, nil
}

func (e *Engine) sealBatch(id string, b jobBatchRecord) []byte {
	data, _ := json.Marshal(b) // ints and strings always encode
	return e.sealer.Seal(jobBatchKind, id, data)
}

// openBatch verifies one stored batch of job id with n targets.
func (e *Engine) openBatch(id string, n int, sealed []byte) (jobBatchRecord, error) {
	payload, err := e.sealer.Open(jobBatchKind, id, sealed)
	if err != nil {
		return jobBatchRecord{}, fmt.Errorf("%w: job batch: %w", errUnverified, err)
	}
	var b jobBatchRecord
	if err := json.Unmarshal(payload, &b); err != nil {
		return jobBatchRecord{}, fmt.Errorf("%w: decode job batch: %w", errUnverified, err)
	}
	if len(b.Index) != len(b.Outcomes) || len(b.Index) == 0 {
		return jobBatchRecord{}, fmt.Errorf("%w: job batch of %d targets and %d outcomes", errUnverified, len(b.Index), len(b.Outcomes))
	}
	for k, i := range b.Index {
		if i < 0 || i >= n || !validOutcome(b.Outcomes[k]) {
			return jobBatchRecord{}, fmt.Errorf("%w: job batch names target %d of %d with outcome %q", errUnverified, i, n, clip(b.Outcomes[k]))
		}
	}
	return b, nil
}

func (e *Engine) sealResult(id string, r jobResult) []byte {
	data, _ := json.Marshal(r) // ints, a bool and a string always encode
	return e.sealer.Seal(jobResultKind, id, data)
}

// openResult verifies a finished job's result.
func (e *Engine) openResult(id string, sealed []byte) (jobResult, error) {
	payload, err := e.sealer.Open(jobResultKind, id, sealed)
	if err != nil {
		return jobResult{}, fmt.Errorf("%w: job result: %w", errUnverified, err)
	}
	var r jobResult
	if err := json.Unmarshal(payload, &r); err != nil {
		return jobResult{}, fmt.Errorf("%w: decode job result: %w", errUnverified, err)
	}
	return r, nil
}

func validOutcome(o string) bool {
	return o == qlik.Deleted.String() || o == qlik.AlreadyGone.String() || strings.HasPrefix(o, "failed")
}

// outcomeText is what the journal, the table and the audit trail say of
// one delete.
func outcomeText(o qlik.Outcome, ok bool) string {
	switch {
	case !ok:
		return "failed: no outcome"
	case o.Status == qlik.Deleted || o.Status == qlik.AlreadyGone:
		return o.Status.String()
	case o.Err != nil:
		return "failed: " + qlikReason(o.Err, false)
	default:
		return "failed"
	}
}

// counts tallies outcome texts.
func counts(outs []string) tally {
	var t tally
	for _, o := range outs {
		switch {
		case o == "":
		case o == qlik.Deleted.String():
			t.deleted++
		case o == qlik.AlreadyGone.String():
			t.gone++
		default:
			t.failed++
		}
	}
	return t
}

// newHolder names this process in job leases: host, pid and a random
// part, so that a restarted process (same host, perhaps the same pid in a
// container) is never taken for its predecessor.
func newHolder() string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "qlikbot"
	}
	if len(host) > 64 {
		host = host[:64]
	}
	return host + "/" + strconv.Itoa(os.Getpid()) + "/" + newID(4)
}

// errJobStopped: the job stopped between batches because qlikbot stops
// taking work (SIGTERM); it continues on the next start or elsewhere.
var errJobStopped = errors.New("job stopped: qlikbot is shutting down")

// errLeaseLost: this process may no longer write the job (its lease
// lapsed or was taken over); it stops at once.
var errLeaseLost = errors.New("job lease lost")
