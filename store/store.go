// Package store keeps what must survive a restart or be shared by
// replicas: pending approvals, durable jobs and their leases, the audit
// trail, replay guards, short-lived blobs, and the watcher's sample
// history, alert state, subscriptions and silences. Bolt is the embedded
// default (one file, one process); Redis lets several replicas share
// state. Both satisfy the same test suite (storetest), run against a real
// redis-server.
//
// # Durable jobs
//
// An approved action is a job, journaled so that it finishes across a crash
// or a rollout. The life of one:
//
//  1. StartJob claims the approval (exactly once, like Claim), creates the
//     job (ID = the approval's id, Data = what to do, sealed by the caller),
//     takes the job's lease JobLease(id) for the caller and appends the
//     approval's audit events: one atomic step, so an approval is never
//     consumed without a job to carry it out.
//  2. The holder works in batches: RecordJobBatch appends one batch of
//     outcomes and its audit events in one store write, fenced by the lease
//     token (a holder whose lease was lost or taken over is refused with
//     ErrLeaseLost and must stop). RenewLease well before Lease.Expires.
//  3. FinishJob records the result, appends the closing audit events and
//     releases the lease, in one step. Finished jobs are kept for the
//     retention (WithRetention) and then dropped by ExpireDue.
//  4. Resume: a loop on every process lists ListJobs(ctx, true, n) and tries
//     AcquireLease(JobLease(id), ...) on each; ErrLeaseHeld means someone
//     (perhaps itself) runs it. GetJob returns the journal so far; the new
//     holder redoes only what no batch records.
//
// Lease time: Bolt uses the store's clock (WithClock), and OpenBolt clears
// leases a previous process left (the file lock proves it is gone), so a
// restarted process resumes at once; the Lease.Expires it returns is on
// the wall clock (time.Until works), whatever it did since the store
// opened. Redis keeps leases with a server-side
// expiry (SET PX), so replicas' clocks need not agree; Lease.Expires is then
// the holder's conservative local estimate.
//
// # Sample history
//
// The watcher samples every site each interval and appends one Sample per
// site: a value per series (SeriesKey: metric, virtual proxy, node), at one
// time. AppendSample is fenced by the watcher's lease (WatchLease), like a
// job's batches, and refuses a sample not later than the site's newest
// (ErrSampleOrder), so two watchers never interleave.
//
// Stored form: each sample names its series dictionary (the sorted keys,
// stored once and named by its content hash) and holds one compact value
// per series, about a byte for an idle virtual proxy; see histcodec.go.
// Compact rolls complete 5-minute buckets (AggregateStep) into aggregates
// (min, max, avg, last and the number of samples per series), drops raw
// samples past the raw retention (24 h) and aggregates past the aggregate
// retention (7 days; WithHistoryRetention sets both), and forgets a site
// with nothing left. QueryHistory answers from raw samples within the raw
// retention, else from aggregates.
//
// Size: 100 virtual proxies on 4 nodes (628 series: sessions per proxy and
// node, users and users at the limit per proxy, 7 engine figures per node)
// sampled every 60 s for 7 days take an 8 MB bolt file, or 5.8 MB of Redis
// memory (BenchmarkHistory7d: a raw sample is about 730 bytes, a 5-minute
// aggregate about 2.7 KB). The size grows with the series and, for raw
// samples, with 1/interval: at a 1 s interval a day of raw samples of that
// site would be 60 times larger.
//
// # Alerts, subscriptions and silences
//
// The watcher keeps one Alert per AlertKey (rule, site, group): firing or
// resolved, since when, when it last notified and the messages it posted
// (bot.Destinations, as opaque bytes, so an alert is updated in place).
// Only the watcher writes alerts, and every write is fenced by its lease
// and a compare-and-set on Alert.Version: a stale watcher or a second
// replica gets ErrLeaseLost or ErrConflict and posts nothing. Alert
// documents the order of writes that notifies exactly once.
//
// Subscriptions (a channel that asked for alerts, with the destination to
// post to) and silences (a matcher and an end, or until resolved) are
// written by commands on any replica; each is one record replaced whole.
// The store does not audit them: the caller appends its audit events.
// Counts are bounded (MaxAlerts, MaxSubscriptions, MaxSilences: ErrLimit)
// and Compact drops resolved alerts past the retention and ended silences.
//
// # Redis
//
// Every multi-key change is one Lua script, which Redis runs atomically; the
// scripts derive some keys from the key prefix, so they need a single Redis
// (or, on a cluster, a hash-tagged prefix such as "{qlikbot}:"). URLs:
// redis://[user:password@]host:port/db, rediss:// for TLS, with
// WithTLSCAFile for a private CA. An ACL user needs at least
//
//	user qlikbot on >PASSWORD ~qlikbot:* +@read +@write +@scripting +@transaction +@connection +time
//
// (with the key prefix in the key pattern; the store suite runs under this
// rule and fails without any one of these categories). +time lets the
// store refuse samples dated ahead of the server's clock and cut the
// history by it; without it, it trusts the watcher's clock. Errors and
// logs never show the password.
//
// For nothing acknowledged to be lost when Redis restarts, run it with
// "appendonly yes". With "appendfsync always" that holds even when the
// machine dies; with the default "everysec" Redis writes the file before
// it replies but syncs it once a second, so a crash of Redis alone loses
// nothing in practice and a machine crash up to a second of writes. The restart test SIGKILLs a Redis run with
// "appendfsync always" mid-job.
package store

