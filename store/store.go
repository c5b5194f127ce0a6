// Package store keeps what must survive a restart or be shared by
// replicas: pending approvals, the audit trail and replay guards. Bolt is
// the embedded default (one file); Redis lets several replicas share state.
// Both satisfy the same test suite (storetest).
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
	Target   string // e.g. "finance@pro2-win1.lab/2734806e-..." or "LAB\\testuser_1"
	Outcome  string // "deleted", "already gone", "failed: ..."
	Pending  string // pending action id, when related to one
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
	// StateExpired and returns them, so the caller can record the expiry.
	ExpireDue(ctx context.Context, now time.Time) ([]Pending, error)
	// AppendAudit adds one event to the audit trail.
	AppendAudit(ctx context.Context, e Event) error
	// RecentAudit returns up to n events, newest first.
	RecentAudit(ctx context.Context, n int) ([]Event, error)
	// SeenBefore is a replay guard: it records key for ttl and reports
	// whether it was already recorded (true = a replay).
	SeenBefore(ctx context.Context, key string, ttl time.Duration) (bool, error)
	// PutBlob keeps data (at most MaxBlobSize bytes) under key for ttl,
	// replacing what was there; key is validated like an action id.
	PutBlob(ctx context.Context, key string, data []byte, ttl time.Duration) error
	// GetBlob returns what PutBlob stored; ErrNotFound when absent or
	// expired.
	GetBlob(ctx context.Context, key string) ([]byte, error)
	// Ping checks the backend is reachable (for /readyz).
	Ping(ctx context.Context) error
	Close() error
}