import (
	"context"
	"errors"
	"time"
)

// Errors callers tell apart with errors.Is.
var (
	ErrNotFound = errors.New("store: not found")
	// ErrDecided: the pending action was already claimed (approved or
	// rejected) by someone else; the returned Pending says by whom.
	ErrDecided = errors.New("store: already decided")
	// ErrExpired: the pending action passed its ExpiresAt before the claim.
	ErrExpired = errors.New("store: expired")
	// ErrLeaseHeld: an unexpired lease of that name exists (whoever holds
	// it, the caller included); the returned Lease says who holds it.
	ErrLeaseHeld = errors.New("store: lease held")
	// ErrLeaseLost: the lease expired, was released or was taken over by a
	// later acquisition; its holder must stop writing.
	ErrLeaseLost = errors.New("store: lease lost")
	// ErrJobFinished: the job was already finished; nothing was written.
	ErrJobFinished = errors.New("store: job finished")
)

// State is where a pending action stands.
type State string

// Pending action states.
const (
	StatePending  State = "pending"
	StateApproved State = "approved"
	StateRejected State = "rejected"
	StateExpired  State = "expired"
)

// Pending is an action waiting for a second person's approval. Data is the
// commands package's snapshot (what will be deleted, who asked, the scope),
// opaque to the store.
type Pending struct {
	ID        string
	CreatedAt time.Time
	ExpiresAt time.Time
	State     State
	DecidedBy string // subject that approved / rejected
	DecidedAt time.Time
	Data      []byte
}

// Event is one line of the audit trail.
type Event struct {
	Time      time.Time
	RequestID string
	Platform  string
	Subject   string // "slack:U123"
	UserName  string
	Channel   string
	// Action: "command", "decision", "request-approval", "approve",
	// "reject", "expire", "delete".
	Action   string
	Command  string // the command text as typed
	Decision string // "allowed" / "denied" / ""
	Reason   string
	Target   string // e.g. "finance@pro2-win1.lab/2734806e" or "LAB\\testuser_1"
	Outcome  string // "deleted", "already gone", "failed: ..."
	Pending  string // pending action id, when related to one
	Site     string // the Qlik Sense site(s) concerned: "prod", or "prod,test" for a list of several; "" for none
}

// Lease says who runs a piece of background work. Token is the fencing
// token: every acquisition of any lease gets a larger one than all before
// it, so a write carrying an older token can be refused.
type Lease struct {
	Name    string
	Holder  string // names one process: unique per process start
	Token   uint64 // zero in the Lease returned with ErrLeaseHeld
	Expires time.Time
}

// JobLease is the name of the lease that guards job id.
func JobLease(id string) string { return "job:" + id }

// Job is the journal of one approved action. Data and Result are opaque
// (the commands package seals them); the outcome batches are read with
// GetJob. A stored record the store cannot decode is returned as its ID
// alone (no Data), so the caller's seal check refuses that one job rather
// than the whole listing failing.
type Job struct {
	ID         string // the approval's id
	CreatedAt  time.Time
	FinishedAt time.Time // zero while unfinished
	Data       []byte    // what to do and where to report
	Result     []byte    // set by FinishJob
	Batches    int       // outcome batches recorded so far
	// Holder holds the job's unexpired lease: "" when nobody runs it (an
	// interrupted or finished job). Filled by GetJob and ListJobs.
	Holder string
}

// Finished reports whether FinishJob was called.
func (j Job) Finished() bool { return !j.FinishedAt.IsZero() }

// JobStart is what StartJob needs.
type JobStart struct {
	PendingID string        // the approval to claim; becomes the job id
	By        string        // the approver's subject
	Now       time.Time     // claim time and the job's CreatedAt
	Data      []byte        // the job (sealed by the caller)
	Holder    string        // takes the job's lease
	LeaseTTL  time.Duration // how long the lease lasts unless renewed
	Events    []Event       // audit rows written with the claim
}

// Store is what both backends provide. Open returns one; callers declare
// their own narrower interfaces. Implementations are safe for concurrent use.
type Store interface {
	// CreatePending saves p with State pending. An existing id is an error.
	CreatePending(ctx context.Context, p Pending) error
	// GetPending returns the action in whatever state it is; ErrNotFound
	// when unknown.
	GetPending(ctx context.Context, id string) (Pending, error)
	// Claim atomically moves a pending action to decision (StateApproved or
	// StateRejected), recording by and now. Exactly one of any number of
	// concurrent callers (across replicas, for Redis) succeeds; the others
	// get ErrDecided with the decided Pending. Past ExpiresAt it moves the
	// action to StateExpired and returns ErrExpired; unknown id ErrNotFound.
	Claim(ctx context.Context, id string, decision State, by string, now time.Time) (Pending, error)
	// ExpireDue moves every pending action whose ExpiresAt is before now to
	// StateExpired and appends auditFor(p) (when auditFor is not nil) for
	// each in the same write, so no expiry is ever recorded without its
	// audit event or audited without happening; it returns them. auditFor
	// must not call the store. A failure midway leaves the rest pending for
	// the next sweep; what is returned with an error was expired and
	// audited. It also drops decided actions, finished jobs and blobs past
	// their retention, and, at most once per AggregateStep, compacts
	// (Compact at now; a failure is logged): so history, resolved alerts
	// and ended silences are pruned even with no watcher running.
	ExpireDue(ctx context.Context, now time.Time, auditFor func(Pending) Event) ([]Pending, error)
	// AppendAudit adds events, oldest first, to the audit trail in one
	// write: all of them or none.
	AppendAudit(ctx context.Context, events ...Event) error
	// RecentAudit returns up to n events, newest first.
	RecentAudit(ctx context.Context, n int) ([]Event, error)
	// SeenBefore is a replay guard: it records key for ttl and reports
	// whether it was already recorded (true = a replay). The record is
	// durable before it returns, so a replay is caught across a restart.
	SeenBefore(ctx context.Context, key string, ttl time.Duration) (bool, error)

	// AcquireLease takes the lease name for holder until ttl from now, with
	// a new fencing token; ErrLeaseHeld (and the current holder) when an
	// unexpired lease of that name exists.
	AcquireLease(ctx context.Context, name, holder string, ttl time.Duration) (Lease, error)
	// RenewLease extends l to ttl from now; ErrLeaseLost unless l's token
	// is still current and unexpired.
	RenewLease(ctx context.Context, l Lease, ttl time.Duration) (Lease, error)
	// ReleaseLease ends l, so another holder may take it at once;
	// ErrLeaseLost when l was no longer current (nothing is changed).
	ReleaseLease(ctx context.Context, l Lease) error

	// StartJob, in one atomic step, claims the approval s.PendingID as
	// approved by s.By (exactly once, as Claim), creates its job, takes the
	// job's lease for s.Holder and appends s.Events. On ErrDecided,
	// ErrNotFound or ErrExpired nothing is written; an expired approval is
	// left to ExpireDue, which expires and audits it in one step.
	StartJob(ctx context.Context, s JobStart) (Pending, Lease, error)
	// RecordJobBatch appends one batch of outcomes to the job's journal and
	// events to the audit trail, in one write, only while l (the lease
	// JobLease(jobID)) is current: ErrLeaseLost otherwise, ErrJobFinished
	// after FinishJob. A batch equal (byte for byte) to the last one
	// recorded is the retry of a write whose answer was lost: nothing is
	// written and nil returned, so a retry never records (or audits) a
	// batch twice.
	RecordJobBatch(ctx context.Context, l Lease, jobID string, batch []byte, events []Event) error
	// FinishJob records result and now as the job's end, appends events
	// and releases l, in one write fenced like RecordJobBatch.
	FinishJob(ctx context.Context, l Lease, jobID string, now time.Time, result []byte, events []Event) error
	// GetJob returns the job and its batches in the order recorded;
	// ErrNotFound when unknown or dropped.
	GetJob(ctx context.Context, id string) (Job, [][]byte, error)
	// ListJobs returns up to limit jobs, newest first; only unfinished ones
	// when unfinishedOnly.
	ListJobs(ctx context.Context, unfinishedOnly bool, limit int) ([]Job, error)

	// PutBlob keeps data (at most MaxBlobSize bytes) under key for ttl,
	// replacing what was there; key is validated like an action id.
	PutBlob(ctx context.Context, key string, data []byte, ttl time.Duration) error
	// GetBlob returns what PutBlob stored; ErrNotFound when absent or
	// expired.
	GetBlob(ctx context.Context, key string) ([]byte, error)
	// Ping checks the backend is reachable (for /readyz).
	Ping(ctx context.Context) error
	Close() error

	// AppendSample adds one sample to its site's raw history, fenced by l
	// (the watcher's lease, WatchLease): ErrLeaseLost unless l is the
	// current lease of its name. s.Time must be later than the site's
	// newest sample and not inside a bucket already rolled up
	// (ErrSampleOrder otherwise); nothing is written on any error.
	AppendSample(ctx context.Context, l Lease, s Sample) error
	// QueryHistory returns the series q selects in [q.From, q.To): raw
	// samples when the range lies within the raw retention (counted back
	// from the site's newest sample) and q.Aggregate is not set, else the
	// 5-minute aggregates of the buckets overlapping the range (buckets not
	// yet rolled up are rolled up for the answer). An unknown site has an
	// empty history.
	QueryHistory(ctx context.Context, q HistoryQuery) (History, error)
	// Compact rolls every complete 5-minute bucket of raw samples into an
	// aggregate, drops raw samples older than the raw retention before now
	// (rolling up first those that were not) and aggregates older than the
	// aggregate retention, and forgets a site once nothing of it is left. It also drops alerts resolved longer than the retention
	// (WithRetention) before now and silences that ended before now. The
	// watcher calls it every few minutes; any replica may, and concurrent
	// calls are safe.
	Compact(ctx context.Context, now time.Time) error

	// GetAlert returns the alert k; ErrNotFound when none is kept.
	GetAlert(ctx context.Context, k AlertKey) (Alert, error)
	// ListAlerts returns every alert kept (firing, and resolved within the
	// retention), ordered by rule, site and group. Records that do not
	// decode are left out.
	ListAlerts(ctx context.Context) ([]Alert, error)
	// PutAlert writes a if the stored alert is still at a.Version (0: none
	// stored) and l is the current lease of its name, and returns a at its
	// new Version. Otherwise nothing is written: ErrLeaseLost, or
	// ErrConflict with the stored alert (zero Version when there is none).
	// At most MaxAlerts are kept.
	PutAlert(ctx context.Context, l Lease, a Alert) (Alert, error)

	// PutSubscription saves s, replacing the subscription of its platform
	// and channel. At most MaxSubscriptions are kept.
	PutSubscription(ctx context.Context, s Subscription) error
	// DeleteSubscription removes the subscription of a channel and returns
	// it; ErrNotFound when there is none.
	DeleteSubscription(ctx context.Context, platform, channel string) (Subscription, error)
	// ListSubscriptions returns every subscription, by platform and channel.
	ListSubscriptions(ctx context.Context) ([]Subscription, error)

	// PutSilence saves s, replacing a silence with the same ID. At most
	// MaxSilences are kept.
	PutSilence(ctx context.Context, s Silence) error
	// EndSilence removes silence id and returns it; ErrNotFound when
	// there is none.
	EndSilence(ctx context.Context, id string) (Silence, error)
	// ListSilences returns the silences active at now, oldest first.
	ListSilences(ctx context.Context, now time.Time) ([]Silence, error)
}
